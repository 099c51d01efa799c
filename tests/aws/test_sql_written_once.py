"""Each SQL query is written once (DuckDB dialect) and must mean the same on Athena.

Every query the S3 backend would send to Athena is rewritten by ``to_athena`` (Trino, ``?``
parameters, tables as column-ordered subqueries, ``readings`` joined to its sector), then
transpiled back and run on DuckDB over the same local lake; the result must equal the
original query's. The queries: the Athena named queries of the CDK app, the dashboard's
``meterwatch.queries`` (when present) and every query the core runs during train + score
(recorded from a real run).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlglot

from infra.named_queries import NAMED_QUERIES
from meterwatch.ingest.pipeline import ingest_paths
from meterwatch.settings import Settings
from meterwatch.storage.local import LocalLake
from meterwatch.storage.s3 import DuckDBEngine, to_athena
from tests.scenarios import hourly_frame, write_electrodunas


class RecordingLake(LocalLake):
    """A local lake that remembers every query the core ran on it."""

    seen: list[tuple[str, Any]]

    def query(self, sql: str, params: Any = None) -> pd.DataFrame:
        self.seen.append((sql, params))
        return super().query(sql, params)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingLake]:
    root = tmp_path_factory.mktemp("sql")
    for n in (1, 2, 3):
        series = hourly_frame(24 * 40, seed=n, level=5.0 * n)
        write_electrodunas(root / "history", n, series.iloc[: 24 * 30])
        new = series.iloc[24 * 30 :].copy()
        if n == 3:
            new["active"] *= 0.2
        write_electrodunas(root / "new", n, new)
    lake = RecordingLake(root / "lake")
    lake.seen = []
    ingest_paths(lake, [root / "history"])
    pipeline = pytest.importorskip("meterwatch.detect.pipeline")
    settings = Settings.load(workers=1)
    pipeline.train(lake, settings=settings)
    ingest_paths(lake, [root / "new"])
    pipeline.score(lake, settings=settings)
    pipeline.score(lake, settings=settings)  # the second run takes the "already scored" path
    alerts = lake.read("alerts")
    with lake.transaction() as tx:
        tx.append(
            "feedback",
            pd.DataFrame(
                {
                    "feedback_id": ["f1"],
                    "alert_id": [alerts["alert_id"].iloc[0] if len(alerts) else "none"],
                    "client_id": ["Cliente 3"],
                    "status": ["under_inspection"],
                    "note": ["visita programada"],
                    "author": ["operador"],
                    "created_at": [pd.Timestamp.now(tz="UTC").floor("ms")],
                }
            ),
        )
    yield lake


SAMPLES: dict[str, Any] = {
    "start": pd.Timestamp("2022-01-01"),
    "end": pd.Timestamp("2023-01-01"),
    "hour_from": 0,
    "hour_to": 23,
    "client_id": "Cliente 3",
    "limit": 50,
}


def sample(name: str) -> Any:
    """A plausible value for a dashboard parameter (``None`` = the filter's "all")."""
    if name in SAMPLES:
        return SAMPLES[name]
    if name.endswith(("_from", "start")):
        return pd.Timestamp("2022-01-01")
    if name.endswith(("_to", "end", "until")):
        return pd.Timestamp("2023-01-01")
    return None


def dashboard_queries() -> list[tuple[str, str, dict[str, Any]]]:
    try:
        module = importlib.import_module("meterwatch.queries")
    except ImportError:
        return []
    return [
        (f"queries.{name}", q.sql, {p: sample(p) for p in sorted(q.params)})
        for name, q in module.QUERIES.items()
    ]


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    if a.empty:
        return

    def norm(f: pd.DataFrame) -> pd.DataFrame:
        f = f.copy()
        for c in f.columns:
            if isinstance(f[c].dtype, pd.DatetimeTZDtype):
                f[c] = f[c].dt.tz_convert(None)
            elif pd.api.types.is_float_dtype(f[c]):
                f[c] = f[c].round(6)  # sums in another order differ in the last bits
        return f.astype(str).sort_values(list(f.columns)).reset_index(drop=True)

    pd.testing.assert_frame_equal(norm(a), norm(b))


def check(lake: RecordingLake, sql: str, params: Any) -> None:
    athena_sql, values = to_athena(sql, params)
    sqlglot.parse_one(athena_sql, read="trino")  # valid Trino
    expected = LocalLake.query(lake, sql, params)
    got = DuckDBEngine(lake).run(athena_sql, values)
    same(expected, got)


@pytest.mark.parametrize("name", sorted(NAMED_QUERIES))
def test_named_queries_mean_the_same_on_athena(lake: RecordingLake, name: str) -> None:
    check(lake, NAMED_QUERIES[name], None)


def test_queries_the_core_runs_mean_the_same_on_athena(lake: RecordingLake) -> None:
    if not lake.seen:
        # Train and score read by partition and window (Lake.read_since), not by SQL: the
        # queries Athena runs are the named ones and the dashboard's, checked above and below.
        pytest.skip("train + score ran no SQL query on this lake")
    for sql, params in lake.seen:
        check(lake, sql, params)


def test_dashboard_queries_mean_the_same_on_athena(lake: RecordingLake) -> None:
    queries = dashboard_queries()
    if not queries:
        pytest.skip("meterwatch.queries is not on this branch yet")
    for name, sql, params in queries:
        try:
            check(lake, sql, params)
        except Exception as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_values_travel_as_parameters_never_in_the_text() -> None:
    sql, values = to_athena(
        "SELECT * FROM alerts WHERE client_id = $c AND ($s IS NULL OR sector = $s)",
        {"c": "x'; DROP TABLE alerts; --", "s": None},
    )
    assert "DROP" not in sql
    assert values == ["x'; DROP TABLE alerts; --", None, None]
    assert sql.count("?") == 3


def test_athena_rewrite_is_stable_for_a_query_with_ctes(lake: RecordingLake) -> None:
    sql = (
        "WITH recent AS (SELECT client_id, max(ts) AS last_ts FROM readings GROUP BY 1) "
        "SELECT r.client_id, r.last_ts, c.sector FROM recent r JOIN customers c USING (client_id)"
    )
    check(lake, sql, None)


def test_parameters_keep_their_order_when_a_cte_binds_some(lake: RecordingLake) -> None:
    sql = (
        "WITH mine AS (SELECT client_id, ts, active_kwh FROM readings WHERE client_id = ?) "
        "SELECT count(*) AS n FROM mine WHERE active_kwh > ?"
    )
    _sql, values = to_athena(sql, ["Cliente 3", 0.0])
    assert values == ["Cliente 3", 0.0]
    check(lake, sql, ["Cliente 3", 0.0])


def test_the_peer_comparison_names_its_customers_in_one_in_list(lake: RecordingLake) -> None:
    """The alert's peers are read by a plain ``client_id IN (?, ...)`` on ``daily`` (a set of
    values Athena projects through the tables' bucket partitioning, so only their buckets'
    files are read), with the ids bound as values, in order."""
    from meterwatch.queries import peer_sample, peers_daily

    chosen = peer_sample("Cliente 3", ["Cliente 1", "Cliente 2", "Cliente 3"])
    assert chosen[0] == "Cliente 3" and sorted(chosen) == ["Cliente 1", "Cliente 2", "Cliente 3"]
    query = peers_daily(len(chosen))
    params = {
        "start": pd.Timestamp("2022-01-01"),
        "end": pd.Timestamp("2023-01-01"),
        **{f"c{k}": c for k, c in enumerate(chosen)},
    }
    sql, values = to_athena(query.sql, params)
    assert "IN (?, ?, ?)" in sql and "Cliente" not in sql
    assert values[:3] == chosen
    check(lake, query.sql, params)
