"""The dashboard's words, Spanish first, and number formatting per language."""

from __future__ import annotations

import math
from typing import Any

from meterwatch.i18n import UNIT_SPACE, kind_label, render

__all__ = ["TEXTS", "fmt_number", "fmt_percent", "kind_label", "tr"]

TEXTS: dict[str, tuple[str, str]] = {
    # (es, en)
    "title": ("meterwatch · Pérdidas no técnicas", "meterwatch · Non-technical losses"),
    "subtitle": ("Grandes clientes de ElectroDunas", "ElectroDunas large customers"),
    "tab.consumption": ("Consumo", "Consumption"),
    "table.first": ("Primera", "First"),
    "table.prev": ("Anterior", "Prev"),
    "table.next": ("Siguiente", "Next"),
    "table.last": ("Última", "Last"),
    "table.first_title": ("Primera página", "First page"),
    "table.prev_title": ("Página anterior", "Previous page"),
    "table.next_title": ("Página siguiente", "Next page"),
    "table.last_title": ("Última página", "Last page"),
    "tab.alerts": ("Alertas", "Alerts"),
    "tab.quality": ("Calidad de datos", "Data quality"),
    "filter.start": ("Desde", "From"),
    "filter.end": ("Hasta", "To"),
    "filter.hours": ("Horas del día", "Hours of day"),
    "filter.customer": ("Cliente", "Customer"),
    "filter.sector": ("Sector", "Sector"),
    "filter.kind": ("Tipo", "Kind"),
    "filter.status": ("Estado de inspección", "Inspection status"),
    "all": ("Todos", "All"),
    "kpi.total": ("Energía activa total", "Total active energy"),
    "kpi.mape": ("Error del pronóstico por {h} h (MAPE)", "Forecast error per {h} h (MAPE)"),
    "kpi.wape": ("WAPE horario {wape}", "hourly WAPE {wape}"),
    "kpi.retrain": (
        "entrene de nuevo para ver este error",
        "train again to see this error",
    ),
    "kpi.anomalous": ("Horas anómalas (últimos {n} días)", "Anomalous hours (last {n} days)"),
    "kpi.peak": ("Ventana de 4 h de mayor consumo", "4-hour window of highest use"),
    "kpi.peak_detail": (
        "{share} de la energía · {kwh} kWh/día",
        "{share} of the energy · {kwh} kWh/day",
    ),
    "kpi.no_customer": ("elija un cliente", "pick a customer"),
    "kpi.no_model": ("sin modelo", "no model"),
    "kpi.no_scores": ("sin puntajes", "not scored"),
    "kpi.of_hours": ("de {n} h ({rate})", "of {n} h ({rate})"),
    "alarm": (
        "ALERTA: {client} tiene {rate} de horas anómalas en sus últimos {n} días ({hours} de {total} h). Revise el cliente.",
        "ALERT: {client} has {rate} anomalous hours in its last {n} days ({hours} of {total} h). Review this customer.",
    ),
    "chart.energy_by_customer": (
        "Energía activa por cliente (kWh)",
        "Active energy per customer (kWh)",
    ),
    "chart.energy_top": ("{n} mayores de {total} clientes", "top {n} of {total} customers"),
    "chart.energy_context": (
        "{client} en rojo, frente a los demás clientes de la selección",
        "{client} in red, against the other customers of the selection",
    ),
    "chart.voltage": ("Tensión de fases A y C (V)", "Phase A and C voltage (V)"),
    "chart.voltage_hint": (
        "Elija un cliente para ver sus tensiones.",
        "Pick a customer to see its voltages.",
    ),
    "chart.energy_time": (
        "Energía activa de la selección (kWh)",
        "Active energy of the selection (kWh)",
    ),
    "chart.forecast": (
        "Energía activa, pronóstico y banda (kWh)",
        "Active energy, forecast and band (kWh)",
    ),
    "chart.forecast_hint": (
        "Elija un cliente para ver su pronóstico y las horas anómalas.",
        "Pick a customer to see its forecast and anomalous hours.",
    ),
    "chart.no_scores": (
        "No hay puntajes del modelo en este periodo para este cliente.",
        "No model scores for this customer in this period.",
    ),
    "chart.heatmap": (
        "Mapa de carga: hora del día × día (kWh)",
        "Load map: hour of day × day (kWh)",
    ),
    "chart.profile": ("Perfil por hora del día (kWh/día)", "Profile by hour of day (kWh/day)"),
    "chart.peers": (
        "El cliente frente a su sector (100 = nivel habitual)",
        "The customer against its sector (100 = usual level)",
    ),
    "chart.confirmed": ("Alertas inspeccionadas confirmadas (%)", "Inspected alerts confirmed (%)"),
    "chart.no_verdicts": (
        "Aún no hay inspecciones concluidas (pérdida confirmada, falsa alarma o falla de medidor).",
        "No concluded inspections yet (confirmed loss, false alarm or meter fault).",
    ),
    "chart.partial_days": (
        "Días incompletos, sin dibujar (su suma parecería una caída a 0): {days}",
        "Incomplete days, not drawn (their sum would look like a fall to 0): {days}",
    ),
    "chart.no_data": ("No hay datos para esta selección.", "No data for this selection."),
    "series.reported": ("Reportado", "Reported"),
    "series.expected": ("Esperado", "Expected"),
    "series.band": ("Banda", "Band"),
    "series.anomaly": ("Anómala", "Anomalous"),
    "series.customer": ("Cliente", "Customer"),
    "series.peers": ("Mediana del sector", "Sector median"),
    "series.peers_band": ("Sector (25–75 %)", "Sector (25–75 %)"),
    "series.band_low": ("Banda, mínimo", "Band, low"),
    "series.band_high": ("Banda, máximo", "Band, high"),
    "axis.kwh_day": ("kWh/día", "kWh/day"),
    "hover.confirmed_pct": ("% confirmadas", "% confirmed"),
    "hover.inspected": ("Inspeccionadas", "Inspected"),
    "hover.confirmed": ("Confirmadas", "Confirmed"),
    "axis.kwh": ("kWh", "kWh"),
    "axis.v": ("V", "V"),
    "axis.phase": ("Fase", "Phase"),
    "axis.time": ("Fecha", "Date"),
    "axis.hour": ("Hora del día", "Hour of day"),
    "axis.day": ("Día", "Day"),
    "axis.index": ("Índice", "Index"),
    "axis.customer": ("Cliente", "Customer"),
    "axis.month": ("Mes", "Month"),
    "download": ("Descargar CSV", "Download CSV"),
    "inbox.title": ("Bandeja de alertas", "Alerts inbox"),
    "inbox.hint": (
        "Ordenadas por lo que vale la visita: energía perdida estimada × confianza, el doble si"
        " la pérdida sigue abierta. Haga clic en una fila para abrirla.",
        "Ranked by what the visit is worth: estimated lost energy × confidence, doubled while"
        " the loss is still open. Click a row to open it.",
    ),
    "inbox.empty": (
        "No hay alertas con estos filtros ({n} en total: amplíe el periodo o quite el cliente o el sector).",
        "No alerts match these filters ({n} in all: widen the period or clear the customer or sector).",
    ),
    "inbox.none": (
        "No hay alertas: ningún cliente muestra pérdidas en los datos puntuados.",
        "There are no alerts: no customer shows losses in the scored data.",
    ),
    "inbox.count": (
        "{n} alertas · {kwh} kWh estimados no registrados · S/ {pen}",
        "{n} alerts · {kwh} kWh estimated unbilled · PEN {pen}",
    ),
    "inbox.count_one": (
        "1 alerta · {kwh} kWh estimados no registrados · S/ {pen}",
        "1 alert · {kwh} kWh estimated unbilled · PEN {pen}",
    ),
    "col.rank": ("#", "#"),
    "col.alert_id": ("Alerta", "Alert"),
    "col.client_id": ("Cliente", "Customer"),
    "col.sector": ("Sector", "Sector"),
    "col.kind": ("Tipo", "Kind"),
    "col.severity": ("Severidad", "Severity"),
    "col.window_start": ("Desde", "From"),
    "col.window_end": ("Hasta", "To"),
    "col.lost_kwh_estimate": ("Pérdida estimada (kWh)", "Estimated loss (kWh)"),
    "col.anomaly_rate": ("% horas anómalas", "% anomalous hours"),
    "col.inspection_status": ("Inspección", "Inspection"),
    "col.status": ("Evento", "Event"),
    "col.evidence": ("Evidencia", "Evidence"),
    "col.loss_pen": ("Pérdida estimada (S/)", "Estimated loss (PEN)"),
    "col.confidence": ("Confianza", "Confidence"),
    "col.active_kwh": ("Energía activa (kWh)", "Active energy (kWh)"),
    "col.hours": ("Horas", "Hours"),
    "col.completeness": ("Completitud", "Completeness"),
    "col.gaps": ("Huecos", "Gaps"),
    "col.gap_hours": ("Horas faltantes", "Missing hours"),
    "col.zero_runs": ("Tramos en cero", "Zero runs"),
    "col.zero_hours": ("Horas en cero", "Zero hours"),
    "col.negative_runs": ("Tramos negativos", "Negative runs"),
    "col.negative_hours": ("Horas negativas", "Negative hours"),
    "col.voltage_findings": ("Tensión fuera de rango", "Voltage out of range"),
    "col.duplicate_of": ("Duplicado de", "Duplicate of"),
    "col.quarantined": ("Filas en cuarentena", "Quarantined rows"),
    "col.last_ts": ("Última lectura", "Last reading"),
    "col.first_ts": ("Primera lectura", "First reading"),
    "col.n_readings": ("Lecturas", "Readings"),
    "col.code": ("Código", "Code"),
    "col.text": ("Hallazgo", "Finding"),
    "col.period_start": ("Desde", "From"),
    "col.n_hours": ("Horas", "Hours"),
    "col.note": ("Nota", "Note"),
    "col.author": ("Autor", "Author"),
    "col.created_at": ("Fecha (hora de Lima)", "Date (Lima time)"),
    "col.source_file": ("Archivo", "File"),
    "col.reason": ("Motivo", "Reason"),
    "col.reason_code": ("Código", "Code"),
    "col.rows_rejected": ("Filas", "Rows"),
    "severity.high": ("alta", "high"),
    "severity.medium": ("media", "medium"),
    "severity.low": ("baja", "low"),
    "status.open": ("abierta", "open"),
    "status.closed": ("cerrada", "closed"),
    "status.withdrawn": ("retirada", "withdrawn"),
    "inspection.new": ("sin revisar", "not reviewed"),
    "inspection.under_inspection": ("en inspección", "under inspection"),
    "inspection.confirmed_loss": ("pérdida confirmada", "confirmed loss"),
    "inspection.false_alarm": ("falsa alarma", "false alarm"),
    "inspection.meter_fault": ("falla de medidor", "meter fault"),
    "alert.title": ("Alerta {id} · {client}", "Alert {id} · {client}"),
    "alert.none": (
        "Abra una alerta de la bandeja para ver su evidencia y registrar la inspección.",
        "Open an alert from the inbox to see its evidence and record the inspection.",
    ),
    "alert.not_found": ("La alerta {id} no existe.", "Alert {id} does not exist."),
    "alert.window": (
        "Ventana: {start} a {end} ({hours} h)",
        "Window: {start} to {end} ({hours} h)",
    ),
    "alert.reported": ("Energía reportada", "Reported energy"),
    "alert.expected": ("Energía esperada", "Expected energy"),
    "alert.missing": ("Faltante", "Missing"),
    "alert.ratio": ("Reactiva / activa", "Reactive / active"),
    "alert.voltage_fa": ("Tensión fase A", "Phase A voltage"),
    "alert.voltage_fc": ("Tensión fase C", "Phase C voltage"),
    "alert.before": ("4 semanas antes: {value}", "4 weeks before: {value}"),
    "alert.open_customer": ("Ver cliente en Consumo", "Show customer in Consumption"),
    "alert.close": ("Cerrar", "Close"),
    "login.title": ("meterwatch · Ingreso", "meterwatch · Log in"),
    "login.user": ("Usuario", "User"),
    "login.password": ("Contraseña", "Password"),
    "login.submit": ("Ingresar", "Log in"),
    "login.failed": ("Usuario o contraseña incorrectos.", "Wrong user or password."),
    "login.wait": (
        "Demasiados intentos fallidos: espere {seconds} s antes de volver a intentarlo.",
        "Too many failed attempts: wait {seconds} s before trying again.",
    ),
    "feedback.signed_in": ("Registrado como {user}", "Recorded as {user}"),
    "feedback.title": ("Registrar inspección", "Record inspection"),
    "feedback.status": ("Resultado", "Outcome"),
    "feedback.note": ("Nota", "Note"),
    "feedback.author": ("Su nombre", "Your name"),
    "feedback.save": ("Guardar", "Save"),
    "feedback.saved": ("Guardado: {status} por {author}.", "Saved: {status} by {author}."),
    "feedback.need_author": ("Escriba su nombre para guardar.", "Type your name to save."),
    "feedback.history": ("Historial de inspección", "Inspection history"),
    "feedback.none": ("Sin registros todavía.", "No records yet."),
    "kpi.model.xgboost": (
        "modelo del cliente (retenido 20 %)",
        "the customer's model (held-out 20 %)",
    ),
    "kpi.model.sector_profile": (
        "perfil de su sector (historia corta)",
        "its sector's profile (short history)",
    ),
    "feedback.learning": (
        "Mientras la alerta no sea una falsa alarma, el modelo no aprende de estas horas. Si la"
        " inspección concluye «falsa alarma», el próximo entrenamiento las tomará como consumo"
        " normal del cliente.",
        "Unless the alert is a false alarm, the model does not learn from these hours. If the"
        " inspection concludes «false alarm», the next training takes them as the customer's"
        " normal consumption.",
    ),
    "quality.title": ("Calidad de datos por cliente", "Data quality per customer"),
    "quality.hint": (
        "Completitud = lecturas recibidas / horas entre la primera y la última lectura.",
        "Completeness = readings received / hours between the first and the last reading.",
    ),
    "quality.findings": ("Hallazgos de {client}", "Findings for {client}"),
    "quality.findings_all": ("Hallazgos (todos los clientes)", "Findings (all customers)"),
    "quality.quarantine": ("Filas rechazadas (cuarentena)", "Rejected rows (quarantine)"),
    "quality.no_quarantine": ("Ninguna fila rechazada.", "No rejected rows."),
    "quality.summary": (
        "{customers} clientes · {dups} duplicados · {quarantined} filas en cuarentena · última lectura {last}",
        "{customers} customers · {dups} duplicated · {quarantined} quarantined rows · last reading {last}",
    ),
    "empty_lake": (
        "El lago de datos está vacío. Ingrese lecturas con `meterwatch ingest`.",
        "The lake is empty. Ingest readings with `meterwatch ingest`.",
    ),
    "language": ("Idioma", "Language"),
}


def tr(key: str, language: str = "es", **params: Any) -> str:
    """The text for ``key`` in ``language``; the key itself when unknown (visible, not fatal)."""
    entry = TEXTS.get(key)
    if entry is None:
        return key
    text = entry[1] if language == "en" else entry[0]
    return render(text, language, **params) if params else text


def fmt_number(value: Any, language: str = "es", digits: int = 0) -> str:
    """A number for people: thousands grouped, Spanish ``12 345,6``, English ``12,345.6``."""
    if value is None:
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "–"
    return render(f"{{number:,.{digits}f}}", language, number=number)


def fmt_percent(share: Any, language: str = "es", digits: int = 0) -> str:
    """A share (0.25) as a percentage (``25 %``)."""
    if share is None:
        return "–"
    try:
        number = float(share)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(number):
        return "–"
    return f"{fmt_number(100 * number, language, digits)}{UNIT_SPACE.get(language, '')}%"
