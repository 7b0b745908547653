#!/usr/bin/env bash
# Runs a test suite with node's own runner (TypeScript through tsx).
#   scripts/test.sh          unit + integration tests (everything outside test/e2e)
#   scripts/test.sh e2e      end-to-end tests against the environment of `npm run e2e:up`, one file
#                            at a time in name order (they share one API server, and the last one restarts it)
#   scripts/test.sh FILE...  just those files
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-unit}" in
  unit) mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/e2e/*' | sort) ;;
  e2e)  mapfile -t files < <(find test/e2e -name '*.test.ts' | sort); TEST_CONCURRENCY=1 ;;
  *)    files=("$@") ;;
esac
if [ "${#files[@]}" -eq 0 ]; then echo "no test files"; exit 1; fi
# test/helpers/test-keys.ts: RSA test keys come from a pool made once (.test-keys/), not per certificate.
[ -f .test-keys/rsa-2048.pem ] || node --import tsx test/helpers/test-keys.ts
exec node --import tsx/esm --import ./test/helpers/test-keys.ts --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-reporter=spec "${files[@]}"
