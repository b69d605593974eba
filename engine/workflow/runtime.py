"""Running instances: start, complete a human task, fire a timer, deliver a message, finish an operation.

Every change goes through `step()`: lease + load from the database, change the
workflow, run the engine steps, compare-and-set save, then project (inbox,
timers, outbox). A lost race reloads and tries again; nothing is overwritten.
Each step appends to the instance's event history.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from uuid import UUID

from bson import ObjectId
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import persistence
from engine.errors import NotFound, StaleVersion
from engine.models import utcnow
from engine.models.workflow import ProcessDefinition
from engine.workflow import projection, store
from engine.workflow.errors import ScriptInterrupted, TaskNotOpen
from engine.workflow.scripting import script_engine, unwrap
from engine.workflow.specs import SERIALIZER_VERSION, dump_state

log = logging.getLogger(__name__)
# Called with the instance document after the save that completed it (once: only that save changes the
# status). The services register here what follows a completion (engine.services.intake.intake: the
# intake.completed webhook event); the workflow layer cannot call up into them.
COMPLETION_LISTENERS: list[Callable[[dict], None]] = []
UNCHANGED = object()  # a step function returns this when there is nothing to save
OPERATION_ERROR_CODE = "operation_failed"
_MAX_RACES = 25


def _run_engine(loaded: store.Loaded) -> dict | None:
    """Run engine steps; a failing script marks the instance errored (the state up to it is kept)."""
    try:
        loaded.workflow.do_engine_steps()
    except SpiffWorkflowException as exc:
        inner = unwrap(exc)
        if isinstance(inner, ScriptInterrupted):
            raise inner from exc  # not the script's fault: nothing is saved, the step is tried again
        task = getattr(exc, "task", None)
        error = {
            "kind": "script",
            "message": getattr(inner, "message", None) or str(exc),
            "task": str(task.id) if task is not None else "",
            "task_name": getattr(getattr(task, "task_spec", None), "bpmn_id", "") or "",
        }
        loaded.record("error_raised", task=error["task"], message=error["message"], caught=False)
        return error
    return None


def _projection_error(loaded: store.Loaded, new: projection.Projection) -> dict | None:
    """The error of a task property expression (assignee, due, form) that failed, recorded."""
    if new.error:
        error = new.error
        loaded.record("error_raised", task=error["task"], message=error["message"], caught=False)
    return new.error


def _status(workflow: BpmnWorkflow, error: dict | None) -> str:
    if error:
        return "errored"
    return "completed" if workflow.is_completed() else "running"


def step(
    instance_id,
    change: Callable[[store.Loaded], object],
    *,
    after_save=None,
    also: list[persistence.Write] | None = None,
):
    """Apply `change` to the instance under its lease and save it. Returns what `change` returned.

    The save, the projection's rows (inbox, timers, outbox) and `also` (an audit entry, say) are
    committed in one transaction; new operations are sent once it is committed.
    Raises NotFound, InstanceBusy, StaleVersion (after many lost races), and whatever `change` raises.
    """
    iid = instance_id if isinstance(instance_id, ObjectId) else ObjectId(str(instance_id))
    for attempt in range(_MAX_RACES):
        # Optimistic first; after a lost race, take the lease so that this step gets through.
        loaded = store.acquire(iid, lease=attempt > 0)
        try:
            result = change(loaded)
            if result is UNCHANGED:
                store.release(loaded)
                return result
            error = _run_engine(loaded) or (
                loaded.doc.get("error") if loaded.doc.get("status") == "errored" else None
            )
            new = projection.compute(loaded.workflow, loaded.doc)
            error = error or _projection_error(loaded, new)
            writes, op_ids = projection.writes(
                loaded.doc, loaded.doc.get("projected") or {}, new, completed=loaded.completed
            )
        except BaseException:
            store.release(loaded)
            raise
        status = "cancelled" if loaded.doc.get("status") == "cancelled" else _status(loaded.workflow, error)
        # Saved `dirty` while the completion listeners have not been told: if this process dies
        # before, the scheduler's repair tells them (listeners are idempotent).
        completing = completes(loaded.doc.get("status"), status)
        if store.save(
            loaded,
            status=status,
            projected=new.summary,
            waiting_messages=new.messages,
            error=error,
            writes=[*writes, *(also or [])],
            dirty=completing,
        ):
            if after_save is not None:
                after_save(loaded)
            projection.send(op_ids)
            if completing:
                notify_completed(loaded.doc)
                store.mark_projected(loaded.id, loaded.version)
            return result
        log.info("instance %s: lost a race at version %s; reloading", iid, loaded.version)
    raise StaleVersion("the process instance kept changing; try again")


def completes(was: str | None, status: str) -> bool:
    """Whether a save from status `was` to `status` completes the instance with listeners to tell: it
    is then saved `dirty` until they are told (see notify_completed)."""
    return status == "completed" and was != "completed" and bool(COMPLETION_LISTENERS)


def notify_completed(doc: dict) -> None:
    """Tell the completion listeners. Called while the instance is still `dirty`, so that when the process
    dies before, the scheduler's repair of the projection calls it again (listeners are idempotent)."""
    for listener in COMPLETION_LISTENERS:
        try:
            listener(doc)
        except Exception:  # the instance is saved; a listener's trouble must not make the step look failed
            log.exception("completion listener %r failed for instance %s", listener, doc.get("_id"))


