"""The evaluation report: markdown, CSV files and PNG plots in one folder."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from meterwatch.evaluation.protocol import DetectionEvaluation

# Targets the product must reach (issue 3); the prototype's published figures for context.
TARGETS: dict[str, dict[str, float]] = {
    "standard": {"f1": 0.95, "hourly_ap": 0.90, "false_customers": 1.0},
    "subtle": {"f1": 0.85, "hourly_ap": 0.75, "false_customers": 1.0},
}
PROTOTYPE_PUBLISHED = {
    "standard": "F1 0.69-0.88, AP 0.65-0.87",
    "subtle": "F1 0.64-0.79, AP 0.54-0.56",
}
HEADLINE = [
    "precision",
    "recall",
    "f1",
    "false_customers",
    "hourly_ap",
    "hourly_f1",
    "delay_hours_median",
]


@dataclass
class ReportInputs:
    """Everything a report can show (any part may be missing)."""

    detection: DetectionEvaluation | None = None
    forecast: pd.DataFrame | None = None
    command: str = ""
    notes: list[str] = field(default_factory=list)


def _fmt(mean: float, std: float) -> str:
    if not np.isfinite(mean):
        return "-"
    if abs(mean) >= 10:
        return f"{mean:.0f} ± {std:.0f}"
    return f"{mean:.2f} ± {std:.2f}"


def headline_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Detector x tier rows, headline metrics as ``mean ± std`` columns."""
    part = summary[summary["family"] == "all"]
    rows = []
    for (detector, tier), group in part.groupby(["detector", "tier"], sort=False):
        values = {
            str(m): _fmt(float(mu), float(sd))
            for m, mu, sd in zip(group["metric"], group["mean"], group["std"], strict=True)
        }
        n = int(group["n"].max())
        rows.append(
            {
                "detector": detector,
                "tier": tier,
                "draws": n,
                **{m: values.get(m, "-") for m in HEADLINE},
            }
        )
    return pd.DataFrame(rows)


