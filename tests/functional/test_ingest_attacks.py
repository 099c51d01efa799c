"""The attack battery: bad inputs an operator (or an attacker) can drop into ingest.

Every bad input, whatever it is, must end as a quarantine row or a file error that names
the file and the line, with a short reason; the good rows of the same file and of the
files beside it land untouched (no hour shifted, none overwritten); and rows read =
accepted + rejected. Fixtures are generated in ``tmp_path``, never committed.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake

HEADER = "client_id,timestamp,active_kwh,reactive_kvarh,voltage_fa,voltage_fc"
GOOD_HOURS = [f"2021-03-01 {h:02d}:00:00" for h in range(6)]  # Lima local time
GOOD_ROWS = [f"C1,{ts},{1.5 + i},0.5,460,461" for i, ts in enumerate(GOOD_HOURS)]
NEIGHBOUR_ROWS = 3  # rows of the good file ingested beside the bad one
MESSAGE_LIMIT = 600  # characters: a reason an operator can read in one glance

# One bad row each, written between the good ones. Rolled-over dates aim at a good hour,
# so a silent roll-over overwrites it and the test sees it.
BAD_ROWS: dict[str, str] = {
    # impossible dates and times (item 2)
    "feb_29_non_leap": "C1,2021-02-29 01:00:00,9,9,9,9",
    "feb_29_non_leap_short": "C1,2021-02-29 01:00,9,9,9,9",
    "feb_30": "C1,2021-02-30 01:00,9,9,9,9",
    "apr_31": "C1,2021-04-31 01:00,9,9,9,9",
    "month_13": "C1,2021-13-01 01:00,9,9,9,9",
    "month_0": "C1,2021-00-10 01:00,9,9,9,9",
    "day_0": "C1,2021-03-00 01:00,9,9,9,9",
    "day_32": "C1,2021-01-32 01:00,9,9,9,9",
    "hour_24": "C1,2021-02-28 24:00,9,9,9,9",
    "hour_25": "C1,2021-03-01 25:00:00,9,9,9,9",
    "minute_60": "C1,2021-03-01 01:60,9,9,9,9",
    "second_60": "C1,2021-03-01 01:00:60,9,9,9,9",
    "slash_dmy_feb_31": "C1,31/02/2021 01:00,9,9,9,9",
    "slash_ymd_feb_29": "C1,2021/02/29 01:00,9,9,9,9",
    "basic_feb_29": "C1,20210229T010000,9,9,9,9",
    "iso_t_feb_30": "C1,2021-02-30T01:00:00,9,9,9,9",
    "offset_feb_29": "C1,2021-02-29T06:00:00Z,9,9,9,9",
    # no hour or not the start of one
    "date_only": "C1,2021-03-01,9,9,9,9",
    "date_only_basic": "C1,20210301,9,9,9,9",
    "date_only_slash": "C1,01/03/2021,9,9,9,9",
    "fraction_half_second": "C1,2021-03-01 07:00:00.5,9,9,9,9",
    "fraction_micro": "C1,2021-03-01T07:00:00.000001,9,9,9,9",
    "half_hour": "C1,2021-03-01 07:30,9,9,9,9",
    "one_second": "C1,2021-03-01 07:00:01,9,9,9,9",
    "offset_half_hour": "C1,2021-03-01T07:00:00+05:30,9,9,9,9",
    # timestamps nobody can read
    "offset_25h": "C1,2021-03-01T07:00:00+25:00,9,9,9,9",
    "word": "C1,yesterday,9,9,9,9",
    "nat": "C1,NaT,9,9,9,9",
    "null": "C1,null,9,9,9,9",
    "epoch_seconds": "C1,1614578400,9,9,9,9",
    "am_pm": "C1,2021-03-01 07:00 PM,9,9,9,9",
    "ctime": "C1,Mon Mar  1 07:00:00 2021,9,9,9,9",
    "iso_week": "C1,2021-W09-1T07:00,9,9,9,9",
    "h_separator": "C1,2021-03-01 07h00,9,9,9,9",
    "fullwidth_digits": "C1,２０２１-03-01 07:00,9,9,9,9",
    "trailing_junk": "C1,2021-03-01 07:00:00Z junk,9,9,9,9",
    "negative_year": "C1,-2021-03-01 07:00,9,9,9,9",
    "t_without_time": "C1,2021-03-01T,9,9,9,9",
    "timestamp_empty": "C1,,9,9,9,9",
    "timestamp_blank": "C1,   ,9,9,9,9",
    # implausible hours (item 5)
    "year_0001": "C1,0001-01-01 00:00:00,9,9,9,9",
    "year_1999": "C1,1999-12-31 23:00,9,9,9,9",
    "year_9999": "C1,9999-12-31 23:00:00,9,9,9,9",
    "year_2999": "C1,2999-01-01 00:00,9,9,9,9",
    "next_year": f"C1,{pd.Timestamp.now().year + 1}-06-01 00:00,9,9,9,9",
    # customer ids (item 3)
    "client_5000_chars": "C" * 5000 + ",2021-03-01 07:00,9,9,9,9",
    "client_90_cjk": "客" * 90 + ",2021-03-01 07:00,9,9,9,9",
    "client_empty": ",2021-03-01 07:00,9,9,9,9",
    "client_blank": "   ,2021-03-01 07:00,9,9,9,9",
    "client_nul": "C\x001,2021-03-01 07:00,9,9,9,9",
    "client_bell": "C1\x07,2021-03-01 07:00,9,9,9,9",
    "client_zero_width": "C\u200b1,2021-03-01 07:00,9,9,9,9",
    "client_rtl_override": "\u202eC1,2021-03-01 07:00,9,9,9,9",
    "client_escape_seq": "\x1b[31mC1,2021-03-01 07:00,9,9,9,9",
    # numbers (item 5)
    "active_1e308": "C1,2021-03-01 07:00,1e308,0.5,460,461",
    "active_minus_1e308": "C1,2021-03-01 07:00,-1e308,0.5,460,461",
    "active_inf": "C1,2021-03-01 07:00,inf,0.5,460,461",
    "active_minus_inf": "C1,2021-03-01 07:00,-inf,0.5,460,461",
    "active_nan": "C1,2021-03-01 07:00,nan,0.5,460,461",
    "active_overflow": "C1,2021-03-01 07:00,1e5000,0.5,460,461",
    "active_absurd": "C1,2021-03-01 07:00,250000,0.5,460,461",
    "active_empty": "C1,2021-03-01 07:00,,0.5,460,461",
    "active_word": "C1,2021-03-01 07:00,abc,0.5,460,461",
    "active_two_points": "C1,2021-03-01 07:00,1.5.5,0.5,460,461",
    "active_hex": "C1,2021-03-01 07:00,0x10,0.5,460,461",
    "active_unit": "C1,2021-03-01 07:00,1.5 kWh,0.5,460,461",
    "active_fullwidth": "C1,2021-03-01 07:00,１.５,0.5,460,461",
    "reactive_1e308": "C1,2021-03-01 07:00,1,1e308,460,461",
    "reactive_inf": "C1,2021-03-01 07:00,1,inf,460,461",
    "voltage_negative": "C1,2021-03-01 07:00,1,0.5,-460,461",
    "voltage_absurd": "C1,2021-03-01 07:00,1,0.5,460,1e9",
    "voltage_inf": "C1,2021-03-01 07:00,1,0.5,inf,461",
    "voltage_word": "C1,2021-03-01 07:00,1,0.5,460,high",
    # structure (item 11)
    "too_few_fields": "C1,2021-03-01 07:00,1",
    "too_many_fields": "C1,2021-03-01 07:00,1,2,3,4,5,6",
    "decimal_comma_in_comma_file": "C1,2021-03-01 07:00,1,5,0.5,460,461",
    "unbalanced_quote": 'C1,"2021-03-01 07:00,1,0.5,460,461',
    "quoted_newline": 'C1,"2021-03-01\n07:00",1,0.5,460,461',
    "quoted_newline_in_id": '"C\n1",2021-03-01 07:00,1,0.5,460,461',
    "cr_inside_row": "C1,2021-03-01\r07:00,1,0.5,460,461",
    "line_10mb": "C1,2021-03-01 07:00," + "9" * 10_000_000 + ",0.5,460,461",
    "line_2mb_field": "C1,2021-03-01 07:00,1,0.5,460," + "x" * 2_000_000,
    "header_repeated": HEADER,
    "empty_line": "",
    "only_commas": ",,,,,",
    "invalid_utf8": "C1,2021-03-01 07:00,\udcff\udcfe,0.5,460,461",
    "latin1_client": "Compa\udce9ia,2021-03-01 07:00,1,0.5,460,461",
    "quote_inside_value": 'C1,2021"-03-01 07:00,1,0.5,460,461',
    "quote_then_newline": 'C"1,"2021-03-01\n07:00",1,0.5,460,461',
    "binary_line": "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f",
}
# Lines of the bad rows that span more than one physical line.
MULTI_LINE = {
    "quoted_newline": 2, "quoted_newline_in_id": 2, "cr_inside_row": 2, "quote_then_newline": 2,
}  # fmt: skip


def _encode(text: str) -> bytes:
    """UTF-8, with surrogate escapes (``\\udcff``) written as the raw bytes they stand for."""
    return text.encode("utf-8", errors="surrogateescape")


def _write_bad_file(folder: Path, bad: str, *, position: int = 3) -> tuple[Path, list[int]]:
    """A long-layout file: good rows with ``bad`` written after the first ``position``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "readings.csv"
    rows = [*GOOD_ROWS[:position], bad, *GOOD_ROWS[position:]]
    path.write_bytes(_encode("\n".join([HEADER, *rows]) + "\n"))
    first = 2 + position
    span = MULTI_LINE.get(next((k for k, v in BAD_ROWS.items() if v == bad), ""), 1)
    return path, list(range(first, first + span))


