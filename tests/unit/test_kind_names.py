"""One name per alert kind: the dashboard, the e-mail, the console and the docs agree."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from meterwatch.alerts.policy import KINDS
from meterwatch.i18n import kind_label
from meterwatch.notify import render_alert_message

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def _alert(kind: str) -> pd.DataFrame:
    return pd.DataFrame(
        [{"alert_id": "a1", "client_id": "Cliente 1", "sector": "Minería", "kind": kind,
          "severity": "high", "rank": 1, "lost_kwh_estimate": 120.0, "status": "open",
          "window_start": "2022-01-01T00:00", "window_end": "2022-01-02T00:00",
          "evidence": "", "params": "{}"}]
    )  # fmt: skip


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_screen_names_a_kind_the_same(kind: str, language: str) -> None:
    pytest.importorskip("panel")
    from meterwatch.dashboard.texts import kind_label as dashboard_label

    name = kind_label(kind, language)
    assert name != kind
    assert dashboard_label(kind, language) == name
    _subject, body = render_alert_message(_alert(kind), language)
    assert f" · {name} · " in body


def test_the_docs_table_uses_the_same_names() -> None:
    rows = {
        m.group(1): (m.group(2).strip(), m.group(3).strip())
        for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|", DOCS.read_text(), re.M)
    }
    for kind in KINDS:
        assert rows[kind] == (kind_label(kind, "es"), kind_label(kind, "en")), kind


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_stopped_meter_sentence_names_the_loss_the_inbox_shows(language: str) -> None:
    """Issue 14: "Medidor detenido · 58 kWh" sat next to "se esperaban 72 kWh" (the expected
    energy of every flagged hour, the stop's neighbours included); the sentence now names the
    same missing energy as the alert's estimate."""
    import json

    from meterwatch.alerts.render import alert_evidence

    params = {"lost_kwh": 58.3, "loss_pct": 81.5, "expected_kwh": 71.5, "reported_kwh": 13.2,
              "n_hours": 185, "zero_hours": 168, "negative_hours": 0,
              "start": "2022-11-17 10:00", "end": "2022-11-24 10:00"}  # fmt: skip
    text = alert_evidence("stopped_meter", json.dumps(params), '["alert.stopped_meter"]', language)
    assert "58 kWh" in text
    assert "72" not in text and "71" not in text
    assert "168 h" in text
