"""Reading meter files: decoding, layout detection and row validation.

Two layouts are accepted:

- ``electrodunas``: one file per customer named ``DATOSCLIENTE<N>.csv`` with columns
  ``Fecha, Active_energy, Reactive_energy, Voltaje_FA, Voltaje_FC``; the customer is
  ``Cliente <N>``;
- ``long``: one row per meter and hour with ``client_id`` (or ``meter_id``),
  ``timestamp``, ``active_kwh`` and optionally ``reactive_kvarh``, ``voltage_fa``,
  ``voltage_fc``.

Header names match case-insensitively. Every data row ends up either accepted or
rejected with its line number and a reason; nothing is dropped.
"""

from __future__ import annotations

import gzip
import io
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from meterwatch.i18n import MESSAGES
from meterwatch.ingest.errors import IngestError

NUMERIC = ("active_kwh", "reactive_kvarh", "voltage_fa", "voltage_fc")
OUTPUT_COLUMNS = ("client_id", "ts", *NUMERIC, "line")

LAYOUTS: dict[str, dict[str, str]] = {
    "electrodunas": {
        "fecha": "ts",
        "active_energy": "active_kwh",
        "reactive_energy": "reactive_kvarh",
        "voltaje_fa": "voltage_fa",
        "voltaje_fc": "voltage_fc",
    },
    "long": {
        "client_id": "client_id",
        "meter_id": "client_id",
        "timestamp": "ts",
        "active_kwh": "active_kwh",
        "reactive_kvarh": "reactive_kvarh",
        "voltage_fa": "voltage_fa",
        "voltage_fc": "voltage_fc",
    },
}
REQUIRED = {"electrodunas": {"ts", "active_kwh"}, "long": {"client_id", "ts", "active_kwh"}}
EXPECTED_TEXT = (
    "expected the ElectroDunas layout (Fecha, Active_energy, Reactive_energy, Voltaje_FA, "
    "Voltaje_FC) or the long layout (client_id or meter_id, timestamp, active_kwh, optional "
    "reactive_kvarh, voltage_fa, voltage_fc)"
)
SECTOR_HEADERS = {"cliente", "client_id", "meter_id"}
DELIMITERS = (",", ";", "\t", "|")
ELECTRODUNAS_NAME = re.compile(r"DATOSCLIENTE\s*(\d+)", re.IGNORECASE)
# Formats tried in order; the first is the ElectroDunas export's.
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
LIMA_UTC_OFFSET = pd.Timedelta(hours=-5)

# Why a row is rejected: the codes kept with each quarantined row, in this order (their ids),
# with the English text of meterwatch.i18n (the dashboard shows the operator's language).
REASONS = {
    code: MESSAGES[code]["en"]
    for code in (
        "row.empty_line",
        "row.field_count",
        "row.header_repeated",
        "row.client_missing",
        "row.timestamp_missing",
        "row.timestamp_unparseable",
        "row.timestamp_not_hour_start",
        "row.active_missing",
        "row.number_unparseable",
        "row.number_not_finite",
        "row.duplicate_in_file",
    )
}


