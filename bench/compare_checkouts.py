"""Two checkouts of meterwatch on one synthetic fleet, stage by stage, alternately.

    nice .venv/bin/python bench/compare_checkouts.py --old /tmp/oldcode --new . \\
        --customers 300 --days 365 --repeats 2

Machines here are noisy (the same stage varies by a third from one hour to the next), so a
change is measured against the code before it in the same minutes: ``git worktree add
/tmp/oldcode <rev>`` for the old checkout. Each stage runs in its own process through
``bench/scale.py --stage`` of the checkout under test (CPU seconds and peak RSS): ingest of
the history (``--repeats`` times each, fresh lakes), then per checkout train and first score
once, then ``--repeats`` times each, on a fresh copy of that trained lake, the ingest of the
held-back day and the daily score.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = "2021-01-01"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, default=ROOT)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    codes = {"old": args.old.resolve(), "new": args.new.resolve()}
    work = args.work or Path(tempfile.mkdtemp(prefix="compare-"))
    cut = (datetime.fromisoformat(START) + timedelta(days=args.days)).strftime("%Y-%m-%d")
    if not (work / "base").exists():
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, str(ROOT / "bench"))
        import scale

        from meterwatch.synth import generate_fleet

        generate_fleet(
            work / "synth", n_customers=args.customers, days=args.days + 1, seed=11,
            start=START, defects=False,
        )  # fmt: skip
        scale._split(work / "synth", work / "base", work / "day", cut)

    def run(version: str, stage: str, folder: Path) -> None:
        for name in ("base", "day"):
            if not (folder / name).exists():
                (folder / name).symlink_to(work / name)
        proc = subprocess.run(
            [sys.executable, str(codes[version] / "bench" / "scale.py"), "--stage", stage,
             "--work", str(folder), "--cut", cut],
            capture_output=True, text=True, cwd=codes[version],
        )  # fmt: skip
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{version} {stage}: {r['cpu_s']:.1f} CPU-s, peak {r['peak_mib']:.0f} MiB", flush=True
        )

    for _ in range(args.repeats):
        for version in codes:
            folder = work / f"{version}-ingest"
            shutil.rmtree(folder / "lake", ignore_errors=True)
            folder.mkdir(exist_ok=True)
            run(version, "ingest", folder)

    def copy(version: str, source: str, target: str) -> Path:
        """A fresh folder holding a copy of another stage's lake."""
        folder = work / f"{version}-{target}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        shutil.copytree(work / f"{version}-{source}" / "lake", folder / "lake")
        return folder

    for version in codes:
        folder = copy(version, "ingest", "trained")
        run(version, "train", folder)
        run(version, "score_first", folder)
    for _ in range(args.repeats):
        for version in codes:
            folder = copy(version, "trained", "day")
            run(version, "ingest_day", folder)
            run(version, "score_daily", folder)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
