"""Ingest: validate meter files and upsert them into the lake, atomically.

One call is one transaction: raw files are kept verbatim, accepted rows are upserted by
(customer, hour), rejected rows go to the quarantine with their file, line and reason,
data-quality findings are recomputed for the customers touched, and the whole lot is
published at once. A run killed at any point leaves the lake as it was before it; running
it again completes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from meterwatch import daily
from meterwatch.ids import natural_key
from meterwatch.ingest.errors import IngestError, shorten
from meterwatch.ingest.reader import (
    NUMERIC,
    REASONS,
    ParsedFile,
    decompress,
    line_texts,
    load,
    parse,
    too_large,
)
from meterwatch.ingest.rules import IngestRules
from meterwatch.ingest.sectors import (
    SECTOR_PROBLEMS,
    is_sector_workbook,
    looks_like_sector_csv,
    read_sector_map_checked,
)
from meterwatch.quality import (
    Finding,
    duplicate_findings,
    findings_frame,
    series_findings,
    series_hash,
)
from meterwatch.storage.base import Lake, Transaction
from meterwatch.tables import TS, GatheredTables, now_utc

DATA_SUFFIXES = (".csv", ".csv.gz")
Progress = Callable[[int, int, str], None]


@dataclass
class FileResult:
    """What happened to one input file."""

    path: str
    status: str  # ok | repeat | rejected
    layout: str = ""
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    clients: int = 0
    error: str = ""


@dataclass
class IngestReport:
    """The outcome of an ingest run, with the count reconciliation."""

    run_id: str
    files: list[FileResult] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)
    rejected_examples: list[str] = field(default_factory=list)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    sector_maps: list[str] = field(default_factory=list)
    customers_with_sector: int = 0
    findings_by_code: Counter[str] = field(default_factory=Counter)
    customers_total: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) in folders
    sector_problems: list[str] = field(default_factory=list)  # "file, line N: why"

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def rows_read(self) -> int:
        return self.total("rows_read")

    @property
    def rows_accepted(self) -> int:
        return self.total("rows_accepted")

    @property
    def rows_rejected(self) -> int:
        return self.total("rows_rejected")

    @property
    def ingested_anything(self) -> bool:
        """Whether any file or sector map was taken in (the exit status rests on it)."""
        return any(f.status in ("ok", "repeat") and f.rows_accepted for f in self.files) or bool(
            self.sector_maps
        )


@dataclass
class _Inputs:
    data: list[Path] = field(default_factory=list)
    sectors: list[Path] = field(default_factory=list)


def _natural_path_key(p: Path) -> tuple[int | str, ...]:
    return natural_key(str(p))


def discover(
    paths: Sequence[str | Path],
    errors: list[IngestError],
    skipped: list[tuple[str, str]] | None = None,
) -> _Inputs:
    """Expand files and folders into data files and sector maps; record missing paths.

    Files of a folder that are not read (hidden ones, office lock files, other types) are
    listed in ``skipped`` with why, so none is left out without a word.
    """
    skipped = [] if skipped is None else skipped
    found = _Inputs()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            errors.append(IngestError(str(path), "no such file or folder"))
            continue
        if path.is_dir():
            for child in sorted((p for p in path.rglob("*") if p.is_file()), key=_natural_path_key):
                name = child.name.lower()
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if hidden:
                    skipped.append((str(child), "hidden file (name starts with a dot)"))
                elif child.name.startswith("~$"):
                    skipped.append((str(child), "office lock file"))
                elif name.endswith(DATA_SUFFIXES):
                    found.data.append(child)
                elif is_sector_workbook(child):
                    found.sectors.append(child)
                else:
                    skipped.append((str(child), "not .csv, .csv.gz or a sector workbook"))
        elif is_sector_workbook(path):
            found.sectors.append(path)
        elif path.name.lower().endswith(DATA_SUFFIXES):
            found.data.append(path)
        else:
            errors.append(
                IngestError(
                    str(path),
                    "unsupported file type; expected .csv, .csv.gz or a sector workbook (.xlsx)",
                )
            )
    return found


def _stamped(rows: pa.Table, ingestion_id: str) -> pa.Table:
    """A file's rows as stored: without their line number, with the ingestion that wrote them."""
    rows = rows.drop_columns(["line"])
    return rows.append_column("ingestion_id", pa.array([ingestion_id] * rows.num_rows, pa.string()))


