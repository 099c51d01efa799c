"""Data-quality findings computed from a customer's curated series.

Findings are results, not exceptions: each has a dotted code, a severity, the customer,
the period it covers and its parameters; the message is rendered from the code.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from meterwatch.i18n import t
from meterwatch.ids import natural_key
from meterwatch.tables import now_utc

HOUR = 3600
ZERO_RUN_MIN_HOURS = 24  # a day of exact zeros: a normal night or pause lasts less
MERGE_HOURS = 24  # runs less than a day apart are one event for an inspector
VOLTAGE_BAND = (0.5, 1.5)  # outside half to one and a half times the usual median
VOLTAGE_MIN_HOURS = 3
MAX_FINDINGS_PER_CODE = 50  # per customer; beyond it the findings are summarised


@dataclass
class Finding:
    """One data-quality finding."""

    code: str
    severity: str  # info | warning | error
    client_id: str | None
    period_start: datetime | None = None
    period_end: datetime | None = None
    n_hours: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    scope: str = "series"  # series | fleet | ingestion
    ingestion_id: str | None = None
    source_file: str | None = None

    def message(self, language: str) -> str:
        fmt = {k: v for k, v in self.params.items()}
        fmt.setdefault("n_hours", self.n_hours)
        fmt.setdefault("start", _fmt_ts(self.period_start))
        fmt.setdefault("end", _fmt_ts(self.period_end))
        return t(self.code, language, **fmt)


def _fmt_ts(value: datetime | None) -> str:
    return "" if value is None else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def findings_frame(findings: Iterable[Finding], language: str) -> pd.DataFrame:
    """The findings as rows of the ``data_quality`` table."""
    now = now_utc()
    rows = [
        {
            "finding_id": uuid.uuid4().hex,
            "code": f.code,
            "severity": f.severity,
            "client_id": f.client_id,
            "period_start": f.period_start,
            "period_end": f.period_end,
            "n_hours": int(f.n_hours),
            "message": f.message(language),
            "params": json.dumps(f.params, ensure_ascii=False, default=str),
            "scope": f.scope,
            "ingestion_id": f.ingestion_id,
            "source_file": f.source_file,
            "detected_at": now,
        }
        for f in findings
    ]
    columns = [
        "finding_id", "code", "severity", "client_id", "period_start", "period_end", "n_hours",
        "message", "params", "scope", "ingestion_id", "source_file", "detected_at",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("period_start", "period_end"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[s]")
    frame["detected_at"] = pd.to_datetime(frame["detected_at"], utc=True)
    return frame


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges ``[start, end)`` where ``mask`` is true."""
    if not len(mask):
        return []
    padded = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def series_hash(ts: np.ndarray, values: list[np.ndarray]) -> str:
    """A fingerprint of a series: equal for byte-identical meter data."""
    digest = hashlib.sha256(np.ascontiguousarray(ts).tobytes())
    for v in values:
        digest.update(
            np.nan_to_num(np.ascontiguousarray(v, dtype=np.float64), nan=-9.99e300).tobytes()
        )
    return digest.hexdigest()[:32]


