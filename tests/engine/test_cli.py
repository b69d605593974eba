"""The `portico` command: refusing bad production configuration, `config`, `audit verify`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine import config
from engine.authz import SYSTEM
from engine.cli import main
from engine.models.audit import AuditEvent
from engine.services.platform import audit
from tests.helpers import wait_for


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTICO_")}
    env.update(
        PORTICO_ENV="production",
        PORTICO_MONGODB_URI="mongodb://127.0.0.1:9/portico",
        PORTICO_BROKER_URL="redis://127.0.0.1:9/0",
        PORTICO_SMTP_URL="smtp://127.0.0.1:9",
    )
    env.update(extra)
    return env


@pytest.mark.parametrize("command", ["web", "worker", "scheduler"])
def test_production_without_secret_key_refuses_with_one_line(command):
    """Does each production process refuse to start without PORTICO_SECRET_KEY, saying so in one line?"""
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", command],
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PORTICO_SECRET_KEY" in lines[0], done.stderr


def test_production_with_a_short_secret_or_missing_url_refuses():
    """Are a too-short secret and a missing service URL each refused with their reason?"""
    short = subprocess.run(
        [sys.executable, "-m", "engine.cli", "web"],
        env=_production_env(PORTICO_SECRET_KEY="short"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 2 and "at least 32 characters" in short.stderr
    env = _production_env(PORTICO_SECRET_KEY="x" * 40)
    del env["PORTICO_BROKER_URL"]
    no_broker = subprocess.run(
        [sys.executable, "-m", "engine.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert no_broker.returncode == 2 and "PORTICO_BROKER_URL" in no_broker.stderr


def test_config_lists_every_variable_and_hides_secrets(monkeypatch, capsys):
    """Does `portico config` list every PORTICO_* variable without printing secrets?"""
    monkeypatch.setenv("PORTICO_SECRET_KEY", "very-secret-value-0123456789-abcdefgh")
    monkeypatch.setenv("PORTICO_SMTP_URL", "smtp://mailer:hunter2@relay.example:587?starttls=1")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in config.VARIABLES)
    assert "very-secret-value" not in out and "hunter2" not in out
    assert "smtp://mailer:***@relay.example:587" in out


def test_audit_verify_names_the_first_tampered_row(settings, clean_db, capsys):
    """Does `portico audit verify` pass an intact chain and exit 1 naming the first edited row?"""
    for n in range(3):
        audit.record(SYSTEM, "client_record_viewed", client=f"client-{n}")
    try:
        assert main(["audit", "verify"]) == 0
        assert capsys.readouterr().out.strip() == "ok 3 rows"
        AuditEvent._get_collection().update_one({"seq": 2}, {"$set": {"client_id": "someone-else"}})
        assert main(["audit", "verify"]) == 1
        assert "seq=2" in capsys.readouterr().out
    finally:
        config.install(settings)


README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_table_matches_the_config_module():
    """Does the README's configuration table list exactly the variables, defaults and meanings of engine.config?"""
    rows = re.findall(r"^\| `(PORTICO_\w+)` \| (.*?) \| (.*?) \|$", README.read_text(), flags=re.M)
    documented = {
        name: (None if default == "—" else default.strip("`"), meaning) for name, default, meaning in rows
    }
    assert documented == {name: (default, meaning) for name, (default, meaning) in config.VARIABLES.items()}


def test_readme_quick_start_is_the_two_dev_commands():
    """Is the Quick start one fenced block holding exactly `./dev demo` and `./dev test`?"""
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.S)
    assert blocks == ["./dev demo\n./dev test\n"]


@pytest.mark.timeout(300)
def test_scheduler_command_deploys_the_shipped_processes_and_stops_on_sigterm(clean_db, settings):
    """Does `portico scheduler` run its start-up work (the shipped forms and BPMN, wired by the command,
    not named by the scheduler) and stop cleanly on SIGTERM?"""
    import signal

    from engine.models.workflow import ProcessDefinition

    env = {
        **os.environ,
        "PORTICO_MONGODB_URI": settings.mongodb_uri,
        "PORTICO_BROKER_URL": settings.broker_url,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def deployed() -> bool:
            assert proc.poll() is None, proc.stderr.read()  # the scheduler must not have died
            return ProcessDefinition.objects(process_id="client_intake").count() > 0

        # A liveness bound for a loaded machine, not a speed check.
        wait_for(deployed, timeout=240, what="the shipped processes deployed", interval=0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    assert rc == 0, proc.stderr.read()