def project(doc: dict, previous: dict, new: projection.Projection, *, completed=None) -> None:
    """Write a projection outside a transaction and mark it written (the migration paths)."""
    projection.apply(doc, previous, new, completed=completed)
    store.mark_projected(doc["_id"], doc["version"])


def start(process_id: str, *, client_id=None, data: dict | None = None, started_by: str = "") -> ObjectId:
    """Start the latest version of `process_id`. Raises NotFound (no such process)."""
    definition = (
        ProcessDefinition.objects(process_id=process_id).only("latest_version", "latest_version_id").first()
    )
    if definition is None or not definition.latest_version_id:
        raise NotFound(f"no deployed process {process_id!r}")
    spec, subs, _raw = store.version_specs(definition.latest_version_id)
    workflow = BpmnWorkflow(spec, subs, script_engine=script_engine())
    initial = dict(data or {})
    if client_id is not None:
        initial["client_id"] = str(client_id)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(initial)
    now = utcnow()
    doc = {
        "process_id": process_id,
        "process_version": definition.latest_version,
        "process_version_id": definition.latest_version_id,
        "client_id": ObjectId(str(client_id)) if client_id else None,
        "status": "running",
        "serializer_version": SERIALIZER_VERSION,
        "version": 1,
        "lease_owner": None,
        "lease_until": None,
        "dirty": False,
        "projected": {},
        "waiting_messages": [],
        "error": None,
        "started_by": started_by,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
        "history": [{"at": now, "kind": "started", "by": started_by}],
    }
    loaded = store.Loaded(doc=doc, workflow=workflow, owner="")
    error = _run_engine(loaded)
    new = projection.compute(workflow, doc)
    error = error or _projection_error(loaded, new)
    doc["history"].extend(loaded.history)
    doc.update(
        state_json=dump_state(workflow),
        status=_status(workflow, error),
        error=error,
        projected=new.summary,
        waiting_messages=new.messages,
    )
    if doc["status"] == "completed":
        doc["completed_at"] = now
    # Saved `dirty` while the completion listeners have not been told: if this process dies before,
    # the scheduler's repair tells them (listeners are idempotent).
    completing = completes(None, doc["status"])
    doc["_id"] = ObjectId()
    doc["dirty"] = completing
    writes, op_ids = projection.writes(doc, {}, new)
    persistence.commit_writes([store.inserting(doc), *writes])  # the instance and its rows, or nothing
    projection.send(op_ids)
    if completing:
        notify_completed(doc)
        store.mark_projected(doc["_id"], doc["version"])
    return doc["_id"]