def _merge(
    old: pa.Table,
    new: pa.Table,
    ingestion_id: str,
    columns: Sequence[str] = NUMERIC,
    this_run: Collection[str] = (),
) -> tuple[pa.Table | None, int, int, int, int, dict[str, tuple[int, int, int]]]:
    """Upsert ``new`` rows (one customer) into ``old``.

    A measure the file does not have (``columns`` lacks it) keeps its stored value on the
    hours it corrects: a correction of active energy alone leaves the voltages as they
    were. A present but empty cell is a value: it stores NULL.

    Returns
    -------
    merged, inserted, updated, unchanged, first_changed, revised
        ``merged`` is ``None`` when nothing changed; ``first_changed`` is the first hour
        (epoch seconds) that differs from ``old``: the rows before it are ``old``'s;
        ``revised`` maps ``readings.corrected`` (stored hours whose values changed) and
        ``readings.late`` (new hours before the last stored one: a gap filled late) to their
        first hour, last hour and count, where there are any; hours stored by ``this_run``'s
        own files (ingestion ids) are not stored before: files of one run in any order, or
        one correcting another, name nothing.
    """
    new_ts = new.column("ts").cast(pa.int64()).to_numpy()
    if len(new_ts) > 1 and not bool((new_ts[1:] >= new_ts[:-1]).all()):
        new = new.sort_by("ts")  # stable: a file in hour order (the usual case) is kept as is
        new_ts = new.column("ts").cast(pa.int64()).to_numpy()
    if old.num_rows == 0:  # a customer new to the lake: every row is inserted
        if not len(new_ts):
            return None, 0, 0, 0, 0, {}
        incoming = _stamped(new, ingestion_id)
        # copied into Arrow's own buffers, as the general path's sort does: held on the parse's
        # numpy-allocated ones, a 1,000-customer x 730-day ingest peaked at 1.73 GB against
        # 1.55 GB (measured; the spill accounts for the same bytes either way)
        merged = incoming.cast(old.schema).take(pa.array(np.arange(len(new_ts))))
        return merged, len(new_ts), 0, 0, int(new_ts.min()), {}
    old_ts = old.column("ts").cast(pa.int64()).to_numpy()
    pos = np.searchsorted(old_ts, new_ts)
    clipped = np.minimum(pos, max(len(old_ts) - 1, 0))
    found = (
        (pos < len(old_ts)) & (old_ts[clipped] == new_ts)
        if len(old_ts)
        else np.zeros(len(new_ts), bool)
    )
    for col in NUMERIC:
        if col in columns or not len(old_ts):
            continue
        kept = np.where(found, old.column(col).to_numpy(zero_copy_only=False)[clipped], np.nan)
        new = new.set_column(
            new.schema.get_field_index(col), col, pa.array(kept, pa.float64(), from_pandas=True)
        )
    same = found.copy()
    for col in NUMERIC:
        a = old.column(col).to_numpy(zero_copy_only=False)[clipped] if len(old_ts) else np.array([])
        b = new.column(col).to_numpy(zero_copy_only=False)
        if len(old_ts):
            same &= (a == b) | (np.isnan(a) & np.isnan(b))
    inserted = int((~found).sum())
    unchanged = int(same.sum())
    updated = int(found.sum()) - unchanged
    if inserted == 0 and updated == 0:
        return None, 0, 0, unchanged, 0, {}
    changed = ~same
    incoming = _stamped(new.filter(pa.array(changed)), ingestion_id)
    replaced_ts = new_ts[changed & found]
    kept_old = old.filter(pa.array(~np.isin(old_ts, replaced_ts))) if len(replaced_ts) else old
    merged = pa.concat_tables(
        [kept_old.select(incoming.column_names), incoming.cast(kept_old.schema)]
    )
    revised: dict[str, tuple[int, int, int]] = {}
    late = ~found & (new_ts < old_ts.max()) if len(old_ts) else np.zeros(len(new_ts), bool)
    if len(replaced_ts) or late.any():  # not on a new day's hours: all after the stored ones
        runs = pa.array(list(this_run), pa.string())
        ours = pc.is_in(old.column("ingestion_id"), value_set=runs).to_numpy(zero_copy_only=False)
        before = ~np.asarray(ours, dtype=bool)
        replaced_ts = np.intersect1d(replaced_ts, old_ts[before])
        late_ts = new_ts[late & (new_ts < old_ts[before].max())] if before.any() else new_ts[:0]
        for code, hours in (("readings.corrected", replaced_ts), ("readings.late", late_ts)):
            if len(hours):
                revised[code] = (int(hours.min()), int(hours.max()), len(hours))
    return merged.sort_by("ts"), inserted, updated, unchanged, int(new_ts[changed].min()), revised


