#!/usr/bin/env bash
# pre-commit from PyPI, pinned, in a git-ignored virtualenv (.tools/pre-commit/),
# for the test of .pre-commit-hooks.yaml (make pre-commit-test). Installed on
# first use and again only when the pin changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PRE_COMMIT_VERSION=4.7.0
VENV=.tools/pre-commit
if [ "$(cat "$VENV/.pinned" 2>/dev/null)" != "$PRE_COMMIT_VERSION" ]; then
  command -v python3 >/dev/null || { echo "ensure-pre-commit: needs python3 (with venv) to install pre-commit from PyPI" >&2; exit 2; }
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pre-commit==$PRE_COMMIT_VERSION"
  echo "$PRE_COMMIT_VERSION" > "$VENV/.pinned"
fi
