"""The dashboard's words: a view of the one catalog (:mod:`meterwatch.texts`), Spanish first.

Kept so the views keep their names (``tr``, ``TEXTS``, ``fmt_number``...); every text lives in
:data:`meterwatch.texts.catalog.CATALOG`, shared with the e-mail, the console and the exports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meterwatch.texts import CATALOG, fmt_number, fmt_percent, kind_label, language_of, render

__all__ = ["TEXTS", "fmt_number", "fmt_percent", "kind_label", "tr"]


class _Pairs(Mapping[str, tuple[str, str]]):
    """The catalog read as ``code -> (es, en)``, the shape the views were written against."""

    def __getitem__(self, key: str) -> tuple[str, str]:
        entry = CATALOG[key]
        return entry["es"], entry["en"]

    def __iter__(self) -> Iterator[str]:
        return iter(CATALOG)

    def __len__(self) -> int:
        return len(CATALOG)


TEXTS: Mapping[str, tuple[str, str]] = _Pairs()


def tr(key: str, language: str = "es", **params: Any) -> str:
    """The text for ``key`` in ``language``; the key itself when unknown (visible, not fatal)."""
    entry = CATALOG.get(key)
    if entry is None:
        return key
    text = entry[language_of(language)]
    return render(text, language, **params) if params else text
