"""The seam between the engine and the broker: engine code asks for work, workers/ sends it.

engine/ never imports dramatiq; workers/workflow.py installs a dispatcher at
import. Messages go out only after the database write they follow succeeded,
and a failed send is harmless: the scheduler's sweep relays whatever the
database says is still due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

Dispatcher = Callable[[str, str, int], None]  # (kind, object id, delay ms)
RESEND_SECONDS = 60.0  # a wake-up not acted on this long after it was due is sent again (then less often)


def resend_at(due: datetime, sends: int, resend: float | None = None) -> datetime:
    """When to send a wake-up again if nothing acted on it: after `resend` seconds, doubling each time."""
    base = RESEND_SECONDS if resend is None else resend
    return due + timedelta(seconds=min(3600.0, base * 2 ** max(0, sends - 1)))


_dispatcher: Dispatcher | None = None


def set_dispatcher(fn: Dispatcher | None) -> None:
    global _dispatcher
    _dispatcher = fn


def installed() -> bool:
    return _dispatcher is not None


def send(kind: str, object_id, delay_ms: int = 0) -> bool:
    """Ask for `kind` ("perform_operation" | "fire_timer" | "fire_timers" | "deliver_webhook" |
    "deliver_mail") on `object_id`.

    False if not sent now."""
    if _dispatcher is None:
        return False
    try:
        _dispatcher(kind, str(object_id), max(0, int(delay_ms)))
        return True
    except Exception:  # broker down: the sweep relays it later
        log.warning("could not enqueue %s %s; the scheduler will retry", kind, object_id, exc_info=True)
        return False