def _hour_runs(
    seconds: np.ndarray, mask: np.ndarray, merge_gap_h: int = 0
) -> list[tuple[int, int]]:
    """Runs of ``mask`` that are also contiguous in time; close runs merged."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    # a run also ends where the clock jumps (a gap in the data)
    contiguous = np.concatenate(([False], np.diff(seconds) == HOUR))
    starts = np.flatnonzero(mask & ~(np.concatenate(([False], mask[:-1])) & contiguous))
    ends_incl = np.flatnonzero(
        mask & ~(np.concatenate((mask[1:], [False])) & np.concatenate((contiguous[1:], [False])))
    )
    out: list[tuple[int, int]] = []
    limit = (merge_gap_h + 1) * HOUR
    for s, e in zip(starts.tolist(), (ends_incl + 1).tolist(), strict=True):
        if out and merge_gap_h and seconds[s] - seconds[out[-1][1] - 1] <= limit:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _period(seconds: np.ndarray, a: int, b: int) -> tuple[datetime, datetime]:
    start = pd.Timestamp(int(seconds[a]), unit="s").to_pydatetime()
    end = pd.Timestamp(int(seconds[b - 1]) + HOUR, unit="s").to_pydatetime()
    return start, end


def _capped(findings: list[Finding], code: str, client: str) -> list[Finding]:
    if len(findings) <= MAX_FINDINGS_PER_CODE:
        return findings
    kept = sorted(findings, key=lambda f: -f.n_hours)[: MAX_FINDINGS_PER_CODE - 1]
    rest = [f for f in findings if f not in kept]
    summary = Finding(
        code,
        rest[0].severity,
        client,
        min(f.period_start for f in rest if f.period_start),
        max(f.period_end for f in rest if f.period_end),
        sum(f.n_hours for f in rest),
        {**rest[0].params, "summarised": len(rest)},
    )
    return sorted([*kept, summary], key=lambda f: f.period_start or datetime.min)


def series_findings(
    client_id: str, seconds: np.ndarray, values: dict[str, np.ndarray]
) -> list[Finding]:
    """Findings on one customer's full, time-sorted series.

    Parameters
    ----------
    client_id
        The customer.
    seconds
        Hour starts as int64 seconds, sorted, unique.
    values
        ``active_kwh``, ``reactive_kvarh``, ``voltage_fa``, ``voltage_fc`` arrays.
    """
    out: list[Finding] = []
    if not len(seconds):
        return out
    active = values["active_kwh"]

    gaps: list[Finding] = []
    steps = np.diff(seconds)
    for i in np.flatnonzero(steps > HOUR):
        missing = int(steps[i] // HOUR) - 1
        start = pd.Timestamp(int(seconds[i]) + HOUR, unit="s").to_pydatetime()
        end = pd.Timestamp(int(seconds[i + 1]), unit="s").to_pydatetime()
        gaps.append(Finding("readings.gap", "warning", client_id, start, end, missing))
    out += _capped(gaps, "readings.gap", client_id)

    zeros = [
        Finding("readings.zero_run", "warning", client_id, *_period(seconds, a, b), b - a)
        for a, b in _hour_runs(seconds, active == 0)
        if b - a >= ZERO_RUN_MIN_HOURS
    ]
    out += _capped(zeros, "readings.zero_run", client_id)

    negatives = [
        Finding(
            "readings.negative_energy",
            "error",
            client_id,
            *_period(seconds, a, b),
            int((active[a:b] < 0).sum()),
        )
        for a, b in _hour_runs(seconds, active < 0, MERGE_HOURS)
    ]
    out += _capped(negatives, "readings.negative_energy", client_id)

    for phase, col in (("A", "voltage_fa"), ("C", "voltage_fc")):
        volts = values[col]
        known = np.isfinite(volts)
        if not known.any():
            continue
        median = float(np.median(volts[known]))
        low, high = VOLTAGE_BAND[0] * median, VOLTAGE_BAND[1] * median
        odd = known & ((volts <= 0) | (volts < low) | (volts > high))
        found = [
            Finding(
                "readings.voltage_implausible", "warning", client_id, *_period(seconds, a, b), int(odd[a:b].sum()),
                {"phase": phase, "median": round(median, 1)},
            )
            for a, b in _hour_runs(seconds, odd, MERGE_HOURS)
            if b - a >= VOLTAGE_MIN_HOURS
        ]  # fmt: skip
        out += _capped(found, "readings.voltage_implausible", client_id)

    for col in ("reactive_kvarh", "voltage_fa", "voltage_fc"):
        n_missing = int(np.isnan(values[col]).sum())
        if n_missing:
            out.append(
                Finding(
                    "readings.missing_values",
                    "info",
                    client_id,
                    n_hours=n_missing,
                    params={"column": col},
                )
            )
    return out


def duplicate_findings(hashes: pd.DataFrame) -> dict[str, list[Finding]]:
    """Findings for customers whose series is identical to another's.

    Parameters
    ----------
    hashes
        ``client_id, series_hash, first_ts, last_ts`` of every customer.
    """
    out: dict[str, list[Finding]] = {}
    for _, group in hashes.groupby("series_hash"):
        if len(group) < 2:
            continue
        members = sorted(group["client_id"], key=natural_key)
        for _, row in group.iterrows():
            others = [m for m in members if m != row["client_id"]]
            out[row["client_id"]] = [
                Finding(
                    "customers.duplicate_series", "error", row["client_id"],
                    row["first_ts"], row["last_ts"], 0, {"other": ", ".join(others)}, scope="fleet",
                )
            ]  # fmt: skip
    return out