def _task(loaded: store.Loaded, task_id: str):
    try:
        return loaded.workflow.get_task_from_id(UUID(str(task_id)))
    except (ValueError, KeyError, SpiffWorkflowException):
        return None


def complete_task(
    instance_id,
    task_id: str,
    data: dict,
    *,
    by: str,
    after_save=None,
    also: list[persistence.Write] | None = None,
) -> None:
    """Complete a READY human task with `data` merged into its data. Raises TaskNotOpen (409), NotFound.

    Its inbox row is marked completed by `by` in the projection's write; `also` is committed with it.
    """

    def change(loaded):
        task = _task(loaded, task_id)
        if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
            raise TaskNotOpen("this task is not open any more")
        task.set_data(**data)
        task.run()
        # The sealed submission it took, if any: which seal counts is decided by this record.
        sealed = {"submission": data["submission_id"]} if "submission_id" in data else {}
        loaded.record("task_completed", by=by, task=str(task_id), name=task.task_spec.bpmn_id or "", **sealed)
        loaded.completed = (str(task_id), by)
        return None

    step(instance_id, change, after_save=after_save, also=also)


def close_task(
    instance_id,
    task_id: str,
    data: dict,
    *,
    by: str,
    event: str,
    also: list[persistence.Write] | None = None,
    **details,
) -> None:
    """Run a READY human task to its end without anyone completing it: a request staff cancelled or
    answered otherwise (a paper form). `data` says so to the process, whose scripts decide what that
    means; its inbox row is closed, not completed, and history records `event` with `details`.

    Raises TaskNotOpen (409), NotFound.
    """

    def change(loaded):
        task = _task(loaded, task_id)
        if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
            raise TaskNotOpen("this task is not open any more")
        task.set_data(**data)
        task.run()
        loaded.record(event, by=by, task=str(task_id), name=task.task_spec.bpmn_id or "", **details)
        return None

    step(instance_id, change, also=also)


def cancel_instance(
    instance_id, *, by: str, reason: str, also: list[persistence.Write] | None = None
) -> bool:
    """Cancel a running (or errored) instance: every open task, timer and operation of it ends, its
    status becomes cancelled and its history keeps who cancelled it and why. False when it had
    already finished (nothing is saved, `also` neither)."""

    def change(loaded):
        if loaded.doc.get("status") not in ("running", "errored"):
            return UNCHANGED
        loaded.workflow.cancel()
        loaded.doc["status"], loaded.doc["error"] = "cancelled", None
        loaded.record("instance_cancelled", by=by, reason=reason)
        return True

    return step(instance_id, change, also=also) is True


def task_completion(instance_id, task_id: str) -> dict | None:
    """The history event of the human task's completion, or None while it has not happened (as saved)."""
    doc = store.instances().find_one({"_id": ObjectId(str(instance_id))}, {"history": 1}) or {}
    return next(
        (
            e
            for e in doc.get("history", [])
            if e.get("kind") == "task_completed" and e.get("task") == str(task_id)
        ),
        None,
    )


def fire_timer(instance_id, task_id: str) -> str:
    """Fire the timer event `task_id` if it is still waiting and due. Returns fired | stale | not_due."""

    def change(loaded):
        task = _task(loaded, task_id)
        if task is None or not task.has_state(TaskState.WAITING):
            return UNCHANGED
        return "fired" if str(task.id) in fire_due_timers(loaded) else UNCHANGED

    try:
        result = step(instance_id, change)
    except NotFound:
        return "stale"
    if result is UNCHANGED:
        return "stale" if _timer_stale(instance_id, task_id) else "not_due"
    return result


def fire_due_timers(loaded: store.Loaded) -> set[str]:
    """Fire every due timer event of a loaded instance, recording each; the ids of the tasks that fired.

    (Also the batch path's: engine.workflow.timers.)
    """
    workflow: BpmnWorkflow = loaded.workflow
    waiting = [t for t in workflow.event_manager.tasks.values() if t.has_state(TaskState.WAITING)]
    # A cycle timer stays WAITING when one of its cycles fires; its event value moves on instead.
    before = {t.id: copy.deepcopy(t.internal_data.get("event_value")) for t in waiting}
    workflow.refresh_timers()
    fired = [
        t
        for t in waiting
        if not t.has_state(TaskState.WAITING) or t.internal_data.get("event_value") != before[t.id]
    ]
    for t in fired:
        loaded.record("timer_fired", task=str(t.id), name=t.task_spec.bpmn_id or "")
    return {str(t.id) for t in fired}


