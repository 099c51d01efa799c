"""The dashboard server's process settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bokeh.models import Div
from bokeh.settings import settings as bokeh_settings

from meterwatch.dashboard.server import developer_checks


@pytest.fixture
def restored() -> Iterator[None]:
    validation = bokeh_settings.perform_document_validation()
    diagnostics = bokeh_settings.perform_error_diagnostics()
    yield
    bokeh_settings.perform_document_validation.set_value(validation)
    bokeh_settings.perform_error_diagnostics.set_value(diagnostics)


def _wrong_callback(attr: str) -> None:  # Bokeh calls (attr, old, new)
    raise AssertionError("never called here")


def test_developer_checks_off_skip_bokehs_per_page_checks(restored: None) -> None:
    developer_checks(False)
    assert not bokeh_settings.perform_document_validation()
    assert not bokeh_settings.perform_error_diagnostics()
    # no signature check when a callback is registered (it would fail when called)
    Div().on_change("text", _wrong_callback)


def test_developer_checks_on_refuse_a_wrong_callback(restored: None) -> None:
    developer_checks(True)
    assert bokeh_settings.perform_document_validation()
    with pytest.raises(ValueError, match="signature"):
        Div().on_change("text", _wrong_callback)
