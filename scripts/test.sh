#!/usr/bin/env bash
# Runs every check of the repository, on a fresh Debian 12 machine as on a prepared one:
# installs what is missing (idempotent), builds, lints, type-checks, and runs all tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --quiet
npm run --silent build
npm run --silent lint
npm test
