"""Operator-facing text in Spanish (default) and English.

Messages are looked up by a dotted code and formatted with named parameters, so tables
store the code and parameters and any screen can render them in either language.
"""

from __future__ import annotations

import numbers
import string
from datetime import date, datetime, time
from typing import Any

from meterwatch.tables import stored_params

LANGUAGES = ("es", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # why an input row was rejected (kept in quarantine with this code) --------------------
    "row.empty_line": {"es": "línea vacía", "en": "empty line"},
    "row.field_count": {"es": "número de campos incorrecto", "en": "wrong number of fields"},
    "row.header_repeated": {"es": "fila de encabezado repetida", "en": "repeated header row"},
    "row.client_missing": {
        "es": "falta el identificador del cliente",
        "en": "customer id is empty",
    },
    "row.timestamp_missing": {"es": "falta la fecha y hora", "en": "timestamp is empty"},
    "row.timestamp_unparseable": {
        "es": "la fecha y hora no se puede leer",
        "en": "timestamp cannot be parsed",
    },
    "row.timestamp_not_hour_start": {
        "es": "la fecha y hora no es el inicio de una hora",
        "en": "timestamp is not the start of an hour",
    },
    "row.active_missing": {"es": "falta la energía activa", "en": "active energy is empty"},
    "row.number_unparseable": {"es": "un valor no es un número", "en": "value is not a number"},
    "row.number_not_finite": {
        "es": "un valor no es un número finito",
        "en": "value is not a finite number",
    },
    "row.duplicate_in_file": {
        "es": "el mismo cliente y hora vuelve a aparecer más adelante en el archivo",
        "en": "the same customer and hour appears again later in the file",
    },
    "row.client_invalid": {
        "es": "el identificador del cliente no es válido",
        "en": "customer id is not valid",
    },
    "row.timestamp_date_only": {
        "es": "la fecha no tiene hora (una lectura horaria necesita la hora)",
        "en": "the date has no time of day (an hourly reading needs its hour)",
    },
    "row.timestamp_impossible": {
        "es": "la fecha u hora no existe (p. ej. 29 de febrero de un año no bisiesto)",
        "en": "the date or time does not exist (e.g. 29 February of a non-leap year)",
    },
    "row.timestamp_out_of_range": {
        "es": "la fecha está fuera del periodo plausible",
        "en": "the date is outside the plausible period",
    },
    "row.value_out_of_range": {
        "es": "un valor está fuera de los límites físicos",
        "en": "a value is beyond physical limits",
    },
    "row.line_too_long": {"es": "la línea es demasiado larga", "en": "the line is too long"},
    "row.quote_misplaced": {
        "es": "comillas sin cerrar o mal colocadas (un valor no puede ocupar varias líneas)",
        "en": "unclosed or misplaced quotes (a value may not span lines)",
    },
    "row.not_utf8": {
        "es": "la línea no es texto UTF-8; guarde el archivo como CSV UTF-8",
        "en": "the line is not UTF-8 text; save the file as UTF-8 CSV",
    },
    # data-quality findings -------------------------------------------------------------
    "readings.gap": {
        "es": "Faltan {n_hours:,} h de lecturas entre {start} y {end}.",
        "en": "{n_hours:,} h of readings missing between {start} and {end}.",
    },
    "readings.zero_run": {
        "es": "Energía activa exactamente 0 durante {n_hours:,} h seguidas ({start} a {end}).",
        "en": "Active energy exactly 0 for {n_hours:,} consecutive hours ({start} to {end}).",
    },
    "readings.negative_energy": {
        "es": "Energía activa negativa durante {n_hours:,} h ({start} a {end}): posible conexión invertida.",
        "en": "Negative active energy for {n_hours:,} h ({start} to {end}): possibly reversed wiring.",
    },
    "readings.voltage_implausible": {
        "es": "Tensión de la fase {phase} fuera de rango durante {n_hours:,} h ({start} a {end}); mediana habitual {median:.0f} V.",
        "en": "Phase {phase} voltage out of range for {n_hours:,} h ({start} to {end}); usual median {median:.0f} V.",
    },
    "readings.missing_values": {
        "es": "Faltan valores de {column} en {n_hours:,} h.",
        "en": "{column} is missing in {n_hours:,} h.",
    },
    "readings.duplicate_timestamp": {
        "es": "{n_rows:,} filas repetían una hora ya presente en el archivo {file}; se conservó la última.",
        "en": "{n_rows:,} rows repeated an hour already in file {file}; the last one was kept.",
    },
    "customers.duplicate_series": {
        "es": "La serie de este cliente es idéntica a la de {other}: datos de medidor duplicados.",
        "en": "This customer's series is identical to {other}'s: duplicated meter data.",
    },
    "ingest.rows_rejected": {
        "es": "{n_rows:,} filas del archivo {file} fueron rechazadas y guardadas en cuarentena ({reasons}).",
        "en": "{n_rows:,} rows of file {file} were rejected and kept in quarantine ({reasons}).",
    },
    "ingest.file_rejected": {
        "es": "El archivo {file} no se pudo ingerir: {reason}",
        "en": "File {file} could not be ingested: {reason}",
    },
    "customers.no_sector": {
        "es": "El cliente no tiene sector económico asignado.",
        "en": "The customer has no economic sector assigned.",
    },
    # alert kinds (meterwatch.alerts.policy.KINDS): the one name of each kind, on every
    # screen, in the e-mail, the console and docs/alerts.md (a test holds the docs to it)
    "kind.under_registration": {"es": "Subregistro", "en": "Under-registration"},
    "kind.stopped_meter": {"es": "Medidor detenido", "en": "Stopped meter"},
    "kind.reverse_energy": {"es": "Energía inversa", "en": "Reverse energy"},
    "kind.flat_reporting": {"es": "Lectura plana", "en": "Flat reporting"},
    "kind.load_shape_change": {"es": "Cambio de perfil horario", "en": "Load shape change"},
    "kind.voltage_anomaly": {"es": "Anomalía de tensión", "en": "Voltage anomaly"},
    # model and alerts ---------------------------------------------------------------------
    "model.insufficient_history": {
        "es": "Solo {n_days} días de historia (mínimo {min_days}): se usa el perfil del sector escalado al cliente.",
        "en": "Only {n_days} days of history (minimum {min_days}): the sector profile scaled to the customer is used.",
    },
    "alert.under_registration": {
        "es": "Registra {loss_pct:.0f} % menos de lo esperado entre {start} y {end} ({n_hours:,} h anómalas): faltan unos {lost_kwh:,.0f} kWh.",
        "en": "Reports {loss_pct:.0f} % less than expected between {start} and {end} ({n_hours:,} anomalous h): about {lost_kwh:,.0f} kWh missing.",
    },
    "alert.stopped_meter": {
        "es": "Medidor detenido: {zero_hours:,} h en cero entre {start} y {end} cuando se esperaban {expected_kwh:,.0f} kWh.",
        "en": "Stopped meter: {zero_hours:,} h at zero between {start} and {end} while {expected_kwh:,.0f} kWh were expected.",
    },
    "alert.reverse_energy": {
        "es": "Energía activa negativa en {negative_hours:,} h entre {start} y {end}: posible conexión invertida; faltan unos {lost_kwh:,.0f} kWh.",
        "en": "Negative active energy in {negative_hours:,} h between {start} and {end}: possibly reversed wiring; about {lost_kwh:,.0f} kWh missing.",
    },
    "alert.flat_reporting": {
        "es": "Lectura plana (el mismo valor hora tras hora) entre {start} y {end}: el perfil diario del cliente desapareció.",
        "en": "Flat reporting (the same value hour after hour) between {start} and {end}: the customer's daily profile disappeared.",
    },
    "alert.load_shape_change": {
        "es": "El perfil horario cambió entre {start} y {end} ({n_hours:,} h anómalas): el consumo se desplazó a otras horas; diferencia de {lost_kwh:,.0f} kWh.",
        "en": "The hourly profile changed between {start} and {end} ({n_hours:,} anomalous h): use moved to other hours; {lost_kwh:,.0f} kWh difference.",
    },
    "alert.voltage_anomaly": {
        "es": "Tensión de una fase caída o fases divergentes entre {start} y {end}, con {loss_pct:.0f} % menos energía registrada: unos {lost_kwh:,.0f} kWh.",
        "en": "One phase voltage collapsed or the phases diverged between {start} and {end}, with {loss_pct:.0f} % less energy reported: about {lost_kwh:,.0f} kWh.",
    },
    "alert.evidence.reactive": {
        "es": "La relación reactiva/activa cambió.",
        "en": "The reactive-to-active ratio changed.",
    },
    "alert.evidence.registers_together": {
        "es": "La energía reactiva bajó en la misma proporción y el perfil se mantuvo: puede ser un cambio real de demanda o un transformador de corriente puenteado.",
        "en": "Reactive energy fell in the same proportion and the profile held: it may be a real change of demand or a bypassed current transformer.",
    },
    "alert.evidence.voltage": {
        "es": "Las tensiones de fase muestran una anomalía.",
        "en": "The phase voltages show an anomaly.",
    },
    "alert.watch.short": {
        "es": "En observación: la desviación duró menos de lo que exige una alerta (se priorizan las más largas).",
        "en": "Watch: the deviation lasted less than an alert needs (longer ones rank first).",
    },
    "alert.watch.no_net_loss": {
        "es": "En observación: el consumo cambió de forma pero no falta energía neta.",
        "en": "Watch: consumption changed shape but no net energy is missing.",
    },
    "alert.watch.small_loss": {
        "es": "En observación: falta menos del 10 % de lo esperado, dentro del error del pronóstico.",
        "en": "Watch: less than 10 % of the expected energy is missing, within the forecast's error.",
    },
    "alert.watch.registers_together": {
        "es": "En observación: activa y reactiva bajaron juntas (cambio de demanda o transformador de corriente puenteado).",
        "en": "Watch: active and reactive energy fell together (a change of demand or a bypassed current transformer).",
    },
    "alert.evidence.sector": {
        "es": "Su sector muestra una caída parecida (menos sospechoso).",
        "en": "Its sector shows a similar drop (less suspicious).",
    },
}