def _write_neighbour(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "DATOSCLIENTE7.csv"
    rows = [f"2021-03-01 {h:02d}:00:00,{h + 1},0.1,230,231" for h in range(NEIGHBOUR_ROWS)]
    path.write_text(
        "Fecha,Active_energy,Reactive_energy,Voltaje_FA,Voltaje_FC\n" + "\n".join(rows) + "\n"
    )
    return path


def _good_rows_landed(lake) -> None:
    frame = lake.query(
        "SELECT client_id, ts, active_kwh, reactive_kvarh, voltage_fa, voltage_fc FROM readings "
        "ORDER BY client_id, ts"
    )
    c1 = frame[frame["client_id"] == "C1"]
    assert [str(ts) for ts in c1["ts"]] == GOOD_HOURS, "a good hour was shifted, lost or added"
    assert list(c1["active_kwh"]) == [1.5 + i for i in range(6)], "a good hour was overwritten"
    assert c1["reactive_kvarh"].eq(0.5).all() and c1["voltage_fc"].eq(461).all()
    neighbour = frame[frame["client_id"] == "Cliente 7"]
    assert list(neighbour["active_kwh"]) == [float(h + 1) for h in range(NEIGHBOUR_ROWS)]
    assert set(frame["client_id"]) == {"C1", "Cliente 7"}, "a bad row reached readings"


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_row_is_quarantined_and_the_rest_lands(tmp_path: Path, case: str) -> None:
    bad_path, bad_lines = _write_bad_file(tmp_path / "in", BAD_ROWS[case])
    neighbour = _write_neighbour(tmp_path / "in")
    lake = open_lake(str(tmp_path / "lake"))

    report = ingest_paths(lake, [bad_path, neighbour], workers=1)

    assert report.errors == []
    assert report.rows_read == report.rows_accepted + report.rows_rejected
    assert report.rows_read == len(GOOD_ROWS) + len(bad_lines) + NEIGHBOUR_ROWS
    assert report.rows_accepted == len(GOOD_ROWS) + NEIGHBOUR_ROWS
    quarantine = lake.read("quarantine")
    assert set(quarantine["source_file"]) == {str(bad_path)}
    assert sorted(quarantine["line"]) == bad_lines, quarantine[["line", "reason"]]
    assert quarantine["reason"].str.len().between(1, MESSAGE_LIMIT).all()
    assert quarantine["raw_line"].str.len().le(2_000).all()
    _good_rows_landed(lake)
    # the operator's summary names the file and the line
    assert report.rejected_examples[0].startswith(f"{bad_path}, line {bad_lines[0]}: ")


def test_cr_only_line_endings_give_true_line_numbers(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "readings.csv"
    rows = [*GOOD_ROWS[:3], "C1,2021-02-29 01:00,9,9,9,9", *GOOD_ROWS[3:]]
    path.write_bytes(("\r".join([HEADER, *rows]) + "\r").encode())
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [path, _write_neighbour(folder)], workers=1)
    quarantine = lake.read("quarantine")
    assert list(quarantine["line"]) == [5]
    assert list(quarantine["raw_line"]) == ["C1,2021-02-29 01:00,9,9,9,9"]
    _good_rows_landed(lake)


# Spellings of 2021-03-01 07:00 Lima time: all land on that hour (item 1).
SPELLINGS = {
    "canonical": "2021-03-01 07:00:00",
    "minutes": "2021-03-01 07:00",
    "iso_t": "2021-03-01T07:00:00",
    "iso_t_minutes": "2021-03-01T07:00",
    "millis": "2021-03-01 07:00:00.000",
    "micros_t": "2021-03-01T07:00:00.000000",
    "basic": "20210301T070000",
    "basic_minutes": "20210301T0700",
    "single_digits": "2021-3-1 7:00",
    "dmy": "01/03/2021 07:00",
    "dmy_seconds": "01/03/2021 07:00:00",
    "ymd_slash": "2021/03/01 07:00",
    "utc_z": "2021-03-01T12:00:00Z",
    "lima_offset": "2021-03-01T07:00:00-05:00",
    "utc_offset_space": "2021-03-01 12:00:00+00:00",
    "plus_one": "2021-03-01T13:00:00+01:00",
    "compact_offset": "2021-03-01T07:00:00-0500",
    "basic_utc": "20210301T120000Z",
    "utc_across_midnight": "2021-03-02T02:00:00+14:00",
}


@pytest.mark.parametrize("case", sorted(SPELLINGS))
@pytest.mark.parametrize("alone", [False, True], ids=["mixed", "alone"])
def test_every_spelling_lands_on_the_same_lima_hour(tmp_path: Path, case: str, alone: bool) -> None:
    path = tmp_path / "readings.csv"
    rows = [] if alone else GOOD_ROWS
    path.write_text("\n".join([HEADER, *rows, f"C2,{SPELLINGS[case]},4,0.5,460,461"]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_rejected == 0, report.rejected_examples
    got = lake.query("SELECT ts FROM readings WHERE client_id = 'C2'")["ts"]
    assert [str(ts) for ts in got] == ["2021-03-01 07:00:00"]


def _bomb(folder: Path) -> Path:
    path = folder / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write((HEADER + "\n").encode())
        chunk = b"0" * 2**20
        for _ in range(300):
            out.write(chunk)
    return path


BAD_FILES = {
    "empty": lambda d: _put(d / "empty.csv", b""),
    "blank": lambda d: _put(d / "blank.csv", b"\n\n  \n"),
    "header_only": lambda d: _put(d / "header.csv", (HEADER + "\n").encode()),
    "unknown_layout": lambda d: _put(d / "other.csv", b"a,b,c\n1,2,3\n"),
    "binary_garbage": lambda d: _put(d / "garbage.csv", os.urandom(20_000)),
    "text_garbage_one_line": lambda d: _put(d / "words.csv", ("lorem ipsum " * 2_000).encode()),
    "huge_header": lambda d: _put(d / "wide.csv", (",".join(["col"] * 200_000) + "\n1\n").encode()),
    "utf16": lambda d: _put(
        d / "utf16.csv", (HEADER + "\n" + GOOD_ROWS[0] + "\n").encode("utf-16")
    ),
    "latin1_header": lambda d: _put(d / "latin.csv", b"Fecha,Energ\xeda,x\n1,2,3\n"),
    "not_gzip": lambda d: _put(d / "fake.csv.gz", (HEADER + "\n" + GOOD_ROWS[0]).encode()),
    "truncated_gzip": lambda d: _put(
        d / "cut.csv.gz", gzip.compress((HEADER + "\n" + "\n".join(GOOD_ROWS)).encode())[:40]
    ),
    "gzip_bomb": _bomb,
    "electrodunas_unnamed": lambda d: _put(
        d / "customer.csv", b"Fecha,Active_energy\n2021-03-01 00:00:00,1\n"
    ),
}


def _put(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_named_and_the_files_beside_it_land(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    bad = BAD_FILES[case](folder)
    good = folder / "good.csv"
    good.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    neighbour = _write_neighbour(folder)
    lake = open_lake(str(tmp_path / "lake"))

    report = ingest_paths(lake, [bad, good, neighbour], workers=1)

    assert [e.source for e in report.errors] == [str(bad)]
    assert len(str(report.errors[0])) <= MESSAGE_LIMIT, str(report.errors[0])[:200]
    assert report.rows_read == report.rows_accepted + report.rows_rejected
    _good_rows_landed(lake)


def test_gzip_bomb_stops_at_the_configured_limit(tmp_path: Path) -> None:
    from meterwatch.ingest.rules import IngestRules

    bomb = _bomb(tmp_path)
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [bomb], rules=IngestRules(max_file_bytes=50 * 2**20))
    assert (
        "50 MB" in report.errors[0].reason and "METERWATCH_MAX_FILE_MB" in report.errors[0].reason
    )
    # a generous limit lets it through to the row checks (its one line is far too long)
    report = ingest_paths(lake, [bomb], rules=IngestRules(max_file_bytes=400 * 2**20))
    assert report.errors == [] and report.rows_rejected == 1


def test_hidden_and_unknown_files_in_a_folder_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.csv").write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    (folder / ".hidden.csv").write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    (folder / "~$lock.xlsx").write_bytes(b"x")
    (folder / "notes.txt").write_text("hello")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [folder])
    assert report.rows_accepted == len(GOOD_ROWS)
    skipped = {Path(p).name: why for p, why in report.skipped}
    assert set(skipped) == {".hidden.csv", "~$lock.xlsx", "notes.txt"}
    assert "hidden" in skipped[".hidden.csv"]


def test_nfc_and_nfd_spellings_of_one_id_are_one_customer(tmp_path: Path) -> None:
    nfc = unicodedata.normalize("NFC", "Panadería José")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    path = tmp_path / "ids.csv"
    path.write_text(
        f"{HEADER}\n{nfc},2021-03-01 00:00,1,0.5,460,461\n{nfd},2021-03-01 01:00,2,0.5,460,461\n"
    )
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [path])
    frame = lake.query("SELECT client_id, count(*) AS n FROM readings GROUP BY 1")
    assert list(frame["client_id"]) == [nfc] and list(frame["n"]) == [2]


# Hypothesis: random rows among the good ones -------------------------------------------
_field = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=30
)
_timestamp = st.one_of(
    _field,
    st.builds(
        "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}".format,
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
    ),
    st.builds(
        "{}-{:02d}-{:02d}T{:02d}:00{}".format,
        st.integers(1990, 2100),
        st.integers(1, 12),
        st.integers(1, 31),
        st.integers(0, 23),
        st.sampled_from(["", "Z", "+00:00", "-05:00", "+05:30", "+14:00", "-99:00", ".5"]),
    ),
)
_number = st.one_of(
    _field,
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**400), 10**400).map(str),
)
_row = st.one_of(
    st.tuples(_field, _timestamp, _number, _number, _number, _number).map(",".join),
    _field,
)


