"""The read queries screens run on the lake: named, parameterised, written once.

Every query is standard SQL that DuckDB (local lake) and Athena/Trino (S3 lake) both
accept: ``date_trunc``, ``extract(hour from ts)``, ``CAST``, ``CASE``, window functions in
sub-queries; no ``QUALIFY``, no ``::`` casts, no list functions. Values are always bound
as ``$name`` parameters, never formatted into the text; the only text put together here
is a time grain from :data:`GRAINS`, the hour columns of an hour range
(:data:`meterwatch.tables.HOUR_COLUMNS`) and the number of ``$c<k>`` markers of a peer list:
fixed whitelists and a count.

A filter that is "all" is passed as ``None`` (``$x IS NULL OR col = $x``), so one text
serves every combination of filters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from meterwatch.storage.base import Lake
from meterwatch.storage.iceberg_tables import BUCKETS, bucket_of
from meterwatch.tables import HOUR_COLUMNS

#: Time grains a series can be aggregated to (whitelist of ``date_trunc`` units).
GRAINS = ("hour", "day", "week", "month")

#: Most customers one peer comparison reads: an alert's customer and up to this many less one
#: of its sector peers, taken from the customer's own bucket of the tables first (see
#: :func:`peer_sample`). They are bound as one ``IN`` list, which Athena (Trino) keeps as a set
#: of values and projects through the tables' ``bucket`` partitioning, so at 264,000 customers
#: the comparison reads one bucket's files of ``daily`` for its period, not all sixteen (a long
#: list is compacted into a range, which prunes no bucket: 100 stays below Trino's thresholds).
#: A hundred customers give the sector's median and quartiles of each day; every peer of a
#: sector of 100 or fewer is read.
PEER_SAMPLE = 100

#: Inspection outcomes an operator records on an alert (``feedback.status``).
FEEDBACK_STATUSES = ("under_inspection", "confirmed_loss", "false_alarm", "meter_fault")
#: Outcomes that close an inspection (the alert was visited and judged).
CONCLUDED_STATUSES = ("confirmed_loss", "false_alarm", "meter_fault")
#: ``inspection_status`` of an alert nobody has given feedback on yet.
NO_FEEDBACK = "new"


@dataclass(frozen=True)
class NamedQuery:
    """A query with a name, its SQL and the parameters it binds."""

    name: str
    sql: str
    description: str

    @property
    def params(self) -> frozenset[str]:
        """Names of the ``$name`` parameters the SQL binds."""
        return frozenset(re.findall(r"\$([a-z_][a-z0-9_]*)", self.sql))


# The selection every readings view shares: a period [start, end), an hour-of-day range and
# optional customer and sector.
_READINGS_SELECTION = """
    ts >= $start AND ts < $end
    AND extract(hour from ts) BETWEEN $hour_from AND $hour_to
    AND ($client_id IS NULL OR client_id = $client_id)
    AND ($sector IS NULL OR sector = $sector)
"""

# The latest feedback per alert, without QUALIFY (Athena has none).
_LATEST_FEEDBACK = """
    SELECT alert_id, status, note, author, created_at
    FROM (
        SELECT alert_id, status, note, author, created_at,
               row_number() OVER (PARTITION BY alert_id ORDER BY created_at DESC, feedback_id DESC) AS rn
        FROM feedback
    ) ranked
    WHERE rn = 1
"""

_ALERT_COLUMNS = """
    a.alert_id, a.rank, a.client_id, a.sector, a.kind, a.severity, a.status,
    a.window_start, a.window_end, a.n_hours, a.anomaly_rate, a.lost_kwh_estimate,
    a.confidence, a.evidence, a.created_at,
    COALESCE(l.status, 'new') AS inspection_status, l.note AS inspection_note,
    l.author AS inspection_author, l.created_at AS inspection_at
