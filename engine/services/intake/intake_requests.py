"""Closing what staff asked of a client without a submission: cancel a whole intake, cancel one
requested form, or count an uploaded paper form as the answer to one.

Each goes through the intake's workflow, never around it: a whole intake is cancelled as an
instance (its open tasks, reminder timer and pending mails end with it), and one form's task is run
to its end with `closed_requests` saying why (client_intake.bpmn leaves such forms out of review and
filing). The inbox row is closed, not deleted: it keeps the outcome and the reason, and so does the
instance's history and the audit trail. Staff need `portal.invite`; paper uploads also need
`client_documents.upload`.
"""

from __future__ import annotations

from bson import ObjectId

from engine import persistence
from engine.authz import Actor, get_client_for, parse_id
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models.clients import Client
from engine.models.documents import Document
from engine.models.forms import FormDefinition
from engine.models.workflow import ProcessInstance, Task
from engine.services.access.form_requests import PORTAL_LANES
from engine.services.clients import documents
from engine.services.intake.intake import INVITE, PROCESS
from engine.services.platform import audit
from engine.workflow import runtime

REASON_MAX = 500
TASKS = persistence.collection_name(Task)
OUTCOMES = {"cancelled": "Cancelled", "paper": "Answered on paper"}


def _reason(reason) -> str:
    text = (reason or "").strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed("say why", details={"reason": ["a reason is required"]})
    if len(text) > REASON_MAX:
        raise ValidationFailed(
            "the reason is too long", details={"reason": [f"at most {REASON_MAX} characters"]}
        )
    return text


