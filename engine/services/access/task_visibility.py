"""Who sees which task: the audiences an actor belongs to, and the guard that loads a task row the
actor may see. Below both the inbox (engine.services.inbox.tasks) and the form-request guard
(engine.services.access.form_requests), which the seal of a task's answers goes through.
"""

from __future__ import annotations

from engine import persistence
from engine.authz import Actor, parse_id, portal_profiles
from engine.errors import NotAuthenticated, NotFound
from engine.models.clients import Client
from engine.models.workflow import ProcessVersion, Task


def actor_key(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def audiences(actor: Actor, *, used_only: bool = False) -> tuple[list[str], bool]:
    """The audience strings an actor belongs to, and whether "staff" rows are limited to assigned clients.

    used_only: leave out permissions no deployed process addresses tasks to (each key costs a query).
    """
    if actor.kind == "anonymous":
        raise NotAuthenticated()
    if actor.is_staff:
        perms = actor.permissions
        if used_only:
            perms = perms & set(ProcessVersion.objects.distinct("permissions"))
        keys = [f"staff:{actor.id}", *[f"perm:{p}" for p in sorted(perms)], "staff"]
        return keys, "clients.view_all" not in actor.permissions
    if actor.is_portal:
        keys = [f"account:{actor.id}"]
        for profile in portal_profiles(actor.account):
            cid = profile["client"].id
            if profile["relationship"] == "self" or profile["permissions"].get("forms"):
                keys.append(f"client:{cid}")
            if profile.get("is_guardian"):
                keys.append(f"guardian:{cid}")
        return keys, False
    return [], False


def assigned_clients(actor: Actor) -> list:
    """The clients a staff member is assigned to (whose "staff" tasks they see without clients.view_all)."""
    return [
        c["_id"] for c in persistence.collection(Client).find({"assigned_staff": actor.login.id}, {"_id": 1})
    ]


def visible_filter(actor: Actor, *, mine: bool = False, assigned: list | None = None):
    """Whether the actor may see a task row: its audience is one of the actor's, and a "staff" row of a
    limited staff member is for an assigned client (or none). mine: only rows the actor claimed.

    assigned: `assigned_clients(actor)` when the caller already has it (one lookup per page)."""
    if mine:
        me = actor_key(actor)
        return lambda row: row.get("claimed_by") == me
    keys, limited = audiences(actor)
    mine_keys = set(keys)
    if actor.kind == "system":
        return lambda row: True
    if not limited:
        return lambda row: row["audience"] in mine_keys
    for_clients = set(assigned_clients(actor) if assigned is None else assigned)
    return lambda row: (
        row["audience"] in mine_keys
        and (
            row["audience"] != "staff" or row.get("client_id") in for_clients or row.get("client_id") is None
        )
    )


def get_task_for(actor: Actor, task_id) -> dict:
    """A task row the actor may see. Raises NotAuthenticated or NotFound."""
    visible = visible_filter(actor)  # NotAuthenticated first, before any lookup
    # Fetched by id and judged here: the visibility rule as a filter needs a top-level `$or` (see
    # engine.persistence).
    row = persistence.collection(Task).find_one({"_id": parse_id(task_id)})
    me = actor_key(actor)
    # Completed rows stay readable by whoever completed or claimed them.
    if row is None or not (visible(row) or me in (row.get("completed_by"), row.get("claimed_by"))):
        raise NotFound("no such task")
    return row
