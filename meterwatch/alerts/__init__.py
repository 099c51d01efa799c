"""Alerts: the policy (scores to ranked alerts), their words and where they are delivered.

- :mod:`~meterwatch.alerts.policy`: flagged hours to events to alert rows, merged across runs;
  each row stores its kind and evidence as codes and parameters, never sentences.
- :mod:`~meterwatch.alerts.render`: an alert's evidence, kind, severity and the operator export,
  written from those codes in the reader's language (:mod:`meterwatch.texts`).
- :mod:`~meterwatch.alerts.notification`: the message recipients read (subject and body).
- :mod:`~meterwatch.alerts.sinks`: where a scoring run delivers its alerts (outbox, console,
  any publisher of rendered messages such as the SNS topic's adapter).
"""
