"""Dramatiq actors of the workflow engine (thin: they call engine.workflow.outbox).

Importing this module installs the engine's dispatcher, so that the engine
(which never imports dramatiq) can enqueue after its database writes.
Actors take ids, not objects.
"""

from __future__ import annotations

import dramatiq

from engine import wiring
from engine.workflow import dispatch, outbox, timers

QUEUE = "workflow"


# Well inside the operation's claim (outbox.CLAIM_SECONDS): a performer still running when its claim
# lapsed could meet a second one.
OPERATION_TIME_LIMIT_MS = (outbox.CLAIM_SECONDS - 30) * 1000


# Backoff between attempts of a failing operation: dramatiq doubles it each retry.
@dramatiq.actor(
    queue_name=QUEUE,
    max_retries=50,
    min_backoff=outbox.MIN_BACKOFF_MS,
    max_backoff=outbox.MAX_BACKOFF_MS,
    time_limit=OPERATION_TIME_LIMIT_MS,
)
def perform_operation(outbox_id: str) -> None:
    """Perform a service task's operation and complete the task (retried with backoff on failure)."""
    outbox.perform(outbox_id)


@dramatiq.actor(queue_name=QUEUE, max_retries=20, min_backoff=500, max_backoff=60_000)
def fire_timer(timer_id: str) -> None:
    """Fire a due timer event (a timer no longer waiting is ignored). Kept for messages sent before
    the scheduler sent batches."""
    outbox.fire(timer_id)


@dramatiq.actor(queue_name=QUEUE, max_retries=20, min_backoff=500, max_backoff=60_000)
def fire_timers(timer_ids: str) -> None:
    """Fire a batch of due timers (comma-separated ids); retried whole if any failed (fired ones are skipped)."""
    outcomes = timers.fire_batch(timer_ids.split(","))
    failed = [tid for tid, outcome in outcomes.items() if outcome == "error"]
    if failed:
        raise outbox.RetryLater(
            f"{len(failed)} of {len(outcomes)} timers could not fire: {', '.join(failed[:5])}"
        )


ACTORS: dict[str, dramatiq.Actor] = {
    "perform_operation": perform_operation,
    "fire_timer": fire_timer,
    "fire_timers": fire_timers,
}


def ensure_broker(url: str | None) -> None:
    """Set up the real broker for `url` unless one is already set up (the scheduler's entry)."""
    from dramatiq.brokers.stub import StubBroker

    from workers.broker import setup_broker

    if url and isinstance(dramatiq.get_broker(), StubBroker):
        setup_broker(url)


def _dispatch(kind: str, object_id: str, delay_ms: int) -> None:
    ACTORS[kind].send_with_options(args=(object_id,), delay=delay_ms or None)


wiring.wire()  # the operations this worker performs, and the events they raise
dispatch.set_dispatcher(_dispatch)
