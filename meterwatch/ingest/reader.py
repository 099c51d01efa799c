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

import io
import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from meterwatch.i18n import MESSAGES
from meterwatch.ingest.errors import IngestError, shorten
from meterwatch.ingest.rules import LIMA_UTC_OFFSET_S, IngestRules

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

# The accepted spellings of a reading's hour, tried in order (RE2 patterns, named groups).
# A time without an offset is Lima local time, whatever its spelling; one with an offset
# (``Z``, ``+01:00``, ``-0500``) is converted to Lima time. Anything else is rejected.
_TIME = r"(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
_OFFSET = r"(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
_DAY_FIRST = "DD/MM/YYYY HH:MM[:SS]"  # the one spelling whose order a file can contradict
TIMESTAMP_SPELLINGS = {
    "YYYY-MM-DD HH:MM[:SS[.fff]][offset], T or space": (
        rf"^(?P<y>\d{{4}})-(?P<mo>\d{{1,2}})-(?P<d>\d{{1,2}}){_TIME}{_OFFSET}$"
    ),
    "YYYYMMDDTHHMM[SS][offset]": (
        r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:T(?P<h>\d{2})(?P<mi>\d{2})"
        r"(?:(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?" + _OFFSET + "$"
    ),
    "YYYY/MM/DD HH:MM[:SS]": rf"^(?P<y>\d{{4}})/(?P<mo>\d{{1,2}})/(?P<d>\d{{1,2}}){_TIME}$",
    _DAY_FIRST: rf"^(?P<d>\d{{1,2}})/(?P<mo>\d{{1,2}})/(?P<y>\d{{4}}){_TIME}$",
}
ACCEPTED_SPELLINGS = "YYYY-MM-DD HH:MM[:SS], ISO 8601 (with an offset or without), DD/MM/YYYY HH:MM"
_CANONICAL = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"  # the ElectroDunas export's, read fastest
ENERGY = ("active_kwh", "reactive_kvarh")
VOLTAGE = ("voltage_fa", "voltage_fc")
RAW_LINE_CHARS = 500  # of a rejected line kept in the quarantine (the raw file keeps it all)

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
        "row.client_invalid",
        "row.timestamp_date_only",
        "row.timestamp_impossible",
        "row.timestamp_out_of_range",
        "row.value_out_of_range",
        "row.line_too_long",
        "row.quote_misplaced",
        "row.not_utf8",
        "row.timestamp_month_first",
        "row.timestamp_hour_ending",
        "row.timestamp_shifted",
        "row.timestamp_sub_hourly",
        "row.active_cumulative",
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
    columns
        The optional measures the file has; a stored value of one it lacks is kept.
    raw_lines
        The text of each rejected line (cut to ``RAW_LINE_CHARS``), by line number.
    """

    layout: str
    rows: pa.Table
    rejected: Rejected
    rows_read: int
    duplicates: dict[str, int]
    columns: tuple[str, ...] = NUMERIC
    raw_lines: dict[int, str] = field(default_factory=dict)


def line_texts(path: Path, lines: Iterable[int], max_bytes: int) -> dict[int, str]:
    """The text of some lines of a file (1-based, as ``parse`` numbers them), read again from
    the file: for rows refused after parsing, to keep their raw line in the quarantine."""
    found = _Lines.of(_one_line_per_row(_binary_or_empty(str(path), read_bytes(path, max_bytes))))
    return {int(n): found.text(int(n)) for n in lines}


def read_bytes(path: Path, max_bytes: int = IngestRules.max_file_bytes) -> bytes:
    """Read a file, decompressing ``.gz``; clear errors for what cannot be read."""
    return decompress(path, load(path), max_bytes)


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


def too_large(max_bytes: int) -> str:
    """The reason given for a file over the size limit."""
    return (
        f"the file is larger than {max_bytes / 2**20:g} MB after decompression; if it is "
        "genuine, raise METERWATCH_MAX_FILE_MB or split it"
    )


def decompress(path: Path, data: bytes, max_bytes: int = IngestRules.max_file_bytes) -> bytes:
    """Decompress a ``.gz`` file's bytes, stopping at ``max_bytes``; other files pass through.

    The output is produced in bounded steps, so a gzip bomb costs at most ``max_bytes`` of
    memory before it is refused.
    """
    if not path.name.lower().endswith(".gz"):
        if len(data) > max_bytes:
            raise IngestError(str(path), too_large(max_bytes))
        return data
    out = bytearray()
    rest = data
    try:
        while rest:
            member = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
            out += member.decompress(rest, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise IngestError(str(path), too_large(max_bytes))
            if not member.eof:
                raise IngestError(str(path), "not a valid gzip file (it is truncated)")
            rest = member.unused_data
            if rest and not rest.startswith(b"\x1f\x8b"):
                if rest.strip(b"\x00"):
                    raise IngestError(str(path), "not a valid gzip file (data after its end)")
                break  # zero padding after the last member, as gzip itself allows
    except zlib.error as exc:
        raise IngestError(str(path), f"not a valid gzip file ({exc})") from None
    return bytes(out)


def _not_utf8(source: str, data: bytes, line: int = 1) -> IngestError | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return IngestError(
            source,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8 CSV",
            line=line + data.count(b"\n", 0, exc.start),
        )
    return None


def _one_line_per_row(data: bytes) -> bytes:
    """CR-LF and old Mac CR-only endings as ``\\n``: one line per row either way."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _binary_or_empty(source: str, data: bytes) -> bytes:
    """Refuse empty, UTF-16 and binary files; return the bytes without a byte-order mark."""
    if not data.strip():
        raise IngestError(source, "the file is empty")
    head = data[:4096]
    # UTF-16 has a zero byte in every other position; one stray NUL is a bad row instead.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(b"\x00") > len(head) // 100:
        raise IngestError(
            source, "the file is UTF-16 or binary, not UTF-8 text; save it as UTF-8 CSV"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data


def decode_check(source: str, data: bytes) -> bytes:
    """Check the bytes are UTF-8 text; return them without a byte-order mark."""
    data = _binary_or_empty(source, data)
    error = _not_utf8(source, data)
    if error is not None:
        raise error
    return data


@dataclass
class _Lines:
    """Where each line of a file starts and ends (line endings already ``\\n``)."""

    data: bytes
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, data: bytes) -> _Lines:
        newlines = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
        starts = np.concatenate(([0], newlines + 1))
        ends = np.concatenate((newlines, [len(data)]))
        return cls(data, starts, ends)

    def text(self, line: int, limit: int = RAW_LINE_CHARS) -> str:
        """Line ``line`` (1-based), cut to ``limit`` characters."""
        if not 0 < line <= len(self.starts):
            return ""
        start, end = int(self.starts[line - 1]), int(self.ends[line - 1])
        text = self.data[start : min(end, start + 4 * limit)].decode("utf-8", errors="replace")
        return text[:limit] + (f"… ({end - start:,} bytes)" if end - start > limit else "")


