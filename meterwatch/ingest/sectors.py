"""Customer-to-sector maps: the ElectroDunas workbook or a CSV map."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

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


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def _read_first_sheet(path: Path) -> pd.DataFrame:
    """Read the first worksheet of an .xlsx as strings, with the standard library only.

    A sector map is a few hundred cells; importing openpyxl costs more than reading it.
    Anything unusual raises, and the caller falls back to openpyxl.
    """
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        first = workbook.find("m:sheets/m:sheet", _NS)
        if first is None:
            raise ValueError("workbook without sheets")
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = next(
            r.get("Target", "") for r in rels if r.get("Id") == first.get(_REL_NS)
        ).lstrip("/")
        sheet_name = target if target.startswith("xl/") else f"xl/{target}"
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            for si in ElementTree.fromstring(zf.read("xl/sharedStrings.xml")).findall("m:si", _NS):
                shared.append("".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")))
        sheet = ElementTree.fromstring(zf.read(sheet_name))
    rows: dict[int, dict[int, str]] = {}
    for cell in sheet.iter(f"{{{_NS['m']}}}c"):
        match = _CELL_REF.fullmatch(cell.get("r", ""))
        if match is None:
            raise ValueError("cell without a reference")
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            text = "".join(t.text or "" for t in cell.iter(f"{{{_NS['m']}}}t"))
        else:
            v = cell.find("m:v", _NS)
            if v is None or v.text is None:
                continue
            text = shared[int(v.text)] if kind == "s" else v.text
            if kind == "n":
                number = float(text)
                text = str(int(number)) if number.is_integer() else text
        rows.setdefault(int(match.group(2)) - 1, {})[_column_index(match.group(1))] = text
    if not rows:
        return pd.DataFrame()
    width = max(max(r) for r in rows.values()) + 1
    grid = [[rows.get(i, {}).get(j) for j in range(width)] for i in range(max(rows) + 1)]
    return pd.DataFrame(grid, dtype=object)


def _pick(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    by_norm = {normalise_header(str(c)): c for c in frame.columns}
    client_col = next((by_norm[h] for h in CLIENT_HEADERS if h in by_norm), None)
    sector_col = next((by_norm[h] for h in SECTOR_HEADERS if h in by_norm), None)
    if client_col is None or sector_col is None:
        found = ", ".join(repr(str(c)) for c in frame.columns)
        raise IngestError(
            source,
            f"not a sector map: columns found {found}; expected a customer column "
            "('Cliente:' or client_id) and a sector column ('Sector Económico:' or sector)",
            line=1,
        )
    out = pd.DataFrame(
        {
            "client_id": frame[client_col]
            .astype("string")
            .map(clean_client_id, na_action="ignore"),
            "sector": frame[sector_col].astype("string").map(clean_client_id, na_action="ignore"),
        }
    ).dropna()
    out = out[(out["client_id"] != "") & (out["sector"] != "")]
    return out.drop_duplicates("client_id", keep="last").reset_index(drop=True)


def read_sector_map(path: Path) -> pd.DataFrame:
    """Read a sector map as ``client_id, sector`` (whitespace cleaned).

    Accepts the ElectroDunas workbook (headers ``Cliente:`` and ``Sector Económico:``,
    possibly with stray spaces, on the first sheet, header in any of the first rows)
    and CSV maps with ``client_id`` and ``sector`` columns.
    """
    source = str(path)
    if is_sector_workbook(path):
        if not path.exists():
            raise IngestError(source, "file not found")
        try:
            raw = _read_first_sheet(path)
        except Exception:  # anything unusual: let openpyxl read it (or say why it cannot)
            try:
                raw = pd.read_excel(path, header=None, dtype=str, engine="openpyxl")
            except Exception as exc:  # openpyxl raises many types for a damaged file
                raise IngestError(source, f"cannot be read as an Excel workbook ({exc})") from None
        for i in range(min(len(raw), 10)):
            names = {normalise_header(str(v)) for v in raw.iloc[i].dropna()}
            if names & set(CLIENT_HEADERS) and names & set(SECTOR_HEADERS):
                frame = raw.iloc[i + 1 :].copy()
                frame.columns = [str(v) for v in raw.iloc[i]]
                return _pick(frame, source)
        raise IngestError(
            source, "no header row with 'Cliente:' and 'Sector Económico:' in the first sheet"
        )
    data = decode_check(source, read_bytes(path))
    header = data.split(b"\n", 1)[0].decode("utf-8")
    delim = max(DELIMITERS, key=header.count)
    frame = pd.read_csv(io.BytesIO(data), sep=delim, dtype=str)
    return _pick(frame, source)
