"""``python -m meterwatch.cli``: the same as the ``meterwatch`` command."""

import sys

from meterwatch.cli.app import main

if __name__ == "__main__":  # a spawned worker process may import this module
    sys.exit(main())
