"""Errors raised for input that cannot be ingested at all."""

from __future__ import annotations

REASON_CHARS = 500  # an error message stays readable, whatever the input held


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class IngestError(Exception):
    """A whole file (or path) that cannot be ingested, with where and why.

    Attributes
    ----------
    source
        The file or path the problem is in.
    reason
        A sentence saying what is wrong and, where possible, what to do.
    line
        The 1-based line the problem was found on, when there is one.
    """

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source = source
        self.reason = shorten(reason, REASON_CHARS)
        self.line = line
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {self.reason}")
