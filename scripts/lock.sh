#!/usr/bin/env bash
# Refresh the lock files from pyproject.toml (uv pip compile, with hashes, for every platform and
# Python >= 3.11). Versions already locked are kept unless asked otherwise.
# Usage: ./scripts/lock.sh                        # add what pyproject.toml gained, keep the rest
#        ./scripts/lock.sh --upgrade              # every dependency to its newest release
#        ./scripts/lock.sh --upgrade-package duckdb
# Then run ./scripts/test.sh (it installs from the new lock) before committing the locks.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
if [ -z "${UV:-}" ]; then  # uv in a scratch virtual environment, gone at exit
  tools="$(mktemp -d)"
  trap 'rm -rf "$tools"' EXIT
  source scripts/_venv.sh
  "$(pick_python)" -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet "uv==$UV_VERSION"
  UV="$tools/bin/uv"
fi
compile() {  # compile OUTPUT [uv options...]
  local out="$1"
  shift
  "$UV" pip compile pyproject.toml --quiet --generate-hashes --universal --python-version 3.11 \
    --custom-compile-command ./scripts/lock.sh -o "$out" "$@"
}
# Everything (tests, CI, development); the subsets below take its versions.
compile requirements.lock --all-extras "$@"
compile requirements/dashboard.lock --extra dashboard -c requirements.lock  # scripts/demo.sh
compile requirements/aws.lock --extra aws -c requirements.lock  # Lambda and training images
compile requirements/dashboard-aws.lock --extra dashboard --extra aws -c requirements.lock  # dashboard image
echo "locks written: requirements.lock requirements/*.lock"