def _not_c1(row: str) -> bool:
    first = unicodedata.normalize("NFC", row.split(",", 1)[0]).strip().strip('"').strip()
    return first != "C1"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad=st.lists(_row, min_size=1, max_size=4), position=st.integers(0, 6))
def test_random_rows_never_break_the_run(bad: list[str], position: int) -> None:
    assume(all(_not_c1(row) for row in bad))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        path = folder / "readings.csv"
        rows = [*GOOD_ROWS[:position], *bad, *GOOD_ROWS[position:]]
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        lake = open_lake(tmp + "/lake")
        report = ingest_paths(lake, [path, _write_neighbour(folder)], workers=1)
        if report.errors:  # a random first row can make the whole file unreadable: named
            assert [e.source for e in report.errors] == [str(path)]
            assert len(str(report.errors[0])) <= MESSAGE_LIMIT
            return
        assert report.rows_read == report.rows_accepted + report.rows_rejected
        assert report.rows_read == len(GOOD_ROWS) + len(bad) + NEIGHBOUR_ROWS
        good_lines = {2 + i if i < position else 2 + i + len(bad) for i in range(len(GOOD_ROWS))}
        quarantine = lake.read("quarantine")
        assert not good_lines & set(quarantine["line"])
        assert quarantine["reason"].str.len().between(1, MESSAGE_LIMIT).all()
        frame = lake.query("SELECT * FROM readings WHERE client_id = 'C1' ORDER BY ts")
        assert [str(ts) for ts in frame["ts"]] == GOOD_HOURS
        assert list(frame["active_kwh"]) == [1.5 + i for i in range(6)]
        # whatever random row was accepted is a plausible reading
        every = lake.query(
            "SELECT min(ts) AS lo, max(ts) AS hi, max(abs(active_kwh)) AS e FROM readings"
        )
        assert every["lo"][0] >= pd.Timestamp("2000-01-01")
        assert every["hi"][0] <= pd.Timestamp.now() + pd.Timedelta(days=2)
        assert every["e"][0] <= 100_000


