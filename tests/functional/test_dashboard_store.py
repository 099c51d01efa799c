"""The dashboard's store on a real local lake: a selection goes in, frames come out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from meterwatch import queries
from meterwatch.daily import COMPLETE_KEY
from meterwatch.dashboard.accounts import UsersFile, add_user, empty_document, save_document
from meterwatch.dashboard.server import AuthRequiredError, resolve_accounts, users_file
from meterwatch.dashboard.store import DashboardStore, Selection, peak_window
from meterwatch.feedback import record_feedback
from meterwatch.queries import QUERIES, hours_by_customer, peers_daily, run_query
from meterwatch.settings import Settings
from tests.dashboard_lake import build_lake


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DashboardStore:
    root: Path = tmp_path_factory.mktemp("dash")
    return DashboardStore(build_lake(root, n_customers=10, days=45))


def test_default_selection_is_the_last_90_days_with_data(store: DashboardStore) -> None:
    bounds = store.bounds()
    assert bounds is not None
    sel = store.normalise(Selection())
    assert sel.end == bounds.last and sel.start == bounds.first  # 45 days < 90
    far = store.normalise(Selection(start=dt.date(1990, 1, 1), end=dt.date(2100, 1, 1)))
    assert (far.start, far.end) == (bounds.first, bounds.last)


def test_energy_per_customer_adds_up_to_the_total(store: DashboardStore) -> None:
    everyone = store.energy_by_customer(Selection())
    assert len(everyone) == 10
    assert everyone["active_kwh"].is_monotonic_decreasing
    direct = store.lake.query("SELECT sum(active_kwh) AS kwh FROM readings")["kwh"].iloc[0]
    assert everyone["active_kwh"].sum() == pytest.approx(direct)
    assert store.total_kwh(Selection()) == pytest.approx(direct)


def test_hour_filter_and_sector_filter_narrow_the_selection(store: DashboardStore) -> None:
    sector = store.sectors()[0]
    working = Selection(hour_from=8, hour_to=17, sector=sector)
    frame = store.energy_by_customer(working)
    assert set(frame["sector"]) == {sector}
    direct = store.lake.query(
        "SELECT sum(active_kwh) AS kwh FROM readings WHERE sector = $s "
        "AND extract(hour from ts) BETWEEN 8 AND 17",
        {"s": sector},
    )["kwh"].iloc[0]
    assert frame["active_kwh"].sum() == pytest.approx(direct)
    assert store.total_kwh(working) == pytest.approx(direct)
    profile = store.hour_profile(working)
    assert set(profile["hour"]) <= set(range(8, 18))


def test_a_customer_gets_voltages_scores_model_and_recent_anomalies(store: DashboardStore) -> None:
    client = str(store.alerts()["client_id"].iloc[0])
    sel = Selection(client_id=client)
    series, grain = store.series(sel)
    assert grain == "hour" and {"voltage_fa", "voltage_fc"} <= set(series.columns)
    scores, _ = store.customer_scores(sel)
    assert not scores.empty and (scores["lower_kwh"] <= scores["upper_kwh"]).all()
    assert store.model(client) is not None
    recent = store.recent_anomalies(client)
    assert recent.hours == 7 * 24 and 0 <= recent.anomalous_hours <= recent.hours


def test_heatmap_has_one_cell_per_day_and_hour(store: DashboardStore) -> None:
    client = store.customers()["client_id"].iloc[0]
    heat = store.heatmap(
        Selection(client_id=client, start=dt.date(2021, 1, 4), end=dt.date(2021, 1, 10))
    )
    assert len(heat) == 7 * 24


def test_peak_window_wraps_past_midnight() -> None:
    profile = pd.DataFrame(
        {
            "hour": range(24),
            "active_kwh": [5.0 if h in (22, 23, 0, 1) else 1.0 for h in range(24)],
            "hours": 10,
        }
    )
    window = peak_window(profile)
    assert window is not None and window.label() == "22:00–02:00"


def test_feedback_is_appended_and_the_latest_status_shows_in_the_inbox(
    store: DashboardStore,
) -> None:
    alert_id = str(store.alerts()["alert_id"].iloc[-1])
    store.record_feedback(alert_id, "under_inspection", "visita programada", "Ana")
    store.record_feedback(alert_id, "confirmed_loss", "puente en el medidor", "Ana")
    inbox = store.alerts().set_index("alert_id")
    assert inbox.at[alert_id, "inspection_status"] == "confirmed_loss"
    assert len(store.alert_feedback(alert_id)) == 2  # history kept
    assert store.alerts(inspection="confirmed_loss")["alert_id"].tolist() == [alert_id]
    share = store.confirmed_share()
    assert share["confirmed"].sum() >= 1 and share["share"].between(0, 1).all()
    with pytest.raises(ValueError, match="status"):
        record_feedback(store.lake, alert_id, "resolved", "", "Ana")
    with pytest.raises(ValueError, match="author"):
        record_feedback(store.lake, alert_id, "false_alarm", "", "  ")
    with pytest.raises(ValueError, match="unknown alert"):
        record_feedback(store.lake, "nope", "false_alarm", "", "Ana")


def test_the_inbox_lists_alerts_in_the_order_the_e_mail_ranks_them(tmp_path: Path) -> None:
    """The inbox and the e-mail show one order: the engine's rank (lost energy x confidence,
    doubled while open), not the lost energy alone."""
    lake = build_lake(tmp_path, n_customers=6, days=40)
    alerts = lake.read("alerts")
    assert len(alerts) >= 2
    # make the rank disagree with the lost energy: the smallest loss is the visit worth most
    alerts["rank"] = alerts["lost_kwh_estimate"].rank(method="first").astype(alerts["rank"].dtype)
    tx = lake.transaction()
    tx.overwrite("alerts", alerts)
    tx.commit()
    inbox = DashboardStore(lake, version_seconds=0).alerts()
    standing = alerts[alerts["status"] != "withdrawn"].sort_values("rank")
    assert inbox["alert_id"].tolist() == standing["alert_id"].tolist()
    assert inbox["lost_kwh_estimate"].is_monotonic_increasing


def test_alert_evidence_compares_window_with_before_and_peers(store: DashboardStore) -> None:
    alert_id = str(store.alerts()["alert_id"].iloc[0])
    evidence = store.evidence(alert_id)
    assert evidence is not None
    assert evidence.expected_kwh > evidence.reported_kwh
    assert evidence.view.client_id == evidence.alert["client_id"]
    assert evidence.ratio_before is not None and evidence.voltage_fa_before is not None
    assert not evidence.peers.empty
    sector = evidence.alert["sector"]
    peers = len(store.customers(sector)) - 1
    assert (evidence.peers["peers"] == peers).all() and (
        evidence.peers["sector_peers"] == peers
    ).all()


def test_a_large_sectors_peers_are_a_fixed_sample_from_the_customers_bucket_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most ``PEER_SAMPLE`` customers are read (one bound ``IN`` list, so Athena reads
    their buckets' files only); the chart still says how many peers the sector has, and the
    sample's figures are the same as computing them from those peers' readings."""
    store = DashboardStore(build_lake(tmp_path, n_customers=24, days=35, scored_days=7))
    sizes = store.customers().groupby("sector").size()
    alerts = store.alerts()
    alert = alerts[alerts["sector"].map(sizes) >= 4].iloc[0]
    sector, client = alert["sector"], str(alert["client_id"])
    members = store.customers(sector)["client_id"].astype(str).tolist()
    monkeypatch.setattr(queries, "PEER_SAMPLE", 3)
    fresh = DashboardStore(store.lake)
    evidence = fresh.evidence(str(alert["alert_id"]))
    assert evidence is not None
    assert (evidence.peers["peers"] == 2).all()
    assert (evidence.peers["sector_peers"] == len(members) - 1).all()
    chosen = queries.peer_sample(client, members)
    assert len(chosen) == 3 and chosen[0] == client
    assert queries.peer_sample(client, list(reversed(members))) == chosen  # fixed
    # the sample's daily index, from the hourly readings of exactly those customers
    start = pd.Timestamp(alert["window_start"]).floor("D")
    direct = store.lake.query(
        "SELECT client_id, CAST(date_trunc('day', ts) AS DATE) AS day, sum(active_kwh) AS kwh "
        "FROM readings WHERE client_id IN ($a, $b) GROUP BY 1, 2",
        {"a": chosen[1], "b": chosen[2]},
    )
    wide = direct.pivot_table(index="day", columns="client_id", values="kwh")
    wide.index = pd.to_datetime(wide.index)
    before = start - pd.Timedelta(days=28)
    shown = evidence.peers.set_index("day")
    wide = wide[(wide.index >= before) & (wide.index <= shown.index.max())]
    index = wide / wide[wide.index < start].mean() * 100.0
    assert shown["peer_median"].to_numpy() == pytest.approx(
        index.median(axis=1).reindex(shown.index).to_numpy()
    )


