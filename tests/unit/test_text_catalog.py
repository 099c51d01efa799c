"""One text catalog: every code the product renders is in it, in both languages, with the
same placeholders; the dashboard, the e-mail and the ingest read the same entries."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest

from meterwatch.alerts.policy import KINDS, WATCH_REASONS
from meterwatch.alerts.render import evidence_codes
from meterwatch.dashboard.store import PRIORITIES
from meterwatch.queries import FEEDBACK_STATUSES
from meterwatch.texts import CATALOG, LANGUAGES, placeholders, t

PACKAGE = Path(__file__).resolve().parents[2] / "meterwatch"
# dotted codes of these families are catalog codes wherever they appear as a string
FAMILIES = ("row", "readings", "customers", "ingest", "kind", "alert", "severity", "status",
            "inspection", "email", "export", "model")  # fmt: skip
CODE = re.compile(rf"^({'|'.join(FAMILIES)})\.[a-z_]+(\.[a-z_]+)*$")
LOOKUPS = {"t", "tr"}  # meterwatch.texts.t, dashboard tr and the views' self.t


def _codes_in_source() -> dict[str, str]:
    """Every catalog code written literally in the package: the first argument of a lookup,
    and any string of a catalog family (stored codes such as ``readings.gap``)."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "texts":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if (
                    name in LOOKUPS
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                ):
                    found[first.value] = str(path.relative_to(PACKAGE))
            string = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if string and CODE.match(node.value):
                found[node.value] = str(path.relative_to(PACKAGE))
    return found


def _dynamic_codes() -> set[str]:
    """Codes the product builds from a vocabulary (an alert's kind, watch reason, evidence)."""
    codes = {f"kind.{k}" for k in KINDS} | {f"alert.watch.{w}" for w in WATCH_REASONS}
    codes |= {f"severity.{s}" for s in ("high", "medium", "low")}
    codes |= {f"status.{s}" for s in ("open", "closed", "withdrawn")}
    codes |= {f"inspection.{s}" for s in FEEDBACK_STATUSES}
    codes |= {f"priority.{p}" for p in PRIORITIES}
    flags = ("reactive_change", "voltage_anomaly", "registers_together", "sector_shares_drop")
    for kind, watch, on in itertools.product(KINDS, (None, *WATCH_REASONS), (False, True)):
        codes |= set(evidence_codes(kind, {"watch": watch, **dict.fromkeys(flags, on)}))
        codes |= set(evidence_codes(kind, {"watch": watch, "some_peers_fell": True}))
    return codes


def test_every_entry_has_both_languages_and_the_same_placeholders() -> None:
    for code, entry in CATALOG.items():
        assert set(entry) == set(LANGUAGES), code
        assert all(entry[lang].strip() for lang in LANGUAGES), code
        assert placeholders(entry["es"]) == placeholders(entry["en"]), code


def test_every_code_the_product_uses_is_in_the_catalog() -> None:
    used = _codes_in_source()
    assert len(used) > 100  # the scan sees the dashboard, the e-mail, ingest and quality
    missing = {code: where for code, where in used.items() if code not in CATALOG}
    missing |= {code: "built from a vocabulary" for code in _dynamic_codes() - set(CATALOG)}
    assert not missing


def test_a_code_missing_from_the_catalog_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a kind without its name is found."""
    monkeypatch.delitem(CATALOG, "kind.stopped_meter")
    assert "kind.stopped_meter" in _dynamic_codes() - set(CATALOG)


def test_the_old_catalogs_are_views_of_the_one_catalog() -> None:
    pytest.importorskip("panel")
    from meterwatch import i18n
    from meterwatch.dashboard.texts import TEXTS, tr

    assert i18n.MESSAGES is CATALOG
    assert TEXTS["severity.high"] == ("alta", "high") and "kind.flat_reporting" in TEXTS
    assert len(TEXTS) == len(CATALOG)
    # the dashboard and the e-mail read one entry: the same word on both
    assert tr("kind.load_shape_change", "es") == t("kind.load_shape_change", "es")
    assert tr("email.intro", "en") == t("email.intro", "en")
    assert tr("email.intro", "en").startswith("Customers to inspect, most valuable visit first")
