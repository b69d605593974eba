"""What an instance's state means for the rest of the system: inbox rows, timers, outbox, awaited messages.

Everything here is derived from the workflow state alone, so it can be
recomputed at any time: the writer applies it right after its save, and the
scheduler's sweep re-applies it for instances whose writer died in between
(`dirty`). `summary` (stored on the instance in the same CAS write) records
what was projected, so the next step writes only the differences.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bson import ObjectId
from pymongo.errors import BulkWriteError
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import db, persistence
from engine.forms.catalogue import published_version_id
from engine.models import utcnow
from engine.models.workflow import OutboxMessage, Task, Timer
from engine.workflow import dispatch
from engine.workflow.errors import ScriptFailed, ScriptInterrupted, ScriptRefused
from engine.workflow.helpers import duration_delta
from engine.workflow.scripting import unwrap
from engine.workflow.specs import OPERATION_PARAMS_KEY, OutboxServiceTask

log = logging.getLogger(__name__)
DEFAULT_MAX_ATTEMPTS = 5
LANE_PERMISSION = {"admin": "staff.manage"}  # lanes addressed to staff holding a permission


@dataclass
class Projection:
    tasks: dict = field(default_factory=dict)  # task id -> row fields
    timers: dict = field(default_factory=dict)  # "task id|due iso" -> row fields
    ops: dict = field(default_factory=dict)  # task id -> row fields
    messages: list = field(default_factory=list)
    # A task property expression (assignee, due, form) that failed or ran out of time or memory:
    # its task gets no inbox row and the instance is marked errored by it.
    error: dict | None = None

    @property
    def summary(self) -> dict:
        return {"tasks": sorted(self.tasks), "timers": sorted(self.timers), "ops": sorted(self.ops)}


def _props(ts) -> dict:
    return (getattr(ts, "extensions", None) or {}).get("properties", {})


def _evaluate(task, expression: str):
    return task.workflow.script_engine.evaluate(task, expression)


def audience(task, client_id) -> str:
    """Who a READY human task is for, from its lane and properties (see engine.models.workflow.Task)."""
    ts = task.task_spec
    props = _props(ts)
    if props.get("assignee"):
        return f"staff:{_evaluate(task, props['assignee'])}"
    if props.get("portalAccount"):  # one portal account (e.g. each guardian must approve)
        account = _evaluate(task, props["portalAccount"])
        if account:
            return f"account:{account}"
    lane = (ts.lane or "staff").strip().lower()
    if lane in ("client", "guardian"):
        return f"{lane}:{client_id or ''}"
    if lane in LANE_PERMISSION:
        return f"perm:{LANE_PERMISSION[lane]}"
    if props.get("permission"):
        return f"perm:{props['permission']}"
    return "staff"


def form_key(task) -> str | None:
    """The task's form: `formKey`, or `formKeyExpression` evaluated on task data (one per packet form)."""
    props = _props(task.task_spec)
    if props.get("formKeyExpression"):
        return _evaluate(task, props["formKeyExpression"]) or None
    return props.get("formKey")


def _shown(task, expression: str | None):
    """What a display property gives; None when it names data this instance lacks (e.g. a process
    started on its own rather than called): a page short of something to show must not stop the
    workflow, as a wrong formKeyExpression would."""
    if not expression:
        return None
    try:
        return _evaluate(task, expression)
    except WorkflowTaskException as exc:
        log.warning("task %s: %s", task.task_spec.bpmn_id or task.task_spec.name, exc)
        return None


def role_fields(task) -> dict:
    """The task's declared role (engine.workflow.roles) and what its page shows, read now so that
    the page needs the row alone: `submittedForms` (a form key or a list of them) and `note`."""
    props = _props(task.task_spec)
    shown = _shown(task, props.get("submittedForms"))
    if not isinstance(shown, list | tuple):
        shown = [shown]
    note = _shown(task, props.get("note"))
    return {
        "role": props.get("role") or None,
        "submitted_forms": [str(k) for k in shown or [] if k],
        "note": str(note or ""),
    }


def _due(task) -> datetime | None:
    expression = _props(task.task_spec).get("due")
    if not expression:
        return None
    value = str(_evaluate(task, expression))
    if value.upper().startswith("P"):
        return utcnow() + duration_delta(value)
    due = datetime.fromisoformat(value)
    return due if due.tzinfo else due.replace(tzinfo=UTC)


