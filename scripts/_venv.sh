# Shared by the setup scripts: a project-local virtual environment with Python >= 3.11.
pick_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "meterwatch needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  return 1
}

# install_project LOCK: the locked dependencies (exact versions, checked against their hashes;
# requirements.lock or a subset in requirements/, see scripts/lock.sh), then the checkout itself.
install_project() {
  local lock="$1"
  if [ ! -x .venv/bin/python ]; then
    "$(pick_python)" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
  .venv/bin/python -m pip install --quiet --no-deps -e .
}
