"""Start-up wiring: what a process connects before it serves anything.

Lower layers say what happened or what they need without naming the modules above them (layers
import only downward, docs/ARCHITECTURE.md); this module, the composition root, connects them. Every
process calls `wire()` at start: the web app (web/app.py create_app), a worker
(workers/broker.py setup_from_environment), the scheduler (engine/cli.py), and the test suite's
settings fixture. It is idempotent.

  - service-task operations: importing engine.services.intake.intake_operations registers them
    (engine.workflow.operations), so deploy and the worker know them;
  - domain events (engine.events): re-consent listens for published form versions, the intake for
    completed acknowledgements;
  - completion listeners (engine.workflow.runtime): an intake's completion is a webhook event.
"""

from __future__ import annotations

import importlib

from engine import events
from engine.services.intake import (
    intake,
    intake_operations,  # noqa: F401 - registers the operations on import
    reconsent,
)
from engine.workflow import runtime


def wire() -> None:
    """Connect events, listeners and operations (safe to call again)."""
    events.subscribe(events.FormVersionPublished, reconsent.form_version_published)
    events.subscribe(events.TaskCompleted, intake.task_completed)
    if intake.intake_completed not in runtime.COMPLETION_LISTENERS:
        runtime.COMPLETION_LISTENERS.append(intake.intake_completed)


def wire_broker(url: str | None) -> None:
    """The scheduler's broker: the workers' dispatcher, so that the engine's sends reach the broker.

    Imported by name, not by an import statement: engine/ never imports dramatiq (workers/ does), and
    only the processes that send wake-ups without being a worker (the scheduler) need it."""
    importlib.import_module("workers.workflow").ensure_broker(url)
