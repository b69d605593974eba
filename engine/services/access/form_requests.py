"""Which forms a portal account may open, save and submit: those an open task of theirs asks for.

Staff send forms (an intake packet, one form request, a re-consent, a guardian's approval); each
is an open client- or guardian-lane task naming the form. A client or contact reaches a form only through
such a task: the forms API's `context` names it ("task:<id>"), and its answers are submitted by
completing the task (engine.services.inbox.tasks), never as a free-standing submission. Staff and the
system are not limited here (the client guard decides for them).
"""

from __future__ import annotations

from engine import persistence
from engine.authz import Actor, parse_id
from engine.errors import NotFound
from engine.models.forms import FormDefinition
from engine.models.organization import Organization
from engine.models.workflow import Task
from engine.services.access.task_visibility import get_task_for

TASK_CONTEXT = "task:"
PORTAL_LANES = ("client", "guardian")


def in_packet_order(rows: list[dict], *, instance: str = "instance_id") -> list[dict]:
    """Form rows (tasks, outstanding forms) in the order the practice's packet lists their forms.

    A packet's tasks become ready in one step, so their due dates tie and the store's order among them
    is arbitrary: the packet's order is the one staff chose, and the client should meet it everywhere.
    Earlier intakes come first (ids grow with time); forms outside the packet keep their place after it.
    """
    position = {key: i for i, key in enumerate(Organization.get().portal.intake_packet)}
    return sorted(
        rows, key=lambda r: (str(r.get(instance) or ""), position.get(r.get("form_key"), len(position)))
    )


def outstanding(client_id, *, instance_id=None) -> list[dict]:
    """Open portal form tasks of the client's intakes: [{"task_id", "form_key", "title", "instance_id"}]."""
    query: dict = {
        "client_id": client_id,
        "status": "open",
        "lane": {"$in": list(PORTAL_LANES)},
        "form_key": {"$ne": None},
    }
    if instance_id is not None:
        query["instance_id"] = instance_id
    rows = list(persistence.collection(Task).find(query).sort("created_at", 1))
    titles = {
        f.key: f.title
        for f in FormDefinition.objects(key__in=[r["form_key"] for r in rows]).only("key", "title")
    }
    return in_packet_order(
        [
            {
                "task_id": str(r["_id"]),
                "form_key": r["form_key"],
                "title": titles.get(r["form_key"], r["form_key"]),
                "instance_id": str(r["instance_id"]),
                "lane": r["lane"],
            }
            for r in rows
        ]
    )


def _not_asked() -> NotFound:
    return NotFound("this form was not asked of you")


def require_request(actor: Actor, client_id, form_key: str, context: str) -> None:
    """Let a portal account through only when `context` names an open task of theirs asking for
    `form_key` for this client. Raises NotFound (nothing about the form or the task is told)."""
    if not actor.is_portal:
        return
    if not isinstance(context, str) or not context.startswith(TASK_CONTEXT):
        raise _not_asked()
    row = get_task_for(actor, context.removeprefix(TASK_CONTEXT))
    if (
        row.get("status") != "open"
        or row.get("lane") not in PORTAL_LANES
        or row.get("form_key") != form_key
        or row.get("client_id") != parse_id(client_id)
    ):
        raise _not_asked()


def open_request_id(actor: Actor, client_id, form_key: str) -> str:
    """The id of the oldest open task of the actor's asking for `form_key` for the client.
    Raises NotFound."""
    for item in outstanding(parse_id(client_id)):
        if item["form_key"] != form_key:
            continue
        try:
            require_request(actor, client_id, form_key, TASK_CONTEXT + item["task_id"])
        except NotFound:
            continue  # e.g. a guardian's task, which the client herself may not see
        return item["task_id"]
    raise _not_asked()