"""

_HOUR_SUMS = ",\n               ".join(f"sum(d.{h}) AS {h}" for h in HOUR_COLUMNS)


def _period_by_customer(energy: str) -> str:
    """Energy per customer over [$start, $end): the whole months [$first, $last) from
    ``monthly``, the days before and after them from ``daily`` (``$first = $last = $end``
    for a period without a whole month), in one query: one scan of each table, one round trip
    (Athena answers in a second or more whatever the size). ``energy``: an expression of the
    hour columns (or the total) of a row ``d``, from a whitelist."""
    return f"""
        SELECT p.client_id, COALESCE(c.sector, '') AS sector, sum(p.hours) AS hours,
               sum(p.active_kwh) AS active_kwh
        FROM (
            SELECT d.client_id, d.hours, {energy} AS active_kwh
            FROM daily d
            WHERE (d.day >= $start AND d.day < $first) OR (d.day >= $last AND d.day < $end)
            UNION ALL
            SELECT d.client_id, d.hours, {energy} AS active_kwh
            FROM monthly d
            WHERE d.month >= $first AND d.month < $last
        ) p
        LEFT JOIN customers c ON c.client_id = p.client_id
        WHERE $sector IS NULL OR c.sector = $sector
        GROUP BY p.client_id, COALESCE(c.sector, '')
        """  # noqa: S608 (energy from the hour columns' whitelist)


def _fleet_days(source: str, sector: str) -> str:
    """The fleet's (or a sector's) energy per day of [$start, $end), one column per hour of
    day, from ``source`` (rows ``d`` with a day, hours and hour columns; ``sector`` names
    their sector column)."""
    return f"""
        SELECT d.day AS day, sum(d.hours) AS hours,
               {_HOUR_SUMS}
        FROM {source}
        WHERE d.day >= $start AND d.day < $end AND ($sector IS NULL OR {sector} = $sector)
        GROUP BY d.day
        ORDER BY d.day
        """  # noqa: S608 (constant fragments, hour columns from range(24))


def _series(grain: str) -> NamedQuery:
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; expected one of {GRAINS}")
    return NamedQuery(
        f"series_{grain}",
        f"""
        SELECT date_trunc('{grain}', ts) AS period,
               sum(active_kwh) AS active_kwh,
               sum(reactive_kvarh) AS reactive_kvarh,
               avg(voltage_fa) AS voltage_fa,
               avg(voltage_fc) AS voltage_fc,
               count(*) AS hours
        FROM readings
        WHERE {_READINGS_SELECTION}
        GROUP BY date_trunc('{grain}', ts)
        ORDER BY period
        """,  # noqa: S608 (grain from the GRAINS whitelist)
        f"Energy, reactive energy and mean phase voltages of the selection per {grain}.",
    )


_QUERIES = [
    NamedQuery(
        "data_bounds",
        """
        SELECT min(first_ts) AS first_ts, max(last_ts) AS last_ts, count(*) AS customers
        FROM customers
        """,
        "First and last hour with readings in the lake, and how many customers.",
    ),
    NamedQuery(
        "customers",
        """
        SELECT client_id, COALESCE(sector, '') AS sector, first_ts, last_ts, n_readings
        FROM customers
        ORDER BY client_id
        """,
        "Every customer with its sector and the period it covers.",
    ),
    NamedQuery(
        "energy_by_customer",
        f"""
        SELECT client_id, COALESCE(sector, '') AS sector,
               sum(active_kwh) AS active_kwh, count(*) AS hours
        FROM readings
        WHERE {_READINGS_SELECTION}
        GROUP BY client_id, COALESCE(sector, '')
        ORDER BY active_kwh DESC
        """,  # noqa: S608 (constant fragment)
        "Total active energy per customer for the selection.",
    ),
    NamedQuery(
        "period_total_by_customer",
        _period_by_customer("d.active_kwh"),
        "Energy per customer over a period, every hour of the day: its whole months from the"
        " monthly table, the days before and after them from daily, one energy column read.",
    ),
    NamedQuery(
        "daily_fleet_by_customer_rows",
        _fleet_days("daily d LEFT JOIN customers c ON c.client_id = d.client_id", "c.sector"),
        "daily_fleet from the customers' daily rows: for a lake whose fleet_daily table its next"
        " ingest has not built yet.",
    ),
    NamedQuery(
        "daily_fleet",
        _fleet_days("fleet_daily d", "d.sector"),
        "Energy of all customers (or a sector) per day of a period, one column per hour of"
        " day (the fleet_daily table: sectors x days rows, whatever the number of customers).",
    ),
    NamedQuery(
        "alert_bounds",
        "SELECT min(window_start) AS first_ts, max(window_end) AS last_ts, count(*) AS alerts "
        "FROM alerts WHERE status <> 'withdrawn'",
        "Period covered by the alerts, and how many there are.",
    ),
    NamedQuery(
        "hour_profile",
        f"""
        SELECT CAST(extract(hour from ts) AS INTEGER) AS hour,
               sum(active_kwh) AS active_kwh, count(*) AS hours
        FROM readings
        WHERE {_READINGS_SELECTION}
        GROUP BY CAST(extract(hour from ts) AS INTEGER)
        ORDER BY hour
        """,  # noqa: S608 (constant fragment)
        "Active energy of the selection by hour of day.",
    ),
    NamedQuery(
        "load_heatmap",
        f"""
        SELECT CAST(ts AS DATE) AS day, CAST(extract(hour from ts) AS INTEGER) AS hour,
               sum(active_kwh) AS active_kwh
        FROM readings
        WHERE {_READINGS_SELECTION}
        GROUP BY CAST(ts AS DATE), CAST(extract(hour from ts) AS INTEGER)
        ORDER BY day, hour
        """,  # noqa: S608 (constant fragment)
        "Active energy of the selection by day and hour of day.",
    ),
    NamedQuery(
        "customer_scores",
        """
        SELECT ts, active_kwh, expected_kwh, lower_kwh, upper_kwh, score, is_anomaly, detectors
        FROM scores
        WHERE client_id = $client_id AND ts >= $start AND ts < $end
        ORDER BY ts
        """,
        "A customer's reported and expected energy, band and flags in a period.",
    ),
    NamedQuery(
        "customer_last_score",
        """
        SELECT max(ts) AS last_ts FROM scores WHERE client_id = $client_id
        """,
        "The last scored hour of a customer.",
    ),
    NamedQuery(
        "customer_anomaly_rate",
        """
        SELECT count(*) AS hours,
               sum(CASE WHEN is_anomaly = 1 THEN 1 ELSE 0 END) AS anomalous_hours,
               min(ts) AS window_start, max(ts) AS window_end
        FROM scores
        WHERE client_id = $client_id AND ts >= $since
        """,
        "Scored and anomalous hours of a customer since an hour.",
    ),
    NamedQuery(
        "customer_model",
        """
        SELECT model_version, kind, mape, mae, coverage, trained_until, trained_at, params
        FROM models
        WHERE client_id = $client_id
        ORDER BY trained_at DESC
        LIMIT 1
        """,
        "A customer's current model and its fit metrics.",
    ),
    NamedQuery(
        "alert_kinds",
        "SELECT DISTINCT kind FROM alerts WHERE status <> 'withdrawn' ORDER BY kind",
        "The alert kinds present in the lake.",
    ),
    NamedQuery(
        "alerts_inbox",
        f"""
        SELECT {_ALERT_COLUMNS}, a.params
        FROM alerts a
        LEFT JOIN ({_LATEST_FEEDBACK}) l ON l.alert_id = a.alert_id
        WHERE a.status <> 'withdrawn'
          AND ($sector IS NULL OR a.sector = $sector)
          AND ($kind IS NULL OR a.kind = $kind)
          AND ($inspection IS NULL OR COALESCE(l.status, 'new') = $inspection)
          AND ($since IS NULL OR a.window_end >= $since)
        ORDER BY a.rank, a.alert_id
        """,  # noqa: S608 (constant fragments)
        "Standing alerts (not withdrawn) with their latest inspection status, by rank (the"
        " visit worth most first: lost energy x confidence, doubled while open).",
    ),
    NamedQuery(
        "alert",
        f"""
        SELECT {_ALERT_COLUMNS}, a.params
        FROM alerts a
        LEFT JOIN ({_LATEST_FEEDBACK}) l ON l.alert_id = a.alert_id
        WHERE a.alert_id = $alert_id
        """,  # noqa: S608 (constant fragments)
        "One alert with its latest inspection status.",
    ),
    NamedQuery(
        "alert_feedback",
        """
        SELECT feedback_id, status, note, author, created_at
        FROM feedback
        WHERE alert_id = $alert_id
        ORDER BY created_at DESC, feedback_id DESC
        """,
        "Every feedback recorded on an alert, newest first.",
    ),
    NamedQuery(
        "confirmed_share",
        f"""
        SELECT date_trunc('month', created_at) AS month,
               count(*) AS inspected,
               sum(CASE WHEN status = 'confirmed_loss' THEN 1 ELSE 0 END) AS confirmed
        FROM ({_LATEST_FEEDBACK}) l
        WHERE status IN ('confirmed_loss', 'false_alarm', 'meter_fault')
        GROUP BY date_trunc('month', created_at)
        ORDER BY month
        """,  # noqa: S608 (constant fragment)
        "Per month of the verdict: inspected alerts and how many were confirmed losses.",
    ),
    NamedQuery(
        "window_energy",
        """
        SELECT CASE WHEN ts >= $start THEN 'window' ELSE 'before' END AS period,
               sum(active_kwh) AS active_kwh, sum(reactive_kvarh) AS reactive_kvarh,
               avg(voltage_fa) AS voltage_fa, avg(voltage_fc) AS voltage_fc, count(*) AS hours
        FROM readings
        WHERE client_id = $client_id AND ts >= $before AND ts < $end
        GROUP BY CASE WHEN ts >= $start THEN 'window' ELSE 'before' END
        """,
        "A customer's energy, reactive energy and voltages in a window and the period before.",
    ),
    NamedQuery(
        "window_scores",
        """
        SELECT sum(active_kwh) AS active_kwh, sum(expected_kwh) AS expected_kwh,
               sum(CASE WHEN is_anomaly = 1 THEN 1 ELSE 0 END) AS anomalous_hours,
               count(*) AS hours
        FROM scores
        WHERE client_id = $client_id AND ts >= $start AND ts < $end
        """,
        "A customer's reported and expected energy in a window.",
    ),
    NamedQuery(
        "quality_by_customer",
        """
        SELECT c.client_id, COALESCE(c.sector, '') AS sector, c.first_ts, c.last_ts,
               c.n_readings, date_diff('hour', c.first_ts, c.last_ts) + 1 AS expected_hours,
               COALESCE(f.gaps, 0) AS gaps, COALESCE(f.gap_hours, 0) AS gap_hours,
               COALESCE(f.zero_runs, 0) AS zero_runs, COALESCE(f.zero_hours, 0) AS zero_hours,
               COALESCE(f.negative_runs, 0) AS negative_runs,
               COALESCE(f.negative_hours, 0) AS negative_hours,
               COALESCE(f.voltage_findings, 0) AS voltage_findings,
               COALESCE(f.duplicated, 0) AS duplicated,
               COALESCE(q.quarantined, 0) AS quarantined
        FROM customers c
        LEFT JOIN (
            SELECT client_id,
                   sum(CASE WHEN code = 'readings.gap' THEN 1 ELSE 0 END) AS gaps,
                   sum(CASE WHEN code = 'readings.gap' THEN n_hours ELSE 0 END) AS gap_hours,
                   sum(CASE WHEN code = 'readings.zero_run' THEN 1 ELSE 0 END) AS zero_runs,
                   sum(CASE WHEN code = 'readings.zero_run' THEN n_hours ELSE 0 END) AS zero_hours,
                   sum(CASE WHEN code = 'readings.negative_energy' THEN 1 ELSE 0 END) AS negative_runs,
                   sum(CASE WHEN code = 'readings.negative_energy' THEN n_hours ELSE 0 END) AS negative_hours,
                   sum(CASE WHEN code = 'readings.voltage_implausible' THEN 1 ELSE 0 END) AS voltage_findings,
                   max(CASE WHEN code = 'customers.duplicate_series' THEN 1 ELSE 0 END) AS duplicated
            FROM data_quality
            GROUP BY client_id
        ) f ON f.client_id = c.client_id
        LEFT JOIN (
            SELECT client_id, count(*) AS quarantined FROM quarantine GROUP BY client_id
        ) q ON q.client_id = c.client_id
        WHERE ($sector IS NULL OR c.sector = $sector)
        ORDER BY c.client_id
        """,
        "Per customer: completeness, gaps, zero and negative runs, duplicates, quarantined rows.",
    ),
    NamedQuery(
        "quality_findings",
        """
        SELECT client_id, code, severity, period_start, period_end, n_hours, message, params
        FROM data_quality
        WHERE ($client_id IS NULL OR client_id = $client_id)
        ORDER BY client_id, period_start, code
        """,
        "Data-quality findings, of one customer or all.",
    ),
    NamedQuery(
        "quarantine_summary",
        """
        SELECT source_file, reason_code, count(*) AS rows_rejected
        FROM quarantine
        GROUP BY source_file, reason_code
        ORDER BY rows_rejected DESC
        """,
        "Rejected input rows per file and reason.",
    ),
    *(_series(g) for g in GRAINS),
]

#: Every named query, by name.
QUERIES: dict[str, NamedQuery] = {q.name: q for q in _QUERIES}


# Energy per customer in an hour-of-day range: one query text per range, generated from the
# hour columns' whitelist, so a scan reads only the range's columns.
_HOURS_BY_CUSTOMER = re.compile(r"^period_h(\d\d)_(\d\d)_by_customer$")
_PEERS_DAILY = re.compile(r"^peers_daily_(\d+)$")


def hours_by_customer(hour_from: int, hour_to: int) -> NamedQuery:
    """Energy per customer over a period in the hours ``hour_from`` to ``hour_to`` of the day
    (``period_total_by_customer`` with only those hours' columns read)."""
    if not 0 <= hour_from <= hour_to <= 23:
        raise ValueError(f"no hour query for hours {hour_from}-{hour_to}")
    energy = " + ".join(f"d.{h}" for h in HOUR_COLUMNS[hour_from : hour_to + 1])
    return NamedQuery(
        f"period_h{hour_from:02d}_{hour_to:02d}_by_customer",
        _period_by_customer(energy),
        f"Energy per customer over a period in hours {hour_from} to {hour_to} of the day.",
    )


def peer_sample(client_id: str, members: Iterable[str], size: int | None = None) -> list[str]:
    """The customers an alert's peer comparison reads: ``client_id`` first, then up to
    ``size - 1`` (default :data:`PEER_SAMPLE` - 1) of the other ``members`` of its sector.

    The others are taken bucket by bucket from the customer's own (``bucket_of``, the tables'
    partitioning by customer), in a fixed pseudo-random order within each bucket (a hash of
    the id, not the ids' order, which could follow the customers' age): the same peers for
    every alert of the customer, and, in a large sector, all from the bucket whose files the
    query reads anyway.
    """
    own = bucket_of(client_id) or 0

    def order(member: str) -> tuple[int, str]:
        return ((bucket_of(member) or 0) - own) % BUCKETS, hashlib.sha1(
            member.encode(), usedforsecurity=False
        ).hexdigest()

    size = PEER_SAMPLE if size is None else size
    others = sorted({str(m) for m in members} - {client_id}, key=order)
    return [client_id, *others[: max(size - 1, 0)]]


def peers_daily(n: int) -> NamedQuery:
    """Daily energy of ``n`` named customers in a period of whole days: the peer comparison
    of an alert (:func:`peer_sample`), from the daily table, not the hourly readings. The
    customers are bound as ``$c0`` ... ``$c<n-1>``."""
    if not 1 <= n <= PEER_SAMPLE:
        raise ValueError(f"no peer query for {n} customers (1 to {PEER_SAMPLE})")
    listed = ", ".join(f"$c{k}" for k in range(n))
    return NamedQuery(
        f"peers_daily_{n}",
        f"""
        SELECT client_id, day, active_kwh
        FROM daily
        WHERE client_id IN ({listed}) AND day >= $start AND day < $end
        ORDER BY client_id, day
        """,  # noqa: S608 (only numbered $c<k> markers: the ids are bound values)
        f"Daily energy of {n} customers of a sector in a period of whole days.",
    )


def named_query(name: str) -> NamedQuery:
    """The query of a name: one of :data:`QUERIES` or a generated hour-range or peer query."""
    if name in QUERIES:
        return QUERIES[name]
    match = _HOURS_BY_CUSTOMER.match(name)
    if match:
        return hours_by_customer(int(match[1]), int(match[2]))
    match = _PEERS_DAILY.match(name)
    if match:
        return peers_daily(int(match[1]))
    raise KeyError(f"unknown query {name!r}; known: {', '.join(sorted(QUERIES))}")


def run_query(lake: Lake, name: str, **params: Any) -> pd.DataFrame:
    """Run a named query with bound parameters.

    Parameters
    ----------
    lake
        The lake to read.
    name
        A key of :data:`QUERIES`.
    **params
        Exactly the parameters the query binds; ``None`` means "all" for a filter.

    Raises
    ------
    KeyError
        For an unknown query name.
    ValueError
        When parameters are missing or unexpected.
    """
    query = named_query(name)
    given = set(params)
    if given != query.params:
        missing = sorted(query.params - given)
        extra = sorted(given - query.params)
        raise ValueError(f"query {name!r}: missing parameters {missing}, unexpected {extra}")
    bound = {k: _bindable(v) for k, v in params.items()}
    return lake.query(query.sql, bound or None)


def _bindable(value: Any) -> Any:
    """Plain Python values for the driver (dates become midnight timestamps)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value