def test_quality_lists_every_customer_with_its_findings(store: DashboardStore) -> None:
    quality = store.quality()
    assert len(quality) == 10
    assert quality["completeness"].between(0, 1).all()
    assert (quality["duplicate_of"] != "").sum() == 2  # the synthetic fleet's twin pair
    english = store.findings(None, "en")
    assert not english.empty and english["text"].str.len().gt(0).all()


@pytest.mark.parametrize("hostile", ["x' OR 1=1 --", "Cliente 1'; DROP TABLE readings; --"])
def test_sql_in_a_filter_value_is_a_value(store: DashboardStore, hostile: str) -> None:
    assert store.energy_by_customer(Selection(client_id=hostile)).empty
    assert store.energy_by_customer(Selection(sector=hostile, hour_from=1)).empty
    assert store.alerts(sector=hostile, kind=hostile).empty
    assert store.findings(hostile).empty
    assert len(store.energy_by_customer(Selection())) == 10  # nothing was dropped


def test_queries_bind_exactly_their_parameters(store: DashboardStore) -> None:
    with pytest.raises(ValueError, match="missing"):
        run_query(store.lake, "customer_model")
    with pytest.raises(KeyError):
        run_query(store.lake, "no_such_query")
    for query in QUERIES.values():
        assert "QUALIFY" not in query.sql.upper() and "::" not in query.sql


