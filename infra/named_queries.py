"""Athena named queries saved in the workgroup, for analysts (DuckDB dialect, no parameters).

Written once: the CDK app renders them for Athena with :func:`meterwatch.storage.s3.to_athena`
and tests/aws run the same rendering on DuckDB over a local lake.
"""

from __future__ import annotations

NAMED_QUERIES: dict[str, str] = {
    "meterwatch-open-alerts-ranked": (
        "SELECT rank, CASE WHEN json_extract_string(params, '$.watch') IS NULL "
        "THEN 'raised' ELSE 'watched' END AS priority, client_id, sector, kind, severity, "
        "window_start, window_end, lost_kwh_estimate, evidence FROM alerts "
        "WHERE status = 'open' ORDER BY rank LIMIT 100"
    ),
    "meterwatch-lost-energy-by-sector": (
        "SELECT coalesce(sector, 'sin sector') AS sector, count(*) AS alerts, "
        "sum(lost_kwh_estimate) AS lost_kwh FROM alerts WHERE status = 'open' "
        "GROUP BY 1 ORDER BY lost_kwh DESC"
    ),
    "meterwatch-daily-energy-by-customer": (
        "SELECT client_id, sector, date_trunc('day', ts) AS day, sum(active_kwh) AS kwh, "
        "count(*) AS hours FROM readings GROUP BY 1, 2, 3 ORDER BY 1, 3"
    ),
    "meterwatch-data-quality-summary": (
        "SELECT code, severity, count(*) AS findings, count(DISTINCT client_id) AS customers, "
        "sum(n_hours) AS hours FROM data_quality GROUP BY 1, 2 ORDER BY findings DESC"
    ),
    "meterwatch-ingestions-last-30-days": (
        "SELECT source_file, status, rows_read, rows_accepted, rows_rejected, finished_at "
        "FROM ingestions WHERE finished_at >= current_timestamp - INTERVAL 30 DAY "
        "ORDER BY finished_at DESC"
    ),
}