def normalise_header(name: str) -> str:
    """Lower-case, accent-free, underscore-joined form of a column name."""
    text = unicodedata.normalize("NFKD", name.strip().strip('"').strip("'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    return text


@dataclass
class Rejected:
    """Rows of one file that were not accepted."""

    lines: list[int] = field(default_factory=list)
    reason_codes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    client_ids: list[str | None] = field(default_factory=list)

    def add(self, line: int, code: str, detail: str = "", client_id: str | None = None) -> None:
        self.lines.append(int(line))
        self.reason_codes.append(code)
        self.details.append(detail)
        self.client_ids.append(client_id)

    def __len__(self) -> int:
        return len(self.lines)


@dataclass
class ParsedFile:
    """A meter file read and validated.

    Attributes
    ----------
    layout
        ``electrodunas`` or ``long``.
    rows
        Accepted rows: ``client_id, ts, active_kwh, reactive_kvarh, voltage_fa, voltage_fc,
        line``, at most one per customer and hour.
    rejected
        Rejected rows with their line numbers and reasons.
    rows_read
        Data rows in the file (accepted + rejected).
    duplicates
        Rows superseded by a later row for the same customer and hour, per customer.
    """

    layout: str
    rows: pa.Table
    rejected: Rejected
    rows_read: int
    duplicates: dict[str, int]
    lines: list[bytes] | None = None


def read_bytes(path: Path) -> bytes:
    """Read a file, decompressing ``.gz``; clear errors for what cannot be read."""
    return decompress(path, load(path))


def load(path: Path) -> bytes:
    """Read a file's bytes as stored; clear errors for what cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IngestError(str(path), "file not found") from None
    except IsADirectoryError:
        raise IngestError(str(path), "is a folder, not a file") from None
    except PermissionError:
        raise IngestError(str(path), "permission denied") from None


def decompress(path: Path, data: bytes) -> bytes:
    """Decompress a ``.gz`` file's bytes; other files pass through."""
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(str(path), f"not a valid gzip file ({exc})") from None
    return data


def decode_check(source: str, data: bytes) -> bytes:
    """Check the bytes are UTF-8 text; return them without a byte-order mark."""
    if not data.strip():
        raise IngestError(source, "the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise IngestError(
            source, "the file is UTF-16 or binary, not UTF-8 text; save it as UTF-8 CSV"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise IngestError(
            source,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8 CSV",
            line=line,
        ) from None
    return data


def sniff(source: str, data: bytes) -> tuple[str, list[str], str]:
    """Find the delimiter and layout from the header line.

    Returns
    -------
    delimiter, header (normalised names), layout
    """
    header_line = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    best: tuple[int, str, list[str], str] | None = None
    widest: list[str] = [header_line]
    for delim in DELIMITERS:
        names = [normalise_header(n) for n in header_line.split(delim)]
        if len(names) > len(widest):
            widest = [n.strip() for n in header_line.split(delim)]
        for layout, mapping in LAYOUTS.items():
            mapped = {mapping[n] for n in names if n in mapping}
            if REQUIRED[layout] <= mapped:
                score = len(mapped)
                if best is None or score > best[0]:
                    best = (score, delim, names, layout)
    if best is None:
        names_seen = {normalise_header(n) for n in widest}
        if names_seen & SECTOR_HEADERS and any(n.startswith("sector") for n in names_seen):
            raise IngestError(source, "this is a sector map; pass it with --sectors")
        found = ", ".join(repr(n) for n in widest)
        raise IngestError(source, f"unknown layout: columns found {found}; {EXPECTED_TEXT}", line=1)
    _, delim, names, layout = best
    return delim, names, layout


def electrodunas_client(path: Path) -> str:
    """The customer id of an ElectroDunas file, from its name."""
    match = ELECTRODUNAS_NAME.search(path.name)
    if match is None:
        raise IngestError(
            str(path),
            "ElectroDunas layout, but the customer cannot be told from the file name; "
            "name it DATOSCLIENTE<N>.csv or use the long layout with a client_id column",
        )
    return f"Cliente {int(match.group(1))}"


def _parse_timestamps(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Parse timestamp strings to local hour starts.

    Returns
    -------
    seconds
        int64 seconds since the epoch (local time), undefined where ``bad``.
    bad
        bool mask of values that could not be parsed.
    """
    result = pc.strptime(values, format=TIMESTAMP_FORMATS[0], unit="s", error_is_null=True)
    missing = result.is_null().to_numpy(zero_copy_only=False)
    if missing.any():
        filled = result.to_pandas()
        todo = pd.Series(values.to_pandas())
        for fmt in TIMESTAMP_FORMATS[1:]:
            idx = np.flatnonzero(missing)
            if not len(idx):
                break
            parsed = pd.to_datetime(todo.iloc[idx], format=fmt, errors="coerce")
            ok = parsed.notna().to_numpy()
            filled.iloc[idx[ok]] = parsed[ok].to_numpy()
            missing[idx[ok]] = False
        idx = np.flatnonzero(missing)
        if len(idx):
            # Timestamps with a UTC offset ("2021-03-01T05:00:00Z", "...-05:00"): to Lima time.
            parsed = pd.to_datetime(todo.iloc[idx], utc=True, errors="coerce", format="ISO8601")
            ok = parsed.notna().to_numpy()
            local = (parsed[ok].dt.tz_localize(None) + LIMA_UTC_OFFSET).to_numpy()
            filled.iloc[idx[ok]] = local
            missing[idx[ok]] = False
        seconds = filled.to_numpy(dtype="datetime64[s]").astype(np.int64, copy=False)
    else:
        seconds = result.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return seconds, missing


def _parse_numbers(
    values: pa.Array, decimal_comma: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse number strings.

    Returns
    -------
    numbers
        float64 values, NaN where empty or bad.
    empty
        mask of empty fields.
    bad
        mask of fields that are not finite numbers.
    """
    text = pc.utf8_trim_whitespace(values)
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    if decimal_comma:
        text = pc.replace_substring(text, ",", ".")
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        numbers = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        numbers = pd.to_numeric(pd.Series(text.to_pandas()), errors="coerce").to_numpy(
            dtype=np.float64
        )
    bad = ~np.isfinite(numbers) & ~empty
    numbers = np.where(bad, np.nan, numbers)
    return numbers, empty, bad


@dataclass
class _Fields:
    """Columns of one file after reading, before row validation."""

    rows_read: int
    line_numbers: np.ndarray  # physical line of each parsed row
    invalid_rows: list[tuple[int, str]]  # rows with the wrong number of fields
    seconds: np.ndarray
    ts_missing: np.ndarray
    ts_bad: np.ndarray
    numbers: dict[str, np.ndarray]
    empty: dict[str, np.ndarray]
    bad: dict[str, np.ndarray]
    all_empty: np.ndarray
    is_header: np.ndarray
    client: np.ndarray | None  # None: the file's customer comes from its name


def _read_typed(
    data: bytes, delimiter: str, header: list[str], sources: dict[str, int]
) -> _Fields | None:
    """Fast path: let Arrow parse and convert with threads; ``None`` at the first problem.

    A clean file (the usual case) is read at the speed of a plain ``read_csv``; any row
    with the wrong field count or a value that does not convert sends the file to the
    slower path that reports every problem row by row.
    """
    names = [f"c{i}" for i in range(len(header))]
    types: dict[str, pa.DataType] = {}
    for target, i in sources.items():
        types[names[i]] = (
            pa.timestamp("s")
            if target == "ts"
            else pa.string()
            if target == "client_id"
            else pa.float64()
        )
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                invalid_row_handler=lambda _row: "error",
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(types),
                timestamp_parsers=list(TIMESTAMP_FORMATS[:2]),
                decimal_point="." if delimiter == "," else ",",
                null_values=[""],
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    n = table.num_rows
    ts = table.column(names[sources["ts"]])
    ts_missing = ts.is_null().to_numpy(zero_copy_only=False)
    seconds = pc.fill_null(ts.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    numbers, empty, bad = {}, {}, {}
    all_empty = ts_missing.copy()
    for col in NUMERIC:
        if col not in sources:
            numbers[col] = np.full(n, np.nan)
            empty[col] = np.ones(n, dtype=bool)
            bad[col] = np.zeros(n, dtype=bool)
            continue
        arr = table.column(names[sources[col]])
        empty[col] = arr.is_null().to_numpy(zero_copy_only=False)
        values = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        bad[col] = ~np.isfinite(values) & ~empty[col]
        numbers[col] = np.where(bad[col], np.nan, values)
        all_empty &= empty[col]
    client = None
    if "client_id" in sources:
        text = pc.utf8_trim_whitespace(table.column(names[sources["client_id"]]))
        client = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
        all_empty &= client == ""
    return _Fields(
        n, np.arange(2, n + 2, dtype=np.int64), [], seconds, ts_missing, np.zeros(n, dtype=bool),
        numbers, empty, bad, all_empty, np.zeros(n, dtype=bool), client,
    )  # fmt: skip


def _read_text(
    source: str,
    data: bytes,
    delimiter: str,
    header: list[str],
    sources: dict[str, int],
    ts_header: str,
) -> _Fields:
    """Careful path: every field as text, converted and checked row by row (vectorised)."""
    invalid_rows: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid_rows.append(
            (row.number, f"{row.actual_columns} fields, expected {row.expected_columns}")
        )
        return "skip"

    names = [f"c{i}" for i in range(len(header))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        raise IngestError(source, f"cannot be read as CSV ({exc})") from None
    n = table.num_rows
    rows_read = n + len(invalid_rows)
    # Physical line of each parsed row: every line after the header but the skipped ones.
    line_numbers = np.arange(2, 2 + rows_read, dtype=np.int64)
    if invalid_rows:
        skipped = np.array([line for line, _ in invalid_rows], dtype=np.int64)
        line_numbers = line_numbers[~np.isin(line_numbers, skipped)]

    all_empty = np.ones(n, dtype=bool)
    for name in names:
        all_empty &= pc.equal(pc.utf8_trim_whitespace(table.column(name)), "").to_numpy(
            zero_copy_only=False
        )
    ts_text = pc.utf8_trim_whitespace(table.column(names[sources["ts"]]).combine_chunks())
    is_header = pc.equal(pc.utf8_lower(ts_text), ts_header).to_numpy(zero_copy_only=False)
    ts_missing = pc.equal(ts_text, "").to_numpy(zero_copy_only=False)
    seconds, ts_bad = _parse_timestamps(ts_text)
    decimal_comma = delimiter != ","
    numbers, empty, bad = {}, {}, {}
    for col in NUMERIC:
        if col not in sources:
            numbers[col] = np.full(n, np.nan)
            empty[col] = np.ones(n, dtype=bool)
            bad[col] = np.zeros(n, dtype=bool)
            continue
        numbers[col], empty[col], bad[col] = _parse_numbers(
            table.column(names[sources[col]]).combine_chunks(), decimal_comma
        )
    client = None
    if "client_id" in sources:
        text = pc.utf8_trim_whitespace(table.column(names[sources["client_id"]]))
        client = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
    return _Fields(
        rows_read, line_numbers, invalid_rows, seconds, ts_missing, ts_bad & ~ts_missing,
        numbers, empty, bad, all_empty, is_header, client,
    )  # fmt: skip


CODE_IDS = {code: i + 1 for i, code in enumerate(REASONS)}
CODE_NAMES = ["", *REASONS]


def parse(path: Path, data: bytes, source: str | None = None) -> ParsedFile:
    """Parse and validate one meter file's bytes (already read and decompressed).

    Parameters
    ----------
    path
        The file's path (its name gives the customer in the ElectroDunas layout).
    data
        The file's bytes.
    source
        Name used in messages (defaults to ``path``).
    """
    source = source or str(path)
    data = decode_check(source, data)
    delimiter, header, layout = sniff(source, data)
    mapping = LAYOUTS[layout]
    fixed_client = electrodunas_client(path) if layout == "electrodunas" else None
    sources: dict[str, int] = {}
    for i, name in enumerate(header):
        target = mapping.get(name)
        if target is not None and target not in sources:
            sources[target] = i
    fields = _read_typed(data, delimiter, header, sources)
    if fields is None:
        fields = _read_text(source, data, delimiter, header, sources, header[sources["ts"]])
    if fields.rows_read == 0:
        raise IngestError(source, "the file has a header but no data rows")

    n = len(fields.seconds)
    reason = np.zeros(n, dtype=np.int8)
    detail: dict[int, str] = {}

    def mark(mask: np.ndarray, code: str, text: str = "") -> None:
        fresh = mask & (reason == 0)
        reason[fresh] = CODE_IDS[code]
        if text:
            detail.update(dict.fromkeys(np.flatnonzero(fresh).tolist(), text))

    # Whole-row checks first, so their reason wins over per-field ones.
    mark(fields.all_empty, "row.empty_line")
    mark(fields.is_header, "row.header_repeated")
    client = fields.client
    if client is not None:
        mark(client == "", "row.client_missing")
    mark(fields.ts_missing, "row.timestamp_missing")
    mark(fields.ts_bad, "row.timestamp_unparseable")
    mark(
        ~fields.ts_bad & ~fields.ts_missing & (fields.seconds % 3600 != 0),
        "row.timestamp_not_hour_start",
    )
    mark(fields.empty["active_kwh"], "row.active_missing")
    for col in NUMERIC:
        mark(fields.bad[col], "row.number_unparseable", col)

    # Repeated customer-hour within the file: the last row wins (a later line corrects).
    duplicates: dict[str, int] = {}
    idx_ok = np.flatnonzero(reason == 0)
    key_client = client[idx_ok] if client is not None else np.zeros(len(idx_ok), dtype=np.int8)
    key = pd.DataFrame({"c": key_client, "t": fields.seconds[idx_ok]})
    dup = key.duplicated(keep="last").to_numpy()
    if dup.any():
        last_line = (
            pd.Series(fields.line_numbers[idx_ok])
            .groupby([key["c"], key["t"]])
            .transform("last")
            .to_numpy()
        )
        for j in np.flatnonzero(dup):
            row = int(idx_ok[j])
            reason[row] = CODE_IDS["row.duplicate_in_file"]
            detail[row] = f"superseded by line {last_line[j]}"
            who = fixed_client if client is None else str(client[row])
            if who is not None:
                duplicates[who] = duplicates.get(who, 0) + 1

    rejected = Rejected()
    for line, problem in fields.invalid_rows:
        rejected.add(line, "row.field_count", problem, fixed_client)
    for row in np.flatnonzero(reason != 0).tolist():
        who = fixed_client if client is None else (str(client[row]) or None)
        rejected.add(
            int(fields.line_numbers[row]), CODE_NAMES[reason[row]], detail.get(row, ""), who
        )

    keep = np.flatnonzero(reason == 0)
    client_col = (
        pa.array(np.full(len(keep), fixed_client, dtype=object), pa.string())
        if client is None
        else pa.array(client[keep], pa.string())
    )
    rows = pa.table(
        {
            "client_id": client_col,
            "ts": pa.array(fields.seconds[keep].astype("datetime64[s]"), pa.timestamp("s")),
            **{
                col: pa.array(fields.numbers[col][keep], pa.float64(), from_pandas=True)
                for col in NUMERIC
            },
            "line": pa.array(fields.line_numbers[keep], pa.int64()),
        }
    )
    lines = data.split(b"\n") if len(rejected) else None
    return ParsedFile(layout, rows, rejected, fields.rows_read, duplicates, lines)