#: Hour offsets a re-delivered file is checked at: time zones (UTC is +5 h from Lima), an hour
#: labelled by its end, a day off.
SHIFT_HOURS = 24
SHIFT_MIN_HOURS = 24  # informative overlapping hours needed to call a file shifted


@dataclass(frozen=True)
class ShiftedCopy:
    """A file's rows that repeat stored readings ``hours`` later (negative: earlier)."""

    hours: int
    matched: int  # overlapping hours that match at that offset
    checked: int  # overlapping hours compared

    def describe(self, rows: pa.Table) -> str:
        ts = rows.column("ts").cast(pa.int64()).to_numpy()
        first = pd.Timestamp(int(ts.min()), unit="s")
        moved = first - pd.Timedelta(hours=self.hours)
        return (
            f"{self.hours:+d} h: {self.matched:,} of {self.checked:,} hours repeat the stored "
            f"ones; its {first:%Y-%m-%d %H:%M} is the stored {moved:%Y-%m-%d %H:%M}"
        )


def shifted_copy(old: pa.Table, new: pa.Table) -> ShiftedCopy | None:
    """Whether ``new`` (one customer's rows of a file) repeats readings already stored in
    ``old``, every hour moved by the same offset.

    A file exported in UTC, or with hours labelled by their end, re-delivers a customer's
    readings some hours off: its rows do not match the stored ones at their own hours (each
    would count as a correction and overwrite the right reading with its neighbour's), but
    match them at one offset. Only hours the lake already holds are judged (a new day is never
    a copy), and of them those whose active energy moves from the hour before (a flat or idle
    run matches at every offset and tells nothing). Shifted when at least ``SHIFT_MIN_HOURS``
    such hours are compared, at most half of them match at their own hours and 90 % at one
    offset of 1 to ``SHIFT_HOURS`` hours either way. A genuine correction changes values, not
    hours, and matches nowhere else.
    """
    if old.num_rows < SHIFT_MIN_HOURS or new.num_rows < SHIFT_MIN_HOURS:
        return None
    old_ts = old.column("ts").cast(pa.int64()).to_numpy() // 3600
    new_ts = new.column("ts").cast(pa.int64()).to_numpy() // 3600
    if new_ts.max() < old_ts.min() or new_ts.min() > old_ts.max():
        return None  # no stored hour among them (a new day: the usual case)
    old_kwh = old.column("active_kwh").to_numpy(zero_copy_only=False)
    if not bool((old_ts[1:] >= old_ts[:-1]).all()):
        old_order = np.argsort(old_ts, kind="stable")
        old_ts, old_kwh = old_ts[old_order], old_kwh[old_order]
    order = np.argsort(new_ts, kind="stable")
    new_ts = new_ts[order]
    new_kwh = new.column("active_kwh").to_numpy(zero_copy_only=False)[order]
    moving = np.isfinite(new_kwh)
    moving[1:] &= ~((new_ts[1:] == new_ts[:-1] + 1) & (new_kwh[1:] == new_kwh[:-1]))
    # only hours the lake holds already: a new day is never a copy, whatever it resembles
    pos = np.minimum(np.searchsorted(old_ts, new_ts), len(old_ts) - 1)
    moving &= old_ts[pos] == new_ts

    def matches(lag: int) -> tuple[int, int]:
        at = new_ts - lag
        pos = np.minimum(np.searchsorted(old_ts, at), len(old_ts) - 1)
        there = (old_ts[pos] == at) & moving
        same = there & np.isclose(old_kwh[pos], new_kwh, rtol=1e-9, atol=1e-9)
        return int(same.sum()), int(there.sum())

    own, own_checked = matches(0)
    if own_checked < SHIFT_MIN_HOURS or own >= 0.5 * own_checked:
        return None  # new hours, or mostly the stored readings at their own hours
    best: ShiftedCopy | None = None
    for lag in (k for k in range(-SHIFT_HOURS, SHIFT_HOURS + 1) if k):
        same, checked = matches(lag)
        enough = checked >= SHIFT_MIN_HOURS and same >= 0.9 * checked
        if enough and (best is None or same > best.matched):
            best = ShiftedCopy(lag, same, checked)
    return best


