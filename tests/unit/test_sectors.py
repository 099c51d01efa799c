"""The sector workbook reader (openpyxl, the one XLSX parser) reads what pandas reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from meterwatch.ingest.errors import IngestError
from meterwatch.ingest.sectors import _read_first_sheet, read_sector_map
from tests.scenarios import SHARED_DATA


def _workbook(path: Path, rows: list[list[object]], *, inline: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Hoja extraña"
    for row in rows:
        ws.append(row)
    wb.create_sheet("second").append(["Cliente:", "Sector Económico:"])
    wb.save(path)
    return path


def _openpyxl(path: Path) -> pd.DataFrame:
    return pd.read_excel(path, header=None, dtype=str, engine="openpyxl")


def test_reader_matches_read_excel_with_title_rows_numbers_and_blanks(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "map.xlsx",
        [
            ["Sectores por cliente", None, None],
            [None, None, None],
            [" Cliente: ", "Sector  Económico: ", "nota"],
            ["Cliente 1", "Agrícola", 3],
            ["Cliente 2 ", "Minería", 2.5],
            ["Cliente 3", None, None],
        ],
    )
    fast = _read_first_sheet(path)
    slow = _openpyxl(path)
    assert fast.shape == slow.shape
    assert fast.fillna("").astype(str).values.tolist() == slow.fillna("").values.tolist()
    sectors = read_sector_map(path)
    assert sectors.to_dict("records") == [
        {"client_id": "Cliente 1", "sector": "Agrícola"},
        {"client_id": "Cliente 2", "sector": "Minería"},
    ]


@pytest.mark.shared
def test_reader_matches_read_excel_on_the_electrodunas_workbook() -> None:
    books = sorted(SHARED_DATA.glob("*.xlsx")) if SHARED_DATA.exists() else []
    if not books:
        pytest.skip("../shared/data/electrodunas not present")
    fast = _read_first_sheet(books[0])
    slow = _openpyxl(books[0])
    assert fast.fillna("").values.tolist() == slow.fillna("").values.tolist()


def test_damaged_workbook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IngestError, match=r"broken\.xlsx.*Excel workbook"):
        read_sector_map(path)


def test_a_maps_rows_it_does_not_take_are_named_with_their_line(tmp_path: Path) -> None:
    """A customer given two sectors takes its last line, and the earlier one is said; rows
    without a customer or a sector give nothing and are said; blank lines are no data but
    count for the line numbers."""
    from meterwatch.ingest.sectors import read_sector_map_checked

    path = tmp_path / "sectores.csv"
    path.write_text(
        "client_id,sector\nCliente 1,Minería\n\nCliente 1,Agro\nCliente 2,\n,Pesca\n"
        "Cliente 3,Agro\nCliente 3,Agro\n",
        encoding="utf-8",
    )
    checked = read_sector_map_checked(path)
    assert checked.rows.to_dict("records") == [
        {"client_id": "Cliente 1", "sector": "Agro"},
        {"client_id": "Cliente 3", "sector": "Agro"},
    ]
    assert [(p.line, p.client_id, p.code) for p in checked.problems] == [
        (2, "Cliente 1", "sectors.conflict"),
        (5, "Cliente 2", "sectors.missing_sector"),
        (6, None, "sectors.missing_client"),
    ]
    conflict = checked.problems[0]
    assert (conflict.sector, conflict.kept, conflict.kept_line) == ("Minería", "Agro", 4)
    # the workbook's rows are numbered as the spreadsheet shows them
    book = _workbook(
        tmp_path / "map.xlsx",
        [["Sectores"], ["Cliente:", "Sector Económico:"], ["Cliente 1", "Agro"],
         ["Cliente 2", None], ["Cliente 1", "Minería"]],
    )  # fmt: skip
    problems = read_sector_map_checked(book).problems
    assert [(p.line, p.code) for p in problems] == [
        (3, "sectors.conflict"),
        (4, "sectors.missing_sector"),
    ]
