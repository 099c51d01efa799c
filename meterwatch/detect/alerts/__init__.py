"""The alert policy moved to :mod:`meterwatch.alerts.policy`; this name stays importable.

``import meterwatch.detect.alerts`` gives that very module (not a copy), so code and tests
written against the old place, constants and monkeypatches included, keep working. A package
rather than a module at the old path, so git still sees ``detect/alerts.py`` as renamed.
"""

import sys

from meterwatch.alerts import policy

sys.modules[__name__] = policy