# How each language groups thousands and marks decimals (Python writes "," and ".").
NUMBER_SEPARATORS: dict[str, tuple[str, str]] = {"es": ("\u202f", ","), "en": (",", ".")}
# What stands between a number and its unit sign (Spanish "25 %", English "25%").
UNIT_SPACE: dict[str, str] = {"es": "\u202f", "en": ""}
# How each language writes a day and an hour (Spanish 28/11/2022 19:00; English ISO).
DATE_FORMATS: dict[str, tuple[str, str]] = {
    "es": ("%d/%m/%Y", "%d/%m/%Y %H:%M"),
    "en": ("%Y-%m-%d", "%Y-%m-%d %H:%M"),
}


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return None if value != value else value  # NaT is a datetime that is not itself
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _fmt(value: Any, language: str, which: int) -> str:
    when = _as_datetime(value)
    if when is not None:
        return when.strftime(DATE_FORMATS.get(language, DATE_FORMATS["en"])[which])
    missing = value is None or isinstance(value, datetime)  # None or NaT
    return "" if missing else str(value)


def fmt_day(value: Any, language: str = "es") -> str:
    """A day as ``language`` writes it (``28/11/2022``, ``2022-11-28``); other text as it is,
    a missing one empty."""
    return _fmt(value, language, 0)


