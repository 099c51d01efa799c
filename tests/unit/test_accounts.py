"""Dashboard accounts: password hashing and rules, the users document, login throttling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meterwatch.dashboard.accounts import (
    AccountError,
    Accounts,
    LoginThrottle,
    add_user,
    empty_document,
    hash_password,
    normalise_name,
    remove_user,
    verify_password,
)


class MemoryUsers:
    def __init__(self, text: str = "") -> None:
        self.text = text

    def read(self) -> str:
        return self.text

    def write(self, text: str) -> None:
        self.text = text

    def describe(self) -> str:
        return "memory"


def test_a_hash_is_salted_and_verifies_only_its_password() -> None:
    one, two = hash_password("a long passphrase"), hash_password("a long passphrase")
    assert one != two  # own salt each
    assert "a long passphrase" not in one
    assert verify_password("a long passphrase", one) and verify_password("a long passphrase", two)
    assert not verify_password("a long passphrasE", one)
    assert not verify_password("a long passphrase", "plaintext")
    assert not verify_password("a long passphrase", "scrypt$1$8$1$bad$bad")


@pytest.mark.parametrize("password", ["", " ", " " * 20, "short", "eleven char"])
def test_blank_or_short_passwords_are_refused(password: str) -> None:
    with pytest.raises(AccountError, match="at least 12"):
        add_user(empty_document(), "ana", password)


def test_user_names_are_normalised_and_checked() -> None:
    assert normalise_name(" Ana.Perez ") == "ana.perez"
    assert normalise_name("Jose\u0301") == normalise_name("Jos\u00e9")  # NFD and NFC: one user
    for bad in ("", "   ", "ana perez", "a:b", "x" * 65, "<script>"):
        with pytest.raises(AccountError):
            normalise_name(bad)


def test_accounts_verify_each_user_with_their_own_password() -> None:
    doc = empty_document()
    add_user(doc, "Ana", "ana's long passphrase")
    add_user(doc, "luis", "luis's long passphrase")
    backend = MemoryUsers(json.dumps(doc))
    accounts = Accounts(backend)
    assert "ana's long passphrase" not in backend.text  # hashes only
    assert accounts.verify("ana", "ana's long passphrase") == "ana"
    assert accounts.verify(" ANA ", "ana's long passphrase") == "ana"
    assert accounts.verify("luis", "ana's long passphrase") is None
    assert accounts.verify("nobody", "ana's long passphrase") is None
    assert accounts.verify("ana", " ") is None


def test_a_changed_password_or_removed_user_invalidates_the_stamp() -> None:
    doc = empty_document()
    add_user(doc, "ana", "ana's long passphrase")
    backend = MemoryUsers(json.dumps(doc))
    accounts = Accounts(backend, ttl_s=0)
    before = accounts.stamp("ana")
    add_user(doc, "ana", "ana's new passphrase!")
    backend.text = json.dumps(doc)
    assert accounts.stamp("ana") not in (None, before)
    remove_user(doc, "ana")
    backend.text = json.dumps(doc)
    assert accounts.stamp("ana") is None
    with pytest.raises(AccountError, match="no user"):
        remove_user(doc, "ana")


def test_a_broken_users_document_is_an_error() -> None:
    with pytest.raises(AccountError):
        Accounts(MemoryUsers("{not json")).users()
    with pytest.raises(AccountError):
        Accounts(MemoryUsers('{"password": "s3cret"}')).users()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_delays_after_five_failures_and_locks_after_ten() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    keys = ["user:ana", "addr:10.0.0.1"]
    for _ in range(4):
        throttle.failed(keys)
        assert throttle.wait_s(keys) == 0
    waits = []
    for _ in range(5):  # failures 5..9: 1, 2, 4, 8, 16 s
        throttle.failed(keys)
        waits.append(throttle.wait_s(keys))
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 8, 16]
    throttle.failed(keys)  # the tenth
    assert throttle.wait_s(keys) == 15 * 60
    assert throttle.wait_s(["user:ana"]) == 15 * 60  # from any address
    assert throttle.wait_s(["addr:10.0.0.1"]) == 15 * 60  # for any user name
    assert throttle.wait_s(["user:luis", "addr:10.0.0.2"]) == 0
    clock.now += 15 * 60
    assert throttle.wait_s(keys) == 0
    throttle.failed(keys)  # one more failure right after the lockout locks again
    assert throttle.wait_s(keys) == 15 * 60


def test_a_success_clears_the_count() -> None:
    throttle = LoginThrottle(clock=Clock())
    for _ in range(4):
        throttle.failed(["user:ana"])
    throttle.succeeded(["user:ana"])
    throttle.failed(["user:ana"])
    assert throttle.wait_s(["user:ana"]) == 0


def test_throttle_memory_is_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, max_keys=100)
    for i in range(1000):
        throttle.failed([f"user:made-up-{i}"])
    assert throttle.count() <= 100


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/?vista=alertas", "/?vista=alertas"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_after_login_only_paths_on_this_site(target: str, expected: str) -> None:
    pytest.importorskip("bokeh")
    from meterwatch.dashboard.login import safe_next

    assert safe_next(target) == expected


def test_processes_sharing_a_throttle_file_share_the_counts(tmp_path: Path) -> None:
    """Each process of a dashboard server has its own throttle on one file: failures counted
    by one delay and lock the login in all (several processes give no more attempts)."""
    clock = Clock()
    one = LoginThrottle(clock=clock, path=tmp_path / "logins.sqlite")
    two = LoginThrottle(clock=clock, path=tmp_path / "logins.sqlite")
    keys = ["user:ana", "addr:10.0.0.1"]
    for k in range(10):
        (one if k % 2 else two).failed(keys)
    assert one.wait_s(keys) == two.wait_s(keys) == 15 * 60
    assert one.count() == two.count() == 2
    two.succeeded(keys)
    assert one.wait_s(keys) == 0
