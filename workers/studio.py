"""Studio actor: execute a migration run (engine.services.processes.migration.execute_run) off the web process.

A web request only records the run and sends this message, so a web worker that dies mid-way loses
nothing. A worker killed mid-run leaves the run "running" with a stale heartbeat: the broker's
redelivery, or the worker sweep (workers/sweeps.py), resumes it where it stopped.
"""

from __future__ import annotations

import logging

import dramatiq

from engine.errors import NotFound
from engine.services.processes import migration

log = logging.getLogger(__name__)


# Conflict (another executor beats on the run) raises, so dramatiq retries until that executor finished
# or is seen dead (migration.STALLED_AFTER).
@dramatiq.actor(
    queue_name="studio", max_retries=20, min_backoff=15_000, max_backoff=120_000, time_limit=6 * 3600 * 1000
)
def run_migration(run_id: str) -> None:
    """Move the run's instances (or resume a stalled run); a finished, failed or missing run is left."""
    try:
        migration.execute_run(run_id)
    except NotFound:
        log.warning("migration run %s no longer exists", run_id)


def resume_stalled() -> int:
    """Send a message for every run whose executor died; returns how many."""
    stalled = migration.stalled_runs()
    for run_id in stalled:
        run_migration.send(run_id)
    return len(stalled)