def _field_pattern(delimiter: str) -> re.Pattern[bytes]:
    d = re.escape(delimiter.encode())
    one = rb'(?:"(?:[^"]|"")*"|[^"' + d + rb"]*)"
    return re.compile(one + rb"(?:" + d + one + rb")*")


def _screen(
    lines: _Lines, delimiter: str, width: int, max_line_bytes: int
) -> tuple[bytes, dict[int, tuple[str, str]]]:
    """Find the lines that cannot be a row whatever their fields say.

    Too long, not UTF-8, or quotes that do not close on the line (a value spanning lines
    would shift every line number after it). Each such line is replaced by an empty row,
    so every other line keeps its number; its reason is returned by line number.
    """
    data, starts, ends = lines.data, lines.starts, lines.ends
    problems: dict[int, tuple[str, str]] = {}
    lengths = ends - starts
    for i in np.flatnonzero(lengths > max_line_bytes).tolist():
        if i:
            problems[i + 1] = (
                "row.line_too_long",
                f"{lengths[i]:,} bytes; limit {max_line_bytes:,}",
            )
    if _not_utf8("", data) is not None:
        for i in range(1, len(starts)):
            if i + 1 not in problems and _not_utf8("", data[starts[i] : ends[i]]) is not None:
                problems[i + 1] = ("row.not_utf8", "")
    if b'"' in data:
        quotes = np.flatnonzero(np.frombuffer(data, np.uint8) == 34)
        pattern = _field_pattern(delimiter)
        for i in np.unique(np.searchsorted(starts, quotes, side="right") - 1).tolist():
            if i and i + 1 not in problems and not pattern.fullmatch(data, starts[i], ends[i]):
                problems[i + 1] = ("row.quote_misplaced", "")
    if not problems:
        return data, problems
    blank = (delimiter * (width - 1)).encode()
    pieces, previous = [], 0
    for line in sorted(problems):
        pieces += [data[previous : starts[line - 1]], blank]
        previous = int(ends[line - 1])
    pieces.append(data[previous:])
    return b"".join(pieces), problems


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
        found = ", ".join(repr(shorten(n, 40)) for n in widest[:12])
        if len(widest) > 12:
            found += f" and {len(widest) - 12:,} more"
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


