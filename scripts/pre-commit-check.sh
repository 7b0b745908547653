#!/usr/bin/env bash
# The pre-commit hook `sidecar-guard-check` (.pre-commit-hooks.yaml, language:
# script): pre-commit runs it from its clone of this repository, in the
# repository being committed to, with the staged manifests as arguments.
# The first run in a clone installs the dependencies and builds dist/
# (npm ci, whose "prepare" compiles it); later runs start at once.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -lt 22 ]; then
  echo "sidecar-guard-check: needs Node.js 22 or newer on PATH (found ${major/#0/none}); install it or put it first on PATH" >&2
  exit 2
fi
if [ ! -f "$here/dist/cli.js" ] || [ ! -d "$here/node_modules" ]; then
  echo "sidecar-guard-check: installing sidecar-guard in $here (once)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
exec node "$here/bin/sidecar-guard.js" check "$@"
