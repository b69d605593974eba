"""Migration runs survive their executor: a worker killed mid-run leaves the run to be resumed by the
worker sweep, counted once; a run with a live executor is not taken over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.authz import SYSTEM
from engine.errors import Conflict
from engine.models import utcnow
from engine.models.migration import MigrationRun
from engine.models.workflow import ProcessVersion, Task
from engine.services.processes import migration
from engine.services.processes.migration_batch import move_batch
from engine.workflow import runtime, store
from engine.workflow.deploy import deploy
from tests.helpers import bpmn, wait_for
from workers import studio


def _instances(moving: int, past: int) -> tuple[list, list]:
    movable = [runtime.start("s_flow", data={"packet": ["s_form_a"]}) for _ in range(moving)]
    done = []
    for _ in range(past):
        iid = runtime.start("s_flow", data={"packet": ["s_form_a"]})
        for data in ({"answer": "x"}, {"ok": True}):
            runtime.complete_task(
                iid, Task.objects(instance_id=iid, status="open").first().task_id, data, by="t"
            )
        done.append(iid)
    deploy(SYSTEM, bpmn("s_flow_v2"))
    return movable, done


def _stall(run_id) -> None:
    MigrationRun.objects(id=run_id).update_one(
        set__heartbeat_at=utcnow() - migration.STALLED_AFTER - timedelta(1)
    )


def test_a_run_whose_worker_died_is_resumed_by_the_sweep_and_counted_once(s_flow, worker):
    """After its executor moved two instances and died, does the sweep's message resume the run, move the
    rest, and count every instance exactly once?"""
    movable, past = _instances(moving=4, past=2)
    run = migration.create_run(SYSTEM, "s_flow", 2)
    claimed = migration._claim(run.id)  # the executor that will die
    target = ProcessVersion.objects.get(process_id="s_flow", number=2)
    assert {o for o, _ in move_batch(movable[:2], target, by="system:", run_id=claimed.id).values()} == {
        "moved"
    }
    assert migration.stalled_runs() == []  # still beating
    _stall(run.id)
    assert migration.stalled_runs() == [str(run.id)]

    assert studio.resume_stalled() == 1
    over = wait_for(
        lambda: MigrationRun.objects(id=run.id, status__in=["finished", "failed"]).first(),
        timeout=60,
        what="the resumed run",
    )
    assert (over.status, over.total, over.done, over.moved, over.refused, over.failed) == (
        "finished",
        6,
        6,
        4,
        2,
        0,
    )
    assert sorted(o["instance_id"] for o in over.outcomes) == sorted(str(i) for i in past)
    assert all(store.instances().find_one({"_id": i})["process_version"] == 2 for i in movable)
    assert migration.execute_run(run.id)["moved"] == 4  # a late duplicate message changes nothing


def test_a_run_with_a_live_executor_is_not_taken_over(s_flow):
    """Is a run whose executor still beats refused to a second executor (409), and is a run whose start
    message was lost (pending too long) listed for the sweep?"""
    _instances(moving=1, past=0)
    run = migration.create_run(SYSTEM, "s_flow", 2)
    migration._claim(run.id)
    with pytest.raises(Conflict):
        migration.execute_run(run.id)
    lost = migration.create_run(SYSTEM, "s_flow", 2)
    assert migration.stalled_runs() == []
    MigrationRun.objects(id=lost.id).update_one(
        set__created_at=utcnow() - migration.STALLED_AFTER - timedelta(1)
    )
    assert migration.stalled_runs() == [str(lost.id)]
