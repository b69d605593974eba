"""`portico instances migrate`: a progress bar while it moves, then a summary with refusal reasons."""

from __future__ import annotations

from engine import cli
from engine.authz import SYSTEM
from engine.models.workflow import Task
from engine.workflow import runtime, store
from engine.workflow.deploy import deploy
from tests.helpers import bpmn


def _past_acknowledgement():
    iid = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    for data in ({"answer": "x"}, {"ok": True}):
        runtime.complete_task(iid, Task.objects(instance_id=iid, status="open").first().task_id, data, by="t")
    return iid


def test_cli_migrate_shows_progress_and_a_summary(s_flow, capsys):
    """Does the CLI preview, draw progress up to the total, and print moved / refused with reasons / failed?"""
    moving = [runtime.start("s_flow", data={"packet": ["s_form_a"]}) for _ in range(3)]
    past = _past_acknowledgement()
    deploy(SYSTEM, bpmn("s_flow_v2"))

    assert cli.main(["instances", "migrate", "--process", "s_flow", "--to", "2", "--dry-run"]) == 0
    dry = capsys.readouterr()
    assert "4 running instance(s) of s_flow on other versions: 3 can move to version 2, 1 cannot" in dry.out
    assert "cannot move 1: already past acknowledge" in dry.out
    assert store.instances().count_documents({"process_version": 2}) == 0

    assert cli.main(["instances", "migrate", "--process", "s_flow", "--to", "2"]) == 0
    out = capsys.readouterr()
    assert "[##############################] 4/4 moved 3 refused 1 failed 0" in out.err
    assert "moved 3, refused 1, failed 0 (of 4; s_flow → version 2)" in out.out
    assert (
        "  refused 1: already past acknowledge (Acknowledge the packet), which changed (outputs)" in out.out
    )
    assert {d["_id"] for d in store.instances().find({"process_version": 2})} == set(moving)
    assert store.instances().find_one({"_id": past})["process_version"] == 1


def test_cli_migrate_to_a_missing_version_says_so(s_flow, capsys):
    """Does asking for a version that does not exist exit 2 with a one-line reason?"""
    assert cli.main(["instances", "migrate", "--process", "s_flow", "--to", "9"]) == 2
    assert "has no version 9" in capsys.readouterr().err
