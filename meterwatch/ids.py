"""Customer identifiers."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"([0-9]+)")  # ASCII only: "¹" is a digit to isdigit(), not to int()
_SPACES = re.compile(r"\s+")


def clean_client_id(text: str) -> str:
    """Trim and collapse whitespace: ``"Cliente 1 "`` and ``"Cliente  1"`` are ``"Cliente 1"``."""
    return _SPACES.sub(" ", str(text)).strip()


def natural_key(text: str) -> tuple[int | str, ...]:
    """Sort key that puts ``Cliente 2`` before ``Cliente 10``."""
    return tuple(int(p) if p.isascii() and p.isdigit() else p for p in _DIGITS.split(text))
