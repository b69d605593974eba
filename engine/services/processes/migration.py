"""Migrating running instances to another process version: preview, batch run with progress, rollback.

Every move is done under the engine's lease (engine.workflow.store.acquire) and written
with compare-and-set on the instance's `version`, exactly like a workflow step, so a
worker completing a task at the same moment either goes first (the move then sees its
result) or waits for the lease. The instance's fields are snapshotted before it moves;
a rollback writes them back under the same lease + CAS, refusing (Conflict) when the
instance changed since the move unless forced. After a move or rollback the inbox,
timers and outbox are re-projected with the engine's projection functions.

All of it needs `workflows.manage`. Raises Forbidden, NotFound, ValidationFailed, Conflict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from mongoengine.queryset.visitor import Q

from engine.authz import Actor, parse_id
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.migration import MigrationRun, MigrationSnapshot
from engine.models.workflow import ProcessVersion
from engine.services.platform import audit
from engine.services.processes.migration_batch import (
    MARK,
    MOVABLE_STATUSES,
    SNAPSHOT_FIELDS,
    move_batch,
    refuse_broken,
    reproject,
    settle,
    write_back,
)
from engine.services.processes.processes import get_instance
from engine.workflow import migration as wfmig
from engine.workflow import projection, store
from engine.workflow import specs as wfspecs
from engine.workflow.errors import ScriptFailed
from engine.workflow.scripting import script_engine

log = logging.getLogger(__name__)
MANAGE = "workflows.manage"
_OUTCOMES_KEPT = 5000
Progress = Callable[[dict], None]
# The executor beats after every batch (seconds each); this long without a beat, it is taken to be dead.
STALLED_AFTER = timedelta(minutes=2)


def _target(process_id: str, number) -> ProcessVersion:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "to_version must be a number", details={"to_version": ["must be a number"]}
        ) from None
    version = ProcessVersion.objects(process_id=process_id, number=number).exclude("bpmn_xml").first()
    if version is None:
        raise NotFound(f"process {process_id!r} has no version {number}")
    return version


def _candidates(process_id: str, target: ProcessVersion, instance_ids=None, fields=None):
    """The affected instances: running, of this process, on another version (optionally only these ids)."""
    query: dict = {
        "process_id": process_id,
        "status": {"$in": list(MOVABLE_STATUSES)},
        "process_version_id": {"$ne": target.id},
    }
    if instance_ids:
        query["_id"] = {"$in": [parse_id(i) for i in instance_ids]}
    return store.instances().find(query, fields or {"_id": 1}).sort("_id", 1)


def _live_elements(workflow) -> list[str]:
    from SpiffWorkflow.util.task import TaskState

    tasks = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
    return sorted({t.task_spec.bpmn_id for t in tasks if getattr(t.task_spec, "bpmn_id", None)})


def version_diff(actor: Actor, process_id: str, from_number, to_number) -> dict:
    """Added, removed and changed elements between two deployed versions (per process they use)."""
    actor.require(MANAGE)
    old, new = _target(process_id, from_number), _target(process_id, to_number)
    old_spec, old_subs, _ = store.version_specs(old.id)
    new_spec, new_subs, _ = store.version_specs(new.id)
    return {
        "process_id": process_id,
        "from_version": old.number,
        "to_version": new.number,
        "processes": wfmig.describe(old_spec, old_subs, new_spec, new_subs),
    }


def preview(actor: Actor, process_id: str, to_version, *, instance_ids=None) -> dict:
    """Every affected instance (running, on another version) and whether it can move, and if not why."""
    actor.require(MANAGE)
    target = _target(process_id, to_version)
    new_spec, new_subs, _ = store.version_specs(target.id)
    items, can_move = [], 0
    for doc in _candidates(process_id, target, instance_ids, fields={"history": 0}).batch_size(100):
        item = {
            "id": str(doc["_id"]),
            "client_id": str(doc["client_id"]) if doc.get("client_id") else None,
            "process_version": doc["process_version"],
            "status": doc["status"],
        }
        try:
            workflow = store.restore(doc)
            item["at"] = _live_elements(workflow)
            # The same steps the run takes, on a throwaway copy: move, then run the engine on the result.
            text, verdict = wfmig.migrate(workflow, new_spec, new_subs)
            _, _, error = settle(text, new_spec, new_subs, doc)
            if error:
                refuse_broken(verdict, error)
            item.update(can_move=True, reasons=[])
            can_move += 1
        except wfmig.MigrationRefused as exc:
            item.update(can_move=False, reasons=exc.verdict.reasons)
        except Exception as exc:  # noqa: BLE001 - a state we cannot even load cannot move
            item.update(can_move=False, reasons=[f"cannot be loaded: {type(exc).__name__}: {exc}"], at=[])
        items.append(item)
    return {
        "process_id": process_id,
        "to_version": target.number,
        "total": len(items),
        "can_move": can_move,
        "refused": len(items) - can_move,
        "items": items,
    }


def create_run(actor: Actor, process_id: str, to_version, *, instance_ids=None) -> MigrationRun:
    """Record a batch to run (execute_run does it). Raises Forbidden, NotFound, ValidationFailed."""
    actor.require(MANAGE)
    target = _target(process_id, to_version)
    run = MigrationRun(
        process_id=process_id,
        to_version=target.number,
        to_version_id=target.id,
        instance_ids=[parse_id(i) for i in instance_ids or []],
        started_by=f"{actor.kind}:{actor.id}",
    )
    run.total = len(list(_candidates(process_id, target, instance_ids)))
    run.save()
    audit.record(
        actor,
        "process_instances_migration_started",
        object_type="migration_run",
        object_id=run.id,
        details={"process_id": process_id, "to_version": target.number, "instances": run.total},
    )
    return run


def _claim(run_id) -> MigrationRun | None:
    """Take the run to execute: a pending one, or a running one whose executor stopped beating (a killed
    process). None when it is over (finished, failed). Raises NotFound, Conflict (running elsewhere)."""
    now = utcnow()
    stalled = Q(status="running") & (Q(heartbeat_at__lt=now - STALLED_AFTER) | Q(heartbeat_at=None))
    run = MigrationRun.objects(Q(id=parse_id(run_id)) & (Q(status="pending") | stalled)).modify(
        new=True, set__status="running", set__heartbeat_at=now
    )
    if run is not None:
        return run
    existing = MigrationRun.objects(id=parse_id(run_id)).only("status").first()
    if existing is None:
        raise NotFound("no such migration run")
    if existing.status == "running":
        raise Conflict("this migration run is being executed elsewhere")
    return None


def stalled_runs() -> list[str]:
    """Runs nobody is executing: the executor died mid-way (no heartbeat for STALLED_AFTER) or the message
    to start it was lost (still pending that long). The worker's sweep resumes them."""
    before = utcnow() - STALLED_AFTER
    stalled = Q(status="running", heartbeat_at__lt=before) | Q(status="pending", created_at__lt=before)
    return [str(r.id) for r in MigrationRun.objects(stalled).only("id")]


