#!/usr/bin/env bash
# Biome (pinned in package.json) over the files biome.json names; nothing is written.
#   scripts/lint.sh          the lint rules (make lint)
#   scripts/lint.sh format   the formatter's check: fails where `make format` would change a file
#   scripts/lint.sh ci       both in one pass
# Biome's exit status counts errors (warnings with --error-on-warnings) but not info-level findings
# (useLiteralKeys, useTemplate, ...); a clean tree has none of those either, so its summary is read too.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
out=$(node_modules/.bin/biome "${1:-lint}" --error-on-warnings 2>&1) || status=$?
printf '%s\n' "$out"
if [ "$status" -eq 0 ] && grep -qE '^Found [0-9]+ infos?\.' <<<"$out"; then
  echo "scripts/lint.sh: info-level findings fail as well: fix them, or turn the rule off in biome.json with a reason in the README" >&2
  status=1
fi
exit "$status"