def _timer_stale(instance_id, task_id: str) -> bool:
    doc = store.instances().find_one({"_id": ObjectId(str(instance_id))}, {"projected.timers": 1})
    timers = (doc or {}).get("projected", {}).get("timers", [])
    return not any(key.startswith(f"{task_id}|") for key in timers)


def waiting_message_tasks(workflow, name: str) -> list:
    return [
        t
        for t in workflow.event_manager.tasks.values()
        if t.has_state(TaskState.WAITING)
        and getattr(t.task_spec.event_definition, "name", None) == name
        and t.task_spec.event_definition.__class__.__name__ == "MessageEventDefinition"
    ]


def deliver_message(instance_id, name: str, payload: dict, *, by: str, match: Callable | None = None) -> bool:
    """Deliver message `name` to the instance's waiting catch event. False when nothing there waits for it
    (or `match(task_data)` says this instance is not the one)."""

    def change(loaded):
        tasks = [t for t in waiting_message_tasks(loaded.workflow, name) if match is None or match(t.data)]
        if not tasks:
            return UNCHANGED
        definition = tasks[0].task_spec.event_definition
        for task in tasks:
            if getattr(definition, "message_var", None) is None:
                task.data.update(payload)  # SpiffWorkflow copies the payload only into a message variable
        loaded.workflow.catch(BpmnEvent(definition, payload=dict(payload)))
        loaded.record("message_received", by=by, task=str(tasks[0].id), name=name)
        return True

    return step(instance_id, change) is True


def finish_operation(instance_id, task_id: str, result, *, operation: str) -> bool:
    """Complete a STARTED service task with the operation's result. False if it no longer waits."""

    def change(loaded):
        task = _task(loaded, task_id)
        if task is None or not task.has_state(TaskState.STARTED):
            return UNCHANGED
        task.data[task.task_spec.result_variable] = result
        task.complete()
        loaded.record("operation_completed", task=str(task_id), operation=operation)
        return True

    return step(instance_id, change) is True


def fail_operation(instance_id, task_id: str, message: str, *, operation: str) -> str:
    """Raise the BPMN error `operation_failed` at a service task whose retries ran out.

    Returns "caught" (an error boundary event took over), "errored" (the instance is marked
    errored; an admin may retry) or "stale" (the task no longer waits).
    """

    def change(loaded):
        task = _task(loaded, task_id)
        if task is None or not task.has_state(TaskState.STARTED):
            return UNCHANGED
        event = BpmnEvent(
            ErrorEventDefinition(OPERATION_ERROR_CODE, code=OPERATION_ERROR_CODE),
            payload={"operation": operation, "message": message},
            target=task.workflow,
        )
        waiting = [t for t in loaded.workflow.event_manager.tasks.values() if t.has_state(TaskState.WAITING)]
        loaded.workflow.top_workflow.catch(event)
        # Uncaught errors surface as an external event; they are ours to record, not to forward.
        loaded.workflow.bpmn_events = [e for e in loaded.workflow.bpmn_events if e is not event]
        # A catching event goes READY now; the engine steps then cancel the service task.
        caught = any(not t.has_state(TaskState.WAITING) for t in waiting)
        loaded.record("error_raised", task=str(task_id), operation=operation, message=message, caught=caught)
        if not caught:
            loaded.doc["status"] = "errored"
            loaded.doc["error"] = {
                "kind": "operation",
                "task": str(task_id),
                "operation": operation,
                "message": message,
            }
        return "caught" if caught else "errored"

    result = step(instance_id, change)
    return "stale" if result is UNCHANGED else result
