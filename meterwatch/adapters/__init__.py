"""Adapters: the core's ports implemented on outside services.

The core (every module of ``meterwatch`` but ``cli`` and ``adapters``) defines the small
interfaces it needs (an alert sink with ``send``, a users store with ``read``/``write``) and
never imports this package; an entry point (the CLI, a Lambda handler) chooses an adapter and
passes it in. ``tests/unit/test_imports.py`` keeps it so.
"""
