#!/usr/bin/env bash
# The quality gate: format check, lint, types of the core package, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20  # jsii (CDK) on Node 20
echo "== ruff format --check"; $PY -m ruff format --check .
echo "== ruff check"; $PY -m ruff check .
echo "== mypy"; $PY -m mypy
echo "== pytest"; $PY -m pytest -q "$@"
