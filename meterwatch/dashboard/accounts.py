"""Dashboard accounts: one user per operator, salted password hashes, login throttling.

The users document is JSON, ``{"version": 1, "users": {"<name>": {"hash": ..., "created_at":
...}}}``. Locally it is a file (``<lake>/_meta/users.json`` by default, written 0600); on AWS
the same document is the Secrets Manager secret named in ``METERWATCH_DASHBOARD_SECRET``.
Passwords are never stored: each hash is scrypt (standard library) with its own salt.
No Panel here: the ``meterwatch users`` command manages accounts without the dashboard extra.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # scrypt on a megabyte of "password" is a cheap denial of service
MAX_NAME = 64
# scrypt cost: 2**14 x 8 = 16 MB and ~50 ms per check (OWASP's minimum for scrypt).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
DOCUMENT_VERSION = 1

log = logging.getLogger(__name__)


class AccountError(ValueError):
    """A user name or password that cannot be accepted, or an unknown user."""


def normalise_name(name: str) -> str:
    """The stored form of a user name: NFC, trimmed, lower case; rejects odd characters."""
    clean = unicodedata.normalize("NFC", name or "").strip().lower()
    if not clean or len(clean) > MAX_NAME:
        raise AccountError(f"a user name has 1 to {MAX_NAME} characters")
    if not all(c.isalnum() or c in "._-@" for c in clean):
        raise AccountError("a user name has letters, digits and . _ - @ only")
    return clean


def check_password(password: str) -> None:
    """Reject passwords too short to resist guessing (blank or spaces count as nothing)."""
    if len((password or "").strip()) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters (not blank)")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash of ``password``: ``scrypt$N$r$p$<salt>$<key>`` (base64)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD:
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# A hash nobody's password matches: checking unknown users against it takes as long as
# checking a real one, so the response time does not tell which names exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def empty_document() -> dict[str, Any]:
    return {"version": DOCUMENT_VERSION, "users": {}}


def parse_document(text: str) -> dict[str, Any]:
    """The users document in ``text``; raises :class:`AccountError` if it is not one."""
    try:
        doc = json.loads(text) if text.strip() else empty_document()
    except ValueError as exc:
        raise AccountError(f"the users document is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("users"), dict):
        raise AccountError('the users document needs a "users" object (see meterwatch users)')
    return doc


def add_user(doc: dict[str, Any], name: str, password: str) -> str:
    """Add ``name`` (or replace its password) in ``doc``; returns the stored name."""
    user = normalise_name(name)
    check_password(password)
    doc["users"][user] = {
        "hash": hash_password(password),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return user


def remove_user(doc: dict[str, Any], name: str) -> str:
    user = normalise_name(name)
    if user not in doc["users"]:
        raise AccountError(f"no user {user!r}")
    del doc["users"][user]
    return user


class UsersBackend(Protocol):
    """Where the users document lives: a local file (:class:`UsersFile`) or a store of
    secrets (``meterwatch.adapters.aws.secrets.UsersSecret``).

    ``remote``: a remote store is used even while it holds no user (users added later log
    in without a restart); a local file must hold at least one.
    """

    @property
    def remote(self) -> bool: ...

    def read(self) -> str: ...

    def write(self, text: str) -> None: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class UsersFile:
    """The users document as a local file, written atomically and readable by its owner only."""

    path: Path
    remote: ClassVar[bool] = False

    def read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix="users.", suffix=".partial")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def describe(self) -> str:
        return str(self.path)


def load_document(backend: UsersBackend) -> dict[str, Any]:
    return parse_document(backend.read())


def save_document(backend: UsersBackend, doc: dict[str, Any]) -> None:
    backend.write(json.dumps(doc, indent=1, sort_keys=True) + "\n")


class Accounts:
    """The users the dashboard accepts, re-read from the backend at most every ``ttl_s``.

    Re-reading lets ``meterwatch users add/remove`` take effect on a running dashboard
    (a removed user's session ends at its next page load) without a restart.
    """

    def __init__(self, backend: UsersBackend, ttl_s: float = 30.0) -> None:
        self.backend = backend
        self.ttl_s = ttl_s
        self._users: dict[str, str] = {}
        self._read_at = -float("inf")
        self._lock = threading.Lock()

    def users(self) -> dict[str, str]:
        """``{name: hash}``; the last good copy when the backend cannot be read."""
        with self._lock:
            if time.monotonic() - self._read_at >= self.ttl_s:
                try:
                    doc = load_document(self.backend)
                except Exception:
                    if self._read_at == -float("inf"):
                        raise
                    log.exception("cannot re-read the users from %s", self.backend.describe())
                    return self._users
                self._users = {
                    str(name): str(entry["hash"])
                    for name, entry in doc["users"].items()
                    if isinstance(entry, dict) and "hash" in entry
                }
                self._read_at = time.monotonic()
            return self._users

    def verify(self, name: str, password: str) -> str | None:
        """The stored user name when ``password`` is ``name``'s, else ``None``."""
        try:
            user = normalise_name(name)
        except AccountError:
            user = ""
        stored = self.users().get(user)
        ok = verify_password(password, stored or _DUMMY_HASH)
        return user if ok and stored is not None else None

    def stamp(self, user: str) -> str | None:
        """A short fingerprint of ``user``'s hash: a session signed with an old one (the
        password changed, or the user was removed and added again) is no longer valid."""
        stored = self.users().get(user)
        if stored is None:
            return None
        return hashlib.sha256(stored.encode()).hexdigest()[:16]


@dataclass
class LoginThrottle:
    """Failed logins per user name and per client address, and how long each must wait.

    After ``free`` failures each further attempt waits ``base_delay_s * 2**(n - free)``
    seconds (capped at ``max_delay_s``); after ``lockout_after`` failures the key is locked
    for ``lockout_s``. Failures are forgotten ``forget_s`` after the last one; a successful
    login clears the user's and the address's counts.

    The counts live in SQLite: in this process's memory, or with ``path`` in a file that every
    process of a dashboard server shares (one count whichever process a login reaches, so
    several processes do not multiply the attempts an attacker gets). ``clock`` must then be
    the same in every process (the default, the machine's monotonic clock, is).
    """

    free: int = 5
    lockout_after: int = 10
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    lockout_s: float = 15 * 60.0
    forget_s: float = 15 * 60.0
    max_keys: int = 50_000
    clock: Callable[[], float] = time.monotonic
    path: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _db: Any = field(default=None, init=False, repr=False)
    _pid: int = field(default=-1, init=False, repr=False)

    def _connection(self) -> Any:
        """This process's connection (a forked process opens its own)."""
        import sqlite3

        if self._db is None or self._pid != os.getpid():
            target = str(self.path) if self.path is not None else ":memory:"
            db = sqlite3.connect(target, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute(
                "CREATE TABLE IF NOT EXISTS failures (key TEXT PRIMARY KEY, "
                "count INTEGER NOT NULL, last REAL NOT NULL, blocked_until REAL NOT NULL)"
            )
            self._db, self._pid = db, os.getpid()
        return self._db

    def wait_s(self, keys: list[str]) -> float:
        """Seconds before any of ``keys`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            db = self._connection()
            rows = [
                db.execute("SELECT blocked_until FROM failures WHERE key = ?", (key,)).fetchone()
                for key in keys
            ]
        return max([0.0] + [float(row[0]) - now for row in rows if row is not None])

    def failed(self, keys: list[str]) -> None:
        now = self.clock()
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")  # one writer at a time across processes
            try:
                self._prune(db, now)
                for key in keys:
                    row = db.execute(
                        "SELECT count, blocked_until FROM failures WHERE key = ?", (key,)
                    ).fetchone()
                    count, blocked_until = (int(row[0]) + 1, float(row[1])) if row else (1, 0.0)
                    if count >= self.lockout_after:
                        blocked_until = now + self.lockout_s
                    elif count >= self.free:
                        delay = self.base_delay_s * 2 ** (count - self.free)
                        blocked_until = now + min(delay, self.max_delay_s)
                    db.execute(
                        "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)",
                        (key, count, now, blocked_until),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            db = self._connection()
            for key in keys:
                db.execute("DELETE FROM failures WHERE key = ?", (key,))

    def count(self) -> int:
        """Keys counted now (user names and addresses with recent failures)."""
        with self._lock:
            return int(self._connection().execute("SELECT COUNT(*) FROM failures").fetchone()[0])

    def _prune(self, db: Any, now: float) -> None:
        db.execute(
            "DELETE FROM failures WHERE ? - last > ? AND ? >= blocked_until",
            (now, self.forget_s, now),
        )
        kept = int(db.execute("SELECT COUNT(*) FROM failures").fetchone()[0])
        if kept >= self.max_keys:  # a flood of made-up names: keep the locked ones
            db.execute(
                "DELETE FROM failures WHERE key IN (SELECT key FROM failures "
                "WHERE ? >= blocked_until ORDER BY last LIMIT ?)",
                (now, self.max_keys // 10),
            )