def fmt_time(value: Any, language: str = "es") -> str:
    """An hour as ``language`` writes it (``28/11/2022 19:00``); other text as it is."""
    return _fmt(value, language, 1)


class _NumberFormatter(string.Formatter):
    """``str.format`` that writes numbers the way the dashboard shows them: in Spanish
    thousands grouped by a narrow no-break space and a decimal comma (``2 442``, ``0,49``),
    so that an alert's sentence and the figures around it on the same screen agree."""

    def __init__(self, language: str) -> None:
        super().__init__()
        thousands, decimal = NUMBER_SEPARATORS.get(language, NUMBER_SEPARATORS["en"])
        self.separators = str.maketrans({",": thousands, ".": decimal})

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "," and isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(float(value))  # a count read back as a float (JSON, pandas) stays a count
        try:
            text = super().format_field(value, format_spec)
        except (TypeError, ValueError):  # a missing or text value where a number was expected
            return "–" if value is None else str(value)
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return text.translate(self.separators)
        return text


def render(template: str, language: str = "es", **params: Any) -> str:
    """Format ``template`` with ``params``, numbers in ``language``'s convention (Spanish
    ``12 345,6``, English ``12,345.6``)."""
    return _NumberFormatter(language).format(template, **params)


def reason_list(counts: dict[str, int], language: str = "es") -> str:
    """``reason: count`` for each message code of ``counts``, in ``language``."""
    return ", ".join(
        render("{text}: {n:,}", language, text=t(str(code), language), n=n)
        for code, n in counts.items()
    )


