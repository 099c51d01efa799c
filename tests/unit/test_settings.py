"""One Settings object (pydantic-settings) is the only reader of the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from meterwatch.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_argument_beats_environment_beats_default() -> None:
    env = {"METERWATCH_LAKE": "s3://b/lake", "METERWATCH_WORKERS": "3", "METERWATCH_LANGUAGE": ""}
    settings = Settings.load(env, lake="here", language=None)
    assert (settings.lake, settings.workers, settings.language) == ("here", 3, "es")
    assert Settings().lake == "lake"  # built directly: defaults and arguments, no environment


def test_the_adapters_settings_come_from_the_same_object() -> None:
    settings = Settings.load(
        {
            "METERWATCH_SCORE_FUNCTION": "meterwatch-score",
            "METERWATCH_TRAINING_SHARD_SIZE": "25",
            "METERWATCH_DASHBOARD_SECRET": "users",
            "METERWATCH_DASHBOARD_COOKIE_SECRET": "k" * 32,
        }
    )
    assert settings.score_function == "meterwatch-score"
    assert settings.training_shard_size == 25
    assert settings.dashboard_secret == "users"
    assert "k" * 32 not in repr(settings)  # secrets stay out of logs


def test_settings_are_frozen_and_validated() -> None:
    with pytest.raises(ValueError, match="language must be 'es' or 'en'"):
        Settings.load({"METERWATCH_LANGUAGE": "fr"})
    with pytest.raises(ValueError):
        Settings.load({"METERWATCH_WORKERS": "many"})
    settings = Settings()
    with pytest.raises(ValueError):
        settings.lake = "elsewhere"  # type: ignore[misc]


def _environment_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_only_settings_reads_the_environment() -> None:
    files = [
        p
        for folder in ("meterwatch", "lambdas", "dashboard")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if p != ROOT / "meterwatch" / "settings.py"
    ]
    reads = [hit for path in files for hit in _environment_reads(path)]
    assert reads == []


def test_model_fits_use_worker_processes_only_where_the_command_opts_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The library fits in threads (a caller's unguarded script would run again in every
    spawned worker); the ``meterwatch`` command, whose main module is guarded, uses processes
    from CLI_FIT_PROCESSES_FROM fits unless the environment says otherwise."""
    from meterwatch.cli.common import CLI_FIT_PROCESSES_FROM, settings_for

    monkeypatch.delenv("METERWATCH_FIT_PROCESSES_FROM", raising=False)
    assert Settings.load().fit_processes_from == 0
    assert settings_for("lake").fit_processes_from == CLI_FIT_PROCESSES_FROM > 1
    monkeypatch.setenv("METERWATCH_FIT_PROCESSES_FROM", "0")
    assert settings_for("lake").fit_processes_from == 0


def test_dashboard_processes_one_per_core_locally_one_on_s3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import meterwatch.settings as settings_module

    monkeypatch.setattr(settings_module.os, "cpu_count", lambda: 16)
    assert Settings.load(environ={}, lake="lake").dashboard_process_count == 4  # capped
    monkeypatch.setattr(settings_module.os, "cpu_count", lambda: 2)
    assert Settings.load(environ={}, lake="lake").dashboard_process_count == 2
    # App Runner: one vCPU an instance, scaled by instances
    assert Settings.load(environ={}, lake="s3://bucket/lake").dashboard_process_count == 1
    chosen = Settings.load(environ={"METERWATCH_DASHBOARD_PROCESSES": "3"}, lake="s3://b/l")
    assert chosen.dashboard_process_count == 3
    with pytest.raises(ValueError, match="dashboard_processes"):
        Settings.load(environ={"METERWATCH_DASHBOARD_PROCESSES": "-1"})
