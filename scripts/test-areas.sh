#!/usr/bin/env bash
# Wall time of the unit + integration suite per area (each test/<area>/ run
# alone with scripts/test.sh, as `make test` runs them), as a Markdown table
# for the README's Development section.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "| area | files | tests | seconds |"
echo "| --- | ---: | ---: | ---: |"
total=0
for dir in $(find test -mindepth 1 -maxdepth 1 -type d -not -name e2e | sort); do
  mapfile -t files < <(find "$dir" -name '*.test.ts' | sort)
  [ "${#files[@]}" -eq 0 ] && continue
  start=$(date +%s%N)
  out=$(bash scripts/test.sh "${files[@]}" 2>&1) || { echo "$out" | tail -20; echo "$dir failed" >&2; exit 1; }
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  tests=$(echo "$out" | sed -n 's/^ℹ tests //p')
  total=$(( total + ms ))
  printf '| `%s/` | %d | %s | %d.%d |\n' "$dir" "${#files[@]}" "$tests" $((ms / 1000)) $((ms % 1000 / 100))
done
printf '| all areas, one after another | | | %d.%d |\n' $((total / 1000)) $((total % 1000 / 100))