def test_public_address_needs_accounts(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    users = users_file(Settings(lake=lake))
    assert resolve_accounts("127.0.0.1", users) is None  # localhost, no users
    with pytest.raises(AuthRequiredError, match="meterwatch users add"):
        resolve_accounts("0.0.0.0", users)
    doc = empty_document()
    add_user(doc, "ana", "a long enough passphrase")
    save_document(UsersFile(tmp_path / "lake" / "_meta" / "users.json"), doc)
    accounts = resolve_accounts("0.0.0.0", users)
    assert accounts is not None and accounts.verify("ana", "a long enough passphrase") == "ana"


def test_the_shared_password_variable_is_retired(tmp_path: Path) -> None:
    """One password for every user name cannot tell operators apart: refuse, do not ignore."""
    with pytest.raises(AuthRequiredError, match="no longer read"):
        resolve_accounts("127.0.0.1", None, retired_password="s3cret")


def test_every_query_survives_a_round_trip_through_athena_sql(store: DashboardStore) -> None:
    """DuckDB -> Trino (Athena) -> DuckDB with sqlglot, then run on the lake: same rows."""
    sqlglot = pytest.importorskip("sqlglot")
    client = str(store.customers()["client_id"].iloc[0])
    alert_id = str(store.alerts()["alert_id"].iloc[0])
    values = {
        "start": dt.datetime(2021, 1, 1), "end": dt.datetime(2021, 2, 1),
        "before": dt.datetime(2020, 12, 1), "since": dt.datetime(2021, 1, 15),
        "hour_from": 0, "hour_to": 23, "client_id": client, "sector": None,
        "kind": None, "inspection": None, "alert_id": alert_id,
        "first": dt.datetime(2021, 1, 10), "last": dt.datetime(2021, 1, 20),
        "c0": client, "c1": str(store.customers()["client_id"].iloc[1]),
    }  # fmt: skip
    generated = [hours_by_customer(7, 19), peers_daily(2)]
    for name, query in [*QUERIES.items(), *((q.name, q) for q in generated)]:
        trino = sqlglot.transpile(query.sql, read="duckdb", write="trino")[0]
        back = sqlglot.transpile(trino, read="trino", write="duckdb")[0]
        params = {p: values[p] for p in query.params}
        expected = run_query(store.lake, name, **params)
        got = store.lake.query(back, params or None)
        assert len(got) == len(expected), name


def test_serve_refuses_a_public_address_without_a_password(
    tmp_path: Path,
    small_fleet: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from meterwatch.cli import main

    assert main(["ingest", str(small_fleet), "--lake", str(tmp_path / "lake")]) == 0
    monkeypatch.delenv("METERWATCH_DASHBOARD_PASSWORD", raising=False)
    monkeypatch.delenv("METERWATCH_DASHBOARD_SECRET", raising=False)
    assert main(["serve", "--lake", str(tmp_path / "lake"), "--address", "0.0.0.0"]) == 2
    assert "without accounts" in capsys.readouterr().err


def test_fleet_views_read_the_daily_table_for_the_period_only(store: DashboardStore) -> None:
    """A view across customers reads the period's rows of ``daily``, never the hourly
    readings nor the whole history, and agrees with the readings."""
    fresh = DashboardStore(store.lake)
    bounds = fresh.bounds()
    assert bounds is not None
    sel = Selection(start=bounds.last - dt.timedelta(days=6), end=bounds.last, hour_from=6,
                    hour_to=20)  # fmt: skip
    frame = fresh.energy_by_customer(sel)
    direct = store.lake.query(
        "SELECT client_id, sum(active_kwh) AS kwh FROM readings WHERE ts >= $s AND ts < $e "
        "AND extract(hour from ts) BETWEEN 6 AND 20 GROUP BY client_id",
        {"s": dt.datetime.combine(sel.start, dt.time()),  # type: ignore[arg-type]
         "e": dt.datetime.combine(bounds.last + dt.timedelta(days=1), dt.time())},
    ).set_index("client_id")["kwh"]  # fmt: skip
    got = frame.set_index("client_id")["active_kwh"]
    pd.testing.assert_series_equal(
        got.sort_index(), direct.sort_index(), check_names=False, check_dtype=False
    )
    cached = [v for v in fresh._cache.values() if isinstance(v, pd.DataFrame)]
    assert max(len(v) for v in cached) <= 10  # customers, not customer-days or hours
    days = fresh.series(sel)[0]
    assert len(days) == 7 * 15  # the period's hours in the filter, nothing more


def test_the_cache_is_capped_in_bytes(store: DashboardStore) -> None:
    small = DashboardStore(store.lake, max_bytes=20_000)
    bounds = small.bounds()
    assert bounds is not None
    for days in range(1, 30):
        small.energy_by_customer(Selection(start=bounds.last - dt.timedelta(days=days)))
    assert 0 < small.cache_bytes() <= 20_000
    assert len(small._cache) < 29


def test_ingest_writes_the_daily_table_and_fills_it_for_an_older_lake(tmp_path: Path) -> None:
    from meterwatch.ingest import ingest_paths
    from meterwatch.storage import open_lake
    from tests.scenarios import hourly_frame, write_electrodunas

    folder = tmp_path / "fleet"
    write_electrodunas(folder, 1, hourly_frame(24 * 3 + 5, start="2022-01-01", seed=1))
    write_electrodunas(folder, 2, hourly_frame(24 * 2, start="2022-01-01", seed=2))
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [folder])
    daily = lake.read("daily").sort_values(["client_id", "day"]).reset_index(drop=True)
    sums = lake.query(
        "SELECT client_id, CAST(ts AS DATE) AS day, count(*) AS hours, sum(active_kwh) AS kwh, "
        "sum(CASE WHEN extract(hour from ts) = 7 THEN active_kwh ELSE 0 END) AS h07 "
        "FROM readings GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert len(daily) == len(sums) == 3 + 1 + 2  # the fourth day of customer 1 is partial
    assert daily["hours"].tolist() == sums["hours"].tolist()
    assert daily["active_kwh"].to_numpy() == pytest.approx(sums["kwh"].to_numpy())
    assert daily["h07"].to_numpy() == pytest.approx(sums["h07"].to_numpy())
    # A lake written before the table: the next ingest, of anything, fills it.
    with lake.transaction() as tx:
        tx.overwrite("daily", lake.read("daily").iloc[:0])
    lake.delete_object(COMPLETE_KEY)  # such a lake has no back-fill mark either
    assert lake.read("daily").empty
    write_electrodunas(tmp_path / "more", 3, hourly_frame(24, start="2022-02-01", seed=3))
    ingest_paths(lake, [tmp_path / "more"])
    assert set(lake.read("daily")["client_id"]) == {"Cliente 1", "Cliente 2", "Cliente 3"}


def test_a_customer_whose_data_ends_early_opens_on_its_own_last_days(tmp_path: Path) -> None:
    from meterwatch.ingest import ingest_paths
    from meterwatch.storage import open_lake
    from tests.scenarios import hourly_frame, write_electrodunas

    folder = tmp_path / "fleet"
    write_electrodunas(folder, 1, hourly_frame(24 * 200, start="2022-01-01", seed=1))
    write_electrodunas(folder, 2, hourly_frame(24 * 30, start="2022-01-01", seed=2))
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [folder])
    store = DashboardStore(lake)
    fleet = store.normalise(Selection())
    early = store.normalise(Selection(client_id="Cliente 2"))
    assert fleet.end == dt.date(2022, 7, 19)
    assert (early.start, early.end) == (dt.date(2022, 1, 1), dt.date(2022, 1, 30))
    assert store.total_kwh(early) > 0


def test_a_verdict_keeps_the_cached_readings_and_new_readings_do_not(tmp_path: Path) -> None:
    from meterwatch.ingest import ingest_paths
    from tests.scenarios import hourly_frame, write_electrodunas

    store = DashboardStore(build_lake(tmp_path, n_customers=6, days=40), version_seconds=0)
    before = store.version()
    alerts = store.alerts()
    assert not alerts.empty
    store.record_feedback(str(alerts["alert_id"].iloc[0]), "false_alarm", "", "Ana")
    assert store.version() == before
    extra = tmp_path / "more"
    write_electrodunas(extra, 40, hourly_frame(48, start="2021-02-01", seed=4))
    ingest_paths(store.lake, [extra])
    assert store.version() != before


def test_energy_per_customer_reads_whole_months_from_the_monthly_table(tmp_path: Path) -> None:
    """A period with whole months inside sums them from ``monthly`` and its edges from
    ``daily``: the same figures as the readings, with and without an hour filter."""
    from meterwatch.dashboard.store import period_bounds

    store = DashboardStore(build_lake(tmp_path, n_customers=6, days=80))
    bounds = store.bounds()
    assert bounds is not None
    start, end = bounds.first + dt.timedelta(days=3), bounds.last - dt.timedelta(days=2)
    for hours in ((0, 23), (7, 19)):
        fresh = DashboardStore(store.lake)
        called: list[str] = []
        query = fresh._query

        def recording(
            name: str, _query: Any = query, _called: list[str] = called, **params: Any
        ) -> pd.DataFrame:
            _called.append(name)
            return _query(name, **params)

        fresh._query = recording  # type: ignore[method-assign]
        sel = fresh.normalise(Selection(start=start, end=end, hour_from=hours[0], hour_to=hours[1]))
        first_day, first, last, end_day = period_bounds(sel)
        assert first_day == dt.datetime.combine(start, dt.time()) < first < last < end_day
        assert first.day == 1 and last.day == 1  # whole months inside, days on either side
        frame = fresh.energy_by_customer(sel)
        direct = store.lake.query(
            "SELECT client_id, sum(active_kwh) AS kwh, count(*) AS n FROM readings "
            "WHERE ts >= $s AND ts < $e AND extract(hour from ts) BETWEEN $a AND $b "
            "GROUP BY client_id",
            {"s": dt.datetime.combine(start, dt.time()),
             "e": dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
             "a": hours[0], "b": hours[1]},
        ).set_index("client_id")  # fmt: skip
        got = frame.set_index("client_id")
        assert got["active_kwh"].sort_index().to_numpy() == pytest.approx(
            direct["kwh"].sort_index().to_numpy(), rel=1e-9
        )
        if hours == (0, 23):
            assert (got["hours"].sort_index() == direct["n"].sort_index()).all()
        middle = "total" if hours == (0, 23) else "h07_19"
        assert [n for n in called if n.endswith("by_customer")] == [
            f"period_{middle}_by_customer"
        ]  # one query: one round trip to Athena


def test_a_lake_from_before_the_aggregates_shows_the_same_figures(tmp_path: Path) -> None:
    """Until its next ingest builds ``fleet_daily`` and ``monthly``, a lake from before them
    (no marks, empty tables) shows the same fleet and per-customer figures, summed from the
    ``daily`` rows."""
    from meterwatch import daily

    lake = build_lake(tmp_path, n_customers=6, days=80)
    built = DashboardStore(lake)
    bounds = built.bounds()
    assert bounds is not None
    sel = Selection(start=bounds.first + dt.timedelta(days=3), end=bounds.last)
    before = (built.energy_by_customer(sel), built.series(sel)[0], built.total_kwh(sel))
    with lake.transaction() as tx:
        tx.overwrite("fleet_daily", daily.FLEET_DAILY.schema.empty_table())
        tx.overwrite_partitions(
            "monthly", daily.MONTHLY.schema.empty_table(), list(lake.partitions("monthly"))
        )
    lake.delete_object(daily.FLEET_COMPLETE_KEY)
    lake.delete_object(daily.MONTHLY_COMPLETE_KEY)
    old = DashboardStore(lake)
    assert old.total_kwh(sel) == pytest.approx(before[2], rel=1e-9) and before[2] > 0
    pd.testing.assert_frame_equal(old.series(sel)[0], before[1], rtol=1e-9)
    pd.testing.assert_frame_equal(old.energy_by_customer(sel), before[0], rtol=1e-9)


def test_fleet_daily_is_the_daily_rows_summed_whatever_the_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet_daily`` is built from every customer's daily rows a chunk of customers at a time
    (stored ones a read at a time, this ingest's own in smaller chunks): the sums do not depend
    on the chunks, a first ingest's or a rebuild over stored and new customers."""
    from meterwatch import daily
    from meterwatch.ingest import ingest_paths
    from meterwatch.storage import open_lake
    from tests.scenarios import hourly_frame, write_electrodunas

    def expected(lake: Any) -> pd.DataFrame:
        rows = lake.read("daily")
        sectors = lake.read("customers").set_index("client_id")["sector"]
        rows["sector"] = rows["client_id"].map(sectors).map(daily.sector_name)
        sums = rows.groupby(["sector", "day"], as_index=False).agg(
            customers=("client_id", "size"), active_kwh=("active_kwh", "sum"), h07=("h07", "sum")
        )
        return sums.sort_values(["sector", "day"]).reset_index(drop=True)

    def fleet(lake: Any) -> pd.DataFrame:
        got = lake.read("fleet_daily")[["sector", "day", "customers", "active_kwh", "h07"]]
        return got.sort_values(["sector", "day"]).reset_index(drop=True)

    monkeypatch.setattr(daily, "FRESH_CHUNK", 1)
    monkeypatch.setattr(daily, "REBUILD_CHUNK", 1)
    folder = tmp_path / "fleet"
    for k in (1, 2, 3):
        write_electrodunas(folder, k, hourly_frame(24 * (2 + k), start="2022-01-01", seed=k))
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [folder])
    pd.testing.assert_frame_equal(fleet(lake), expected(lake), check_dtype=False, rtol=1e-12)
    # a rebuild over stored customers and a new one, one customer a chunk
    lake.delete_object(daily.FLEET_COMPLETE_KEY)
    write_electrodunas(tmp_path / "more", 4, hourly_frame(24 * 2, start="2022-01-02", seed=4))
    ingest_paths(lake, [tmp_path / "more"])
    assert lake.read("fleet_daily")["customers"].max() == 4
    pd.testing.assert_frame_equal(fleet(lake), expected(lake), check_dtype=False, rtol=1e-12)


def test_a_fleet_page_melts_its_days_once_per_lake_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fleet views (series, profile, peak, load map, total) start from one day x hour frame,
    built once per selection and lake version (sessions share it); new readings rebuild it."""
    from meterwatch.ingest import ingest_paths
    from tests.scenarios import hourly_frame, write_electrodunas

    store = DashboardStore(build_lake(tmp_path, n_customers=6, days=40), version_seconds=0)
    melted: list[Selection] = []
    melt = store._melt_sector_hours

    def counting(sel: Selection) -> pd.DataFrame:
        melted.append(sel)
        return melt(sel)

    monkeypatch.setattr(store, "_melt_sector_hours", counting)
    sel = Selection(start=dt.date(2021, 1, 1), end=dt.date(2021, 3, 31))

    def page() -> tuple[float, pd.DataFrame]:
        store.hour_profile(sel), store.peak_window(sel), store.heatmap(sel)
        return store.total_kwh(sel), store.series(sel)[0]

    total, series = page()
    assert page()[1] is series and len(melted) == 1
    extra = tmp_path / "more"
    write_electrodunas(extra, 40, hourly_frame(48, start="2021-02-01", seed=4))
    ingest_paths(store.lake, [extra])
    new_total, new_series = page()
    assert len(melted) == 2 and new_total > total and not new_series.equals(series)
