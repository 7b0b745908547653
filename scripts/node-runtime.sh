#!/usr/bin/env bash
# Makes `node` on the Makefile's PATH the current LTS (Node 24).
#
# The Makefile puts .tools/node/bin first on PATH. When the machine's own Node
# is 24 or newer that folder stays empty and the machine's Node is used; when
# it is older (Debian and many CI images still ship 20 or 22), Node 24 comes
# from the npm registry (the `node` package, pinned in
# scripts/node-runtime/package-lock.json) into .tools/node, and is reinstalled
# only when that pin changes. The machine's npm then runs on it too, so
# `npm ci` checks `engines` against Node 24 and prints no EBADENGINE.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.tools/node
lock=scripts/node-runtime/package-lock.json
want="$(sha256sum "$lock" | cut -d' ' -f1)"

major="$(PATH="${PATH#"$PWD/$dir/bin:"}" node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "${SIDECAR_GUARD_BRING_NODE:-auto}" = auto ] && [ "$major" -ge 24 ]; then
  rm -rf "$dir/bin" && mkdir -p "$dir/bin"
  echo "system $major" >"$dir/.ready"
  exit 0
fi
if [ -x "$dir/bin/node" ] && [ "$(cat "$dir/.ready" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "node-runtime: the machine's Node is ${major:-missing}; installing Node 24 from the npm registry into $dir" >&2
rm -rf "$dir" && mkdir -p "$dir/bin"
cp scripts/node-runtime/package.json "$lock" "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
ln -s ../node_modules/node/bin/node "$dir/bin/node"
"$dir/bin/node" --version >&2
echo "$want" >"$dir/.ready"
