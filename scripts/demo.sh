#!/usr/bin/env bash
# Set up (virtual environment + install) and run the demo pipeline on the embedded default.
# Usage: ./scripts/demo.sh [meterwatch demo options, e.g. --no-serve]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
install_project requirements/dashboard.lock
exec .venv/bin/meterwatch demo "$@"
