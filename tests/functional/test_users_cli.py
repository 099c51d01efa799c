"""``meterwatch users``: the dashboard's operators in a users file, hashes only."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from meterwatch.cli import main
from meterwatch.dashboard.accounts import verify_password


def _run(args: list[str], password: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(args)


def test_users_add_list_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(tmp_path / "lake")
    assert _run(["users", "add", "Ana", "--lake", lake], "ana's long passphrase", monkeypatch) == 0
    path = tmp_path / "lake" / "_meta" / "users.json"
    text = path.read_text()
    assert "passphrase" not in text  # no plaintext
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(text)["users"]["ana"]["hash"]
    assert verify_password("ana's long passphrase", stored)
    assert (
        _run(["users", "add", "luis", "--lake", lake], "luis's long passphrase", monkeypatch) == 0
    )
    capsys.readouterr()
    assert main(["users", "list", "--lake", lake]) == 0
    listed = capsys.readouterr().out
    assert "ana" in listed and "luis" in listed and "$" not in listed
    assert main(["users", "remove", "ana", "--lake", lake]) == 0
    assert set(json.loads(path.read_text())["users"]) == {"luis"}
    assert main(["users", "remove", "ana", "--lake", lake]) == 2


@pytest.mark.parametrize("password", [" ", "", "short"])
def test_users_add_refuses_a_blank_or_short_password(
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(["users", "add", "ana", "--lake", str(tmp_path)], password, monkeypatch) == 2
    assert "at least 12" in capsys.readouterr().err
    assert not (tmp_path / "_meta" / "users.json").exists()
