"""What ingest accepts: the plausibility bounds of a reading and the size limits of a file.

A row outside these bounds is not a reading that can be true: it is rejected into the
quarantine with its reason, and the rest of the file lands. The bounds are wide on
purpose; what is merely unusual for one customer is a data-quality finding, not a
rejection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meterwatch.settings import Settings

LIMA_UTC_OFFSET_S = -5 * 3600  # Peru keeps UTC-5 all year (no daylight saving time)
CLIENT_ID_MAX_BYTES = 64  # UTF-8; its percent-encoded folder name stays within 255 bytes
MAX_LINE_BYTES = 10_000  # a meter row has well under 200 bytes
MAX_VOLTAGE_V = 500_000  # the highest transmission voltage in Peru; distribution is far below


@dataclass(frozen=True)
class IngestRules:
    """Bounds a row and a file must respect to be ingested.

    Attributes
    ----------
    readings_from
        Earliest accepted hour (Lima local time, ``YYYY-MM-DD``).
    readings_ahead_hours
        Latest accepted hour: now (Lima local time) plus this many hours.
    max_kwh_per_hour
        Largest accepted absolute active (kWh) or reactive (kvarh) energy in one hour.
    max_voltage
        Largest accepted phase voltage (V); a negative voltage is never accepted.
    max_file_bytes
        Largest accepted file, after decompression (a gzip bomb stops here).
    max_line_bytes
        Longest accepted line; a longer one is rejected alone.
    client_id_max_bytes
        Longest accepted customer id, in UTF-8 bytes.
    """

    readings_from: str = "2000-01-01"
    readings_ahead_hours: int = 24
    max_kwh_per_hour: float = 100_000.0
    max_voltage: float = MAX_VOLTAGE_V
    max_file_bytes: int = 256 * 2**20
    max_line_bytes: int = MAX_LINE_BYTES
    client_id_max_bytes: int = CLIENT_ID_MAX_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestRules:
        """The rules a deployment configured (``METERWATCH_READINGS_FROM`` and the like)."""
        return cls(
            readings_from=settings.readings_from,
            readings_ahead_hours=settings.readings_ahead_hours,
            max_kwh_per_hour=float(settings.max_kwh_per_hour),
            max_file_bytes=settings.max_file_mb * 2**20,
        )

    def window(self, now: datetime | None = None) -> tuple[int, int]:
        """First and last accepted hour, as local-time seconds since the epoch."""
        now = now or datetime.now(UTC)
        first = datetime.fromisoformat(self.readings_from).replace(tzinfo=UTC)
        local_now = now.astimezone(UTC) + timedelta(seconds=LIMA_UTC_OFFSET_S)
        last = local_now + timedelta(hours=self.readings_ahead_hours)
        return int(first.timestamp()), int(last.timestamp())
