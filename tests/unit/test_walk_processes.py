"""Walk-forward fits in worker processes give the threads' models and grids, to the byte; where
processes cannot start (AWS Lambda has no /dev/shm) the fits fall back to threads."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from meterwatch.detect import pipeline
from tests.scenarios import hourly_frame


def _tasks() -> list[pipeline._WalkTask]:
    tasks = []
    for seed in (1, 2, 3):
        raw = hourly_frame(24 * 100, seed=seed, level=3.0 * seed)
        frame = pd.DataFrame(
            {
                "ts": raw["ts"],
                "active_kwh": raw["active"],
                "reactive_kvarh": raw["reactive"],
                "voltage_fa": raw["va"],
                "voltage_fc": raw["vc"],
            }
        )
        origin = frame["ts"].iloc[0] + pd.Timedelta(days=70)
        ts = frame["ts"]
        context = frame[
            (ts >= origin - pd.Timedelta(days=18)) & (ts < origin + pd.Timedelta(days=30))
        ]
        tasks.append(pipeline._WalkTask(frame[ts < origin], context))
    return tasks


def _same(a: list, b: list) -> None:
    assert len(a) == len(b) == 3
    for (model_a, grid_a), (model_b, grid_b) in zip(a, b, strict=True):
        assert model_a.to_bytes() == model_b.to_bytes()
        pd.testing.assert_frame_equal(grid_a, grid_b)
        assert not model_a._has_trees()  # what travels back is the scoring part only


def test_processes_fit_what_threads_fit() -> None:
    tasks = _tasks()
    threads = list(
        pipeline._fits(pipeline._walk_one, tasks, len(tasks), workers=2, processes_from=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to threads warns: it must not happen here
        processes = list(
            pipeline._fits(pipeline._walk_one, tasks, len(tasks), workers=2, processes_from=1)
        )
    _same(threads, processes)


def test_no_worker_processes_falls_back_to_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*args: object, **kwargs: object) -> None:
        raise OSError("[Errno 38] Function not implemented")  # Lambda's SemLock

    tasks = _tasks()
    threads = list(
        pipeline._fits(pipeline._walk_one, tasks, len(tasks), workers=2, processes_from=0)
    )
    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", unavailable)
    with pytest.warns(UserWarning, match="threads"):
        fallback = list(
            pipeline._fits(pipeline._walk_one, tasks, len(tasks), workers=2, processes_from=1)
        )
    _same(threads, fallback)


def test_an_unguarded_script_gets_a_clear_error(tmp_path: Path) -> None:
    """A spawned worker imports the caller's main module: an unguarded script that opts in to
    processes fails with what to do, not with a bare BrokenProcessPool."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np, pandas as pd\n"
        "from meterwatch.detect import pipeline\n"
        "ts = pd.date_range('2022-01-01', periods=24 * 80, freq='h')\n"
        "frame = pd.DataFrame({'ts': ts, 'active_kwh': 1.0 + np.arange(len(ts)) % 24,\n"
        "    'reactive_kvarh': 0.4, 'voltage_fa': 460.0, 'voltage_fc': 460.0})\n"
        "task = pipeline._WalkTask(frame[:24 * 70], frame[24 * 50:])\n"
        "list(pipeline._fits(pipeline._walk_one, [task, task], 2, 2, 1))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode != 0
    assert 'guard its top level with `if __name__ == "__main__":`' in done.stderr


def test_the_fits_draw_their_items_as_the_workers_need_them() -> None:
    """The walk-forward slices each fit's readings when it is handed over: at most
    FITS_AHEAD per worker are drawn ahead of the result being read (memory stays bounded
    with thousands of fits)."""
    drawn = []

    def items():
        for i in range(100):
            drawn.append(i)
            yield i

    fits = pipeline._fits(abs, items(), 100, workers=2, processes_from=0)
    assert next(fits) == 0
    assert len(drawn) <= pipeline.FITS_AHEAD * 2
    assert list(fits) == list(range(1, 100))