def _timer_due(task) -> datetime | None:
    value = task.internal_data.get("event_value")
    if value is None:
        return None
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        value = value.get("next") if isinstance(value, dict) else None
        if value is None:
            return None
    parsed = TimerEventDefinition.parse_time_or_duration(value) if isinstance(value, str) else None
    return parsed if isinstance(parsed, datetime) else None


def compute(workflow, instance: dict) -> Projection:
    """The projection of a workflow's current state (`instance`: the instance document)."""
    result = Projection()
    client_id = instance.get("client_id")
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        ts = task.task_spec
        try:
            result.tasks[str(task.id)] = {
                "spec_name": ts.name,
                "name": ts.bpmn_name or ts.bpmn_id or ts.name,
                "lane": (ts.lane or "").lower(),
                "audience": audience(task, client_id),
                "form_key": form_key(task),
                "due_at": _due(task),
                **role_fields(task),
            }
        except SpiffWorkflowException as exc:
            inner = unwrap(exc)
            if isinstance(inner, ScriptInterrupted):
                raise inner from exc  # see runtime._run_engine: tried again, not an error of the instance
            if not isinstance(inner, ScriptFailed | ScriptRefused):
                raise
            result.error = result.error or {
                "kind": "script",
                "message": inner.message,
                "task": str(task.id),
                "task_name": ts.bpmn_id or "",
            }
    for task in workflow.get_tasks(state=TaskState.STARTED):
        if isinstance(task.task_spec, OutboxServiceTask):
            ts = task.task_spec
            result.ops[str(task.id)] = {
                "operation": ts.operation_name,
                "params": task.internal_data.get(OPERATION_PARAMS_KEY, {}),
                "max_attempts": (ts.retries + 1) if ts.retries else DEFAULT_MAX_ATTEMPTS,
            }
    for task in list(workflow.event_manager.tasks.values()):
        if not task.has_state(TaskState.WAITING):
            continue
        definition = task.task_spec.event_definition
        if isinstance(definition, TimerEventDefinition):
            due = _timer_due(task)
            if due is not None:
                result.timers[f"{task.id}|{due.isoformat()}"] = {
                    "task_id": str(task.id),
                    "due_at": due,
                    "name": definition.name or "",
                }
        elif isinstance(definition, MessageEventDefinition) and definition.name not in result.messages:
            result.messages.append(definition.name)
    return result


def _pin_form(form_key: str | None) -> str | None:
    if not form_key:
        return None
    return published_version_id(form_key)


TASKS, TIMERS, OUTBOX = (persistence.collection_name(m) for m in (Task, Timer, OutboxMessage))
# Inbox row fields left out when empty, and fields only open rows are read for (the intake's task
# actions and a migration's refresh match open rows by spec name), dropped once a row is done.
_OMITTED_WHEN_NONE = ("due_at", "claimed_by")
_UNREAD_ONCE_DONE = {"spec_name": ""}


