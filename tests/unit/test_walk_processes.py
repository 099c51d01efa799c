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
from meterwatch.detect.model import fit_customer
from tests.scenarios import hourly_frame


def _tasks() -> list[pipeline._WalkTask]:
    tasks = []
    for seed in (1, 2, 3):
        frame = _frame(100, seed=seed, level=3.0 * seed)
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


def _frame(days: int, seed: int, level: float | None = None) -> pd.DataFrame:
    """A customer's hourly readings (lake columns) of ``days`` days."""
    raw = hourly_frame(24 * days, seed=seed, level=2.0 + seed if level is None else level)
    return pd.DataFrame(
        {
            "ts": raw["ts"],
            "active_kwh": raw["active"],
            "reactive_kvarh": raw["reactive"],
            "voltage_fa": raw["va"],
            "voltage_fc": raw["vc"],
        }
    )


def test_the_model_of_the_origin_before_calibrates_as_the_probe_it_replaces() -> None:
    """The walk-forward's model of a customer's previous origin was fitted on exactly the
    readings before it: given as the calibration probe with that origin as the cut, the model
    is the one the 80/20 split fits when its cut falls on the same day (same trees, same
    statistics, to the byte), with one fit fewer."""
    frame = _frame(100, seed=4)
    cut = frame["ts"].iloc[0].floor("D") + pd.Timedelta(days=80)  # the 80 % cut of 100 days
    split = fit_customer(frame)
    before = fit_customer(frame[frame["ts"] < cut].reset_index(drop=True))
    before.drop_trees(keep_stored=True)  # as it comes back from a walk-forward worker
    chained = fit_customer(frame, calibrated_by=(before, cut))
    assert chained.to_bytes() == split.to_bytes()
    # a cut leaving less than two weeks on either side is ignored: the 80/20 split again
    late = fit_customer(frame, calibrated_by=(before, frame["ts"].iloc[-1] - pd.Timedelta(days=3)))
    assert late.to_bytes() == split.to_bytes()


def test_chained_walk_fits_in_processes_are_the_threads_fits() -> None:
    """Each customer's model of an origin calibrates its model of the next: in worker
    processes or threads, the same models and grids, each the direct fit it stands for."""
    frames = {c: _frame(150, seed=c) for c in (1, 2)}
    origins = [frames[1]["ts"].iloc[0].floor("D") + pd.Timedelta(days=d) for d in (70, 100, 130)]
    tasks = [(k, c) for k in range(3) for c in (1, 2)]
    previous = [i - 2 if i >= 2 else -1 for i in range(len(tasks))]

    def build(i: int, before: object | None) -> pipeline._WalkTask:
        k, c = tasks[i]
        frame, origin = frames[c], origins[k]
        ts = frame["ts"]
        context = frame[
            (ts >= origin - pd.Timedelta(days=18)) & (ts < origin + pd.Timedelta(days=30))
        ]
        task = pipeline._WalkTask(frame[ts < origin], context, keep_trees=k < 2)
        if before is not None:
            task.previous, task.previous_origin = before, origins[k - 1]
        return task

    model = lambda result: result[0]  # noqa: E731
    threads = list(pipeline._chained_fits(pipeline._walk_one, build, previous, 2, 0, model))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        processes = list(pipeline._chained_fits(pipeline._walk_one, build, previous, 2, 1, model))
    assert len(threads) == len(processes) == len(tasks)
    for (model_a, grid_a), (model_b, grid_b) in zip(threads, processes, strict=True):
        assert model_a.to_bytes() == model_b.to_bytes()
        pd.testing.assert_frame_equal(grid_a, grid_b)
    # trees travel back only where the next origin needs them
    assert [m._has_trees() for m, _ in threads] == [True] * 4 + [False] * 2
    # the last origin of customer 2, fitted directly with its previous origin's model
    frame = frames[2]
    before = fit_customer(frame[frame["ts"] < origins[1]].reset_index(drop=True))
    direct = fit_customer(
        frame[frame["ts"] < origins[2]].reset_index(drop=True), calibrated_by=(before, origins[1])
    )
    direct.drop_trees()
    assert threads[-1][0].to_bytes() == direct.to_bytes()