def _moved_already(run_id) -> int:
    """Instances this run moved before its executor died: each carries the run's snapshot as its mark."""
    snaps = [s.id for s in MigrationSnapshot.objects(run_id=run_id).only("id")]
    return store.instances().count_documents({MARK: {"$in": snaps}}) if snaps else 0


def execute_run(run_id, *, progress: Progress | None = None, batch: int = 50) -> dict:
    """Move every instance of a run, reporting progress; the run document is updated as it goes.

    Resumable: a run whose executor was killed is taken over where it stopped (moved instances are no
    longer candidates; refused ones are judged again). A finished or failed run is returned as it is.
    Raises NotFound, Conflict (another executor is running it)."""
    run = _claim(run_id)
    if run is None:
        return run_view(MigrationRun.objects(id=parse_id(run_id)).first())
    target = ProcessVersion.objects(id=run.to_version_id).exclude("bpmn_xml").first()
    rows = list(_candidates(run.process_id, target, run.instance_ids or None))
    moved = _moved_already(run.id)
    counts = {
        "total": moved + len(rows),
        "done": moved,
        "moved": moved,
        "refused": 0,
        "failed": 0,
        "skipped": 0,
    }
    outcomes: list[dict] = []
    try:
        for start in range(0, len(rows), batch):
            ids = [r["_id"] for r in rows[start : start + batch]]
            results = move_batch(ids, target, by=run.started_by, run_id=run.id)
            for iid in ids:
                outcome, reasons = results[iid]
                counts[outcome] += 1
                counts["done"] += 1
                if outcome in ("refused", "failed") and len(outcomes) < _OUTCOMES_KEPT:
                    outcomes.append({"instance_id": str(iid), "outcome": outcome, "reasons": reasons})
                if progress is not None:
                    progress(dict(counts))
            MigrationRun.objects(id=run.id).update_one(
                set__total=counts["total"],
                set__done=counts["done"],
                set__moved=counts["moved"],
                set__refused=counts["refused"],
                set__failed=counts["failed"],
                set__outcomes=outcomes,
                set__heartbeat_at=utcnow(),
            )
    except Exception as exc:
        MigrationRun.objects(id=run.id).update_one(
            set__status="failed", set__error=str(exc)[:1000], set__finished_at=utcnow()
        )
        raise
    MigrationRun.objects(id=run.id).update_one(
        set__status="finished",
        set__finished_at=utcnow(),
        set__total=counts["total"],
        set__done=counts["done"],
        set__moved=counts["moved"],
        set__refused=counts["refused"],
        set__failed=counts["failed"],
        set__outcomes=outcomes,
    )
    return run_view(MigrationRun.objects(id=run.id).first())


