#!/usr/bin/env bash
# Set up everything the tests need and run the whole quality gate.
# Usage: ./scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
install_project requirements.lock
if [ -f package.json ] && command -v npm >/dev/null 2>&1; then
  npm install --no-audit --no-fund --silent
fi
exec scripts/check.sh "$@"
