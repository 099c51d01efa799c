"""``python -m meterwatch.cli``: the same as the ``meterwatch`` command."""

import sys

from meterwatch.cli.app import main

sys.exit(main())
