"""An alert's words, written when it is read, in the reader's language.

The ``alerts`` table stores what the policy found as codes and parameters: the ``kind``,
``severity`` and ``status`` codes, the codes of the evidence sentences in ``evidence`` (a JSON
list, :func:`evidence_codes`) and the figures behind them in ``params``. The dashboard, the
exports, the console and the e-mail render them with the one catalog (:mod:`meterwatch.texts`),
so scoring needs no language and an operator reads every alert in theirs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from meterwatch.tables import stored_params, watched
from meterwatch.tariffs import Tariffs
from meterwatch.texts import CATALOG, fmt_time, kind_label, language_of, t

__all__ = [
    "OPERATOR_COLUMNS",
    "alert_evidence",
    "alerts_for_operators",
    "evidence_codes",
    "evidence_sentence",
    "kind_label",
    "label",
    "stored_evidence",
    "with_priority",
]

#: The operator export's columns and the catalog code of each header.
OPERATOR_COLUMNS: dict[str, str] = {
    "rank": "export.rank",
    "priority": "filter.priority",
    "alert_id": "col.alert_id",
    "client_id": "col.client_id",
    "sector": "col.sector",
    "kind": "col.kind",
    "severity": "col.severity",
    "status": "col.status",
    "window_start": "col.window_start",
    "window_end": "col.window_end",
    "n_hours": "col.n_hours",
    "lost_kwh_estimate": "col.lost_kwh_estimate",
    "loss_pen": "col.loss_pen",
    "confidence": "export.confidence",
    "evidence": "col.evidence",
}


def evidence_codes(kind: str, params: Mapping[str, Any]) -> list[str]:
    """The catalog codes of an alert's evidence: what happened (``alert.<kind>``), then what
    strengthens or weakens it, then why it is only watched. Stored in the ``evidence`` column."""
    codes = [f"alert.{kind}"]
    if params.get("reactive_change"):
        codes.append("alert.evidence.reactive")
    if params.get("voltage_anomaly"):
        codes.append("alert.evidence.voltage")
    if params.get("registers_together") and params.get("watch") != "registers_together":
        codes.append("alert.evidence.registers_together")
    if params.get("registers_diverged"):
        codes.append("alert.evidence.registers_diverged")
    if params.get("sector_shares_drop"):
        codes.append("alert.evidence.sector")
    elif params.get("some_peers_fell"):
        codes.append("alert.evidence.some_peers")
    if params.get("watch"):
        codes.append(f"alert.watch.{params['watch']}")
    return codes


def stored_evidence(codes: list[str]) -> str:
    """The ``evidence`` column's value for ``codes`` (a JSON list)."""
    return json.dumps(codes)


def _codes(value: Any) -> list[str] | None:
    """The codes an ``evidence`` cell holds; ``None`` for the sentence an older alert stored."""
    if not isinstance(value, str) or not value.startswith("["):
        return None
    try:
        codes = json.loads(value)
    except ValueError:
        return None
    if isinstance(codes, list) and all(isinstance(c, str) for c in codes):
        return codes
    return None


def evidence_sentence(kind: str, params: Mapping[str, Any], language: str = "es") -> str:
    """One sentence an operator reads: what changed, since when, how much is missing."""
    return " ".join(t(code, language, **params) for code in evidence_codes(kind, params))


def alert_evidence(kind: Any, params: Any, stored: Any, language: str = "es") -> str:
    """An alert's evidence in ``language``, from its stored codes and ``params`` (JSON).

    An older alert stored a sentence in the language it was raised in: it is written again
    from its parameters where they allow it, else shown as it was stored.
    """
    values = stored_params(params)
    codes = _codes(stored)
    if codes is not None:
        return " ".join(t(code, language, **values) for code in codes)
    fallback = "" if stored is None or stored != stored else str(stored)  # None or NaN
    if not values or f"alert.{kind}" not in CATALOG:
        return fallback
    text = evidence_sentence(str(kind), values, language)
    return fallback if "{" in text else text


def label(family: str, code: Any, language: str = "es") -> str:
    """The word for a stored code of ``family`` (``severity``, ``status``, ``inspection``):
    ``label("severity", "high", "es") == "alta"``; an unknown code as it is stored."""
    key = f"{family}.{code}"
    return t(key, language) if key in CATALOG else str(code)


def alerts_for_operators(
    alerts: pd.DataFrame, language: str = "es", tariffs: Tariffs | None = None
) -> pd.DataFrame:
    """The alerts as an operator reads them in a spreadsheet: headers, kinds, severities and
    the evidence sentence in ``language``, days and hours as it writes them, the loss in soles.
    """
    lang = language_of(language)
    tariffs = tariffs or Tariffs()
    ranked = alerts.sort_values("rank") if "rank" in alerts else alerts
    params = ranked["params"] if "params" in ranked else pd.Series(None, index=ranked.index)
    out = pd.DataFrame(
        {
            "rank": ranked["rank"],
            "priority": [label("alert_priority", p, lang) for p in _priorities(params)],
            "alert_id": ranked["alert_id"],
            "client_id": ranked["client_id"],
            "sector": ranked["sector"],
            "kind": [kind_label(str(k), lang) for k in ranked["kind"]],
            "severity": [label("severity", v, lang) for v in ranked["severity"]],
            "status": [label("status", v, lang) for v in ranked["status"]],
            "window_start": [fmt_time(pd.Timestamp(v), lang) for v in ranked["window_start"]],
            "window_end": [fmt_time(pd.Timestamp(v), lang) for v in ranked["window_end"]],
            "n_hours": ranked["n_hours"],
            "lost_kwh_estimate": pd.to_numeric(ranked["lost_kwh_estimate"]).round(0),
            "loss_pen": tariffs.loss_pen(ranked).round(0) if len(ranked) else [],
            "confidence": (100 * pd.to_numeric(ranked["confidence"])).round(0),
            "evidence": [
                alert_evidence(k, p, e, lang)
                for k, p, e in zip(ranked["kind"], params, ranked["evidence"], strict=True)
            ],
        }
    )
    return out.rename(columns={k: t(code, lang) for k, code in OPERATOR_COLUMNS.items()})


def _priorities(params: pd.Series) -> list[str]:
    """``raised`` or ``watched`` (kept with its reason in ``params.watch``) per alert."""
    return ["watched" if w else "raised" for w in watched(params)]


def with_priority(alerts: pd.DataFrame) -> pd.DataFrame:
    """The alerts table's rows with ``priority`` (``raised``: a visit is asked for, e-mailed;
    ``watched``: kept, ranked after every raised alert, not e-mailed) and ``watch_reason``
    (the code of why, empty when raised) after ``status``: what the dashboard's priority
    filter shows, without reading ``params`` (the machine export)."""
    out = alerts.copy()
    params = out["params"] if "params" in out else pd.Series(None, index=out.index, dtype=object)
    at = list(out.columns).index("status") + 1 if "status" in out else len(out.columns)
    out.insert(at, "priority", _priorities(params))
    out.insert(at + 1, "watch_reason", [str(stored_params(p).get("watch") or "") for p in params])
    return out