def test_a_month_first_file_is_refused_whole_not_shifted_by_month(tmp_path: Path) -> None:
    # 03/01/2021 to 03/14/2021 written month first: read day first, its first twelve days
    # would land silently in January to December (3 January, 3 February, ...)
    slashed = [f"C2,03/{day:02d}/2021 {h:02d}:00,2,0.5,460,461" for day in range(1, 15)
               for h in (0, 12)]  # fmt: skip
    path = tmp_path / "us.csv"
    path.write_text("\n".join([HEADER, *GOOD_ROWS, *slashed]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_read == len(GOOD_ROWS) + len(slashed)
    assert report.rows_accepted == len(GOOD_ROWS)  # the ISO rows of the same file land
    assert report.rows_rejected == len(slashed)
    assert lake.query("SELECT count(*) AS n FROM readings WHERE client_id = 'C2'")["n"].item() == 0
    q = lake.query("SELECT line, reason_code, reason, raw_line FROM quarantine ORDER BY line")
    assert set(q["reason_code"]) == {"row.timestamp_month_first"}
    assert q["line"].tolist() == list(range(len(GOOD_ROWS) + 2, len(GOOD_ROWS) + 2 + len(slashed)))
    # the reason names the line that cannot be day first (03/13/2021 is the 25th slashed row)
    evidence = f"line {len(GOOD_ROWS) + 2 + 24}: 03/13/2021 00:00"
    assert any(evidence in e and "us.csv" in e for e in report.rejected_examples)
    assert all(len(e) <= MESSAGE_LIMIT for e in report.rejected_examples)


def test_a_month_first_file_of_early_days_is_refused_by_the_run_of_its_hours(
    tmp_path: Path,
) -> None:
    # 01/01/2023 to 01/06/2023 written month first: every date also reads day first (1
    # January, 1 February, ... 1 June), no "month" above 12 shows it; only the hours do: they
    # run on when read month first and jump a month at every midnight when read day first
    hours = pd.date_range("2023-01-01", periods=24 * 6, freq="h")
    slashed = [f"C2,{t:%m/%d/%Y %H:%M},2,0.5,460,461" for t in hours]
    path = tmp_path / "us.csv"
    path.write_text("\n".join([HEADER, *GOOD_ROWS, *slashed]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_accepted == len(GOOD_ROWS)
    assert report.rows_rejected == len(slashed)
    q = lake.query("SELECT DISTINCT reason_code FROM quarantine")
    assert q["reason_code"].tolist() == ["row.timestamp_month_first"]
    first_midnight = len(GOOD_ROWS) + 2 + 24
    evidence = f"line {first_midnight}: 01/02/2023 00:00 after line {first_midnight - 1}"
    assert any(evidence in e and "us.csv" in e for e in report.rejected_examples)


@pytest.mark.parametrize("minutes", [15, 30])
def test_a_file_of_readings_shorter_than_an_hour_is_refused_whole(
    tmp_path: Path, minutes: int
) -> None:
    # read row by row, the lines on the hour would land and each store a quarter (or half)
    # of its hour's energy as the whole hour: a 75 % "loss" the engine would then find
    times = pd.date_range("2023-01-01", periods=(60 // minutes) * 24 * 3, freq=f"{minutes}min")
    rows = [f"C2,{t:%Y-%m-%d %H:%M},0.5,0.1,460,461" for t in times]
    path = tmp_path / "quarters.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_read == report.rows_rejected == len(rows)
    assert report.rows_accepted == 0
    q = lake.query("SELECT DISTINCT reason_code, reason FROM quarantine")
    assert q["reason_code"].tolist() == ["row.timestamp_sub_hourly"]
    assert f"a reading every {minutes} min" in q["reason"][0]


def test_hourly_readings_labelled_at_the_half_hour_and_stray_lines_keep_their_reasons(
    tmp_path: Path,
) -> None:
    half = [f"C2,2023-01-01 {h:02d}:30,1,0.5,460,461" for h in range(24)]  # hourly, off the hour
    stray = ["C3,2023-01-01 05:30,1,0.5,460,461", "C3,2023-01-01 07:45,1,0.5,460,461"]
    hourly = [f"C3,2023-01-01 {h:02d}:00,1,0.5,460,461" for h in range(24)]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join([HEADER, *half, *hourly, *stray]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_accepted == len(hourly)  # C3's hours land
    q = lake.query("SELECT reason_code, count(*) AS n FROM quarantine GROUP BY 1")
    assert dict(zip(q["reason_code"], q["n"], strict=True)) == {
        "row.timestamp_not_hour_start": len(half) + len(stray)
    }


def test_a_meters_running_register_is_refused_not_stored_as_hourly_energy(
    tmp_path: Path,
) -> None:
    # an export of the meter's index (45,210 kWh and growing) instead of each hour's energy:
    # every hour would hold the whole total, far inside the plausible 100 MWh an hour
    hours = pd.date_range("2023-01-01", periods=24 * 5, freq="h")
    use = np.random.default_rng(3).uniform(0.5, 2.0, len(hours))
    register = np.round(45_210.3 + np.cumsum(use), 2)
    rows = [f"C2,{t:%Y-%m-%d %H:%M},{v},0.5,460,461" for t, v in zip(hours, register, strict=True)]
    rows += [f"C3,{t:%Y-%m-%d %H:%M},{v:.3f},0.5,460,461" for t, v in zip(hours, use, strict=True)]
    rows += [f"C4,{t:%Y-%m-%d %H:%M},1.5,0.5,460,461" for t in hours]  # flat: not a register
    path = tmp_path / "index.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_read == report.rows_accepted + report.rows_rejected
    q = lake.query("SELECT client_id, reason_code, count(*) AS n FROM quarantine GROUP BY 1, 2")
    assert q.values.tolist() == [["C2", "row.active_cumulative", len(hours)]]
    landed = lake.query("SELECT DISTINCT client_id FROM readings ORDER BY 1")["client_id"]
    assert landed.tolist() == ["C3", "C4"]


@pytest.mark.parametrize("order", ["sorted", "shuffled", "by customer"])
def test_a_day_first_file_of_early_days_keeps_its_dates(tmp_path: Path, order: str) -> None:
    # the same dates written day first (1 to 6 January), in order, in no order, or two
    # customers one after the other: read day first as documented
    hours = pd.date_range("2023-01-01", periods=24 * 6, freq="h")
    rows = [f"{c},{t:%d/%m/%Y %H:%M},2,0.5,460,461" for c in ("C2", "C3") for t in hours]
    if order == "sorted":
        rows = rows[: len(hours)]
    elif order == "shuffled":
        rows = [rows[i] for i in np.random.default_rng(5).permutation(len(rows))]
    path = tmp_path / "pe.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_rejected == 0 and report.rows_accepted == len(rows)
    got = lake.query("SELECT min(ts) AS lo, max(ts) AS hi FROM readings")
    assert str(got["lo"][0]) == "2023-01-01 00:00:00"
    assert str(got["hi"][0]) == "2023-01-06 23:00:00"


def test_a_day_first_file_keeps_its_dates_and_refuses_only_its_mistyped_line(
    tmp_path: Path,
) -> None:
    rows = [
        "C2,25/03/2021 01:00,1,0.5,460,461",  # day first beyond doubt
        "C2,03/04/2021 01:00,2,0.5,460,461",  # so this is 3 April
        "C2,04/13/2021 01:00,3,0.5,460,461",  # a mistyped line: month 13
    ]
    path = tmp_path / "pe.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    got = lake.query("SELECT ts, active_kwh FROM readings ORDER BY ts")
    assert [str(t) for t in got["ts"]] == ["2021-03-25 01:00:00", "2021-04-03 01:00:00"]
    q = lake.query("SELECT line, reason_code FROM quarantine")
    assert dict(zip(q["line"], q["reason_code"], strict=True)) == {4: "row.timestamp_impossible"}
    assert report.rows_read == report.rows_accepted + report.rows_rejected == 3


@pytest.mark.parametrize("spelling", ["2021-03-{d:02d} {h:02d}:00", "{d:02d}/03/2021 {h:02d}:00"])
def test_a_file_of_hours_labelled_by_their_end_is_refused_whole(
    tmp_path: Path, spelling: str
) -> None:
    # two days labelled 01:00 to 24:00: read as hour starts, every reading would land an
    # hour late, and only the 24:00 rows would be refused
    rows = [f"C2,{spelling.format(d=d, h=h)},{h},0.5,460,461" for d in (1, 2) for h in range(1, 25)]
    path = tmp_path / "ending.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_read == report.rows_rejected == 48 and report.rows_accepted == 0
    q = lake.query("SELECT reason_code FROM quarantine")
    assert set(q["reason_code"]) == {"row.timestamp_hour_ending"}
    first_24 = spelling.format(d=1, h=24)
    assert any(f"line 25: {first_24}" in e for e in report.rejected_examples)


def test_a_lone_24_00_beside_hour_starts_is_refused_alone(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "C1,2021-02-28 24:00,9,9,9,9"]  # the file has 00:00: hour starts
    path = tmp_path / "one.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path], workers=1)
    assert report.rows_accepted == len(GOOD_ROWS) and report.rows_rejected == 1
    q = lake.query("SELECT reason_code FROM quarantine")
    assert q["reason_code"].tolist() == ["row.timestamp_impossible"]
