"""Domain events: a lower layer says what happened; a higher one that cares subscribes.

This is how a lower module reaches a use case above it without importing it (layers import only
downward): publishing a form version (engine.services.forms.forms) announces `FormVersionPublished`, and
re-consent (engine.services.intake.reconsent) subscribes to it. Handlers run synchronously, in the
emitter's thread and in subscription order, so a handler's failure reaches the emitter as it did
when the emitter called it directly. Subscriptions are made at start-up (engine.wiring).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

E = TypeVar("E")

_handlers: dict[type, list[Callable[[Any], object]]] = defaultdict(list)


@dataclass(frozen=True)
class FormVersionPublished:
    """A form version was published. `actor`: who published it (engine.authz.Actor);
    `version`: the new engine.models.forms.FormVersion."""

    actor: Any
    version: Any


@dataclass(frozen=True)
class TaskCompleted:
    """Someone completed a human task through the inbox. `row`: the task row as it was when it was
    completed; `answers`: what the task was completed with."""

    row: dict
    answers: dict


def subscribe(event_type: type[E], handler: Callable[[E], object]) -> None:
    """Call `handler(event)` for every event of `event_type` (subscribing the same handler twice
    is a no-op, so start-up code may run again)."""
    handlers = _handlers[event_type]
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event_type: type, handler: Callable) -> None:
    """Stop calling `handler` (a no-op if it was not subscribed)."""
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def emit(event: object) -> list:
    """Call every handler of the event's type, in subscription order; returns their results.
    A handler's exception propagates to the emitter (the remaining handlers are not called)."""
    return [handler(event) for handler in list(_handlers.get(type(event), ()))]