def _by(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def _marking(instance_id, task_ids: list[str], outcome: str, **fields) -> persistence.Write:
    """The write that notes on the rows the step closes how they ended (committed with the step, after
    the projection's own write has closed them)."""
    return (
        TASKS,
        "update_many",
        {
            "filter": {"instance_id": instance_id, "task_id": {"$in": task_ids}},
            "update": {"$set": {"closed_as": outcome, **fields}},
        },
    )


def _intake_for(actor: Actor, instance_id) -> tuple[dict, Client]:
    doc = persistence.collection(ProcessInstance).find_one(
        {"_id": parse_id(instance_id), "process_id": PROCESS}, {"client_id": 1, "status": 1}
    )
    if doc is None or doc.get("client_id") is None:
        raise NotFound("no such intake")
    return doc, get_client_for(actor, doc["client_id"], need=INVITE)


def cancel_intake(actor: Actor, instance_id, reason) -> dict:
    """Cancel a whole intake (or a single form's request) with a reason: its open forms leave the
    client's list and its reminders stop. Raises NotFound, Forbidden, ValidationFailed, Conflict
    (already finished)."""
    doc, client = _intake_for(actor, instance_id)
    text = _reason(reason)
    return _cancel(actor, doc["_id"], client, text)


def _cancel(actor: Actor, iid: ObjectId, client, text: str, *, form_key: str = "") -> dict:
    open_ids = [
        r["task_id"]
        for r in persistence.collection(Task).find({"instance_id": iid, "status": "open"}, {"task_id": 1})
    ]
    details = {"reason": text, **({"form": form_key} if form_key else {})}
    also = [
        _marking(iid, open_ids, "cancelled", close_reason=text, closed_by=_by(actor)),
        audit.entry(
            actor,
            "client_intake_cancelled",
            client=client,
            object_type="process_instance",
            object_id=iid,
            details=details,
        ),
    ]
    if not runtime.cancel_instance(iid, by=_by(actor), reason=text, also=also):
        raise Conflict("this intake has already finished")
    return {"instance_id": str(iid), "status": "cancelled", "forms_closed": len(open_ids)}


def _request_for(actor: Actor, task_id) -> tuple[dict, Client]:
    """An open form request of an intake (a client's packet form, not a review step) the actor may
    manage. Raises NotFound, Forbidden."""
    # A client's task is not in staff inboxes: staff reach it through the client it is for.
    row = persistence.collection(Task).find_one({"_id": parse_id(task_id)}) if actor.is_staff else None
    if (
        row is None
        or row.get("process_id") != PROCESS
        or row.get("lane") not in PORTAL_LANES
        or row.get("role")
        or not row.get("form_key")
        or row.get("client_id") is None
    ):
        raise NotFound("no such form request")
    client = get_client_for(actor, row["client_id"], need=INVITE)
    if row.get("status") != "open":
        raise Conflict("this form is no longer waiting for the client")
    return row, client


def _only_request_left(row: dict) -> bool:
    """Whether the request is all its intake still asks and nothing was submitted to it yet: closing it
    leaves nothing to do, so the intake itself is cancelled (not completed)."""
    others = persistence.collection(Task).count_documents(
        {"instance_id": row["instance_id"], "_id": {"$ne": row["_id"]}, "closed_as": {"$ne": "cancelled"}}
    )
    return others == 0


def cancel_request(actor: Actor, task_id, reason) -> dict:
    """Cancel one requested form with a reason. Raises NotFound, Forbidden, ValidationFailed, Conflict."""
    row, client = _request_for(actor, task_id)
    text = _reason(reason)
    if _only_request_left(row):
        return _cancel(actor, row["instance_id"], client, text, form_key=row["form_key"])
    data = {"closed_requests": {row["form_key"]: {"outcome": "cancelled", "reason": text}}}
    also = [
        _marking(row["instance_id"], [row["task_id"]], "cancelled", close_reason=text, closed_by=_by(actor)),
        audit.entry(
            actor,
            "form_request_cancelled",
            client=client,
            object_type="task",
            object_id=row["_id"],
            details={"form": row["form_key"], "reason": text},
        ),
    ]
    runtime.close_task(
        row["instance_id"],
        row["task_id"],
        data,
        by=_by(actor),
        event="task_cancelled",
        also=also,
        reason=text,
    )
    return {"instance_id": str(row["instance_id"]), "status": "running", "forms_closed": 1}


def upload_paper_form(
    actor: Actor, client_id, request_id, *, filename: str, data: bytes, title: str = ""
) -> dict:
    """Upload a completed paper form into General Documents and count it as the answer to the open
    request `request_id`: that request closes and its reminders stop. The request is checked before
    anything is stored. Raises NotFound, Forbidden, Conflict, and whatever documents.upload raises."""
    row, client = _request_for(actor, request_id)
    if str(row["client_id"]) != str(parse_id(client_id)):
        raise NotFound("no such form request")
    shaped = documents.upload(actor, client.id, filename=filename, data=data, title=title)
    Document.objects(id=ObjectId(shaped["id"])).update_one(set__form_key=row["form_key"])
    answer = {"closed_requests": {row["form_key"]: {"outcome": "paper", "document_id": shaped["id"]}}}
    also = [
        _marking(
            row["instance_id"],
            [row["task_id"]],
            "paper",
            closed_by=_by(actor),
            paper_document_id=shaped["id"],
        ),
        audit.entry(
            actor,
            "form_request_answered",
            client=client,
            object_type="task",
            object_id=row["_id"],
            details={"form": row["form_key"], "on": "paper", "document": shaped["id"]},
        ),
    ]
    runtime.close_task(
        row["instance_id"],
        row["task_id"],
        answer,
        by=_by(actor),
        event="task_answered_on_paper",
        also=also,
        document=shaped["id"],
    )
    return dict(shaped, form_key=row["form_key"])


def closed_requests(actor: Actor, client_id) -> list[dict]:
    """The client's requests closed without a submission (cancelled, answered on paper), newest first:
    the history staff see. Raises NotFound."""
    client = get_client_for(actor, client_id)
    audit.record(actor, "closed_requests_viewed", client=client, object_type="client", object_id=client.id)
    rows = list(
        persistence.collection(Task)
        .find({"client_id": client.id, "status": "closed", "closed_as": {"$in": list(OUTCOMES)}})
        .sort("completed_at", -1)
    )
    keys = [r.get("form_key") for r in rows]
    titles = {f.key: f.title for f in FormDefinition.objects(key__in=keys).only("key", "title")}
    return [
        {
            "task_id": str(r["_id"]),
            "title": titles.get(r.get("form_key"), r.get("form_key") or r["name"]),
            "outcome": OUTCOMES[r["closed_as"]],
            "reason": r.get("close_reason", ""),
            "at": r.get("completed_at"),
            "document_id": r.get("paper_document_id"),
        }
        for r in rows
    ]