def _quarantine_frame(parsed: ParsedFile, ingestion_id: str, source: str) -> pd.DataFrame:
    rej = parsed.rejected
    raw = [parsed.raw_lines.get(n, "") for n in rej.lines]
    reasons = [
        REASONS.get(code, code) + (f" ({detail})" if detail else "")
        for code, detail in zip(rej.reason_codes, rej.details, strict=True)
    ]
    return pd.DataFrame(
        {
            "ingestion_id": ingestion_id,
            "source_file": source,
            "line": np.asarray(rej.lines, dtype=np.int64),
            "client_id": pd.array(rej.client_ids, dtype="string"),
            "reason_code": rej.reason_codes,
            "reason": reasons,
            "raw_line": raw,
        }
    ).sort_values("line")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Prepared:
    """A file read, kept in the raw zone and parsed, ready to be merged."""

    path: Path
    started: pd.Timestamp
    raw_key: str = ""
    digest: str = ""
    parsed: ParsedFile | None = None
    sector_csv: bool = False
    error: IngestError | None = None


def _prepare(lake: Lake, path: Path, rules: IngestRules) -> _Prepared:
    """Read, keep and parse one file. Runs in a worker thread, ahead of the merge."""
    prep = _Prepared(path, now_utc())
    try:
        if path.is_file() and path.stat().st_size > rules.max_file_bytes:
            raise IngestError(str(path), too_large(rules.max_file_bytes))
        stored = load(path)
        prep.digest = _sha256(stored)
        prep.raw_key = lake.put_raw(path, prep.digest, data=stored)
        data = decompress(path, stored, rules.max_file_bytes)
        if looks_like_sector_csv(data):
            prep.sector_csv = True
        else:
            prep.parsed = parse(path, data, str(path), rules)
    except IngestError as exc:
        prep.error = exc
    except Exception as exc:  # one unreadable file must not stop the run
        # A file that breaks the reader in a way not foreseen is refused by name, with
        # the error, so the other files of the run still land.
        prep.error = IngestError(
            str(path), f"could not be read ({type(exc).__name__}: {shorten(str(exc))})"
        )
    return prep


def _read_ahead(
    lake: Lake, paths: Sequence[Path], workers: int, rules: IngestRules
) -> Iterator[_Prepared]:
    """Yield the prepared files in order, preparing up to ``2 * workers`` ahead.

    Reading and parsing (mostly in pyarrow, outside the GIL) overlap with the merge and
    the Parquet writes of the previous files; the look-ahead bounds the memory used.
    """
    if workers <= 1:
        for path in paths:
            yield _prepare(lake, path, rules)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[_Prepared]] = deque()
        queue = iter(paths)
        for path in itertools.islice(queue, 2 * workers):
            pending.append(pool.submit(_prepare, lake, path, rules))
        while pending:
            done = pending.popleft().result()
            following = next(queue, None)
            if following is not None:
                pending.append(pool.submit(_prepare, lake, following, rules))
            yield done


