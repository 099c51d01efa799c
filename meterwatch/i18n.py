"""Moved to :mod:`meterwatch.texts` (the one catalog and its lookup) and
:mod:`meterwatch.alerts.render` (an alert's evidence); these names stay importable from here.
``MESSAGES`` is the catalog itself: add new texts to :mod:`meterwatch.texts.catalog`."""

from __future__ import annotations

from meterwatch.alerts.render import alert_evidence, evidence_sentence
from meterwatch.texts import (
    DATE_FORMATS,
    LANGUAGES,
    NUMBER_SEPARATORS,
    UNIT_SPACE,
    fmt_day,
    fmt_time,
    kind_label,
    reason_list,
    render,
    t,
)
from meterwatch.texts.catalog import CATALOG as MESSAGES

__all__ = [
    "DATE_FORMATS",
    "LANGUAGES",
    "MESSAGES",
    "NUMBER_SEPARATORS",
    "UNIT_SPACE",
    "alert_evidence",
    "evidence_sentence",
    "fmt_day",
    "fmt_time",
    "kind_label",
    "reason_list",
    "render",
    "t",
]
