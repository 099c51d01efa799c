"""The dashboard's words and numbers, in both languages."""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import pandas as pd
import pytest

from meterwatch.dashboard.charts import numbers
from meterwatch.dashboard.store import Selection, natural_key
from meterwatch.dashboard.texts import TEXTS, fmt_number, fmt_percent, kind_label, tr


def test_every_text_has_both_languages_and_the_same_placeholders() -> None:
    import string

    for key, (es, en) in TEXTS.items():
        assert es and en, key
        fields = {f for _, f, _, _ in string.Formatter().parse(es) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(en) if f}, key


def test_numbers_are_grouped_the_way_each_language_reads_them() -> None:
    assert fmt_number(1234567.891, "es", 1) == "1\u202f234\u202f567,9"
    assert fmt_number(1234567.891, "en", 1) == "1,234,567.9"
    assert fmt_number(None) == "–" and fmt_number(math.nan) == "–"
    assert fmt_percent(0.256, "es") == "26\u202f%"
    assert fmt_percent(0.256, "en") == "26%"


def test_alert_sentences_write_numbers_as_the_screens_around_them_do() -> None:
    """The evidence sits next to the dashboard's figures (``2 442 kWh``, ratio ``1,21``) and is
    e-mailed: in Spanish a comma is the decimal mark, so ``2,442 kWh`` would read as 2.4 kWh."""
    from meterwatch.i18n import t

    params = {"loss_pct": 57.2, "start": "2022-11-28 19:00", "end": "2023-01-12 05:00",
              "n_hours": 1065, "lost_kwh": 2442.2}  # fmt: skip
    es = t("alert.under_registration", "es", **params)
    assert "faltan unos 2\u202f442 kWh" in es and "(1\u202f065 h" in es
    # kept in ISO form, read as each language writes hours
    assert "entre 28/11/2022 19:00 y 12/01/2023 05:00" in es
    assert "between 2022-11-28 19:00 and 2023-01-12 05:00" in t(
        "alert.under_registration", "en", **params
    )
    # a count read back from a table as a float is still written as a count
    assert "(1\u202f065 h" in t("alert.under_registration", "es", **{**params, "n_hours": 1065.0})
    # a count missing from a stored finding is shown as such, not a crash
    gap = t("readings.gap", "es", n_hours=None, start="2023-01-01 00:00", end="2023-01-02 00:00")
    assert gap.startswith("Faltan – h")
    assert "about 2,442 kWh missing" in t("alert.under_registration", "en", **params)


def test_unknown_keys_and_kinds_stay_visible() -> None:
    assert tr("no.such.key") == "no.such.key"
    assert kind_label("stopped_meter", "es") == "Medidor detenido"
    assert kind_label("brand_new_kind", "en") == "brand_new_kind"


def test_customers_sort_by_number_and_selection_parameters_are_bound_values() -> None:
    names = ["Cliente 10", "Cliente 2", "Cliente 1"]
    assert sorted(names, key=natural_key) == ["Cliente 1", "Cliente 2", "Cliente 10"]
    import datetime as dt

    params = Selection(dt.date(2022, 1, 1), dt.date(2022, 1, 31), 8, 17, "x' OR 1=1 --").params()
    assert params["end"] == dt.datetime(2022, 2, 1)  # the last day is included
    assert params["client_id"] == "x' OR 1=1 --"


def test_chart_axes_follow_the_language() -> None:
    """Bokeh's defaults write "Dec 01" and "1,100" (1.1 in Spanish) under Spanish titles."""
    from meterwatch.dashboard.charts import dates, numbers

    def formats(formatter: object) -> list[str]:
        out = []
        while formatter is not None and not isinstance(formatter, str):
            out += [getattr(formatter, scale) for scale in ("hours", "days", "months")]
            formatter = formatter.context  # type: ignore[attr-defined]
        return out

    assert not any("%b" in f for f in formats(dates("es")))
    assert "%d/%m" in formats(dates("es")) and "%b %d" in formats(dates("en"))
    assert '"\\u202f"' in numbers("es").code and '","' in numbers("es").code
    assert '","' in numbers("en").code and '"."' in numbers("en").code


def test_days_and_hours_follow_the_language_everywhere() -> None:
    """Cards, tables, sentences, axes and hovers write one convention per language."""
    import datetime as dt

    from meterwatch.dashboard.widgets import date_format, naive
    from meterwatch.i18n import fmt_day, fmt_time

    assert fmt_day(dt.date(2022, 11, 2), "es") == "02/11/2022"
    assert fmt_day(dt.date(2022, 11, 2), "en") == "2022-11-02"
    assert fmt_time("2022-11-28 19:00", "es") == "28/11/2022 19:00"
    assert fmt_time(pd.Timestamp("2022-11-28 19:00"), "en") == "2022-11-28 19:00"
    assert fmt_time(pd.NaT, "es") == "" and fmt_time(None, "es") == ""
    assert fmt_time("ayer", "es") == "ayer"  # text that is no time stays as it is
    assert date_format("es").format == "%d/%m/%Y"
    assert date_format("en", hours=True).format == "%Y-%m-%d %H:%M"
    from meterwatch.dashboard.widgets import DatePicker

    picker = DatePicker.for_language("es", value=dt.date(2022, 11, 2))
    assert picker.get_root().date_format == "d/m/Y"  # the filters show 02/11/2022
    assert DatePicker.for_language("en").date_format == "Y-m-d"
    utc = naive(pd.Series([pd.Timestamp("2023-01-02 05:00", tz="UTC")]))
    assert utc.iloc[0] == pd.Timestamp("2023-01-02 05:00") and utc.dt.tz is None


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the formatter")
@pytest.mark.parametrize(
    ("lang", "ticks", "labels"),
    [
        ("es", [0, 0.005, 0.01, 0.015], ["0", "0,005", "0,01", "0,015"]),
        ("es", [0, 2000, 4000], ["0", "2\u202f000", "4\u202f000"]),
        ("en", [0.5, 1.0, 1.5], ["0.5", "1", "1.5"]),
    ],
)
def test_axis_ticks_get_the_decimals_their_spacing_needs(
    lang: str, ticks: list[float], labels: list[str]
) -> None:
    """Ticks 0.005 apart read 0,005 0,01 0,015, not 0,01 0,01 0,02 (two decimals always)."""
    code = numbers(lang).code
    script = (
        f"const f = (tick, index, ticks) => {{ {code} }};"
        f"const ticks = {json.dumps(ticks)};"
        "console.log(JSON.stringify(ticks.map((t, i) => f(t, i, ticks))));"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == labels