def writes(
    instance: dict, previous: dict, new: Projection, *, completed: tuple | None = None
) -> tuple[list[persistence.Write], list[ObjectId]]:
    """The writes that take the projection from `previous` to `new`, and the ids of the operations they
    add (to send once they are committed).

    `completed` = (task id, by): that row is marked completed rather than closed.
    """
    iid = instance["_id"]
    now = utcnow()
    old_tasks, old_timers, old_ops = (set(previous.get(k, [])) for k in ("tasks", "timers", "ops"))
    out: list[persistence.Write] = []
    for tid, fields in new.tasks.items():
        if tid in old_tasks:
            continue
        row = dict(
            fields,
            instance_id=iid,
            task_id=tid,
            process_id=instance["process_id"],
            client_id=instance.get("client_id"),
            status="open",
            created_at=now,
            form_version_id=_pin_form(fields["form_key"]),
            # A task for one named staff member is theirs from the start.
            claimed_by=fields["audience"] if fields["audience"].startswith("staff:") else None,
        )
        # No due date, nobody claiming: left out (a missing field matches null in queries and indexes).
        for name in _OMITTED_WHEN_NONE:
            if row.get(name) is None:
                row.pop(name, None)
        # An upsert, so that a projection written twice (the repair sweep's) leaves one row.
        out.append(
            (
                TASKS,
                "update_one",
                {
                    "filter": {"instance_id": iid, "task_id": tid},
                    "update": {"$setOnInsert": row},
                    "upsert": True,
                },
            )
        )
    gone = sorted(old_tasks - set(new.tasks))
    if completed and completed[0] in gone:
        gone.remove(completed[0])
        out.append(
            (
                TASKS,
                "update_one",
                {
                    "filter": {"instance_id": iid, "task_id": completed[0], "status": "open"},
                    "update": {
                        "$set": {"status": "completed", "completed_at": now, "completed_by": completed[1]},
                        "$unset": _UNREAD_ONCE_DONE,
                    },
                },
            )
        )
    if gone:
        out.append(
            (
                TASKS,
                "update_many",
                {
                    "filter": {"instance_id": iid, "task_id": {"$in": gone}, "status": "open"},
                    "update": {
                        "$set": {"status": "closed", "completed_at": now},
                        "$unset": _UNREAD_ONCE_DONE,
                    },
                },
            )
        )

    for key, fields in new.timers.items():
        if key not in old_timers:
            out.append(
                (
                    TIMERS,
                    "insert",
                    {"document": dict(fields, _id=ObjectId(), instance_id=iid, status="waiting")},
                )
            )
    for key in sorted(old_timers - set(new.timers)):
        task_id, due = key.split("|", 1)
        # A timer that left WAITING after its due time fired; one that left before was cancelled.
        fired = datetime.fromisoformat(due) <= now
        out.append(
            (
                TIMERS,
                "update_one",
                {
                    "filter": {
                        "instance_id": iid,
                        "task_id": task_id,
                        "due_at": datetime.fromisoformat(due),
                        "status": "waiting",
                    },
                    "update": {
                        "$set": {
                            "status": "fired" if fired else "cancelled",
                            "fired_at": now if fired else None,
                        }
                    },
                },
            )
        )

    # A process without a broker (the web app) leaves the send to the scheduler's next sweep, at once
    # rather than after the resend interval.
    sending = dispatch.installed()
    op_ids = []
    for tid, fields in new.ops.items():
        if tid in old_ops:
            continue
        op_ids.append(ObjectId())
        out.append(
            (
                OUTBOX,
                "insert",
                {
                    "document": dict(
                        fields,
                        _id=op_ids[-1],
                        key=f"{iid}:{tid}",
                        instance_id=iid,
                        task_id=tid,
                        status="pending",
                        attempts=0,
                        created_at=now,
                        enqueued_at=now if sending else None,
                        sends=1 if sending else 0,
                        resend_at=dispatch.resend_at(now, 1) if sending else None,
                        last_error="",
                    )
                },
            )
        )
    gone_ops = sorted(old_ops - set(new.ops))
    if gone_ops:
        # The service task was interrupted (boundary event, cancel): its operation is no longer wanted.
        out.append(
            (
                OUTBOX,
                "update_many",
                {
                    "filter": {"key": {"$in": [f"{iid}:{t}" for t in gone_ops]}, "status": "pending"},
                    "update": {"$set": {"status": "cancelled", "done_at": now}},
                },
            )
        )
    return out, op_ids


def send(op_ids: list[ObjectId]) -> None:
    """Wake the workers for operations whose rows are committed (the outbox relay resends lost ones)."""
    for op_id in op_ids:
        dispatch.send("perform_operation", op_id)


def apply(instance: dict, previous: dict, new: Projection, *, completed: tuple | None = None) -> None:
    """Write the differences between the previous projection and `new` outside a transaction, rows
    already there left as they are (the repair sweep and batch paths); then send new operations."""
    planned, op_ids = writes(instance, previous, new, completed=completed)
    failed: set = set()
    database = db.get_db()
    # The writes touch different rows, so their order does not matter here.
    for name, kind, args in planned:
        if kind == "update_many":  # see persistence.update_many: never a plain updateMany here
            persistence.update_many(name, args["filter"], args["update"])
    for name, group in persistence.runs([w for w in planned if w[1] != "update_many"]):
        try:
            database[name].bulk_write([persistence.model(kind, args) for kind, args in group], ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
            failed.update(
                group[e["index"]][1].get("document", {}).get("_id") for e in exc.details["writeErrors"]
            )
    send([op_id for op_id in op_ids if op_id not in failed])
