"""The one text catalog: every sentence and label an operator reads, Spanish and English.

One entry per code: ``{"es": ..., "en": ...}`` with the same named placeholders in both
(a test checks it, and that every code the code uses is here). Tables store codes and
parameters; screens, exports, the console and the e-mail render them with
:func:`meterwatch.texts.t` in the reader's language. Codes are stable: stored alerts
and findings name them.
"""

from __future__ import annotations

CATALOG: dict[str, dict[str, str]] = {
    # Why an input row was rejected (kept in quarantine with this code)
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
    "row.timestamp_month_first": {
        "es": (
            "el archivo escribe las fechas con el mes primero (MM/DD/AAAA): ninguna de sus "
            "fechas con barras se lee, para no cambiar días por meses; expórtelo como "
            "AAAA-MM-DD o DD/MM/AAAA"
        ),
        "en": (
            "the file writes dates month first (MM/DD/YYYY): none of its slashed dates is "
            "read, so that no day is taken for a month; export it as YYYY-MM-DD or DD/MM/YYYY"
        ),
    },
    "row.timestamp_hour_ending": {
        "es": (
            "el archivo marca cada hora por su final (01:00 a 24:00): leída como inicio, cada "
            "lectura se movería una hora; exporte el inicio de cada hora (00:00 a 23:00)"
        ),
        "en": (
            "the file labels each hour by its end (01:00 to 24:00): read as its start, every "
            "reading would move an hour; export each hour's start (00:00 to 23:00)"
        ),
    },
    "row.active_cumulative": {
        "es": (
            "la energía activa del cliente solo crece línea tras línea: es el registro "
            "acumulado del medidor, no la energía de cada hora; ninguna se guarda, envíe la "
            "diferencia de cada hora"
        ),
        "en": (
            "the customer's active energy only grows line after line: it is the meter's "
            "running register, not each hour's energy; none is stored, send each hour's "
            "difference"
        ),
    },
    "row.timestamp_sub_hourly": {
        "es": (
            "el archivo trae lecturas de menos de una hora: cada línea en punto guardaría solo "
            "una parte de la energía de su hora como la hora entera, así que no se guarda "
            "ninguna; súmelas por hora (00:00 a 23:00) antes de cargarlas"
        ),
        "en": (
            "the file holds readings shorter than an hour: each line on the hour would store "
            "only part of its hour's energy as the whole hour, so none is stored; sum them by "
            "hour (00:00 to 23:00) before loading them"
        ),
    },
    "row.timestamp_shifted": {
        "es": (
            "las lecturas del archivo son las ya guardadas del cliente, corridas unas horas "
            "(¿hora UTC o de fin de hora?): ninguna se guarda, para no mover su historia; "
            "exporte la hora local de Lima del inicio de cada hora"
        ),
        "en": (
            "the file's readings are the customer's stored ones, shifted by some hours (UTC, "
            "or hours labelled by their end?): none is stored, so that its history does not "
            "move; export each hour's start in Lima local time"
        ),
    },
    # Data-quality findings (the data_quality table stores the code and its params)
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
    "readings.corrected": {
        "es": (
            "El archivo {file} corrigió {n_hours:,} h de lecturas ya guardadas ({start} a {end}). "
            "La siguiente evaluación vuelve a evaluar las que siguen al entrenamiento del modelo; "
            "la historia anterior conserva su evaluación."
        ),
        "en": (
            "File {file} corrected {n_hours:,} h of stored readings ({start} to {end}). The next "
            "scoring run scores again those after the model's training end; the history before "
            "it keeps its scores."
        ),
    },
    "readings.late": {
        "es": (
            "El archivo {file} trajo {n_hours:,} h de lecturas atrasadas ({start} a {end}), "
            "dentro del periodo ya guardado. La siguiente evaluación evalúa las que siguen al "
            "entrenamiento del modelo; la historia anterior conserva su evaluación."
        ),
        "en": (
            "File {file} brought {n_hours:,} h of late readings ({start} to {end}), inside the "
            "period already stored. The next scoring run scores those after the model's "
            "training end; the history before it keeps its scores."
        ),
    },
    "ingest.rows_rejected": {
        "es": "{n_rows:,} filas del archivo {file} fueron rechazadas y guardadas en cuarentena ({reasons}).",
        "en": "{n_rows:,} rows of file {file} were rejected and kept in quarantine ({reasons}).",
    },
    "sectors.missing_client": {
        "es": "El mapa de sectores {file}, línea {line}, da el sector '{sector}' sin cliente: no se usó.",
        "en": "Sector map {file}, line {line}, gives sector '{sector}' without a customer: not used.",
    },
    "sectors.missing_sector": {
        "es": "El mapa de sectores {file}, línea {line}, nombra al cliente sin sector: no se usó.",
        "en": "Sector map {file}, line {line}, names the customer without a sector: not used.",
    },
    "sectors.conflict": {
        "es": "El mapa de sectores {file}, línea {line}, da al cliente el sector '{sector}'; la línea {kept_line}, posterior, le da '{kept}', que es el que se usa.",
        "en": "Sector map {file}, line {line}, gives the customer sector '{sector}'; the later line {kept_line} gives it '{kept}', which is used.",
    },
    "ingest.file_rejected": {
        "es": "El archivo {file} no se pudo ingerir: {reason}",
        "en": "File {file} could not be ingested: {reason}",
    },
    "customers.no_sector": {
        "es": "El cliente no tiene sector económico asignado.",
        "en": "The customer has no economic sector assigned.",
    },
    # Alert kinds (meterwatch.alerts.policy.KINDS): the one name of each kind, on every
    # screen, in the e-mail, the console and docs/alerts.md (a test holds the docs to it)
    "kind.under_registration": {"es": "Subregistro", "en": "Under-registration"},
    "kind.stopped_meter": {"es": "Medidor detenido", "en": "Stopped meter"},
    "kind.reverse_energy": {"es": "Energía inversa", "en": "Reverse energy"},
    "kind.flat_reporting": {"es": "Lectura plana", "en": "Flat reporting"},
    "kind.load_shape_change": {"es": "Cambio de perfil horario", "en": "Load shape change"},
    "kind.voltage_anomaly": {"es": "Anomalía de tensión", "en": "Voltage anomaly"},
    # Models
    "model.insufficient_history": {
        "es": "Solo {n_days} días de historia (mínimo {min_days}): se usa el perfil del sector escalado al cliente.",
        "en": "Only {n_days} days of history (minimum {min_days}): the sector profile scaled to the customer is used.",
    },
    # An alert's evidence: the alerts table stores these codes with the alert's params and
    # every reader renders them in its language (meterwatch.alerts.render)
    "alert.under_registration": {
        "es": "Registra {loss_pct:.0f} % menos de lo esperado entre {start} y {end} ({n_hours:,} h anómalas): faltan unos {lost_kwh:,.0f} kWh.",
        "en": "Reports {loss_pct:.0f} % less than expected between {start} and {end} ({n_hours:,} anomalous h): about {lost_kwh:,.0f} kWh missing.",
    },
    "alert.stopped_meter": {
        "es": "Medidor detenido: {zero_hours:,} h en cero entre {start} y {end}; faltan unos {lost_kwh:,.0f} kWh.",
        "en": "Stopped meter: {zero_hours:,} h at zero between {start} and {end}; about {lost_kwh:,.0f} kWh missing.",
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
    "alert.evidence.registers_diverged": {
        "es": "La energía activa bajó y la reactiva no: la pérdida se estima con el registro reactivo (como antes del cambio).",
        "en": "Active energy fell and reactive energy did not: the loss is estimated from the reactive register (as before the change).",
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
    "alert.watch.weekly_routine": {
        "es": "En observación: la misma caída se repite a la misma hora de la semana desde hace dos semanas, y los demás días de trabajo estuvieron normales: parece un cambio de rutina semanal.",
        "en": "Watch: the same shortfall has come back at the same hours of the week for two weeks, while the other working days were normal: it looks like a changed weekly routine.",
    },
    "alert.watch.moved_in_week": {
        "es": "En observación: la energía que faltó se consumió en los otros días de la misma semana (el consumo cambió de día, no falta energía neta).",
        "en": "Watch: the energy missing was used on the other days of the same week (consumption moved between days; no net energy is missing).",
    },
    "alert.watch.young_model": {
        "es": "En observación: lo halló, al puntuar la historia, un modelo que conocía menos de un año del cliente; una estación que ese modelo no había visto puede explicarlo.",
        "en": "Watch: found, when the history was scored, by a model that knew less than a year of the customer; a season that model had never seen may explain it.",
    },
    "alert.evidence.sector": {
        "es": "Su sector muestra una caída parecida (menos sospechoso).",
        "en": "Its sector shows a similar drop (less suspicious).",
    },
    "alert.evidence.some_peers": {
        "es": "Algunos clientes de su sector también bajaron, no la mayoría (algo menos sospechoso).",
        "en": "Some customers of its sector fell too, not most of them (somewhat less suspicious).",
    },
    # An alert's severity, event status and inspection outcome
    "severity.high": {"es": "alta", "en": "high"},
    "severity.medium": {"es": "media", "en": "medium"},
    "severity.low": {"es": "baja", "en": "low"},
    "status.open": {"es": "abierta", "en": "open"},
    "status.closed": {"es": "cerrada", "en": "closed"},
    "status.withdrawn": {"es": "retirada", "en": "withdrawn"},
    "inspection.new": {"es": "sin revisar", "en": "not reviewed"},
    "inspection.under_inspection": {"es": "en inspección", "en": "under inspection"},
    "inspection.confirmed_loss": {"es": "pérdida confirmada", "en": "confirmed loss"},
    "inspection.false_alarm": {"es": "falsa alarma", "en": "false alarm"},
    "inspection.meter_fault": {"es": "falla de medidor", "en": "meter fault"},
    # The alert message (e-mail through the SNS topic, console after `score`)
    "email.subject": {
        "es": "meterwatch: {n} alerta(s) de pérdidas, {kwh:,.0f} kWh estimados",
        "en": "meterwatch: {n} loss alert(s), {kwh:,.0f} kWh estimated",
    },
    "email.intro": {
        "es": "Clientes a inspeccionar, del más al menos valioso (n.º = su puesto en la bandeja de alertas):",
        "en": "Customers to inspect, most valuable visit first (# = its rank in the alerts inbox):",
    },
    "email.line": {
        "es": "n.º {rank} · {client} ({sector}) · {kind} · severidad {severity} · pérdida estimada {kwh:,.0f} kWh · {start} a {end}",
        "en": "#{rank} · {client} ({sector}) · {kind} · {severity} severity · estimated loss {kwh:,.0f} kWh · {start} to {end}",
    },
    "email.subject_withdrawn": {
        "es": "meterwatch: {n} alerta(s) retirada(s)",
        "en": "meterwatch: {n} alert(s) withdrawn",
    },
    "email.withdrawn": {
        "es": "Alertas retiradas: los datos de los días siguientes ya no las sostienen, no requieren visita.",
        "en": "Alerts withdrawn: the data of the following days no longer supports them; no visit needed.",
    },
    "email.withdrawn_line": {
        "es": "- {client} ({sector}) · {kind} · {start} a {end} · retirada",
        "en": "- {client} ({sector}) · {kind} · {start} to {end} · withdrawn",
    },
    "email.updated": {"es": " · actualizada", "en": " · updated"},
    "email.link": {"es": "Ver en el tablero: {url}", "en": "Open the dashboard: {url}"},
    "email.footer": {
        "es": "Registre el resultado de cada inspección en el tablero (pérdida confirmada, falsa alarma, falla de medidor).",
        "en": "Record each inspection's outcome in the dashboard (confirmed loss, false alarm, meter fault).",
    },
    # The operator export's headers (the others are the inbox's `col.*`)
    "export.rank": {"es": "Puesto", "en": "Rank"},
    "alert_priority.raised": {"es": "elevada", "en": "raised"},
    "alert_priority.watched": {"es": "en observación", "en": "on watch"},
    "export.confidence": {"es": "Confianza (%)", "en": "Confidence (%)"},
    # The dashboard
    "title": {"es": "meterwatch · Pérdidas no técnicas", "en": "meterwatch · Non-technical losses"},
    "subtitle": {"es": "Grandes clientes de ElectroDunas", "en": "ElectroDunas large customers"},
    "tab.consumption": {"es": "Consumo", "en": "Consumption"},
    "table.first": {"es": "Primera", "en": "First"},
    "table.prev": {"es": "Anterior", "en": "Prev"},
    "table.next": {"es": "Siguiente", "en": "Next"},
    "table.last": {"es": "Última", "en": "Last"},
    "table.first_title": {"es": "Primera página", "en": "First page"},
    "table.prev_title": {"es": "Página anterior", "en": "Previous page"},
    "table.next_title": {"es": "Página siguiente", "en": "Next page"},
    "table.last_title": {"es": "Última página", "en": "Last page"},
    "tab.alerts": {"es": "Alertas", "en": "Alerts"},
    "tab.quality": {"es": "Calidad de datos", "en": "Data quality"},
    "filter.start": {"es": "Desde", "en": "From"},
    "filter.end": {"es": "Hasta", "en": "To"},
    "filter.hours": {"es": "Horas del día", "en": "Hours of day"},
    "filter.customer": {"es": "Cliente", "en": "Customer"},
    "filter.sector": {"es": "Sector", "en": "Sector"},
    "filter.kind": {"es": "Tipo", "en": "Kind"},
    "filter.status": {"es": "Estado de inspección", "en": "Inspection status"},
    "filter.priority": {"es": "Prioridad", "en": "Priority"},
    "priority.raised": {"es": "Elevadas", "en": "Raised"},
    "priority.watched": {"es": "En observación", "en": "On watch"},
    "all": {"es": "Todos", "en": "All"},
    "kpi.total": {"es": "Energía activa total", "en": "Total active energy"},
    "kpi.mape": {
        "es": "Error del pronóstico por {h} h (MAPE)",
        "en": "Forecast error per {h} h (MAPE)",
    },
    "kpi.wape": {"es": "WAPE horario {wape}", "en": "hourly WAPE {wape}"},
    "kpi.retrain": {
        "es": "entrene de nuevo para ver este error",
        "en": "train again to see this error",
    },
    "kpi.anomalous": {
        "es": "Horas anómalas (últimos {n} días)",
        "en": "Anomalous hours (last {n} days)",
    },
    "kpi.peak": {"es": "Ventana de 4 h de mayor consumo", "en": "4-hour window of highest use"},
    "kpi.peak_detail": {
        "es": "{share} de la energía · {kwh} kWh/día",
        "en": "{share} of the energy · {kwh} kWh/day",
    },
    "kpi.no_customer": {"es": "elija un cliente", "en": "pick a customer"},
    "kpi.no_model": {"es": "sin modelo", "en": "no model"},
    "kpi.no_scores": {"es": "sin puntajes", "en": "not scored"},
    "kpi.of_hours": {"es": "de {n} h ({rate})", "en": "of {n} h ({rate})"},
    "alarm": {
        "es": "ALERTA: {client} tiene {rate} de horas anómalas en sus últimos {n} días ({hours} de {total} h). Revise el cliente.",
        "en": "ALERT: {client} has {rate} anomalous hours in its last {n} days ({hours} of {total} h). Review this customer.",
    },
    "chart.energy_by_customer": {
        "es": "Energía activa por cliente (kWh)",
        "en": "Active energy per customer (kWh)",
    },
    "chart.energy_top": {
        "es": "{n} mayores de {total} clientes",
        "en": "top {n} of {total} customers",
    },
    "chart.energy_readings": {
        "es": "{n} de {total} clientes con lecturas en el periodo",
        "en": "{n} of {total} customers with readings in the period",
    },
    "chart.energy_context": {
        "es": "{client} en rojo, frente a los demás clientes de la selección",
        "en": "{client} in red, against the other customers of the selection",
    },
    "chart.voltage": {"es": "Tensión de fases A y C (V)", "en": "Phase A and C voltage (V)"},
    "chart.voltage_hint": {
        "es": "Elija un cliente para ver sus tensiones.",
        "en": "Pick a customer to see its voltages.",
    },
    "chart.energy_time": {
        "es": "Energía activa de la selección (kWh)",
        "en": "Active energy of the selection (kWh)",
    },
    "chart.forecast": {
        "es": "Energía activa, pronóstico y banda (kWh)",
        "en": "Active energy, forecast and band (kWh)",
    },
    "chart.forecast_hint": {
        "es": "Elija un cliente para ver su pronóstico y las horas anómalas.",
        "en": "Pick a customer to see its forecast and anomalous hours.",
    },
    "chart.no_scores": {
        "es": "No hay puntajes del modelo en este periodo para este cliente.",
        "en": "No model scores for this customer in this period.",
    },
    "chart.heatmap": {
        "es": "Mapa de carga: hora del día × día (kWh)",
        "en": "Load map: hour of day × day (kWh)",
    },
    "chart.profile": {
        "es": "Perfil por hora del día (kWh/día)",
        "en": "Profile by hour of day (kWh/day)",
    },
    "chart.peers": {
        "es": "El cliente frente a su sector (100 = nivel habitual)",
        "en": "The customer against its sector (100 = usual level)",
    },
    "chart.peers_all": {
        "es": "Sus {n} pares del sector",
        "en": "Its {n} sector peers",
    },
    "chart.peers_sample": {
        "es": "{n} de sus {total} pares del sector (siempre los mismos)",
        "en": "{n} of its {total} sector peers (always the same ones)",
    },
    "chart.confirmed": {
        "es": "Alertas inspeccionadas confirmadas (%)",
        "en": "Inspected alerts confirmed (%)",
    },
    "chart.no_verdicts": {
        "es": "Aún no hay inspecciones concluidas (pérdida confirmada, falsa alarma o falla de medidor).",
        "en": "No concluded inspections yet (confirmed loss, false alarm or meter fault).",
    },
    "chart.partial_days": {
        "es": "Días incompletos, sin dibujar (su suma parecería una caída a 0): {days}",
        "en": "Incomplete days, not drawn (their sum would look like a fall to 0): {days}",
    },
    "chart.no_data": {
        "es": "No hay datos para esta selección.",
        "en": "No data for this selection.",
    },
    "series.reported": {"es": "Reportado", "en": "Reported"},
    "series.expected": {"es": "Esperado", "en": "Expected"},
    "series.band": {"es": "Banda", "en": "Band"},
    "series.anomaly": {"es": "Anómala", "en": "Anomalous"},
    "series.customer": {"es": "Cliente", "en": "Customer"},
    "series.peers": {"es": "Mediana del sector", "en": "Sector median"},
    "series.peers_band": {"es": "Sector (25–75 %)", "en": "Sector (25–75 %)"},
    "series.band_low": {"es": "Banda, mínimo", "en": "Band, low"},
    "series.band_high": {"es": "Banda, máximo", "en": "Band, high"},
    "axis.kwh_day": {"es": "kWh/día", "en": "kWh/day"},
    "hover.confirmed_pct": {"es": "% confirmadas", "en": "% confirmed"},
    "hover.inspected": {"es": "Inspeccionadas", "en": "Inspected"},
    "hover.confirmed": {"es": "Confirmadas", "en": "Confirmed"},
    "axis.kwh": {"es": "kWh", "en": "kWh"},
    "axis.v": {"es": "V", "en": "V"},
    "axis.phase": {"es": "Fase", "en": "Phase"},
    "axis.time": {"es": "Fecha", "en": "Date"},
    "axis.hour": {"es": "Hora del día", "en": "Hour of day"},
    "axis.day": {"es": "Día", "en": "Day"},
    "axis.index": {"es": "Índice", "en": "Index"},
    "axis.customer": {"es": "Cliente", "en": "Customer"},
    "axis.month": {"es": "Mes", "en": "Month"},
    "download": {"es": "Descargar CSV", "en": "Download CSV"},
    "inbox.title": {"es": "Bandeja de alertas", "en": "Alerts inbox"},
    "inbox.hint": {
        "es": "Ordenadas por lo que vale la visita: energía perdida estimada × confianza, el doble si la pérdida sigue abierta. Haga clic en una fila para abrirla.",
        "en": "Ranked by what the visit is worth: estimated lost energy × confidence, doubled while the loss is still open. Click a row to open it.",
    },
    "inbox.empty": {
        "es": "No hay alertas con estos filtros ({n} en total: amplíe el periodo o quite el cliente o el sector).",
        "en": "No alerts match these filters ({n} in all: widen the period or clear the customer or sector).",
    },
    "inbox.none": {
        "es": "No hay alertas: ningún cliente muestra pérdidas en los datos puntuados.",
        "en": "There are no alerts: no customer shows losses in the scored data.",
    },
    "inbox.count": {
        "es": "{n} alertas · {kwh} kWh estimados no registrados · S/ {pen}",
        "en": "{n} alerts · {kwh} kWh estimated unbilled · PEN {pen}",
    },
    "inbox.split": {
        "es": "{raised} elevadas, {watched} en observación",
        "en": "{raised} raised, {watched} on watch",
    },
    "inbox.outside": {
        "es": "{n} más en otras fechas",
        "en": "{n} more on other days",
    },
    "inbox.all_days": {"es": "Ver todas las fechas", "en": "Show every day"},
    "inbox.count_one": {
        "es": "1 alerta · {kwh} kWh estimados no registrados · S/ {pen}",
        "en": "1 alert · {kwh} kWh estimated unbilled · PEN {pen}",
    },
    "col.rank": {"es": "#", "en": "#"},
    "col.alert_id": {"es": "Alerta", "en": "Alert"},
    "col.client_id": {"es": "Cliente", "en": "Customer"},
    "col.sector": {"es": "Sector", "en": "Sector"},
    "col.kind": {"es": "Tipo", "en": "Kind"},
    "col.severity": {"es": "Severidad", "en": "Severity"},
    "col.window_start": {"es": "Desde", "en": "From"},
    "col.window_end": {"es": "Hasta", "en": "To"},
    "col.lost_kwh_estimate": {"es": "Pérdida estimada (kWh)", "en": "Estimated loss (kWh)"},
    "col.anomaly_rate": {"es": "% horas anómalas", "en": "% anomalous hours"},
    "col.inspection_status": {"es": "Inspección", "en": "Inspection"},
    "col.status": {"es": "Evento", "en": "Event"},
    "col.evidence": {"es": "Evidencia", "en": "Evidence"},
    "col.loss_pen": {"es": "Pérdida estimada (S/)", "en": "Estimated loss (PEN)"},
    "col.confidence": {"es": "Confianza", "en": "Confidence"},
    "col.active_kwh": {"es": "Energía activa (kWh)", "en": "Active energy (kWh)"},
    "col.hours": {"es": "Horas", "en": "Hours"},
    "col.completeness": {"es": "Completitud", "en": "Completeness"},
    "col.gaps": {"es": "Huecos", "en": "Gaps"},
    "col.gap_hours": {"es": "Horas faltantes", "en": "Missing hours"},
    "col.zero_runs": {"es": "Tramos en cero", "en": "Zero runs"},
    "col.zero_hours": {"es": "Horas en cero", "en": "Zero hours"},
    "col.negative_runs": {"es": "Tramos negativos", "en": "Negative runs"},
    "col.negative_hours": {"es": "Horas negativas", "en": "Negative hours"},
    "col.voltage_findings": {"es": "Tensión fuera de rango", "en": "Voltage out of range"},
    "col.duplicate_of": {"es": "Duplicado de", "en": "Duplicate of"},
    "col.quarantined": {"es": "Filas en cuarentena", "en": "Quarantined rows"},
    "col.last_ts": {"es": "Última lectura", "en": "Last reading"},
    "col.first_ts": {"es": "Primera lectura", "en": "First reading"},
    "col.n_readings": {"es": "Lecturas", "en": "Readings"},
    "col.code": {"es": "Código", "en": "Code"},
    "col.text": {"es": "Hallazgo", "en": "Finding"},
    "col.period_start": {"es": "Desde", "en": "From"},
    "col.n_hours": {"es": "Horas", "en": "Hours"},
    "col.note": {"es": "Nota", "en": "Note"},
    "col.author": {"es": "Autor", "en": "Author"},
    "col.created_at": {"es": "Fecha (hora de Lima)", "en": "Date (Lima time)"},
    "col.source_file": {"es": "Archivo", "en": "File"},
    "col.reason": {"es": "Motivo", "en": "Reason"},
    "col.reason_code": {"es": "Código", "en": "Code"},
    "col.rows_rejected": {"es": "Filas", "en": "Rows"},
    "alert.title": {"es": "Alerta {id} · {client}", "en": "Alert {id} · {client}"},
    "alert.none": {
        "es": "Abra una alerta de la bandeja para ver su evidencia y registrar la inspección.",
        "en": "Open an alert from the inbox to see its evidence and record the inspection.",
    },
    "alert.not_found": {"es": "La alerta {id} no existe.", "en": "Alert {id} does not exist."},
    "alert.window": {
        "es": "Ventana: {start} a {end} ({hours} h anómalas)",
        "en": "Window: {start} to {end} ({hours} anomalous hours)",
    },
    "alert.reported": {"es": "Energía reportada (ventana)", "en": "Reported energy (window)"},
    "alert.expected": {"es": "Energía esperada (ventana)", "en": "Expected energy (window)"},
    "alert.missing": {"es": "Faltante en la ventana", "en": "Missing in the window"},
    "alert.missing_flagged": {
        "es": "Pérdida estimada: {kwh} kWh en sus {hours} h anómalas",
        "en": "Estimated loss: {kwh} kWh in its {hours} anomalous hours",
    },
    "alert.ratio": {"es": "Reactiva / activa", "en": "Reactive / active"},
    "alert.voltage_fa": {"es": "Tensión fase A", "en": "Phase A voltage"},
    "alert.voltage_fc": {"es": "Tensión fase C", "en": "Phase C voltage"},
    "alert.before": {"es": "4 semanas antes: {value}", "en": "4 weeks before: {value}"},
    "alert.open_customer": {"es": "Ver cliente en Consumo", "en": "Show customer in Consumption"},
    "alert.close": {"es": "Cerrar", "en": "Close"},
    "login.title": {"es": "meterwatch · Ingreso", "en": "meterwatch · Log in"},
    "login.user": {"es": "Usuario", "en": "User"},
    "login.password": {"es": "Contraseña", "en": "Password"},
    "login.submit": {"es": "Ingresar", "en": "Log in"},
    "login.failed": {"es": "Usuario o contraseña incorrectos.", "en": "Wrong user or password."},
    "login.wait": {
        "es": "Demasiados intentos fallidos: espere {seconds} s antes de volver a intentarlo.",
        "en": "Too many failed attempts: wait {seconds} s before trying again.",
    },
    "feedback.signed_in": {"es": "Registrado como {user}", "en": "Recorded as {user}"},
    "feedback.title": {"es": "Registrar inspección", "en": "Record inspection"},
    "feedback.status": {"es": "Resultado", "en": "Outcome"},
    "feedback.note": {"es": "Nota", "en": "Note"},
    "feedback.author": {"es": "Su nombre", "en": "Your name"},
    "feedback.save": {"es": "Guardar", "en": "Save"},
    "feedback.saved": {
        "es": "Guardado: {status} por {author}.",
        "en": "Saved: {status} by {author}.",
    },
    "feedback.need_author": {
        "es": "Escriba su nombre para guardar.",
        "en": "Type your name to save.",
    },
    "feedback.history": {"es": "Historial de inspección", "en": "Inspection history"},
    "feedback.none": {"es": "Sin registros todavía.", "en": "No records yet."},
    "kpi.model.xgboost": {
        "es": "modelo del cliente (retenido 20 %)",
        "en": "the customer's model (held-out 20 %)",
    },
    "kpi.model.sector_profile": {
        "es": "perfil de su sector (historia corta)",
        "en": "its sector's profile (short history)",
    },
    "feedback.learning": {
        "es": "Mientras la alerta no sea una falsa alarma, el modelo no aprende de estas horas. Si la inspección concluye «falsa alarma», el próximo entrenamiento las tomará como consumo normal del cliente.",
        "en": "Unless the alert is a false alarm, the model does not learn from these hours. If the inspection concludes «false alarm», the next training takes them as the customer's normal consumption.",
    },
    "quality.title": {"es": "Calidad de datos por cliente", "en": "Data quality per customer"},
    "quality.hint": {
        "es": "Completitud = lecturas recibidas / horas entre la primera y la última lectura.",
        "en": "Completeness = readings received / hours between the first and the last reading.",
    },
    "quality.findings": {"es": "Hallazgos de {client}", "en": "Findings for {client}"},
    "quality.findings_all": {
        "es": "Hallazgos (todos los clientes)",
        "en": "Findings (all customers)",
    },
    "quality.quarantine": {
        "es": "Filas rechazadas (cuarentena)",
        "en": "Rejected rows (quarantine)",
    },
    "quality.no_quarantine": {"es": "Ninguna fila rechazada.", "en": "No rejected rows."},
    "quality.summary": {
        "es": "{customers} clientes · {dups} duplicados · {quarantined} filas en cuarentena · última lectura {last}",
        "en": "{customers} customers · {dups} duplicated · {quarantined} quarantined rows · last reading {last}",
    },
    "empty_lake": {
        "es": "El lago de datos está vacío. Ingrese lecturas con `meterwatch ingest`.",
        "en": "The lake is empty. Ingest readings with `meterwatch ingest`.",
    },
    "language": {"es": "Idioma", "en": "Language"},
}