def t(code: str, language: str = "es", **params: Any) -> str:
    """Render the message for ``code`` in ``language`` with ``params``.

    An unknown code renders as the code itself followed by its parameters, so a missing
    translation is visible instead of crashing a screen. A ``reason_counts`` parameter
    (message code -> count, as stored with a finding) is written as the ``reasons`` list in
    the same language; ``start`` and ``end`` (times, or ISO text) as the language writes hours
    (:data:`DATE_FORMATS`).
    """
    if isinstance(params.get("reason_counts"), dict):
        params = {**params, "reasons": reason_list(params["reason_counts"], language)}
    # start and end of a finding or an alert are kept in ISO form and read in the language
    params = {k: fmt_time(v, language) if k in ("start", "end") else v for k, v in params.items()}
    entry = MESSAGES.get(code)
    if entry is None:
        detail = ", ".join(f"{k}={v}" for k, v in params.items())
        return f"{code} ({detail})" if detail else code
    template = entry.get(language) or entry["en"]
    try:
        return render(template, language, **params)
    except (KeyError, ValueError, IndexError):
        return f"{template} {params}"


def kind_label(kind: Any, language: str = "es") -> str:
    """An alert kind's name for people (``Subregistro``); an unknown kind as it is stored."""
    entry = MESSAGES.get(f"kind.{kind}")
    if entry is None:
        return str(kind)
    return entry.get(language) or entry["en"]


def evidence_sentence(kind: str, params: dict[str, Any], language: str = "es") -> str:
    """One sentence an operator reads: what changed, since when, how much is missing."""
    text = t(f"alert.{kind}", language, **params)
    extras = []
    if params.get("reactive_change"):
        extras.append(t("alert.evidence.reactive", language))
    if params.get("voltage_anomaly"):
        extras.append(t("alert.evidence.voltage", language))
    if params.get("registers_together") and params.get("watch") != "registers_together":
        extras.append(t("alert.evidence.registers_together", language))
    if params.get("sector_shares_drop"):
        extras.append(t("alert.evidence.sector", language))
    if params.get("watch") and f"alert.watch.{params['watch']}" in MESSAGES:
        extras.append(t(f"alert.watch.{params['watch']}", language))
    return " ".join([text, *extras])


def alert_evidence(kind: Any, params: Any, stored: Any, language: str = "es") -> str:
    """An alert's sentence in ``language``, written again from its stored ``params`` (JSON):
    the e-mail and the dashboard speak the reader's language and today's number format,
    whatever language and format the alert was raised in. The ``stored`` sentence where the
    parameters cannot write it (an older or foreign alert)."""
    fallback = "" if stored is None or stored != stored else str(stored)  # None or NaN
    values = stored_params(params)
    if not values or f"alert.{kind}" not in MESSAGES:
        return fallback
    text = evidence_sentence(str(kind), values, language)
    return fallback if "{" in text else text
