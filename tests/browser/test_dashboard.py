"""The operators' dashboard in headless Chromium: filters, alerts, feedback, language, CSV."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

TIMEOUT = 30_000


def _expect() -> Any:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    return expect


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(".mw-card", timeout=TIMEOUT)


def test_consumption_filters_change_the_view_and_the_url(page: Any, dashboard_url: str) -> None:
    expect = _expect()
    _open(page, dashboard_url)
    expect(page.get_by_text("Energía activa total")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "consumo_todos.png"), full_page=True)

    clients = page.locator(".mw-f-client select")
    everyone = clients.locator("option").count()
    sectors = page.locator(".mw-f-sector select")
    sector = sectors.locator("option").nth(1).inner_text()
    sectors.select_option(label=sector)
    page.wait_for_url(re.compile(r"sector="), timeout=TIMEOUT)
    for _ in range(100):  # the customer list narrows to the sector
        if clients.locator("option").count() < everyone:
            break
        page.wait_for_timeout(100)
    client = clients.locator("option").nth(1).inner_text()
    clients.select_option(label=client)
    page.wait_for_url(re.compile(r"cliente="), timeout=TIMEOUT)
    expect(page.get_by_text(f"Energía activa, pronóstico y banda (kWh) · {client}")).to_be_visible()

    page.locator(".mw-f-hours .noUi-handle-lower").focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"hora_desde="), timeout=TIMEOUT)

    page.locator(".mw-f-start input.flatpickr-input").evaluate(
        "el => el._flatpickr.setDate('2021-01-20', true)"
    )
    page.wait_for_url(re.compile(r"desde=2021-01-20"), timeout=TIMEOUT)
    page.locator(".mw-f-end input.flatpickr-input").evaluate(
        "el => el._flatpickr.setDate('2021-02-10', true)"
    )
    page.wait_for_url(re.compile(r"hasta=2021-02-10"), timeout=TIMEOUT)
    expect(page.get_by_text("20/01/2021 – 10/02/2021 · 06–23 h")).to_be_visible()
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "consumo_cliente.png"), full_page=True)

    # The link is shareable: a new page at this URL shows the same selection.
    shared = page.url
    _open(page, shared)
    expect(page.get_by_text("20/01/2021 – 10/02/2021 · 06–23 h")).to_be_visible()
    expect(page.get_by_text(f"Energía activa, pronóstico y banda (kWh) · {client}")).to_be_visible()


def test_alert_feedback_is_saved_and_survives_a_reload(page: Any, dashboard_url: str) -> None:
    expect = _expect()
    _open(page, dashboard_url)
    page.get_by_role("button", name="Alertas").click()
    expect(page.get_by_text("Bandeja de alertas")).to_be_visible()
    page.wait_for_selector(".tabulator-row", timeout=TIMEOUT)
    page.screenshot(path=str(ARTIFACTS / "alertas_bandeja.png"), full_page=True)
    # the table's own controls speak the operator's language too
    expect(page.locator(".mw-inbox .tabulator-paginator")).to_contain_text("Siguiente")
    page.locator(".tabulator-row").first.locator(".tabulator-cell").nth(1).click()
    page.wait_for_url(re.compile(r"alerta="), timeout=TIMEOUT)
    expect(page.get_by_text("Registrar inspección")).to_be_visible()
    expect(page.get_by_text("Energía esperada")).to_be_visible()

    page.locator(".mw-fb-status select").select_option(label="pérdida confirmada")
    # Markup in a note is shown as text, never run.
    page.locator(".mw-fb-note textarea").fill(
        'Puente encontrado en la fase C <img src=x onerror="window.__xss=1">'
    )
    page.locator(".mw-fb-author input").fill("Rosa Quispe")
    page.locator(".mw-fb-author input").press("Enter")
    page.locator(".mw-fb-save button").click()
    expect(page.get_by_text("Guardado: pérdida confirmada por Rosa Quispe.")).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "alerta_detalle.png"), full_page=True)

    page.reload()
    page.wait_for_selector(".mw-fb-history", timeout=TIMEOUT)
    expect(page.get_by_text("Puente encontrado en la fase C <img")).to_be_visible()
    assert page.evaluate("window.__xss") is None

    # From the alert to the customer's consumption around the alert's window.
    title = page.get_by_text(re.compile(r"Alerta A\d+ · Cliente \d+")).first.inner_text()
    client = title.split(" · ")[1]
    page.get_by_role("button", name="Ver cliente en Consumo").click()
    page.wait_for_url(re.compile(r"vista=consumo"), timeout=TIMEOUT)
    expect(page.get_by_text(f"Energía activa, pronóstico y banda (kWh) · {client}")).to_be_visible()
    page.get_by_role("button", name="Alertas").click()
    page.get_by_role("button", name="← Bandeja de alertas").click()
    page.wait_for_selector(".tabulator-row", timeout=TIMEOUT)
    expect(page.locator(".tabulator-row").first).to_contain_text("pérdida confirmada")


def test_language_switch_quality_page_and_csv_download(page: Any, dashboard_url: str) -> None:
    expect = _expect()
    _open(page, dashboard_url)
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_text("Total active energy")).to_be_visible()
    page.wait_for_url(re.compile(r"idioma=en"), timeout=TIMEOUT)
    page.get_by_role("button", name="Data quality").click()
    expect(page.get_by_text("Data quality per customer")).to_be_visible()
    page.wait_for_selector(".mw-quality .tabulator-row", timeout=TIMEOUT)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "calidad_en.png"), full_page=True)
    with page.expect_download(timeout=TIMEOUT) as info:
        page.locator(".mw-dl-quality").get_by_text("Download CSV").click()
    path = info.value.path()
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert "client_id" in header and "completeness" in header

    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_role("button", name="Consumption").click()
    expect(page.get_by_text("Total active energy")).to_be_visible()
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "tablet_consumption_en.png"), full_page=True)


def test_the_inbox_follows_the_filter_bar_and_the_quality_table_fits(
    page: Any, dashboard_url: str
) -> None:
    expect = _expect()
    _open(page, dashboard_url)
    clients = page.locator(".mw-f-client select")
    client = clients.locator("option").nth(2).inner_text()
    clients.select_option(label=client)
    page.wait_for_url(re.compile(r"cliente="), timeout=TIMEOUT)
    page.get_by_role("button", name="Alertas").click()
    expect(page.get_by_text("Bandeja de alertas")).to_be_visible()
    summary = page.locator(".mw-inbox-count, .mw-inbox-empty")
    expect(summary.first).to_contain_text(client)
    rows = page.locator(".mw-inbox .tabulator-row")
    for i in range(rows.count()):
        expect(rows.nth(i)).to_contain_text(client)
    clients.select_option(label="Todos")
    expect(summary.first).not_to_contain_text(client)
    page.wait_for_selector(".mw-inbox .tabulator-row", timeout=TIMEOUT)
    headers = page.locator(".mw-inbox .tabulator-col-title").all_inner_texts()
    for title in ("Evidencia", "Confianza", "Pérdida estimada (S/)"):
        assert title in headers, headers
    inbox = page.locator(".mw-inbox .tabulator-tableholder")
    assert inbox.evaluate("el => el.scrollWidth - el.clientWidth") <= 1
    # long sector names and alert kinds wrap: no cell of the inbox cuts its text
    cut = page.locator(".mw-inbox .tabulator-cell").evaluate_all(
        "els => els.filter(e => e.innerText.trim() && e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.innerText)"
    )
    assert not cut, cut
    page.screenshot(path=str(ARTIFACTS / "alertas_filtros.png"), full_page=True)

    page.get_by_role("button", name="Calidad de datos").click()
    page.wait_for_selector(".mw-quality .tabulator-row", timeout=TIMEOUT)
    page.wait_for_timeout(500)
    holder = page.locator(".mw-quality .tabulator-tableholder")
    overflow = holder.evaluate("el => el.scrollWidth - el.clientWidth")
    assert overflow <= 1, f"the data-quality table is {overflow} px wider than its box"
    last = page.locator(".mw-quality .tabulator-col").last.bounding_box()
    assert last is not None and last["x"] + last["width"] <= 1366
    titles = page.locator(".mw-quality .tabulator-col-title").all_inner_texts()
    assert "Tramos en cero" in titles and "Filas en cuarentena" in titles  # wrapped, not cut
    for box in page.locator(".tabulator-tableholder").all():  # the findings, the quarantine
        assert box.evaluate("el => el.scrollWidth - el.clientWidth") <= 1
    page.screenshot(path=str(ARTIFACTS / "calidad_ancho.png"), full_page=True)


def test_the_calendar_speaks_the_screen_language(page: Any, dashboard_url: str) -> None:
    expect = _expect()
    _open(page, dashboard_url)
    start = page.locator(".mw-f-start input.flatpickr-input")
    months = "el => el._flatpickr.l10n.months.longhand[0]"
    for _ in range(50):  # the page-ready callback runs once Bokeh has drawn the pickers
        if start.evaluate(months) == "Enero":
            break
        page.wait_for_timeout(100)
    assert start.evaluate(months) == "Enero"
    assert start.evaluate("el => el._flatpickr.l10n.weekdays.shorthand[1]") == "Lun"
    start.evaluate("el => el._flatpickr.open()")
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "calendario_es.png"))
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_text("Total active energy")).to_be_visible()
    page.wait_for_timeout(1200)
    start = page.locator(".mw-f-start input.flatpickr-input")
    assert start.evaluate(months) == "January"


# Every chart of the consumption view drawn: Bokeh has finished rendering and each plot is on
# the page with a size (an empty view, or charts left detached, count fewer).
CHARTS_DRAWN = """() => {
  const views = [...Bokeh.index.all_views()].filter(v => v.el != null)
  if (!views.length || !views.every(v => v.has_finished())) return 0
  return views.filter(v => (v.model.type === "Figure" || v.model.type === "Plot")
    && v.el.isConnected && v.bbox != null && v.bbox.width > 0 && v.bbox.height > 0).length
}"""


def _charts_drawn(page: Any, at_least: int) -> int:
    page.wait_for_function(f"() => ({CHARTS_DRAWN})() >= {at_least}", timeout=TIMEOUT)
    return int(page.evaluate(CHARTS_DRAWN))


def test_a_customer_change_and_ver_cliente_show_the_customer_s_charts(
    page: Any, dashboard_url: str
) -> None:
    expect = _expect()
    _open(page, dashboard_url)
    _charts_drawn(page, 4)  # bars, energy over time, load map, profile (no forecast yet)
    clients = page.locator(".mw-f-client select")
    for i in (1, 2):
        client = clients.locator("option").nth(i).inner_text()
        clients.select_option(label=client)
        expect(
            page.get_by_text(f"Energía activa, pronóstico y banda (kWh) · {client}")
        ).to_be_visible()
        assert _charts_drawn(page, 5) == 5  # and the customer's forecast

    clients.select_option(label="Todos")
    page.get_by_role("button", name="Alertas").click()
    page.wait_for_selector(".mw-inbox .tabulator-row", timeout=TIMEOUT)
    page.locator(".mw-inbox .tabulator-row").first.locator(".tabulator-cell").nth(1).click()
    page.wait_for_url(re.compile(r"alerta="), timeout=TIMEOUT)
    expect(page.get_by_text("Registrar inspección")).to_be_visible()
    title = page.get_by_text(re.compile(r"^Alerta A\d+ · Cliente \d+")).first.inner_text()
    client = title.split(" · ")[1]
    page.get_by_role("button", name="Ver cliente en Consumo").click()
    expect(page.get_by_text(f"Energía activa, pronóstico y banda (kWh) · {client}")).to_be_visible()
    assert _charts_drawn(page, 5) == 5


def test_every_page_load_draws_the_inbox_styled(page: Any, dashboard_url: str) -> None:
    """The server runs one process per core: a page's websocket may reach another process
    than its page did, and that one builds the document. A view opened later (the inbox) took
    its stylesheets from the CDN there, unreachable offline, and drew as a list of words:
    its column titles one under the other. Several fresh loads, each laid out as a table."""
    for _ in range(4):
        _open(page, dashboard_url)
        page.get_by_role("button", name="Alertas").click()
        page.wait_for_selector(".mw-inbox .tabulator-row", timeout=TIMEOUT)
        page.wait_for_timeout(300)
        titles = page.locator(".mw-inbox .tabulator-col-title").all()
        boxes = [t.bounding_box() for t in titles]
        tops = [round(b["y"]) for b in boxes if b is not None and b["width"] > 0][:4]
        assert len(tops) == 4 and max(tops) - min(tops) <= 2, tops
