"""The inbox: human tasks of every process, for staff and portal accounts alike.

A task row is visible to an actor when its audience is one of the actor's
(engine.models.workflow.Task); staff see "staff" rows only for clients they
may see. Invisible tasks are NotFound. Completion validates the answers
against the form version pinned on the row (engine.forms), then runs the task and the engine steps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import events, persistence
from engine.authz import Actor, parse_id
from engine.errors import BadRequest, Conflict, ValidationFailed
from engine.forms import clean_submission, validate_submission
from engine.forms.answers import text_of
from engine.forms.catalogue import get_version
from engine.forms.sanitize import sanitize_definition
from engine.models import aware, utcnow
from engine.models.workflow import Task
from engine.services.access.task_visibility import (  # noqa: F401 - the inbox's readers use them from here
    actor_key,
    assigned_clients,
    audiences,
    get_task_for,
    visible_filter,
)
from engine.services.forms import submissions
from engine.services.inbox import task_windows
from engine.services.platform import audit
from engine.workflow import runtime, store
from engine.workflow.errors import TaskNotOpen

SCOPES = ("audience", "mine")

MAX_PER_PAGE = 100


def _form_definition(version_id: str | None) -> dict | None:
    """The task's form version as the browser renders it: HTML cleaned (older versions too)."""
    version = get_version(version_id) if version_id else None
    return sanitize_definition(version.definition) if version is not None else None


# A seal left by an attempt that died before completing its task may be replaced by different answers only
# once no request could still be completing with it: longer than a web worker may live on one request
# (gunicorn --timeout 60, engine/cli.py).
REPLACE_ABANDONED_SEAL_AFTER = timedelta(minutes=2)


def _seal(actor: Actor, row: dict, data: dict, *, version=None, audit_to: list | None = None):
    """Client and guardian forms are signed records: seal a submission (files move to GridFS) and put
    its answers (file references, not data URLs) under `form_answers`, with `submission_id`, into task
    data — namespaced, so a question named like a process variable cannot overwrite it.

    One task, one sealed submission: a retry of the same answers reuses the seal of an attempt that died
    before completing the task; other answers replace it only once it is abandoned (and provably unused).
    `version`: the pinned form version, already read; the seal's audit entry goes to `audit_to`.
    Returns (task data, submission). Raises NotFound, Conflict (already_sealed)."""
    key = f"task:{row['_id']}"

    def seal():
        return submissions.complete(
            actor,
            row["client_id"],
            row["form_key"],
            data,
            context=key,
            version_id=row.get("form_version_id"),
            seal_key=key,
            version=version,
            audit_to=audit_to,
        )

    try:
        sub = seal()
    except Conflict as exc:
        if exc.code != "already_sealed" or runtime.task_completion(row["instance_id"], row["task_id"]):
            raise
        if not submissions.supersede(actor, key, sealed_before=utcnow() - REPLACE_ABANDONED_SEAL_AFTER):
            raise
        sub = seal()
    return {"form_answers": sub.answers, "submission_id": str(sub.id)}, sub


def _complete_sealed(actor: Actor, row: dict, answers: dict, sub, me: str, also: list, sealed: list) -> None:
    """Complete the task with its seal; a seal the task turned out not to take is superseded (it is
    nobody's answers), unless a racing retry of the same answers completed the task with it.

    `sealed`: the seal's audit entries, committed with the completion; if the completion fails they
    are committed on their own (the seal happened: a retry reuses it without recording it again)."""
    try:
        runtime.complete_task(row["instance_id"], row["task_id"], answers, by=me, also=[*sealed, *also])
    except BaseException as exc:
        audit.commit_entries(sealed)
        if isinstance(exc, TaskNotOpen):
            done = runtime.task_completion(row["instance_id"], row["task_id"])
            if not done or done.get("details", {}).get("submission") != str(sub.id):
                submissions.supersede(actor, f"task:{row['_id']}", sub.id)
        raise


def inbox_queries(
    actor: Actor,
    *,
    scope: str = "audience",
    client_id=None,
    status: str = "open",
    due_before: datetime | None = None,
    assigned: list | None = None,
    instance_id=None,
    match: dict | None = None,
) -> list[dict]:
    """The filters behind an inbox page: each an equality on a declared index's leading fields.

    One filter per audience key (not one `$in`), because a key equality keeps the index bounds
    narrow on every engine (engine.persistence, "`$in` with a range").
    "mine" is what the actor claimed; a task for one named staff member is claimed by them
    from the start. `match`: further equalities (form_key, lane) every filter carries.
    """
    if instance_id or client_id:
        # One instance's or one client's tasks are few: their index bounds them; inbox() keeps the visible ones.
        one: dict = {"status": status}
        if instance_id:
            one["instance_id"] = parse_id(instance_id)
        if client_id:
            one["client_id"] = parse_id(client_id)
        filters = [one]
    elif scope == "mine":
        filters = [{"status": status, "claimed_by": actor_key(actor)}]
    else:
        keys, limited = audiences(actor, used_only=True)
        filters = [{"status": status, "audience": k} for k in keys if not (limited and k == "staff")]
        if limited:
            # "staff" rows of assigned clients (or of none) only: the index on (status, audience, client_id)
            # bounds them to those clients' entries.
            assigned = assigned_clients(actor) if assigned is None else assigned
            filters.append({"status": status, "audience": "staff", "client_id": {"$in": [*assigned, None]}})
    for f in filters:
        f.update(match or {})
        if due_before:
            f["due_at"] = {"$lte": due_before}
    return filters


