"""CSV written for people who open it in a spreadsheet."""

from __future__ import annotations

import pandas as pd

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (CSV injection: "=cmd|' /C calc'!A0", "@SUM(...)"); OWASP's list.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a formula (prefixed with ``'``).

    Numbers stay numbers: only text columns are touched, so ``-3.5`` in a number column
    is still ``-3.5`` while the text ``-1+cmd`` becomes ``'-1+cmd``.
    """
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
        if risky.any():
            out[col] = values.astype(object).where(~risky, "'" + text.astype(object))
    return out
