"""The registry of service-task operations: name -> engine callable.

A BPMN service task names its operation (`<spiffworkflow:serviceTaskOperator
id="send_email">`); deploy refuses unknown names. Each area registers its own
operations where it defines them, and engine.wiring imports that module at start:

    from engine.workflow.operations import operation

    @operation("send_email")
    def send_email(*, params: dict, key: str, instance_id: str, task_id: str) -> dict | None: ...

`key` (instance id:task id) is the idempotency key: an operation that has an
outside effect (mail, charge) must make a second call with the same key a no-op.
Whatever it returns (JSON-able) becomes the task's result variable.
An operation that cannot succeed however often it is retried raises
`OperationFailed(permanent=True)`; one whose effect another worker is producing right now (a mail
being sent) raises `OperationBusy`, which waits without spending an attempt; any other exception is
retried with backoff.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.errors import NotFound

Operation = Callable[..., object]
_REGISTRY: dict[str, Operation] = {}
# Operations the product ships; their implementations land with the areas that own them.
KNOWN_NAMES = ("send_email", "render_packet_pdf", "file_document", "charge_payment", "notify_staff")


class OperationFailed(Exception):
    """An operation failed; `permanent` skips the remaining retries."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class OperationBusy(Exception):
    """Someone else is producing this operation's effect right now: try again after `retry_after`
    seconds. Not a failure: it spends none of the operation's attempts."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


def operation(name: str) -> Callable[[Operation], Operation]:
    """Decorator registering `fn` as the operation `name` (re-registering replaces it)."""

    def register(fn: Operation) -> Operation:
        _REGISTRY[name] = fn
        return fn

    return register


def register(name: str, fn: Operation) -> None:
    _REGISTRY[name] = fn


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def known(name: str) -> bool:
    """Whether deploy accepts a service task naming `name`."""
    return name in _REGISTRY or name in KNOWN_NAMES


def get(name: str) -> Operation:
    """The callable for `name`. Raises NotFound when nothing is registered (yet)."""
    if name not in _REGISTRY:
        raise NotFound(f"no implementation registered for operation {name!r}")
    return _REGISTRY[name]


def names() -> list[str]:
    return sorted(set(_REGISTRY) | set(KNOWN_NAMES))
