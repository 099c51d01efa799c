"""The dashboard's views, one module each, combined by :class:`~meterwatch.dashboard.app.Dashboard`."""