def inbox(
    actor: Actor,
    *,
    scope: str = "audience",
    client_id=None,
    status: str = "open",
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    process_instance_id=None,
    form_key: str | None = None,
    lane: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> dict:
    """One page of the actor's tasks, soonest due first, narrowed by the filters given.

    Raises BadRequest, NotAuthenticated."""
    if scope not in SCOPES:
        raise BadRequest(f"scope must be one of {', '.join(SCOPES)}")
    if status not in ("open", "completed", "closed"):
        raise BadRequest("status must be open, completed or closed")
    page, per_page = max(1, int(page)), max(1, min(MAX_PER_PAGE, int(per_page)))
    need = page * per_page + 1
    found: dict = {}
    limited = actor.is_staff and "clients.view_all" not in actor.permissions
    narrowed = client_id or process_instance_id
    filtered_scope = narrowed or (limited and scope != "mine")
    assigned = assigned_clients(actor) if limited and scope != "mine" else None
    visible = visible_filter(actor, mine=scope == "mine", assigned=assigned) if filtered_scope else None
    after = aware(due_after) if due_after is not None else None

    def in_range(row: dict) -> bool:
        # The windows (task_windows) own the due_at bound of each query; the lower bound is judged here.
        return after is None or (row.get("due_at") is not None and aware(row["due_at"]) >= after)

    match = {k: v for k, v in (("form_key", form_key), ("lane", lane)) if v}
    for query in inbox_queries(
        actor,
        scope=scope,
        client_id=client_id,
        status=status,
        assigned=assigned,
        instance_id=process_instance_id,
        match=match,
    ):
        check = visible if visible is not None and ("client_id" in query or "instance_id" in query) else None
        keep = (
            (lambda r, c=check: c(r) and in_range(r))
            if check is not None
            else (in_range if after is not None else None)
        )
        for row in task_windows.first_rows(query, need, keep, due_before):
            found[row["_id"]] = row
    ordered = sorted(found.values(), key=task_windows.sort_key)
    rows = ordered[(page - 1) * per_page : page * per_page + 1]
    forms: dict = {}
    items = [shape(r, forms=forms) for r in rows[:per_page]]
    # A page is read often: its audit entry is chained later (one insert, no head read).
    audit.record_pending(
        actor,
        "task_list_viewed",
        client=client_id,
        object_type="task",
        details={"scope": scope, "status": status, "page": page, "shown": len(items)},
    )
    return {"items": items, "page": page, "per_page": per_page, "has_more": len(rows) > per_page}


def _prefill(row: dict, definition: dict | None) -> dict:
    """Answers already known: task data values named like the form's questions."""
    if not definition or row.get("status") != "open":
        return {}
    doc = store.instances().find_one({"_id": row["instance_id"]}, {"history": 0})
    if doc is None:
        return {}
    task = store.restore(doc).get_task_from_id(_uuid(row["task_id"]))
    names = set(_question_names(definition))
    return {k: v for k, v in (task.data if task else {}).items() if k in names}


def _uuid(value):
    from uuid import UUID

    return UUID(value)


def _question_names(node) -> list[str]:
    names = []
    if isinstance(node, dict):
        if "name" in node and "type" in node:
            names.append(node["name"])
        for key in ("pages", "elements", "templateElements"):
            for child in node.get(key) or []:
                names.extend(_question_names(child))
    return names


def shape(row: dict, *, forms: dict | None = None, prefill: bool = False) -> dict:
    """The API shape of a task (web/api/tasks.py TaskOut)."""
    forms = {} if forms is None else forms
    vid = row.get("form_version_id")
    if vid and vid not in forms:
        forms[vid] = _form_definition(vid)
    definition = forms.get(vid) if vid else None
    return {
        "id": str(row["_id"]),
        "name": row["name"],
        "lane": row.get("lane") or "",
        "status": row["status"],
        "client_id": str(row["client_id"]) if row.get("client_id") else None,
        "process_instance_id": str(row["instance_id"]),
        "process_id": row["process_id"],
        "form_key": row.get("form_key"),
        "role": row.get("role"),
        "form": definition,
        "submitted_forms": list(row.get("submitted_forms") or []),
        "prefill": _prefill(row, definition) if prefill else {},
        "audience": row["audience"],
        "due_at": row.get("due_at"),
        "claimed_by": row.get("claimed_by"),
        "created_at": row.get("created_at"),
        "completed_at": row.get("completed_at"),
        "completed_by": row.get("completed_by"),
    }


# What a task with a role is called in lists, from the form it concerns ({form}: its title).
_ROLE_TITLES = {"acknowledgement": "Review {form}", "revision": "Revise {form}", "approval": "Approve {form}"}


def titles(items: list[dict]) -> dict[str, str]:
    """task id -> what people call the task in a list: "Review Client information" for a staff
    acknowledgement, the BPMN task's name with its form's title for a form task, else its name."""
    from engine.models.forms import FormDefinition

    keys = {k for t in items for k in [*(t.get("submitted_forms") or []), t.get("form_key")] if k}
    forms = {d.key: d.title for d in FormDefinition.objects(key__in=sorted(keys)).only("key", "title")}
    out = {}
    for t in items:
        # An acknowledgement or approval names the forms it concerns; a revision is its own form.
        concerned = [forms.get(k, "a form") for k in t.get("submitted_forms") or [t.get("form_key")] if k]
        if t.get("role") in _ROLE_TITLES and concerned:
            form = concerned[0] if len(concerned) == 1 else f"{len(concerned)} forms"
            out[t["id"]] = _ROLE_TITLES[t["role"]].format(form=form)
        elif (
            t.get("role") is None
            and t.get("lane") != "staff"
            and (t.get("form") or t.get("form_key") in forms)
        ):
            # The pinned version's own title first: what the client sees at the top of the form.
            out[t["id"]] = (
                text_of((t.get("form") or {}).get("title")) or forms.get(t["form_key"]) or t["name"]
            )
        else:
            out[t["id"]] = t["name"]
    return out


def read_task(actor: Actor, task_id) -> dict:
    """One task with its form and prefilled answers (an audited read of client data). Raises NotFound."""
    return shape(read_task_row(actor, task_id), prefill=True)


def read_task_row(actor: Actor, task_id) -> dict:
    """A task row the actor may see, its read audited (for pages that show more of it). Raises NotFound."""
    row = get_task_for(actor, task_id)
    audit.record(actor, "task_viewed", client=row.get("client_id"), object_type="task", object_id=row["_id"])
    return row


def claim(actor: Actor, task_id) -> dict:
    """Claim an open task for the actor. Raises NotFound, TaskNotOpen, Conflict (claimed by someone else)."""
    row = get_task_for(actor, task_id)
    if row["status"] != "open":
        raise TaskNotOpen("this task is not open any more")
    me = actor_key(actor)
    updated = persistence.update_then_read(
        persistence.collection(Task),
        {"_id": row["_id"], "status": "open", "claimed_by": {"$in": [None, me]}},
        {"$set": {"claimed_by": me}},
    )
    if updated is None:
        raise Conflict("someone else claimed this task")
    audit.record(actor, "task_claimed", client=row.get("client_id"), object_type="task", object_id=row["_id"])
    return shape(updated)


def complete(actor: Actor, task_id, data: dict) -> dict:
    """Validate `data` against the task's form and complete it.

    Raises NotFound, ValidationFailed (422, details by question), TaskNotOpen (409),
    Conflict (claimed by someone else; already_sealed: other answers were just signed), InstanceBusy.
    """
    if not isinstance(data, dict):
        raise ValidationFailed("data must be an object", details={"data": ["must be an object"]})
    row = get_task_for(actor, task_id)
    me = actor_key(actor)
    if row["status"] != "open":
        raise TaskNotOpen("this task is not open any more")
    if row.get("claimed_by") not in (None, me):
        raise Conflict("someone else claimed this task")
    # The pinned version is read once per request: validation, the seal and the answer use it.
    version = get_version(row["form_version_id"]) if row.get("form_version_id") else None
    definition = version.definition if version is not None else None
    answers: dict = {}
    sub = None
    sealed: list = []
    if definition is not None:
        errors = validate_submission(definition, data)
        if errors:
            raise ValidationFailed("some answers are invalid", details=errors)
        answers = clean_submission(definition, data)
        if row.get("lane") in ("client", "guardian") and row.get("client_id") and row.get("form_key"):
            answers, sub = _seal(actor, row, data, version=version, audit_to=sealed)
    # Its audit entries are committed with the completion itself (chained by the worker's sweep).
    also = [
        audit.entry(
            actor,
            "task_completed",
            client=row.get("client_id"),
            object_type="task",
            object_id=row["_id"],
            # A done row has no spec name (one read just as it was completed, say).
            details={"process_id": row["process_id"], "task": row.get("spec_name", "")},
        )
    ]
    if sub is None:
        runtime.complete_task(row["instance_id"], row["task_id"], answers, by=me, also=also)
    else:
        _complete_sealed(actor, row, answers, sub, me, also, sealed)
    events.emit(events.TaskCompleted(row=row, answers=answers))  # an acknowledgement's decision is a webhook
    forms = {row["form_version_id"]: sanitize_definition(definition)} if definition is not None else {}
    return shape(dict(row, status="completed", completed_at=utcnow(), completed_by=me), forms=forms)


__all__ = ["audiences", "claim", "complete", "get_task_for", "inbox", "shape"]
