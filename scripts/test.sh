#!/usr/bin/env bash
# Runs every check of the repository, on a fresh Debian 12 machine as on a prepared one:
# installs what is missing (idempotent), builds, lints, type-checks, and runs all tests.
# The test run ends with the slowest tests and files (scripts/slowest-tests-reporter.mjs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$EPOCHSECONDS
finish() {
  local status=$? secs=$((EPOCHSECONDS - START))
  printf '==> test.sh: %s in %dm%02ds (setup, build, lint, tests)\n' \
    "$([[ $status == 0 ]] && echo passed || echo "failed ($status)")" $((secs / 60)) $((secs % 60))
}
trap finish EXIT
bash scripts/setup.sh --quiet
npm run --silent build
npm run --silent lint
npm test
