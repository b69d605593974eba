"""Instance persistence: leases, load (with serializer migration), compare-and-set save.

Round trips per step are the cost that matters (engine.persistence: ~1 ms each), so a
step first reads optimistically (one find) and saves with one update_one
filtered on the version read and on nobody else holding a live lease. A save
that matches nothing lost a race; the caller starts again from a fresh load,
this time taking the lease (a guarded update) so that it makes progress
under contention. A lease whose holder died expires and is taken over.
Nothing is ever overwritten.

An instance keeps its serialized workflow state (`state_json`) zlib-compressed, as BSON binary:
task data is copied onto every task, so the JSON text of an intake is tens of KB (~90 KB once
finished) and compresses ~10×. Compressing running instances too costs a step ~1 ms of CPU
(level 1; measured in bench/storage.py) and saves sending and writing ~40 KB per form completion;
a finished instance is stored at level 6 (it is written once and kept). Instances of older
releases keep JSON text until their next save; `restore` reads both, and so do a migration's
snapshot and rollback, which copy the stored value as it is. The field keeps its name so that
readers which leave it out (`{"state_json": 0}`) still do.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bson import Binary, ObjectId
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine import persistence
from engine.errors import NotFound
from engine.models import utcnow
from engine.models.workflow import ProcessInstance, ProcessVersion
from engine.workflow import roles
from engine.workflow import specs as wfspecs
from engine.workflow.errors import InstanceBusy
from engine.workflow.scripting import script_engine

_PROCESS_TAG = f"{socket.gethostname()}:{os.getpid()}"
_spec_cache: dict[ObjectId, tuple] = {}
_spec_lock = threading.Lock()
# Fields a step needs; the (possibly long) history stays in the database.
_STEP_FIELDS = {"history": 0}


# zlib's default level for what is kept (~1 ms for the 90 KB state of a finished intake; level 9 saves
# 2 % for 4× the time); its fastest for states every step rewrites.
_FINISHED_LEVEL = 6
_RUNNING_LEVEL = 1
_FINISHED = ("completed", "cancelled")


def encode_state(text: str, status: str):
    """The stored form of a serialized workflow state (JSON text from `specs.dump_state`)."""
    level = _FINISHED_LEVEL if status in _FINISHED else _RUNNING_LEVEL
    return Binary(zlib.compress(text.encode(), level))


def decode_state(value) -> str:
    """JSON text of a stored state: compressed binary, or JSON text."""
    if isinstance(value, str):
        return value
    return zlib.decompress(value).decode()


# How long a step may hold an instance before others may take it over.
LEASE_SECONDS = 30.0


def lease_seconds() -> float:
    return LEASE_SECONDS


def owner_token() -> str:
    """A lease owner id: host and pid (to see who holds it) plus a random part (one per step)."""
    return f"{_PROCESS_TAG}:{uuid.uuid4().hex[:12]}"


def instances():
    return persistence.collection(ProcessInstance)


def version_specs(version_id: ObjectId) -> tuple:
    """(spec, subprocess_specs, spec dict) of a process version, restored once per process."""
    cached = _spec_cache.get(version_id)
    if cached is not None:
        return cached
    with _spec_lock:
        if version_id not in _spec_cache:
            version = ProcessVersion.objects(id=version_id).only("spec_json", "declares_roles").first()
            if version is None:
                raise NotFound("no such process version")
            raw = json.loads(version.spec_json)
            spec, subs = wfspecs.load_specs(raw)
            if not version.declares_roles:
                roles.declare_legacy(spec, subs)
            _spec_cache[version_id] = (spec, subs, raw)
    return _spec_cache[version_id]


@dataclass
class Loaded:
    """An instance document read under a lease, with its restored workflow."""

    doc: dict
    workflow: BpmnWorkflow
    owner: str  # "" for an optimistic read (no lease held)
    history: list = field(default_factory=list)  # events to append on save
    completed: tuple | None = None  # (task id, by): the human task this step completed

    @property
    def id(self) -> ObjectId:
        return self.doc["_id"]

    @property
    def version(self) -> int:
        return self.doc["version"]

    def record(self, kind: str, *, by: str = "", task: str = "", **details) -> None:
        event = {"at": utcnow(), "kind": kind, "by": by}
        if task:
            event["task"] = task
        if details:
            event["details"] = details
        self.history.append(event)


def restore(doc: dict):
    """The BpmnWorkflow of an instance document (migrating old serializer output on the way)."""
    spec, subs, raw = version_specs(doc["process_version_id"])
    text = decode_state(doc["state_json"])
    if doc.get("serializer_version") != wfspecs.SERIALIZER_VERSION:
        text = wfspecs.migrate_state(text, raw, doc.get("serializer_version"))
    workflow = wfspecs.load_state(text, spec, subs)
    workflow.script_engine = script_engine()  # not serialized: set after every load
    return workflow


def _free(now) -> dict:
    """Filter: nobody holds a live lease (none, null, or expired). Written with `$not` rather than a
    top-level `$or`, which would make every save scan the collection (engine.persistence)."""
    return {"lease_until": {"$not": {"$gte": now}}}


def acquire(
    instance_id: ObjectId, *, lease: bool = True, wait: float | None = None, ttl: float | None = None
) -> Loaded:
    """Read the instance for a step. Raises NotFound or InstanceBusy.

    lease=True takes the lease (a write); lease=False reads optimistically and relies on the
    compare-and-set save, which also refuses while someone else holds a live lease.
    Either way a live holder is waited for up to `wait` seconds (default: one lease period),
    so a holder that died is taken over once its lease expires.
    """
    ttl = lease_seconds() if ttl is None else ttl
    wait = ttl + 1 if wait is None else wait
    owner = owner_token() if lease else ""
    deadline = time.monotonic() + wait
    pause = 0.005
    while True:
        now = utcnow()
        if lease:
            doc = persistence.update_then_read(
                instances(),
                {"_id": instance_id, **_free(now)},
                {"$set": {"lease_owner": owner, "lease_until": now + timedelta(seconds=ttl)}},
                projection=_STEP_FIELDS,
            )
        else:
            doc = instances().find_one({"_id": instance_id}, _STEP_FIELDS)
            if doc is None:
                raise NotFound("no such process instance")
            if doc.get("lease_until") is not None and doc["lease_until"] >= now:
                doc = None  # someone holds it: wait, like a lease taker would
        if doc is not None:
            return Loaded(doc=doc, workflow=restore(doc), owner=owner)
        if lease and instances().count_documents({"_id": instance_id}, limit=1) == 0:
            raise NotFound("no such process instance")
        if time.monotonic() >= deadline:
            raise InstanceBusy("the process instance is busy; try again")
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def release(loaded: Loaded) -> None:
    """Give the lease back without saving (the step changed nothing). Optimistic reads hold nothing."""
    if loaded.owner:
        instances().update_one(
            {"_id": loaded.id, "lease_owner": loaded.owner},
            {"$set": {"lease_owner": None, "lease_until": None}},
        )


def saving(
    loaded: Loaded,
    *,
    status: str,
    projected: dict,
    waiting_messages: list,
    error: dict | None = None,
    dirty: bool = False,
) -> tuple[persistence.Write, dict]:
    """The compare-and-set write of a step's save (on `version`, and on the lease held or nobody
    holding a live one), and the fields it sets (for `saved`)."""
    now = utcnow()
    changes = {
        "state_json": encode_state(wfspecs.dump_state(loaded.workflow), status),
        "serializer_version": wfspecs.SERIALIZER_VERSION,
        "status": status,
        "projected": projected,
        "waiting_messages": waiting_messages,
        # The projection is committed in the same transaction (see `save`): never left half-written.
        # `dirty` asks the scheduler's repair for what must follow a commit (completion listeners).
        "dirty": dirty,
        "updated_at": now,
        "lease_owner": None,
        "lease_until": None,
        "error": error,
    }
    if status == "completed" and loaded.doc.get("status") != "completed":
        changes["completed_at"] = now
    update: dict = {"$set": changes, "$inc": {"version": 1}}
    if loaded.history:
        update["$push"] = {"history": {"$each": loaded.history}}
    guard = {"lease_owner": loaded.owner} if loaded.owner else _free(now)
    name = persistence.collection_name(ProcessInstance)
    return (
        name,
        "update_one",
        {"filter": {"_id": loaded.id, "version": loaded.version, **guard}, "update": update},
    ), changes


def saved(loaded: Loaded, changes: dict) -> None:
    """Bring the loaded document up to what its committed save wrote."""
    loaded.doc.update(changes)
    loaded.doc["version"] = loaded.version + 1


def save(
    loaded: Loaded,
    *,
    status: str,
    projected: dict,
    waiting_messages: list,
    error: dict | None = None,
    writes: Sequence[persistence.Write] = (),
    dirty: bool = False,
) -> bool:
    """Write the new state with compare-and-set on `version` (and lease), release the lease, and
    commit `writes` (the projection's rows, an audit entry) in the same transaction.

    False = lost race: someone saved first, or holds a live lease; nothing was written.
    """
    cas, changes = saving(
        loaded,
        status=status,
        projected=projected,
        waiting_messages=waiting_messages,
        error=error,
        dirty=dirty,
    )
    try:
        persistence.commit_writes([cas, *writes], guards=[0])
    except persistence.GuardFailed:
        return False
    saved(loaded, changes)
    return True


def mark_projected(instance_id: ObjectId, version: int) -> None:
    instances().update_one({"_id": instance_id, "version": version}, {"$set": {"dirty": False}})


def inserting(doc: dict) -> persistence.Write:
    """The write that inserts a new instance document (its state given as JSON text, stored as
    `encode_state` says); the document must carry its `_id`."""
    if isinstance(doc.get("state_json"), str):
        doc = dict(doc, state_json=encode_state(doc["state_json"], doc.get("status", "")))
    return (persistence.collection_name(ProcessInstance), "insert", {"document": doc})


def insert(doc: dict) -> ObjectId:
    """Insert a new instance document on its own (state as JSON text, stored as `encode_state` says)."""
    _name, _kind, args = inserting(doc)
    return instances().insert_one(args["document"]).inserted_id
