"""Leases, compare-and-set, and the inbox query plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bson import ObjectId

from engine.authz import portal_actor, staff_actor
from engine.models.workflow import Task
from engine.services.inbox import tasks
from engine.services.processes import processes
from engine.workflow import projection, store
from engine.workflow.errors import InstanceBusy
from tests.helpers import make_client, make_portal_account, make_staff

ROOT = Path(__file__).resolve().parents[3]
HOLD_AND_DIE = """
import os, signal, sys
sys.path.insert(0, {root!r})
from bson import ObjectId
from engine import config, db
settings = config.install(config.load())
db.connect(settings.mongodb_uri)
from engine.workflow import store
store.acquire(ObjectId({iid!r}), ttl=1.5)
print("held", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture()
def started(deployed):
    staff = staff_actor(make_staff(roles=("org_admin",)))
    iid = ObjectId(processes.start_process("t_gateways", client_id=make_client().id))
    return staff, iid


def test_dead_holder_is_taken_over_after_expiry(started):
    """Is an instance whose lease holder was killed taken over once the lease expires, and not before?"""
    staff, iid = started
    child = subprocess.run(
        [sys.executable, "-c", HOLD_AND_DIE.format(root=str(ROOT), iid=str(iid))],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.stdout.strip() == "held" and child.returncode == -9
    held = store.instances().find_one({"_id": iid})
    assert held["lease_owner"].split(":")[1] != str(os.getpid())
    for lease in (True, False):
        with pytest.raises(InstanceBusy):
            store.acquire(iid, lease=lease, wait=0.1)
    [review] = tasks.inbox(staff)["items"]
    tasks.complete(staff, review["id"], {"approved": False})  # waits out the dead lease, then proceeds
    doc = store.instances().find_one({"_id": iid})
    assert doc["status"] == "completed" and doc["lease_owner"] is None


def test_save_after_lost_lease_is_refused(started):
    """Does a writer whose lease expired and was taken over lose its compare-and-set, leaving the other's work?"""
    staff, iid = started
    slow = store.acquire(iid, lease=True, ttl=0.05)
    import time

    time.sleep(0.1)
    [review] = tasks.inbox(staff)["items"]
    tasks.complete(staff, review["id"], {"approved": False})  # takes the expired lease, saves version 2
    slow.workflow.data["stale"] = True
    new = projection.compute(slow.workflow, slow.doc)
    assert store.save(slow, status="running", projected=new.summary, waiting_messages=[]) is False
    doc = store.instances().find_one({"_id": iid})
    assert doc["version"] == 2 and doc["status"] == "completed"


def _plan(query: dict) -> str:
    cursor = Task._get_collection().find(query).sort([("due_at", 1), ("_id", 1)]).limit(26)
    return json.dumps(cursor.explain(), default=str)


def test_inbox_queries_use_indexes(started):
    """Does every query behind an inbox page (staff, therapist, portal; audience, mine, one client)
    run on an index scan, not a collection scan?"""
    staff, _iid = started
    client = make_client()
    portal = portal_actor(make_portal_account(client=client))
    therapist = staff_actor(make_staff(roles=("therapist",)))
    for actor in (staff, portal, therapist):
        for scope in ("audience", "mine"):
            for extra in ({}, {"client_id": client.id}):
                for query in tasks.inbox_queries(actor, scope=scope, **extra):
                    plan = _plan(query)
                    assert "IXSCAN" in plan and "COLLSCAN" not in plan, (scope, extra, query, plan[:800])


def test_a_free_instance_is_one_without_a_live_lease(clean_db):
    """Does the lease guard match an instance with no lease field, a null lease and an expired lease,
    and never one whose lease is still live (the guard every optimistic save and lease take uses)?"""
    from datetime import timedelta

    from engine.models import utcnow

    now = utcnow()
    rows = {
        "missing": {},
        "null": {"lease_until": None},
        "expired": {"lease_until": now - timedelta(seconds=1)},
        "live": {"lease_until": now + timedelta(seconds=30)},
    }
    clean_db["lease_probe"].insert_many([{"k": k, **v} for k, v in rows.items()])
    assert sorted(d["k"] for d in clean_db["lease_probe"].find(store._free(now))) == [
        "expired",
        "missing",
        "null",
    ]


def test_update_then_read_claims_once_and_shows_the_claim(clean_db):
    """Does the findAndModify replacement give the document as updated to the one claimer whose guard
    matched, None to the next one, and refuse a query without an _id?"""
    from engine import persistence

    rows = clean_db["claim_probe"]
    oid = rows.insert_one({"claimed_by": None, "n": 1}).inserted_id
    first = persistence.update_then_read(
        rows, {"_id": oid, "claimed_by": None}, {"$set": {"claimed_by": "a"}}
    )
    assert first == {"_id": oid, "claimed_by": "a", "n": 1}
    assert (
        persistence.update_then_read(rows, {"_id": oid, "claimed_by": None}, {"$set": {"claimed_by": "b"}})
        is None
    )
    assert rows.find_one({"_id": oid})["claimed_by"] == "a"
    with pytest.raises(ValueError):
        persistence.update_then_read(rows, {"claimed_by": "a"}, {"$set": {"n": 2}})