_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (valid ones), vectorised."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _ints(values: pa.Array, default: int = 0) -> np.ndarray:
    present = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    return pc.fill_null(pc.cast(present, pa.int64()), default).to_numpy(zero_copy_only=False)


def _bools(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _offsets(tz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds east of UTC of each offset text (``""`` is none); mask of impossible ones."""
    unique, inverse = np.unique(tz, return_inverse=True)
    seconds = np.zeros(len(unique), np.int64)
    bad = np.zeros(len(unique), bool)
    for i, text in enumerate(unique.tolist()):
        if text in ("", "Z", "z"):
            continue
        digits = text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        bad[i] = hours > 14 or minutes > 59
        seconds[i] = (1 if text[0] == "+" else -1) * (hours * 3600 + minutes * 60)
    return seconds[inverse], bad[inverse]


def parse_timestamps(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Read each row's hour as Lima local time.

    A time without an offset is Lima time whatever its spelling; one with an offset is
    converted to Lima time. Dates that do not exist (2021-02-29, 04-31, hour 24) are
    refused, never rolled over into the next day. ``text`` is one file's column: slashed
    dates are read day first (DD/MM/YYYY), and where the column itself shows them written
    month first (a "month" above 12 that is a valid day, its "day" a valid month: 03/13/2021)
    every slashed date of the file is refused (``row.timestamp_month_first``), not only the
    impossible ones: read day first, its 03/04/2021 would silently become 3 April. Likewise a
    column that labels hours by their end (24:00 and never 00:00) is refused whole
    (``row.timestamp_hour_ending``): read as hour starts, each reading would move an hour.

    Returns
    -------
    seconds
        int64 local seconds since the epoch (undefined where ``problem`` is not 0).
    problem
        int8 reason id per row (``CODE_IDS``): 0 when read.
    """
    n = len(text)
    seconds = np.zeros(n, np.int64)
    problem = np.full(n, CODE_IDS["row.timestamp_unparseable"], np.int8)
    canonical = _bools(pc.match_substring_regex(text, _CANONICAL))
    if canonical.any():
        # Arrow's strptime is fast but rolls 02-30 over into March: a changed day refuses it.
        idx = np.flatnonzero(canonical)
        sub = text.take(pa.array(idx))
        parsed = pc.strptime(sub, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
        day = pc.cast(pc.utf8_slice_codeunits(sub, 8, 10), pa.int64())
        ok = _bools(pc.equal(pc.day(parsed), day))
        seconds[idx[ok]] = parsed.cast(pa.int64()).to_numpy(zero_copy_only=False)[ok]
        problem[idx[ok]] = 0
    rest = np.flatnonzero(problem != 0)
    if not len(rest):
        return seconds, problem
    sub = text.take(pa.array(rest))
    left = np.ones(len(rest), bool)
    hour_24 = np.zeros(n, bool)  # 24:00 of an existing day: an hour labelled by its end
    for spelling, pattern in TIMESTAMP_SPELLINGS.items():
        if not left.any():
            break
        found = pc.extract_regex(sub, pattern)
        matched = _bools(found.is_valid()) & left
        if not matched.any():
            continue
        left &= ~matched
        where = np.flatnonzero(matched)
        parts = found.filter(pa.array(matched))
        names = {parts.type.field(i).name: i for i in range(parts.type.num_fields)}
        y, mo, d = (_ints(parts.field(names[k])) for k in ("y", "mo", "d"))
        hour_text = parts.field(names["h"])
        h, mi, sec = (
            _ints(hour_text),
            _ints(parts.field(names["mi"])),
            _ints(parts.field(names["s"])),
        )
        date_only = _bools(pc.equal(hour_text, ""))
        fraction = _bools(pc.match_substring_regex(parts.field(names["f"]), "[1-9]"))
        tz = (
            np.asarray(parts.field(names["tz"]).to_numpy(zero_copy_only=False), dtype=object)
            if "tz" in names
            else np.full(len(where), "", dtype=object)
        )
        offset, bad_offset = _offsets(tz)
        leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
        month = np.clip(mo, 1, 12)
        last_day = _DAYS_IN_MONTH[month - 1] + ((month == 2) & leap)
        impossible = (
            (mo < 1) | (mo > 12) | (d < 1) | (d > last_day) | (h > 23) | (mi > 59) | (sec > 59)
        )
        local = _days_from_civil(y, month, np.clip(d, 1, 31)) * 86400 + h * 3600 + mi * 60 + sec
        # with an offset: to UTC, then to Lima
        local = np.where(tz == "", local, local - offset + LIMA_UTC_OFFSET_S)
        code = np.select(
            [date_only, impossible, bad_offset, fraction],
            [CODE_IDS[c] for c in ("row.timestamp_date_only", "row.timestamp_impossible",
                                   "row.timestamp_unparseable", "row.timestamp_not_hour_start")],
            0,
        )  # fmt: skip
        if spelling == _DAY_FIRST and (
            _month_first(mo, d, leap)
            or _runs_month_first(y, mo, d, leap, h * 3600 + mi * 60 + sec, code == 0)
        ):
            code = np.full(len(where), CODE_IDS["row.timestamp_month_first"], code.dtype)
        seconds[rest[where]] = local
        problem[rest[where]] = code
        hour_24[rest[where]] = (
            (h == 24) & (mi == 0) & (sec == 0) & (mo >= 1) & (mo <= 12) & (d >= 1)
            & (d <= last_day) & (tz == "") & ~date_only
        )  # fmt: skip
    if hour_24.any() and not ((problem == 0) & (seconds // 3600 % 24 == 0)).any():
        # hours 01:00 to 24:00: each reading labelled by the end of its hour; read as hour
        # starts, every one would move an hour later (and 24:00 would be refused alone)
        problem[(problem == 0) | hour_24] = CODE_IDS["row.timestamp_hour_ending"]
    return seconds, problem


def _month_first(mo: np.ndarray, d: np.ndarray, leap: np.ndarray) -> bool:
    """Whether dates read as DD/MM/YYYY (day ``d``, month ``mo``) show the file writes them
    month first: some "month" above 12 whose swapped reading (month ``d``, day ``mo``) is a
    date of that year, and no day above 12 before a valid month (a day-first file with a
    mistyped line keeps its other lines; that line stays refused as impossible)."""
    month_first = (mo > 12) & _swapped_date(mo, d, leap)
    day_first = (d > 12) & (mo >= 1) & (mo <= 12)
    return bool(month_first.any() and not day_first.any())


def _swapped_date(mo: np.ndarray, d: np.ndarray, leap: np.ndarray) -> np.ndarray:
    """Whether each date read month first (month ``d``, day ``mo``) is a date of its year."""
    swapped_month = np.clip(d, 1, 12)
    swapped_last = _DAYS_IN_MONTH[swapped_month - 1] + ((swapped_month == 2) & leap)
    return np.asarray((d >= 1) & (d <= 12) & (mo >= 1) & (mo <= swapped_last), dtype=bool)


#: A customer's active energy that only grows, line after line in time order, over at least
#: this many hours, from a total this many times its mean increment, is a meter's register.
CUMULATIVE_MIN_HOURS = 48
CUMULATIVE_TOTAL_STEPS = 100


def _customer_codes(client: pa.Array | None, n: int) -> np.ndarray:
    """One integer per row naming its customer (0 for a file of one customer)."""
    if client is None:
        return np.zeros(n, np.int64)
    if isinstance(client, pa.ChunkedArray):
        client = client.combine_chunks()
    codes = pc.dictionary_encode(pc.fill_null(client, "")).indices
    return np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int64)


def _cumulative_customers(
    customer: np.ndarray, seconds: np.ndarray, active: np.ndarray, read: np.ndarray
) -> np.ndarray:
    """The rows of customers whose active energy is a running total, not each hour's energy.

    Hourly energy rises and falls within every day; a meter's register (the index an export
    may send instead) never falls and rises almost every hour. Such a customer: at least
    ``CUMULATIVE_MIN_HOURS`` read rows, no step down in time order, 90 % of the steps up, and
    a mean value ``CUMULATIVE_TOTAL_STEPS`` times its mean step or more (a plant ramping up
    for two days starts near its steps; a register carries its whole past). A flat reading
    has no step up and is not one.
    """
    rows = np.flatnonzero(read & np.isfinite(active))
    out = np.zeros(len(read), dtype=bool)
    if len(rows) < CUMULATIVE_MIN_HOURS:
        return out
    order = rows[np.lexsort((seconds[rows], customer[rows]))]
    who, value = customer[order], active[order]
    same = who[1:] == who[:-1]
    step = np.diff(value)
    groups = int(who.max()) + 1
    n_rows = np.bincount(who, minlength=groups)
    n_steps = np.bincount(who[1:][same], minlength=groups)
    down = np.bincount(who[1:][same & (step < 0)], minlength=groups)
    up = np.bincount(who[1:][same & (step > 0)], minlength=groups)
    rise = np.bincount(who[1:][same], weights=step[same], minlength=groups)
    total = np.bincount(who, weights=value, minlength=groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_step = rise / np.maximum(n_steps, 1)
        mean_value = total / np.maximum(n_rows, 1)
        running = (
            (n_rows >= CUMULATIVE_MIN_HOURS)
            & (down == 0)
            & (up >= 0.9 * n_steps)
            & (mean_step > 0)
            & (mean_value >= CUMULATIVE_TOTAL_STEPS * mean_step)
        )
    if running.any():
        out[rows] = running[customer[rows]]
    return out


def _interval(seconds: np.ndarray) -> int | None:
    """The most common step (seconds) between a file's distinct times; ``None`` for fewer
    than two."""
    steps = np.diff(np.unique(seconds))
    if not len(steps):
        return None
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])


def _first_date_change(fields: _Fields, rows: np.ndarray) -> str | None:
    """The first two of ``rows`` (in file order) whose dates differ, as evidence: read day
    first, a month-first file's hours jump a month there."""
    dates = np.asarray(
        pc.utf8_slice_codeunits(fields.ts_text.take(pa.array(rows)), 0, 10).to_numpy(
            zero_copy_only=False
        ),
        dtype=object,
    )
    change = np.flatnonzero(dates[1:] != dates[:-1])
    if not len(change):
        return None
    before, after = rows[change[0]], rows[change[0] + 1]
    return (
        f"line {fields.line_numbers[after]}: {fields.ts_text[after].as_py()} after line "
        f"{fields.line_numbers[before]}: {fields.ts_text[before].as_py()}"
    )


def _runs_month_first(
    y: np.ndarray,
    mo: np.ndarray,
    d: np.ndarray,
    leap: np.ndarray,
    time_of_day: np.ndarray,
    read: np.ndarray,
) -> bool:
    """Whether slashed dates that read both ways (every day and month 12 or less: 01/02/2023)
    run hour after hour only when read month first.

    In file order, a step between two such lines is regular when it goes forward by a day at
    most (0 for several customers' same hour). A month-first file read day first jumps a
    month at every midnight (01/01/2023 23:00, then 01/02/2023 00:00: 1 February), and read
    month first runs on; a day-first file the other way round; a file in no order shows both
    readings irregular alike and is read day first. Month first when the day-first reading
    has at least two irregular steps and four times as many as the month-first one.
    ``read``: the lines read day first (the others are not judged).
    """
    both = np.flatnonzero(read & _swapped_date(mo, d, leap))
    if len(both) < 3:
        return False
    day_first = _days_from_civil(y[both], mo[both], d[both]) * 86400 + time_of_day[both]
    month_first = _days_from_civil(y[both], d[both], mo[both]) * 86400 + time_of_day[both]

    def irregular(seconds: np.ndarray) -> int:
        step = np.diff(seconds)
        return int(((step < 0) | (step > 86400)).sum())

    jumps = irregular(day_first)
    return jumps >= 2 and 4 * irregular(month_first) <= jumps


_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^(?i:[+-]?(?:inf|infinity|nan))$"


def _parse_numbers(
    values: pa.Array, decimal_comma: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse number strings (ASCII digits only).

    Returns
    -------
    numbers
        float64 values, NaN where empty or bad (infinities kept, for their own reason).
    empty
        mask of empty fields.
    bad
        mask of fields that are not numbers.
    """
    text = pc.utf8_trim_whitespace(values)
    empty = _bools(pc.equal(text, ""))
    if decimal_comma:
        text = pc.replace_substring(text, ",", ".")
    number = _bools(pc.match_substring_regex(text, _NUMBER))
    text = pc.if_else(pa.array(number), text, pa.scalar(None, pa.string()))
    numbers = pc.fill_null(pc.cast(text, pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    bad = ~number & ~empty
    bad |= np.isnan(numbers) & ~empty
    return numbers, empty, bad


@dataclass
class _Fields:
    """Columns of one file after reading, before row validation."""

    rows_read: int
    line_numbers: np.ndarray  # physical line of each parsed row
    invalid_rows: list[tuple[int, str]]  # rows with the wrong number of fields
    ts_text: pa.Array  # trimmed
    numbers: dict[str, np.ndarray]
    empty: dict[str, np.ndarray]
    bad: dict[str, np.ndarray]
    all_empty: np.ndarray
    client: pa.Array | None  # NFC, trimmed; None: the file's customer comes from its name


def _client_text(column: pa.ChunkedArray) -> pa.Array:
    """Trimmed ids in Unicode NFC: the NFC and NFD spellings of "José" are one customer."""
    text = pc.utf8_trim_whitespace(column.combine_chunks())
    # Python's unicodedata, not Arrow's utf8_normalize (pyarrow 25 returns NFD for "NFC"),
    # and only on the rare non-ASCII ids.
    other = np.flatnonzero(~_bools(pc.string_is_ascii(text)))
    if not len(other):
        return text
    values = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
    values[other] = [unicodedata.normalize("NFC", v) for v in values[other]]
    return pa.array(values, pa.string())


def _read_typed(
    data: bytes, delimiter: str, header: list[str], sources: dict[str, int]
) -> _Fields | None:
    """Fast path: let Arrow parse and convert with threads; ``None`` at the first problem.

    A clean file (the usual case) is read at the speed of a plain ``read_csv``; any row
    with the wrong field count or a number that does not convert sends the file to the
    slower path that reports every problem row by row.
    """
    names = [f"c{i}" for i in range(len(header))]
    types: dict[str, pa.DataType] = {}
    for target, i in sources.items():
        types[names[i]] = pa.string() if target in ("ts", "client_id") else pa.float64()
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
                decimal_point="." if delimiter == "," else ",",
                null_values=[""],
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    n = table.num_rows
    ts_text = pc.utf8_trim_whitespace(table.column(names[sources["ts"]]).combine_chunks())
    numbers, empty, bad = {}, {}, {}
    all_empty = _bools(pc.equal(ts_text, ""))
    for col in NUMERIC:
        if col not in sources:
            numbers[col] = np.full(n, np.nan)
            empty[col] = np.ones(n, dtype=bool)
            bad[col] = np.zeros(n, dtype=bool)
            continue
        arr = table.column(names[sources[col]])
        empty[col] = _bools(arr.is_null())
        values = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        bad[col] = np.isnan(values) & ~empty[col]
        numbers[col] = values
        all_empty &= empty[col]
    client = None
    if "client_id" in sources:
        client = _client_text(table.column(names[sources["client_id"]]))
        all_empty &= _bools(pc.equal(client, ""))
    return _Fields(
        n, np.arange(2, n + 2, dtype=np.int64), [], ts_text, numbers, empty, bad, all_empty, client
    )


def _read_text(
    source: str,
    data: bytes,
    delimiter: str,
    header: list[str],
    sources: dict[str, int],
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
        raise IngestError(source, f"cannot be read as CSV ({shorten(str(exc))})") from None
    n = table.num_rows
    rows_read = n + len(invalid_rows)
    # Physical line of each parsed row: every line after the header but the skipped ones
    # (one row per line: line endings are normalised and no value spans lines).
    line_numbers = np.arange(2, 2 + rows_read, dtype=np.int64)
    if invalid_rows:
        skipped = np.array([line for line, _ in invalid_rows], dtype=np.int64)
        line_numbers = line_numbers[~np.isin(line_numbers, skipped)]

    all_empty = np.ones(n, dtype=bool)
    for name in names:
        all_empty &= _bools(pc.equal(pc.utf8_trim_whitespace(table.column(name)), ""))
    ts_text = pc.utf8_trim_whitespace(table.column(names[sources["ts"]]).combine_chunks())
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
        client = _client_text(table.column(names[sources["client_id"]]))
    return _Fields(
        rows_read, line_numbers, invalid_rows, ts_text, numbers, empty, bad, all_empty, client
    )


CODE_IDS = {code: i + 1 for i, code in enumerate(REASONS)}
CODE_NAMES = ["", *REASONS]


def _fmt_local(seconds: int) -> str:
    return str(np.datetime64(int(seconds), "s")).replace("T", " ")


def _distinct_hours(clients: np.ndarray, seconds: np.ndarray) -> bool:
    """Whether no (customer, hour) repeats: sorted keys with no equal neighbours. A cheap
    screen (a file's hours are nearly always distinct); the rows of a file that repeats one
    are found by pandas, the last line winning."""
    if len(seconds) < 2:
        return True
    codes = pd.factorize(clients)[0].astype(np.int64)
    offset = seconds - seconds.min()
    if offset.max() >= 2**40:  # not a span of hours this product reads: let pandas decide
        return False
    ordered = np.sort(codes * 2**40 + offset)
    return not bool((ordered[1:] == ordered[:-1]).any())


def parse(
    path: Path, data: bytes, source: str | None = None, rules: IngestRules | None = None
) -> ParsedFile:
    """Parse and validate one meter file's bytes (already read and decompressed).

    Parameters
    ----------
    path
        The file's path (its name gives the customer in the ElectroDunas layout).
    data
        The file's bytes.
    source
        Name used in messages (defaults to ``path``).
    rules
        Plausibility bounds and limits (defaults: :class:`IngestRules`).
    """
    source = source or str(path)
    rules = rules or IngestRules()
    data = _one_line_per_row(_binary_or_empty(source, data))
    lines = _Lines.of(data)
    header_error = _not_utf8(source, data[: int(lines.ends[0])])
    if header_error is not None:
        raise header_error
    delimiter, header, layout = sniff(source, data)
    mapping = LAYOUTS[layout]
    fixed_client = electrodunas_client(path) if layout == "electrodunas" else None
    sources: dict[str, int] = {}
    for i, name in enumerate(header):
        target = mapping.get(name)
        if target is not None and target not in sources:
            sources[target] = i
    data, problems = _screen(lines, delimiter, len(header), rules.max_line_bytes)
    fields = _read_typed(data, delimiter, header, sources)
    if fields is None:
        fields = _read_text(source, data, delimiter, header, sources)
    if fields.rows_read == 0:
        raise IngestError(source, "the file has a header but no data rows")

    n = len(fields.ts_text)
    reason = np.zeros(n, dtype=np.int8)
    detail: dict[int, str] = {}

    def mark(mask: np.ndarray, code: str, text: str = "") -> None:
        fresh = mask & (reason == 0)
        reason[fresh] = CODE_IDS[code]
        if text:
            detail.update(dict.fromkeys(np.flatnonzero(fresh).tolist(), text))

    # Lines refused before parsing (blanked, so they read as empty rows) keep their reason.
    invalid_rows = [
        (line, problem) for line, problem in fields.invalid_rows if line not in problems
    ]
    for line, (code, text) in problems.items():
        row = int(np.searchsorted(fields.line_numbers, line))
        if row < n and fields.line_numbers[row] == line:
            mark(np.arange(n) == row, code, text)
    # Whole-row checks first, so their reason wins over per-field ones.
    mark(fields.all_empty, "row.empty_line")
    ts_header = header[sources["ts"]]
    mark(_bools(pc.equal(pc.utf8_lower(fields.ts_text), ts_header)), "row.header_repeated")
    client = fields.client
    if client is not None:
        mark(_bools(pc.equal(client, "")), "row.client_missing")
        mark(
            _bools(pc.greater(pc.binary_length(client), rules.client_id_max_bytes)),
            "row.client_invalid",
            f"longer than {rules.client_id_max_bytes} bytes",
        )
        mark(
            _bools(pc.match_substring_regex(client, r"[\p{Cc}\p{Cf}\p{Co}]")),
            "row.client_invalid",
            "a control or invisible character",
        )
    mark(_bools(pc.equal(fields.ts_text, "")), "row.timestamp_missing")
    seconds, ts_problem = parse_timestamps(fields.ts_text)
    evidence = {  # the first line that shows the file's order or convention
        "row.timestamp_month_first": r"^\d{1,2}/(1[3-9]|2\d|3[01])/",
        "row.timestamp_hour_ending": r"[T ]24:00",
    }
    for code in ("row.timestamp_month_first", "row.timestamp_hour_ending",
                 "row.timestamp_date_only", "row.timestamp_impossible",
                 "row.timestamp_unparseable", "row.timestamp_not_hour_start"):  # fmt: skip
        text = f"accepted: {ACCEPTED_SPELLINGS}" if code == "row.timestamp_unparseable" else ""
        hit = ts_problem == CODE_IDS[code]
        if code in evidence and hit.any():
            shown = _bools(pc.match_substring_regex(fields.ts_text, evidence[code])) & hit
            row = int(np.flatnonzero(shown)[0]) if shown.any() else int(np.flatnonzero(hit)[0])
            text = f"line {fields.line_numbers[row]}: {fields.ts_text[row].as_py()}"
            if code == "row.timestamp_month_first" and not shown.any():
                text = _first_date_change(fields, np.flatnonzero(hit)) or text
        mark(hit, code, text)
    customer = _customer_codes(client, n)  # the sub-hourly and register checks are per customer
    read = (ts_problem == 0) & (reason == 0)
    off_hour = read & (seconds % 3600 != 0)
    if off_hour.sum() >= 2:
        # A customer's readings every 15 or 30 minutes: its lines on the hour would each store
        # a fraction of their hour's energy as the whole hour (a quarter at 15 minutes), so
        # none is kept. Per customer: another one's hourly lines in the file are its own.
        for group in np.unique(customer[off_hour]):
            mine = read & (customer == group)
            off = off_hour & mine
            step = _interval(seconds[mine])
            if off.sum() >= max((mine & ~off).sum(), 2) and step is not None and step < 3600:
                mark(mine, "row.timestamp_sub_hourly", f"a reading every {step / 60:g} min")
    mark((ts_problem == 0) & (seconds % 3600 != 0), "row.timestamp_not_hour_start")
    first, last = rules.window()
    mark(
        (ts_problem == 0) & ((seconds < first) | (seconds > last)),
        "row.timestamp_out_of_range",
        f"accepted {_fmt_local(first)[:10]} to {_fmt_local(last)[:16]}",
    )
    mark(fields.empty["active_kwh"], "row.active_missing")
    for col in NUMERIC:
        mark(fields.bad[col], "row.number_unparseable", col)
        mark(np.isinf(fields.numbers[col]), "row.number_not_finite", col)
    for col in NUMERIC:
        values = fields.numbers[col]
        with np.errstate(invalid="ignore"):
            if col in ENERGY:
                out = np.abs(values) > rules.max_kwh_per_hour
                bound = f"accepted ±{rules.max_kwh_per_hour:,.0f}"
            else:
                out = (values < 0) | (values > rules.max_voltage)
                bound = f"accepted 0 to {rules.max_voltage:,.0f} V"
        for row in np.flatnonzero(out & (reason == 0)).tolist():
            reason[row] = CODE_IDS["row.value_out_of_range"]
            detail[row] = f"{col} {values[row]:g}; {bound}"

    cumulative = _cumulative_customers(customer, seconds, fields.numbers["active_kwh"], reason == 0)
    if cumulative.any():
        # a meter's register (its running total) sent as each hour's energy: stored, every
        # hour would hold the whole total
        mark(cumulative, "row.active_cumulative")

    # Repeated customer-hour within the file: the last row wins (a later line corrects).
    duplicates: dict[str, int] = {}
    idx_ok = np.flatnonzero(reason == 0)
    client_np = (
        np.asarray(client.to_numpy(zero_copy_only=False), dtype=object)
        if client is not None
        else None
    )
    key_client = client_np[idx_ok] if client_np is not None else np.zeros(len(idx_ok), np.int8)
    if _distinct_hours(key_client, seconds[idx_ok]):
        dup = np.zeros(len(idx_ok), dtype=bool)  # the usual case, without pandas
    else:
        key = pd.DataFrame({"c": key_client, "t": seconds[idx_ok]})
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
            who = fixed_client if client_np is None else str(client_np[row])
            if who is not None:
                duplicates[who] = duplicates.get(who, 0) + 1

    rejected = Rejected()
    for line, problem in invalid_rows:
        rejected.add(line, "row.field_count", problem, fixed_client)
    for row in np.flatnonzero(reason != 0).tolist():
        who = fixed_client
        if client_np is not None:
            text = str(client_np[row])
            # an id refused for its length or characters is not kept as an id
            ok = text and reason[row] != CODE_IDS["row.client_invalid"]
            who = shorten(text, 80) if ok else None
        rejected.add(
            int(fields.line_numbers[row]), CODE_NAMES[reason[row]], detail.get(row, ""), who
        )

    keep = np.flatnonzero(reason == 0)
    client_col = (
        pa.array(np.full(len(keep), fixed_client, dtype=object), pa.string())
        if client is None
        else client.take(pa.array(keep))
    )
    rows = pa.table(
        {
            "client_id": client_col,
            "ts": pa.array(seconds[keep].astype("datetime64[s]"), pa.timestamp("s")),
            **{
                col: pa.array(fields.numbers[col][keep], pa.float64(), from_pandas=True)
                for col in NUMERIC
            },
            "line": pa.array(fields.line_numbers[keep], pa.int64()),
        }
    )
    raw_lines = {line: lines.text(line) for line in rejected.lines}
    columns = tuple(c for c in NUMERIC if c in sources)
    return ParsedFile(layout, rows, rejected, fields.rows_read, duplicates, columns, raw_lines)
