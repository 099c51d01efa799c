#!/usr/bin/env bash
# The quality gate: format check, lint, types of the core package, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
echo "== ruff format --check"; $PY -m ruff format --check .
echo "== ruff check"; $PY -m ruff check .
echo "== mypy meterwatch"; $PY -m mypy
echo "== pytest"; $PY -m pytest -q "$@"
