"""One call that runs the whole evaluation on a lake (used by the CLI and the benchmark)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from meterwatch.evaluation.detectors import Detector, ProductDetector, PrototypeDetector
from meterwatch.evaluation.inject import read_known_events
from meterwatch.evaluation.protocol import (
    DetectionEvaluation,
    evaluate_detection,
    forecast_accuracy,
    load_readings,
    split_customers,
)
from meterwatch.evaluation.prototype import configs_from_reference, read_reference
from meterwatch.evaluation.report import ReportInputs, write_report
from meterwatch.settings import Settings
from meterwatch.storage import Lake


@dataclass
class EvaluationOutcome:
    """What an evaluation measured and where the report went."""

    detection: DetectionEvaluation | None
    forecast: pd.DataFrame | None
    report: Path
    detectors: list[str]


def build_detectors(
    names: Sequence[str],
    *,
    reference: pd.DataFrame | None,
    settings: Settings | None,
    workers: int = 1,
    increment_hours: int | None = None,
) -> list[Detector]:
    """Detectors by name (``product``, ``prototype``); ``product`` only when installed."""
    out: list[Detector] = []
    for name in names:
        if name == "product":
            if not ProductDetector.available():
                raise RuntimeError(
                    "the detection engine (meterwatch.detect.pipeline) is not installed in this checkout"
                )
            out.append(ProductDetector(settings=settings, increment_hours=increment_hours))
        elif name == "prototype":
            out.append(PrototypeDetector(configs_from_reference(reference), workers=workers))
        else:
            raise ValueError(f"unknown detector {name!r}; known: product, prototype")
    return out


def evaluate_lake(
    lake: Lake,
    *,
    out: str | Path = "evaluation",
    seeds: int = 3,
    seed_offset: int = 0,
    tiers: Sequence[str] = ("standard", "subtle"),
    customers: str = "all",
    detectors: Sequence[str] | None = None,
    forecast: bool = False,
    reference: str | Path | None = None,
    settings: Settings | None = None,
    workers: int = 1,
    increment_hours: int | None = None,
    labels: str | Path | None = None,
    command: str = "",
    progress: Callable[[str], None] | None = None,
) -> EvaluationOutcome:
    """Run the protocol of docs/domain-notes.md on the lake's own data and write the report.

    Parameters
    ----------
    lake
        Where the readings are (read only).
    out
        Report folder.
    seeds
        Draws per tier (seeds ``seed_offset .. seed_offset + seeds - 1``).
    seed_offset
        First seed; a non-zero offset gives draws held out from the ones values were set on.
    tiers
        ``standard``, ``subtle`` and/or ``wide``.
    customers
        ``all``, or the half of :func:`~meterwatch.evaluation.protocol.split_customers` to
        judge (``tune`` or ``holdout``); every customer is still scored (peers stay peers).
    detectors
        ``product`` and/or ``prototype``; default: both when the engine is installed,
        else the prototype alone.
    forecast
        Also measure forecast accuracy.
    reference
        The prototype's per-customer table (frequency, lags, MAPE).
    settings, workers
        Passed to the product engine; prototype fits in parallel.
    increment_hours
        Feed the product the new data in blocks of this many hours, scoring after each
        (default: all at once).
    labels
        A labels file of losses known to be in the data (``meterwatch synth`` writes one):
        they count as positives where they fall in the new part.
    command
        The command line, recorded in the report.
    progress
        Called with a line after each step.
    """
    frame, sectors = load_readings(lake)
    if frame.empty:
        raise ValueError(f"the lake {lake.uri} has no readings to evaluate")
    ref = read_reference(reference) if reference else None
    names = (
        list(detectors)
        if detectors
        else (["product", "prototype"] if ProductDetector.available() else ["prototype"])
    )
    built = build_detectors(
        names, reference=ref, settings=settings, workers=workers, increment_hours=increment_hours
    )
    notes = [
        f"{frame['client_id'].nunique()} customers, {len(frame):,} hourly readings from {lake.uri}",
        f"seeds {seed_offset} to {seed_offset + seeds - 1}, tiers {', '.join(tiers)}, "
        f"judged customers: {customers}",
    ]
    if "product" in names:
        notes.append(
            "product scored "
            + (f"in blocks of {increment_hours} h" if increment_hours else "in one call per draw")
        )
    if "product" not in names:
        notes.append("the detection engine was not evaluated (not installed or not asked for)")
    known = read_known_events(labels) if labels else None
    if known is not None:
        notes.append(f"{len(known)} known loss events read from {labels} count as positives")
    detection = None
    try:
        if seeds > 0 and tiers:
            detection = evaluate_detection(
                frame,
                sectors,
                built,
                tiers=tiers,
                seeds=range(seed_offset, seed_offset + seeds),
                progress=progress,
                judged=(
                    None
                    if customers == "all"
                    else split_customers(frame["client_id"].unique())[customers]
                ),
                known_events=known,
            )
    finally:
        for d in built:
            close = getattr(d, "close", None)
            if close:
                close()
    forecast_frame = None
    if forecast:
        freq = (
            dict(zip(ref["client_id"], ref["freq_hours"], strict=True)) if ref is not None else {}
        )
        mape = (
            dict(zip(ref["client_id"], ref["reference_mape"], strict=True))
            if ref is not None
            else {}
        )
        forecast_frame = forecast_accuracy(
            frame,
            freq_hours=freq,
            reference_mape=mape,
            prototype_configs=configs_from_reference(ref),
            use_product="product" in names,
            progress=progress,
        )
    report = write_report(ReportInputs(detection, forecast_frame, command, notes), out)
    return EvaluationOutcome(detection, forecast_frame, report, names)