def family_table(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Family rows, one ``mean ± std`` column per detector and tier."""
    part = summary[(summary["family"] != "all") & (summary["metric"] == metric)]
    if part.empty:
        return pd.DataFrame()
    part = part.assign(
        column=part["detector"] + " " + part["tier"],
        cell=[_fmt(m, s) for m, s in zip(part["mean"], part["std"], strict=True)],
    )
    return (
        part.pivot_table(index="family", columns="column", values="cell", aggfunc="first")
        .fillna("-")
        .reset_index()
    )


def targets_table(summary: pd.DataFrame, detector: str = "product") -> pd.DataFrame:
    """Whether ``detector`` reached each target (mean over draws; false customers: worst draw)."""
    rows = []
    for tier, goals in TARGETS.items():
        for metric, goal in goals.items():
            hit = summary[
                (summary["detector"] == detector)
                & (summary["tier"] == tier)
                & (summary["family"] == "all")
                & (summary["metric"] == metric)
            ]
            if hit.empty:
                continue
            value = float(
                hit["max"].iloc[0] if metric == "false_customers" else hit["mean"].iloc[0]
            )
            ok = value <= goal if metric == "false_customers" else value >= goal
            sign = "≤" if metric == "false_customers" else "≥"
            rows.append(
                {
                    "tier": tier,
                    "metric": metric,
                    "target": f"{sign} {goal:g}",
                    "measured": f"{value:.2f}",
                    "met": "yes" if ok else "no",
                }
            )
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table (no extra dependency)."""
    if frame is None or frame.empty:
        return "_(none)_\n"
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("-" if not np.isfinite(v) else f"{v:.2f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def false_alarm_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Clean customers alerted: in how many draws, per detector and tier."""
    if customers.empty:
        return pd.DataFrame()
    clean = customers[(customers["truth"].fillna("") == "") & customers["alerted"].astype(bool)]
    if clean.empty:
        return pd.DataFrame()
    table = clean.groupby(["detector", "tier", "client_id"]).size().rename("draws").reset_index()
    return table.sort_values(["detector", "tier", "draws"], ascending=[True, True, False])


def missed_table(customers: pd.DataFrame, events: pd.DataFrame, detector: str) -> pd.DataFrame:
    """Positive customers ``detector`` did not alert, with the manipulation's parameters."""
    if customers.empty or events.empty:
        return pd.DataFrame()
    missed = customers[
        (customers["detector"] == detector)
        & (customers["truth"].fillna("") != "")
        & ~customers["alerted"].astype(bool)
    ]
    merged = missed.merge(events, on=["client_id", "tier", "seed"], how="left")
    columns = ["tier", "seed", "client_id", "family", "start", "n_hours", "params"]
    return merged[columns].sort_values(["tier", "family", "client_id"])


def forecast_summary(forecast: pd.DataFrame) -> dict[str, float]:
    """How often the evaluated forecast beats the reference MAPE, and the median ratio."""
    both = forecast.dropna(subset=["mape", "reference_mape"])
    if both.empty:
        return {}
    ratio = both["mape"] / both["reference_mape"]
    out = {
        "customers": float(len(both)),
        "better_than_reference": float((both["mape"] < both["reference_mape"]).sum()),
        "median_ratio": float(ratio.median()),
        "median_mape": float(both["mape"].median()),
        "median_reference_mape": float(both["reference_mape"].median()),
    }
    if "model" in both and (both["model"] == "product").any() and "prototype_mape" in both:
        proto = both.dropna(subset=["prototype_mape"])
        out["better_than_prototype"] = float((proto["mape"] < proto["prototype_mape"]).sum())
        out["median_ratio_prototype"] = float((proto["mape"] / proto["prototype_mape"]).median())
    return out


PLOTS_NEED = (
    "the evaluation report draws its plots with matplotlib: pip install 'meterwatch[report]'"
)


class MissingExtraError(RuntimeError):
    """An optional dependency (an extra of the package) is not installed."""


def plotting_available() -> bool:
    """Whether matplotlib (the ``report`` extra) is installed."""
    return importlib.util.find_spec("matplotlib") is not None


def _plots(inputs: ReportInputs, out: Path) -> list[str]:
    # matplotlib is the ``report`` extra: the base install and the Lambda images go without
    if not plotting_available():
        raise MissingExtraError(PLOTS_NEED)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[str] = []
    if inputs.detection is not None and not inputs.detection.rows.empty:
        summary = inputs.detection.summary()
        part = summary[
            (summary["family"] == "all") & summary["metric"].isin(["f1", "hourly_ap", "hourly_f1"])
        ]
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
        for ax, metric in zip(axes, ["f1", "hourly_ap", "hourly_f1"], strict=True):
            m = part[part["metric"] == metric]
            labels = [f"{d}\n{t}" for d, t in zip(m["detector"], m["tier"], strict=True)]
            ax.bar(
                labels,
                m["mean"],
                yerr=m["std"],
                color=["#3b75af" if d == "product" else "#aaaaaa" for d in m["detector"]],
                capsize=4,
            )
            ax.set_title(
                {
                    "f1": "customer F1",
                    "hourly_ap": "hourly average precision",
                    "hourly_f1": "hourly F1",
                }[metric]
            )
            ax.set_ylim(0, 1.05)
            ax.tick_params(axis="x", labelsize=8)
        fig.tight_layout()
        fig.savefig(out / "detection.png", dpi=110)
        plt.close(fig)
        written.append("detection.png")

        recall = summary[(summary["family"] != "all") & (summary["metric"] == "recall")]
        if not recall.empty:
            fig, ax = plt.subplots(figsize=(11, 3.6))
            groups = list(recall.groupby(["detector", "tier"], sort=False))
            families = sorted(recall["family"].unique())
            width = 0.8 / max(len(groups), 1)
            for k, ((detector, tier), g) in enumerate(groups):
                values = g.set_index("family")["mean"].reindex(families)
                ax.bar(
                    np.arange(len(families)) + k * width,
                    values.to_numpy(),
                    width,
                    label=f"{detector} {tier}",
                )
            ax.set_xticks(np.arange(len(families)) + 0.4 - width / 2, families)
            ax.set_ylabel("customer recall")
            ax.set_ylim(0, 1.05)
            ax.legend(fontsize=8, ncol=len(groups))
            fig.tight_layout()
            fig.savefig(out / "recall_by_family.png", dpi=110)
            plt.close(fig)
            written.append("recall_by_family.png")
    if inputs.forecast is not None and not inputs.forecast.empty:
        f = inputs.forecast
        fig, ax = plt.subplots(figsize=(5, 5))
        has_ref = f["reference_mape"].notna()
        ax.scatter(
            f.loc[has_ref, "reference_mape"],
            f.loc[has_ref, "mape"],
            color="#3b75af",
            label="product" if (f["model"] == "product").any() else "prototype re-implementation",
        )
        if "prototype_mape" in f.columns and (f["model"] == "product").any():
            ax.scatter(
                f.loc[has_ref, "reference_mape"],
                f.loc[has_ref, "prototype_mape"],
                color="#aaaaaa",
                marker="x",
                label="prototype re-implementation",
            )
        top = (
            float(np.nanmax(f[["mape", "reference_mape"]].to_numpy(dtype=float)))
            if has_ref.any()
            else 1.0
        )
        ax.plot([0, top], [0, top], "k--", lw=0.8)
        ax.set_xlabel("reference MAPE (%)")
        ax.set_ylabel("measured MAPE (%)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "forecast_mape.png", dpi=110)
        plt.close(fig)
        written.append("forecast_mape.png")
    return written


def write_report(inputs: ReportInputs, out: str | Path) -> Path:
    """Write ``report.md``, the CSV files behind it and the plots into ``out``.

    Returns
    -------
    pathlib.Path
        The markdown file.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# meterwatch evaluation", ""]
    if inputs.command:
        lines += [f"Command: `{inputs.command}`", ""]
    lines += [f"- {n}" for n in inputs.notes]
    if inputs.notes:
        lines.append("")
    plots = _plots(inputs, folder)
    if inputs.detection is not None:
        det = inputs.detection
        summary = det.summary()
        det.rows.to_csv(folder / "detection_draws.csv", index=False)
        summary.to_csv(folder / "detection_summary.csv", index=False)
        det.customers.to_csv(folder / "detection_customers.csv", index=False)
        det.events.to_csv(folder / "detection_events.csv", index=False)
        if not det.inbox.empty:
            det.inbox.to_csv(folder / "detection_inbox.csv", index=False)
        lines += [
            "## Detection",
            "",
            "Mean ± standard deviation over draws (seeds). Customer metrics: was an alert raised in the "
            "new period; hourly metrics over every new hour of every customer; delay: hours from the start "
            "of a manipulation to the first alert at or after it (median over detected customers).",
            "",
            markdown_table(headline_table(summary)),
        ]
        if (summary["detector"] == "product").any():
            lines += ["### Targets (product)", "", markdown_table(targets_table(summary))]
        lines += [
            f"Prototype as published (docs/domain-notes.md#the-prototype): standard {PROTOTYPE_PUBLISHED['standard']}; subtle {PROTOTYPE_PUBLISHED['subtle']}.",
            "",
            "### Customer recall by family",
            "",
            markdown_table(family_table(summary, "recall")),
            "Positive customers per draw by family:",
            "",
            markdown_table(family_table(summary, "customers")),
            "### Hourly average precision by family",
            "",
            "Positives: the family's manipulated hours; negatives: every clean hour of the draw.",
            "",
            markdown_table(family_table(summary, "hourly_ap")),
            "### Median hours to first alert by family",
            "",
            markdown_table(family_table(summary, "delay_hours_median")),
        ]
        lines += [
            "### Clean customers alerted (number of draws)",
            "",
            markdown_table(false_alarm_table(det.customers)),
        ]
        for detector in (
            sorted(det.customers["detector"].unique()) if not det.customers.empty else []
        ):
            lines += [
                f"### Positives the {detector} missed",
                "",
                markdown_table(missed_table(det.customers, det.events, detector)),
            ]
        for name in ("detection.png", "recall_by_family.png"):
            if name in plots:
                lines += [f"![{name}]({name})", ""]
    if inputs.forecast is not None:
        f = inputs.forecast
        f.to_csv(folder / "forecast.csv", index=False)
        lines += [
            "## Forecast",
            "",
            "Per customer, the last 20 % forecast one step ahead at the prototype's frequency; "
            "MAPE over the periods read for at least half of their hours (`n_test`: the new "
            "part's last period is a stub of the data's last hour).",
            "",
        ]
        stats = forecast_summary(f)
        if stats:
            lines += [
                f"- MAPE below the reference on {stats['better_than_reference']:.0f} of {stats['customers']:.0f} customers "
                f"(target ≥ 25 of 30); median ratio MAPE / reference {stats['median_ratio']:.3f} (target ≤ 0.8).",
                f"- median MAPE {stats['median_mape']:.1f} % (reference {stats['median_reference_mape']:.1f} %).",
            ]
            if "better_than_prototype" in stats:
                lines.append(
                    f"- on the identical split, MAPE below the prototype re-implementation on "
                    f"{stats['better_than_prototype']:.0f} of {stats['customers']:.0f} customers; "
                    f"median ratio {stats['median_ratio_prototype']:.3f}."
                )
        for column, what in (
            (
                "onestep_hourly_mape",
                "one-step forecast spread over hours by the hourly model's shape",
            ),
            ("hourly_mape", "hourly detection model from rolling origins"),
        ):
            if column in f and f[column].notna().any():
                lines.append(f"- median hourly MAPE, {what}: {f[column].median():.1f} %.")
        if f["coverage"].notna().any():
            lines.append(
                f"- band coverage of new hours: median {f['coverage'].median():.3f} (a 95 % band should hold about 0.95)."
            )
        lines += ["", markdown_table(f.round(3))]
        if "forecast_mape.png" in plots:
            lines += ["![forecast_mape.png](forecast_mape.png)", ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
