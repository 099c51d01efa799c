"""Per-customer cost of ingest, train and the daily scoring run at several fleet sizes.

    nice .venv/bin/python bench/scale.py --customers 100 400 --days 120 --write-results

For each fleet size a synthetic fleet (``meterwatch.synth``) of ``--days`` + 1 days is written;
the last day is held back. Each stage runs in its own process (CPU seconds and peak RSS from
``getrusage``): ingest of the history, train (models see up to ten days before the cut),
first score (those ten days; ``history_step_days`` 0), ingest of the held-back day, and the
daily score: one new day for every customer. Extra peak memory per customer is the slope of
peak RSS between fleet sizes. 10,000 customers: ``--customers 10000 --days 120`` (about
20 minutes of training on 2 cores; the daily score itself is what the targets concern).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._results import machine, write_section  # noqa: E402

STAGES = ("ingest", "train", "score_first", "ingest_day", "score_daily")
START = "2021-01-01"


def _split(synth: Path, base: Path, day: Path, cut: str) -> None:
    base.mkdir(parents=True)
    day.mkdir(parents=True)
    for path in sorted((synth / "data").iterdir()):
        if path.suffix != ".csv":
            shutil.copy(path, base / path.name)
            continue
        head, *lines = path.read_text().splitlines()
        (base / path.name).write_text("\n".join([head, *(x for x in lines if x < cut)]) + "\n")
        (day / path.name).write_text("\n".join([head, *(x for x in lines if x >= cut)]) + "\n")


def stage(name: str, work: Path, cut: str) -> dict[str, float]:
    """Run one stage in this process; return CPU seconds, peak RSS and a count."""
    import pandas as pd

    from meterwatch.detect.pipeline import score, train
    from meterwatch.ingest import ingest_paths
    from meterwatch.settings import Settings
    from meterwatch.storage import open_lake

    settings = Settings.load(workers=2, history_step_days=0)
    lake = open_lake(str(work / "lake"))
    started = time.perf_counter()
    count = 0
    if name == "floor":
        import pyarrow.csv as pacsv

        for path in sorted((work / "base").glob("*.csv")):
            count += pacsv.read_csv(path).num_rows
    elif name in ("ingest", "ingest_day"):
        report = ingest_paths(lake, [work / ("base" if name == "ingest" else "day")])
        count = sum(f.rows_read for f in report.files)
    elif name == "train":
        until = pd.Timestamp(cut) - pd.Timedelta(days=10, hours=1)
        count = train(lake, until=until, settings=settings).n_models
    else:
        count = score(lake, settings=settings).hours_scored
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": time.perf_counter() - started,
        "peak_mib": usage.ru_maxrss / 1024,
        "count": count,
    }


def run_fleet(n: int, days: int, keep: Path | None) -> dict[str, dict[str, float]]:
    from meterwatch.synth import generate_fleet

    work = Path(tempfile.mkdtemp(prefix=f"scale{n}-", dir=keep))
    cut = (datetime.fromisoformat(START) + __import__("datetime").timedelta(days=days)).strftime(
        "%Y-%m-%d"
    )
    generate_fleet(
        work / "synth", n_customers=n, days=days + 1, seed=11, start=START, defects=False
    )
    _split(work / "synth", work / "base", work / "day", cut)
    out = {}
    for name in ("floor", *STAGES):
        proc = subprocess.run(
            [sys.executable, __file__, "--stage", name, "--work", str(work), "--cut", cut],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode:
            raise SystemExit(proc.stderr)
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(n, name, out[name], flush=True)
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return out


def report(results: dict[int, dict[str, dict[str, float]]], command: str) -> str:
    sizes = sorted(results)
    lines = [
        "<!-- scale:start -->",
        "## Scale: per-customer cost",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()} (shared with other jobs, run under `nice`)  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d}",
        "",
        "| customers | stage | CPU s | CPU s / customer | peak MiB | wall s |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for n in sizes:
        for name in ("floor", *STAGES):
            r = results[n][name]
            lines.append(
                f"| {n:,} | {name} | {r['cpu_s']:.1f} | {r['cpu_s'] / n:.4f} | "
                f"{r['peak_mib']:.0f} | {r['wall_s']:.1f} |"
            )
    if len(sizes) >= 2:
        lines += ["", "| stage | extra peak MiB / customer (slope) | CPU s / customer, smallest → largest |",
                  "| --- | ---: | --- |"]  # fmt: skip
        a, b = sizes[0], sizes[-1]
        for name in STAGES:
            slope = (results[b][name]["peak_mib"] - results[a][name]["peak_mib"]) / (b - a)
            per = " → ".join(f"{results[n][name]['cpu_s'] / n:.4f}" for n in sizes)
            lines.append(f"| {name} | {slope:.3f} | {per} |")
        for n in sizes:
            ratio = results[n]["ingest"]["cpu_s"] / max(results[n]["floor"]["cpu_s"], 1e-9)
            lines.append(f"\nIngest at {n:,} customers: {ratio:.1f} × the pyarrow read floor "
                         "(CPU s, both including the interpreter's start and imports).")  # fmt: skip
    lines += [
        "",
        "CPU s and peak MiB are whole processes (interpreter, imports and the lake's snapshot "
        "included). floor = `pyarrow.csv.read_csv` of the same history files. score_daily = one "
        "new day for every customer after a steady state (first score of ten days).",
        "<!-- scale:end -->",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the lakes in")
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--stage", choices=("floor", *STAGES))
    parser.add_argument("--work", type=Path)
    parser.add_argument("--cut")
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.work, args.cut)))
        return
    results = {n: run_fleet(n, args.days, args.keep) for n in args.customers}
    text = report(results, "nice python bench/scale.py " + " ".join(sys.argv[1:]))
    print(text)
    if args.write_results:
        write_section("scale", text)


if __name__ == "__main__":
    main()