def migrate(
    actor: Actor, process_id: str, to_version, *, instance_ids=None, progress: Progress | None = None
) -> dict:
    """Create and run a batch now (CLI, tests). Returns the finished run."""
    run = create_run(actor, process_id, to_version, instance_ids=instance_ids)
    return execute_run(run.id, progress=progress)


def run_view(run: MigrationRun) -> dict:
    return {
        "id": str(run.id),
        "process_id": run.process_id,
        "to_version": run.to_version,
        "status": run.status,
        "total": run.total,
        "done": run.done,
        "moved": run.moved,
        "refused": run.refused,
        "failed": run.failed,
        "outcomes": run.outcomes,
        "error": run.error,
        "started_by": run.started_by,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


def get_run(actor: Actor, run_id) -> dict:
    actor.require(MANAGE)
    run = MigrationRun.objects(id=parse_id(run_id)).first()
    if run is None:
        raise NotFound("no such migration run")
    return run_view(run)


def snapshots(actor: Actor, instance_id) -> list[dict]:
    """The migration snapshots of one instance, newest first."""
    actor.require(MANAGE)
    return [
        {
            "id": str(s.id),
            "from_version": s.from_version,
            "to_version": s.to_version,
            "created_at": s.created_at,
            "rolled_back_at": s.rolled_back_at,
            "migrated_version": s.migrated_version,
        }
        for s in MigrationSnapshot.objects(instance_id=parse_id(instance_id))
        .exclude("state_json")
        .order_by("-created_at")
    ]


def rollback(actor: Actor, instance_id, *, snapshot_id=None, force: bool = False) -> dict:
    """Put an instance back exactly as its (latest) snapshot was, under its lease and with CAS.

    Raises NotFound (no snapshot), Conflict (it changed since the move and `force` is off; or busy).
    """
    actor.require(MANAGE)
    iid = parse_id(instance_id)
    query = MigrationSnapshot.objects(instance_id=iid, migrated_version__ne=None, rolled_back_at=None)
    if snapshot_id:
        query = query.filter(id=parse_id(snapshot_id))
    snap = query.order_by("-created_at").first()
    if snap is None:
        raise NotFound("this instance has no migration to roll back")
    loaded = store.acquire(iid, wait=5)
    try:
        if loaded.version != snap.migrated_version and not force:
            raise Conflict(
                f"the instance changed since it was moved (version {snap.migrated_version} → "
                f"{loaded.version}); rolling back would undo that work",
                code="instance_changed",
            )
        spec, subs, _ = store.version_specs(snap.from_version_id)
        workflow = wfspecs.load_state(store.decode_state(snap.state_json), spec, subs)
        workflow.script_engine = script_engine()
        new = projection.compute(workflow, loaded.doc)
        if new.error:  # the old version's task expressions fail now: keep the instance as it is
            message = new.error["message"]
            raise ScriptFailed(message, details={new.error["task_name"] or "script": [message]})
    except BaseException:
        store.release(loaded)
        raise
    previous = loaded.doc.get("projected") or {}
    by = f"{actor.kind}:{actor.id}"
    changes = {f: getattr(snap, f) for f in SNAPSHOT_FIELDS if f != "projected"}
    changes.update(
        process_version=snap.from_version,
        process_version_id=snap.from_version_id,
        projected=new.summary,
        completed_at=None,
    )
    event = {
        "at": utcnow(),
        "kind": "rolled_back",
        "by": by,
        "details": {"snapshot": str(snap.id), "to_version": snap.from_version},
    }
    if not write_back(loaded, changes, event):
        raise Conflict("the instance changed during the rollback; try again")
    MigrationSnapshot.objects(id=snap.id).update_one(set__rolled_back_at=utcnow(), set__rolled_back_by=by)
    reproject(loaded.doc, previous, new, revive=True)
    audit.record(
        actor,
        "process_instance_rolled_back",
        client=loaded.doc.get("client_id"),
        object_type="process_instance",
        object_id=iid,
        details={"snapshot": str(snap.id), "to_version": snap.from_version},
    )
    return get_instance(actor, iid)
