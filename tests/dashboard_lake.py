"""A lake for dashboard tests and benchmarks: ingested readings plus written detection tables.

The detection engine (models, scores, alerts) is built elsewhere; these helpers write
plausible rows that follow the table specs, so the dashboard can be exercised alone:
the expected energy is the customer's median for the hour of day over the four weeks before
the scored window, the band ±30 %, alerts are runs of days with many low hours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake
from meterwatch.storage.base import Lake
from meterwatch.synth import generate_fleet
from meterwatch.tables import now_utc, spec

KINDS = ("under_registration", "stopped_meter", "reverse_energy", "load_shape_change")


def build_lake(
    root: Path, *, n_customers: int = 8, days: int = 60, seed: int = 7, scored_days: int = 14
) -> Lake:
    """Generate a synthetic fleet under ``root``, ingest it and write detection tables."""
    fleet = generate_fleet(root / "fleet", n_customers=n_customers, days=days, seed=seed)
    lake = open_lake(str(root / "lake"))
    ingest_paths(lake, [fleet.data_dir])
    write_detection(lake, scored_days=scored_days)
    return lake


def write_detection(lake: Lake, *, scored_days: int = 14, reference_days: int = 28) -> None:
    """Write ``models``, ``scores`` and ``alerts`` for every customer of the lake."""
    span = scored_days + reference_days
    readings = lake.query(
        "SELECT r.client_id, r.sector, r.ts, r.active_kwh FROM readings r "
        "JOIN customers c USING (client_id) "
        "WHERE r.ts > c.last_ts - to_days(CAST($span AS INTEGER))",
        {"span": span},
    )
    last = readings.groupby("client_id")["ts"].transform("max")
    cut = last - pd.Timedelta(days=scored_days)
    readings["hour"] = readings["ts"].dt.hour
    reference = readings[readings["ts"] <= cut]
    scored = readings[readings["ts"] > cut].copy()
    profile = reference.groupby(["client_id", "hour"])["active_kwh"].median().rename("expected_kwh")
    scored = scored.join(profile, on=["client_id", "hour"])
    scored["expected_kwh"] = scored["expected_kwh"].fillna(0.0).clip(lower=0.0)
    margin = 0.3 * scored["expected_kwh"] + 0.05
    scored["lower_kwh"] = (scored["expected_kwh"] - margin).clip(lower=0.0)
    scored["upper_kwh"] = scored["expected_kwh"] + margin
    active = scored["active_kwh"].fillna(0.0)
    scored["score"] = (active - scored["expected_kwh"]).abs() / margin
    scored["is_anomaly"] = ((active < scored["lower_kwh"]) | (active > scored["upper_kwh"])).astype(
        "int8"
    )
    scored["detectors"] = np.where(scored["is_anomaly"] == 1, "band", "")
    scored["model_version"] = "test-1"
    scored["scored_at"] = now_utc()

    ref = reference.join(profile, on=["client_id", "hour"])
    ape = (ref["active_kwh"] - ref["expected_kwh"]).abs() / ref["active_kwh"].abs().clip(lower=0.1)
    models = (
        ref.assign(ape=ape, ae=(ref["active_kwh"] - ref["expected_kwh"]).abs())
        .groupby("client_id")
        .agg(
            mape=("ape", "mean"),  # fraction here, percent below (as meterwatch.detect writes)
            mae=("ae", "mean"),
            trained_from=("ts", "min"),
            trained_until=("ts", "max"),
            n_train=("ts", "size"),
        )
        .reset_index()
    )
    models["mape"] = 100 * models["mape"]
    models["model_version"] = "test-1"
    models["format_version"] = 1
    models["kind"] = "hour_profile"
    models["artifact_key"] = "models/" + models["client_id"] + "/test-1.json"
    models["trained_at"] = now_utc()
    models["coverage"] = 0.9
    models["params"] = "{}"

    alerts = _alerts(scored)
    with lake.transaction() as tx:
        tx.overwrite("models", models)
        tx.overwrite("scores", scored)
        tx.overwrite("alerts", alerts)


def _alerts(scored: pd.DataFrame) -> pd.DataFrame:
    low = scored["active_kwh"].fillna(0.0) < scored["lower_kwh"]
    daily = (
        scored.assign(low=low, day=scored["ts"].dt.floor("D"))
        .groupby(["client_id", "sector", "day"])
        .agg(
            low=("low", "sum"),
            active=("active_kwh", "sum"),
            expected=("expected_kwh", "sum"),
            minimum=("active_kwh", "min"),
        )
        .reset_index()
    )
    daily = daily[daily["low"] >= 6]
    rows = []
    for (client, sector), days in daily.groupby(["client_id", "sector"], dropna=False):
        run_id = (days["day"].diff() != pd.Timedelta(days=1)).cumsum()
        for _, run in days.groupby(run_id):
            lost = float((run["expected"] - run["active"]).clip(lower=0).sum())
            if run["minimum"].min() < 0:
                kind = "reverse_energy"
            elif run["active"].sum() == 0:
                kind = "stopped_meter"
            elif len(run) < 2:
                kind = "load_shape_change"
            else:
                kind = "under_registration"
            hours = int(len(run) * 24)
            rows.append(
                {
                    "client_id": client,
                    "sector": sector,
                    "kind": kind,
                    "window_start": run["day"].min(),
                    "window_end": run["day"].max() + pd.Timedelta(hours=23),
                    "anomaly_rate": float(run["low"].sum() / hours),
                    "lost_kwh_estimate": round(lost, 1),
                    "n_hours": hours,
                }
            )
    alerts = pd.DataFrame(rows)
    if alerts.empty:
        return spec("alerts").schema.empty_table().to_pandas()
    alerts = alerts.sort_values("lost_kwh_estimate", ascending=False).reset_index(drop=True)
    top = alerts["lost_kwh_estimate"].quantile(0.75)
    alerts["severity"] = np.where(
        alerts["lost_kwh_estimate"] >= top,
        "high",
        np.where(alerts["anomaly_rate"] > 0.4, "medium", "low"),
    )
    alerts["alert_id"] = [f"A{i + 1:05d}" for i in range(len(alerts))]
    alerts["rank"] = np.arange(1, len(alerts) + 1)
    alerts["status"] = "open"
    alerts["evidence"] = (
        "Consumo por debajo de lo esperado durante "
        + alerts["n_hours"].astype(str)
        + " h; se estiman "
        + alerts["lost_kwh_estimate"].round(0).astype(int).astype(str)
        + " kWh no registrados."
    )
    alerts["created_at"] = now_utc()
    alerts["updated_at"] = alerts["created_at"]
    alerts["confidence"] = alerts["anomaly_rate"].clip(upper=1.0)
    alerts["params"] = "{}"
    return alerts[_ALERT_COLUMNS]


_ALERT_COLUMNS = [
    "alert_id",
    "client_id",
    "sector",
    "kind",
    "window_start",
    "window_end",
    "anomaly_rate",
    "lost_kwh_estimate",
    "severity",
    "status",
    "evidence",
    "created_at",
    "updated_at",
    "rank",
    "n_hours",
    "confidence",
    "params",
]