class _Run:
    """State of one ingest run inside its transaction."""

    def __init__(
        self,
        lake: Lake,
        tx: Transaction,
        language: str,
        report: IngestReport,
        rules: IngestRules | None = None,
    ) -> None:
        self.lake = lake
        self.rules = rules or IngestRules()
        self.tx = tx
        self.language = language
        self.report = report
        self.now = now_utc()
        self.ingestions: list[dict[str, object]] = []
        self.run_ids: set[str] = set()  # this run's files' ingestion ids
        self.quarantine: list[pd.DataFrame] = []
        self.file_findings: list[Finding] = []
        self.changed: dict[str, dict[str, object]] = {}  # client -> new customers row values
        self.series: dict[str, list[Finding]] = {}  # client -> findings on its new series
        self.daily = GatheredTables()  # client -> its rows of the daily table
        # client -> the first day its ``daily`` rows replace (absent: all of them)
        self.daily_since: dict[str, pd.Timestamp] = {}
        self.sector_updates: dict[str, str] = {}
        self.backfilled = False  # finish() brought the daily table up to every customer
        self.fleet_built = False  # finish() built fleet_daily from every customer's rows
        self.monthly = GatheredTables()  # client -> its rows of the monthly table
        self.monthly_since: dict[str, pd.Timestamp] = {}  # client -> the first month replaced
        self.monthly_built = False  # finish() wrote every customer's months
        known = tx.read("ingestions").select(["sha256", "source_file", "status"]).to_pylist()
        # The same bytes under another name can be another customer's file (customers 12
        # and 30 of ElectroDunas are identical): a repeat is the same content and name.
        self.done: set[tuple[str, str]] = {
            (row["sha256"], Path(row["source_file"]).name)
            for row in known
            if row["status"] in ("ok", "repeat")
        }

    def ingest_file(self, prep: _Prepared) -> None:
        path, source = prep.path, str(prep.path)
        ingestion_id = uuid.uuid4().hex
        self.run_ids.add(ingestion_id)
        started = prep.started
        result = FileResult(source, "rejected")
        raw_key, digest, parsed = prep.raw_key, prep.digest, prep.parsed
        if prep.sector_csv:
            try:
                self.apply_sectors(path)
            except IngestError as exc:
                self.report.errors.append(exc)
            return
        if prep.error is not None or parsed is None:
            error = prep.error or IngestError(source, "could not be read")
            self.report.errors.append(error)
            result.error = (
                error.reason if error.line is None else f"line {error.line}: {error.reason}"
            )
            self.file_findings.append(
                Finding("ingest.file_rejected", "error", None, params={"file": path.name, "reason": result.error},
                        scope="ingestion", ingestion_id=ingestion_id, source_file=source)
            )  # fmt: skip
        else:
            repeat = (digest, path.name) in self.done
            result.status = "repeat" if repeat else "ok"
            result.layout = parsed.layout
            result.rows_read = parsed.rows_read
            result.rows_accepted = parsed.rows.num_rows
            result.rows_rejected = len(parsed.rejected)
            self.upsert(parsed, ingestion_id, source, result)
            self.record_rejections(parsed, ingestion_id, source, path.name, skip_storage=repeat)
            self.done.add((digest, path.name))
        self.report.files.append(result)
        self.ingestions.append(
            {
                "ingestion_id": ingestion_id, "run_id": self.report.run_id, "source_file": source,
                "raw_key": raw_key, "sha256": digest, "layout": result.layout, "status": result.status,
                "error": result.error, "rows_read": result.rows_read, "rows_accepted": result.rows_accepted,
                "rows_rejected": result.rows_rejected, "rows_inserted": result.rows_inserted,
                "rows_updated": result.rows_updated, "rows_unchanged": result.rows_unchanged,
                "clients": result.clients, "started_at": started, "finished_at": now_utc(),
            }
        )  # fmt: skip

    def upsert(
        self, parsed: ParsedFile, ingestion_id: str, source: str, result: FileResult
    ) -> None:
        rows = parsed.rows
        clients = rows.column("client_id").unique().to_pylist()
        result.clients = len(clients)
        for client in clients:
            new = (
                rows
                if len(clients) == 1
                else rows.filter(pa.compute.equal(rows.column("client_id"), client))
            )
            old = self.tx.read("readings", partitions=[client])
            shifted = shifted_copy(old, new)
            if shifted is not None:
                self.refuse_shifted(parsed, new, client, shifted, source, result)
                continue
            merged, inserted, updated, unchanged, first, revised = _merge(
                old, new, ingestion_id, parsed.columns, self.run_ids
            )
            result.rows_inserted += inserted
            result.rows_updated += updated
            result.rows_unchanged += unchanged
            if merged is None:
                continue
            for code, (start, end, count) in revised.items():
                # hours already stored changed, or a gap filled late: scoring sees the finding
                # and scores them (again)
                self.file_findings.append(
                    Finding(code, "info", client,
                            period_start=pd.Timestamp(start, unit="s").to_pydatetime(),
                            period_end=pd.Timestamp(end, unit="s").to_pydatetime(),
                            n_hours=count, params={"file": Path(source).name},
                            scope="ingestion", ingestion_id=ingestion_id, source_file=source)
                )  # fmt: skip
            seconds = merged.column("ts").cast(pa.int64()).to_numpy()
            # Only the hours from the first changed one are written again: the lake rewrites
            # the files that hold them, not the customer's history (issue 13).
            start = int(np.searchsorted(seconds, first))
            since = pd.Timestamp(first, unit="s")
            self.tx.replace_since("readings", merged.slice(start), {client: since})
            values = {c: merged.column(c).to_numpy(zero_copy_only=False) for c in NUMERIC}
            self.series[client] = series_findings(client, seconds, values)
            day = min(self.daily_since.get(client, since.floor("D")), since.floor("D"))
            self.daily_since[client] = day
            # from the first of the month: the monthly sums of the changed months whole
            month = daily.month_start(day)
            month_start = int(np.searchsorted(seconds, int(month.value // 10**9)))
            days, months = daily.daily_and_monthly(client, merged.slice(month_start))
            recent = pc.greater_equal(days.column("day"), pa.scalar(day.to_pydatetime(), TS))
            self.daily[client] = days.filter(recent)
            self.monthly[client] = months
            self.monthly_since[client] = month
            self.changed[client] = {
                "first_ts": pd.Timestamp(int(seconds[0]), unit="s"),
                "last_ts": pd.Timestamp(int(seconds[-1]), unit="s"),
                "n_readings": len(seconds),
                "series_hash": series_hash(seconds, [values[c] for c in NUMERIC]),
                "source_file": source,
            }

    def record_rejections(
        self, parsed: ParsedFile, ingestion_id: str, source: str, name: str, *, skip_storage: bool
    ) -> None:
        rej = parsed.rejected
        for code in rej.reason_codes:
            self.report.rejected_by_reason[code] += 1
        for line, code, detail in list(zip(rej.lines, rej.reason_codes, rej.details, strict=True))[
            :5
        ]:
            text = REASONS.get(code, code) + (f" ({detail})" if detail else "")
            self.report.rejected_examples.append(f"{source}, line {line}: {text}")
        if skip_storage:
            return  # the same content was ingested before: its rejected rows are already kept
        if len(rej):
            self.quarantine.append(_quarantine_frame(parsed, ingestion_id, source))
            by_client = Counter(rej.client_ids)
            for client, count in by_client.items():
                reasons = Counter(
                    c for c, k in zip(rej.reason_codes, rej.client_ids, strict=True) if k == client
                )
                text = ", ".join(f"{REASONS.get(c, c)}: {n}" for c, n in reasons.most_common())
                # the codes travel with the finding: its sentence is written in the reader's
                # language (i18n.t turns reason_counts into the reasons list)
                self.file_findings.append(
                    Finding("ingest.rows_rejected", "warning", client, n_hours=0,
                            params={"file": name, "n_rows": count, "reasons": text,
                                    "reason_counts": dict(reasons.most_common())},
                            scope="ingestion", ingestion_id=ingestion_id, source_file=source)
                )  # fmt: skip
        for client, count in parsed.duplicates.items():
            self.file_findings.append(
                Finding("readings.duplicate_timestamp", "warning", client,
                        params={"file": name, "n_rows": count},
                        scope="ingestion", ingestion_id=ingestion_id, source_file=source)
            )  # fmt: skip

    def refuse_shifted(
        self,
        parsed: ParsedFile,
        rows: pa.Table,
        client: str,
        shifted: ShiftedCopy,
        source: str,
        result: FileResult,
    ) -> None:
        """Move a customer's rows of a file to the quarantine: they are its stored readings
        with every hour moved (:func:`shifted_copy`); stored, they would move its history."""
        lines = rows.column("line").to_numpy()
        detail = shifted.describe(rows)
        for line in lines:
            parsed.rejected.add(int(line), "row.timestamp_shifted", detail, client)
        # the raw copy in the lake keeps the text anyway, should the file be gone
        with contextlib.suppress(IngestError, OSError):
            parsed.raw_lines.update(line_texts(Path(source), lines, self.rules.max_file_bytes))
        result.rows_accepted -= len(lines)
        result.rows_rejected += len(lines)

    def apply_sectors(self, path: Path) -> None:
        """A sector map's rows into the customers; the rows it does not give as they stand
        (no customer, no sector, a customer given two sectors) said in the report and kept
        as data-quality findings naming the file and line."""
        checked = read_sector_map_checked(path)
        sectors = checked.rows
        self.report.sector_maps.append(str(path))
        self.sector_updates.update(dict(zip(sectors["client_id"], sectors["sector"], strict=True)))
        for problem in checked.problems:
            self.report.sector_problems.append(problem.describe(str(path)))
            self.file_findings.append(
                Finding(problem.code, "warning", problem.client_id, scope="ingestion",
                        source_file=str(path),
                        params={"file": path.name, "line": problem.line,
                                "sector": problem.sector or "", "kept": problem.kept or "",
                                "kept_line": problem.kept_line or 0})
            )  # fmt: skip

    def finish(self) -> None:
        """Write customers, daily sums, data-quality findings, quarantine and the ingestion log."""
        tx = self.tx
        # A lake from before the daily table gets its other customers' rows now (checked until
        # an ingest has found them all; see daily.COMPLETE_KEY).
        self.backfilled = not daily.known_complete(self.lake)
        if self.backfilled:
            for client in daily.missing_customers(
                self.lake.partitions("readings"), self.lake.partitions("daily")
            ):
                if client not in self.daily:
                    self.daily[client] = daily.daily_rows(
                        client, tx.read("readings", partitions=[client])
                    )
        daily.write_daily(tx, self.daily, self.daily_since)
        self.monthly_built = daily.update_monthly(
            tx, self.lake, self.daily, self.monthly, self.daily_since, self.monthly_since
        )
        customers = tx.read("customers").to_pandas()
        sector_before = dict(zip(customers["client_id"], customers["sector"], strict=True))
        if self.changed or self.sector_updates:
            rows = {r["client_id"]: r for r in customers.to_dict("records")}
            for client, state in self.changed.items():
                row = rows.setdefault(client, {"client_id": client, "sector": None})
                row.update(state, updated_at=self.now)
            for client, sector in self.sector_updates.items():
                # A customer named only by the sector map gets a row without readings,
                # so the map is not lost when it arrives before the data.
                row = rows.setdefault(client, {"client_id": client, "n_readings": 0})
                if row.get("sector") != sector:
                    row.update(sector=sector, updated_at=self.now)
            ordered = [rows[c] for c in sorted(rows, key=natural_key)]
            customers = pd.DataFrame(ordered, columns=customers.columns)
            customers["n_readings"] = customers["n_readings"].fillna(0).astype("int64")
            for col in ("first_ts", "last_ts"):
                customers[col] = pd.to_datetime(customers[col]).astype("datetime64[s]")
            customers["updated_at"] = pd.to_datetime(customers["updated_at"], utc=True)
            tx.overwrite("customers", customers)
        self.report.customers_total = len(customers)
        self.fleet_built = daily.update_fleet(
            tx,
            self.lake,
            self.daily,
            self.daily_since,
            sector_before,
            dict(zip(customers["client_id"], customers["sector"], strict=True)),
        )
        self.report.customers_with_sector = (
            int(customers["sector"].notna().sum()) if len(customers) else 0
        )

        fleet = duplicate_findings(customers[["client_id", "series_hash", "first_ts", "last_ts"]])
        existing_dq = tx.read("data_quality").to_pandas()
        had_fleet = set(existing_dq.loc[existing_dq["scope"] == "fleet", "client_id"])
        file_by_client: dict[str | None, list[Finding]] = {}
        for f in self.file_findings:
            file_by_client.setdefault(f.client_id, []).append(f)
        touched = set(self.changed) | set(fleet) | had_fleet | set(file_by_client)
        # Rewrite the partitions of the customers whose findings changed, in one call.
        rewritten: list[str | None] = []
        parts = []
        fresh: list[Finding] = []
        # each customer's existing findings by one grouping, not one scan of the table per
        # customer (a daily ingest touches every customer)
        no_client = existing_dq["client_id"].isna()
        old_by: dict[str | None, pd.DataFrame] = {
            str(c): g for c, g in existing_dq[~no_client].groupby("client_id", sort=False)
        }
        old_by[None] = existing_dq[no_client]
        empty_dq = existing_dq.iloc[:0]
        for key in sorted(touched, key=lambda c: (c is None, natural_key(c or ""))):
            old = old_by.get(key, empty_dq)
            keep_scopes = {"ingestion"} if key in self.changed else {"ingestion", "series"}
            old_fleet = old[old["scope"] == "fleet"]
            new_fleet = fleet.get(key, []) if key is not None else []
            fleet_same = sorted(old_fleet["params"]) == sorted(
                json.dumps(f.params, ensure_ascii=False, default=str) for f in new_fleet
            )
            if key not in self.changed and key not in file_by_client and fleet_same:
                continue
            rewritten.append(key)
            new_findings = list(file_by_client.get(key, [])) + new_fleet
            new_findings += self.series.get(key, []) if key is not None else []
            kept_old = old[old["scope"].isin(keep_scopes)]
            # a sector map read again says its problems again: once in the table, not per run
            again = {
                (f.code, json.dumps(f.params, ensure_ascii=False, default=str))
                for f in new_findings
                if f.code in SECTOR_PROBLEMS
            }
            if again and len(kept_old):
                same = [
                    (c, p) in again
                    for c, p in zip(kept_old["code"], kept_old["params"], strict=True)
                ]
                kept_old = kept_old[~np.asarray(same, dtype=bool)]
            parts.append(kept_old)
            fresh += new_findings
        if fresh:
            parts.append(findings_frame(fresh, self.language))
        if rewritten:
            kept = [p for p in parts if len(p)] or [empty_dq]
            tx.overwrite_partitions("data_quality", pd.concat(kept, ignore_index=True), rewritten)
        if self.quarantine:
            tx.append("quarantine", pd.concat(self.quarantine, ignore_index=True))
        if self.ingestions:
            tx.append("ingestions", pd.DataFrame(self.ingestions))
        dq = tx.read("data_quality", partitions=None).to_pandas()
        self.report.findings_by_code = Counter(dq["code"])


def ingest_paths(
    lake: Lake,
    paths: Sequence[str | Path],
    *,
    sectors: Iterable[str | Path] = (),
    language: str = "es",
    progress: Progress | None = None,
    workers: int | None = None,
    rules: IngestRules | None = None,
) -> IngestReport:
    """Ingest files and folders into the lake in one atomic transaction.

    Parameters
    ----------
    lake
        Where to write.
    paths
        Files (``.csv``, ``.csv.gz``, sector workbooks) and folders (searched recursively;
        a sector workbook inside is picked up automatically).
    sectors
        Extra sector maps (workbook or CSV), applied after the data.
    language
        Language of the data-quality messages stored in the lake.
    progress
        Called as ``progress(done, total, label)`` after each file.
    workers
        Threads reading and parsing files ahead of the merge (default: CPUs, at most 4;
        1 reads in the calling thread).
    rules
        Plausibility bounds and size limits (default :class:`IngestRules`; entry points
        build them from the settings with ``IngestRules.from_settings``).

    Returns
    -------
    IngestReport
        Per-file results, errors and the reconciliation of row counts. Problems with some
        files or rows are reported here, not raised.
    """
    report = IngestReport(
        run_id=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    )
    rules = rules or IngestRules()
    inputs = discover(paths, report.errors, report.skipped)
    sector_files = inputs.sectors + [Path(s) for s in sectors]
    for s in sector_files:
        if not Path(s).exists():
            report.errors.append(IngestError(str(s), "no such file"))
    sector_files = [s for s in sector_files if s.exists()]
    total = len(inputs.data) + len(sector_files)
    if total == 0:
        return report
    with lake.transaction() as tx:
        run = _Run(lake, tx, language, report, rules)
        workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        for i, prep in enumerate(_read_ahead(lake, inputs.data, workers, rules), start=1):
            run.ingest_file(prep)
            if progress:
                progress(i, total, prep.path.name)
        for j, path in enumerate(sector_files, start=len(inputs.data) + 1):
            try:
                run.apply_sectors(path)
            except IngestError as exc:
                report.errors.append(exc)
            if progress:
                progress(j, total, path.name)
        run.finish()
    if run.backfilled:
        daily.mark_complete(lake)  # after the commit: a crash before it leaves the check due
    if run.fleet_built:
        daily.mark_fleet_complete(lake)  # likewise: until then every ingest builds it whole
    if run.monthly_built:
        daily.mark_monthly_complete(lake)
    return report
