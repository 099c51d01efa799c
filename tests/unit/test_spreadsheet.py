"""CSV cells that a spreadsheet would run as a formula are escaped (CLI export, dashboard)."""

from __future__ import annotations

import pandas as pd

from meterwatch.spreadsheet import escape_formulas


def test_formula_cells_are_prefixed_and_numbers_are_not() -> None:
    frame = pd.DataFrame(
        {
            "client_id": ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-1", "\tx", "C1", None],
            "message": pd.array(['=HYPERLINK("x")', "ok", "ok", "ok", "ok", "ok", None], "string"),
            "kwh": [-1.5, 2.0, 3.0, -4.0, 5.0, 6.0, 7.0],
        }
    )
    out = escape_formulas(frame)
    assert list(out["client_id"].iloc[:6]) == [
        "'=cmd|' /C calc'!A0", "'+1+1", "'@SUM(A1)", "'-1", "'\tx", "C1",
    ]  # fmt: skip
    assert pd.isna(out["client_id"].iloc[6])
    assert out["message"].iloc[0] == '\'=HYPERLINK("x")' and pd.isna(out["message"].iloc[6])
    assert list(out["kwh"]) == list(frame["kwh"])
    assert frame["client_id"].iloc[0].startswith("=")  # the caller's frame is left alone
