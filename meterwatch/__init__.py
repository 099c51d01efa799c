"""meterwatch: finds non-technical electricity losses in hourly meter data."""

__version__ = "0.1.0"
