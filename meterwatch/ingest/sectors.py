"""Customer-to-sector maps: the ElectroDunas workbook or a CSV map."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from meterwatch.ids import clean_client_id
from meterwatch.ingest.errors import IngestError
from meterwatch.ingest.reader import DELIMITERS, decode_check, normalise_header, read_bytes

CLIENT_HEADERS = ("cliente", "client_id", "meter_id", "customer")
SECTOR_HEADERS = ("sector_economico", "sector", "economic_sector")


def is_sector_workbook(path: Path) -> bool:
    """Whether a file looks like a sector map workbook (by extension)."""
    return path.suffix.lower() in (".xlsx", ".xlsm")


def looks_like_sector_csv(data: bytes) -> bool:
    """Whether a CSV's header names a customer column and a sector column."""
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    for delim in DELIMITERS:
        names = {normalise_header(n) for n in header.split(delim)}
        if names & set(CLIENT_HEADERS) and names & set(SECTOR_HEADERS):
            return True
    return False


def _cell_text(value: object) -> str | None:
    """A cell as text, as the workbook shows it: ``3`` not ``3.0``; empty is ``None``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_first_sheet(path: Path) -> pd.DataFrame:
    """The first worksheet of an .xlsx as text cells (openpyxl, values not formulas)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        grid = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    # read-only sheets report trailing empty rows and columns: drop them
    while grid and all(v is None for v in grid[-1]):
        grid.pop()
    width = max((max((j + 1 for j, v in enumerate(r) if v is not None), default=0) for r in grid),
                default=0)  # fmt: skip
    return pd.DataFrame([r[:width] + [None] * (width - len(r)) for r in grid], dtype=object)


#: Why a sector map's row was not taken as it stands (the report's words; the findings'
#: sentences are the text catalog's entries of the same codes).
SECTOR_PROBLEMS = {
    "sectors.missing_client": "a sector without a customer, not used",
    "sectors.missing_sector": "a customer without a sector, not used",
    "sectors.conflict": "the customer's sector differs from its later line, which is kept",
}


@dataclass(frozen=True)
class SectorProblem:
    """A row of a sector map that was not taken as it stands (``line``: the file's line, or
    the workbook's row)."""

    line: int
    client_id: str | None
    code: str  # sectors.missing_client | sectors.missing_sector | sectors.conflict
    sector: str | None = None  # the row's sector
    kept: str | None = None  # a conflict: the sector of the customer's last line ...
    kept_line: int | None = None  # ... and that line

    @property
    def detail(self) -> str:
        if self.code == "sectors.conflict":
            return f"'{self.sector}' here, '{self.kept}' on line {self.kept_line}, kept"
        return f"'{self.sector}'" if self.sector else ""

    def describe(self, source: str) -> str:
        """The report's line: ``source, line N: why (customer): detail``."""
        return (
            f"{source}, line {self.line}: {SECTOR_PROBLEMS[self.code]}"
            + (f" ({self.client_id})" if self.client_id else "")
            + (f": {self.detail}" if self.detail else "")
        )


@dataclass
class SectorMap:
    """The ``client_id, sector`` rows a map gives (one per customer: its last line) and the
    rows it does not give as they stand."""

    rows: pd.DataFrame
    problems: list[SectorProblem] = field(default_factory=list)


def _pick(frame: pd.DataFrame, source: str, header_line: int = 1) -> SectorMap:
    by_norm = {normalise_header(str(c)): c for c in frame.columns}
    client_col = next((by_norm[h] for h in CLIENT_HEADERS if h in by_norm), None)
    sector_col = next((by_norm[h] for h in SECTOR_HEADERS if h in by_norm), None)
    if client_col is None or sector_col is None:
        found = ", ".join(repr(str(c)) for c in frame.columns)
        raise IngestError(
            source,
            f"not a sector map: columns found {found}; expected a customer column "
            "('Cliente:' or client_id) and a sector column ('Sector Económico:' or sector)",
            line=header_line,
        )

    def cleaned(column: object) -> pd.Series:
        text = frame[column].astype("string").map(clean_client_id, na_action="ignore")
        return text.where(text != "")

    out = pd.DataFrame(
        {
            "client_id": cleaned(client_col),
            "sector": cleaned(sector_col),
            # the data rows follow the header line, in order
            "line": header_line + 1 + pd.RangeIndex(len(frame)),
        }
    )
    problems: list[SectorProblem] = []
    taken: list[tuple[str, str, int]] = []
    for client, sector, line in zip(out["client_id"], out["sector"], out["line"], strict=True):
        client = None if pd.isna(client) else str(client)
        sector = None if pd.isna(sector) else str(sector)
        if client is None and sector is not None:
            problems.append(SectorProblem(int(line), None, "sectors.missing_client", sector))
        elif client is not None and sector is None:
            problems.append(SectorProblem(int(line), client, "sectors.missing_sector"))
        elif client is not None and sector is not None:
            taken.append((client, sector, int(line)))
        # a blank row is no data
    # the same customer on several lines: its last line stands, a different sector before it
    # is said (the same sector twice is only a repeat)
    last = {client: (sector, line) for client, sector, line in taken}
    for client, sector, line in taken:
        kept, kept_line = last[client]
        if line != kept_line and sector != kept:
            problems.append(
                SectorProblem(line, client, "sectors.conflict", sector, kept, kept_line)
            )
    order = sorted(last, key=lambda c: last[c][1])
    rows = pd.DataFrame(
        {"client_id": order, "sector": [last[c][0] for c in order]}, columns=["client_id", "sector"]
    )
    return SectorMap(rows, sorted(problems, key=lambda p: p.line))


def read_sector_map(path: Path) -> pd.DataFrame:
    """Read a sector map as ``client_id, sector`` (whitespace cleaned; see
    :func:`read_sector_map_checked` for the rows it does not take as they stand)."""
    return read_sector_map_checked(path).rows


def read_sector_map_checked(path: Path) -> SectorMap:
    """Read a sector map: its ``client_id, sector`` rows and its problems.

    Accepts the ElectroDunas workbook (headers ``Cliente:`` and ``Sector Económico:``,
    possibly with stray spaces, on the first sheet, header in any of the first rows)
    and CSV maps with ``client_id`` and ``sector`` columns. A row with a customer and no
    sector, or a sector and no customer, gives nothing and is a problem; a customer on
    several lines takes its last one, and an earlier line with another sector is a problem.
    """
    source = str(path)
    if is_sector_workbook(path):
        if not path.exists():
            raise IngestError(source, "file not found")
        try:
            raw = _read_first_sheet(path)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise IngestError(source, f"cannot be read as an Excel workbook ({exc})") from None
        for i in range(min(len(raw), 10)):
            names = {normalise_header(str(v)) for v in raw.iloc[i].dropna()}
            if names & set(CLIENT_HEADERS) and names & set(SECTOR_HEADERS):
                frame = raw.iloc[i + 1 :].copy()
                frame.columns = [str(v) for v in raw.iloc[i]]
                return _pick(frame, source, header_line=i + 1)
        raise IngestError(
            source, "no header row with 'Cliente:' and 'Sector Económico:' in the first sheet"
        )
    data = decode_check(source, read_bytes(path))
    header = data.split(b"\n", 1)[0].decode("utf-8")
    delim = max(DELIMITERS, key=header.count)
    # blank lines kept (as empty rows): a row's line number is its line in the file
    frame = pd.read_csv(io.BytesIO(data), sep=delim, dtype=str, skip_blank_lines=False)
    return _pick(frame, source)
