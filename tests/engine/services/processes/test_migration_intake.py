"""Acceptance 2 on the shipped `client_intake`: 1,000 running intakes at three steps move to a version with a
staff task after acknowledgement; the preview is exact; those past acknowledgement stay and finish on
their version; moved ones run the new task and finish; a rollback restores the snapshot exactly.

Three intakes are driven through the HTTP API to their step, then their documents (with their inbox
rows and timers) are cloned: the clones are what 1,000 invitations would have written.
"""

from __future__ import annotations

import pytest
from bson import ObjectId
from lxml import etree

from engine.authz import SYSTEM
from engine.models.migration import MigrationSnapshot
from engine.models.workflow import ProcessVersion, Task
from engine.services.processes import migration
from engine.workflow import store
from engine.workflow.deploy import deploy
from tests import intake_lifecycle as lc
from tests.form_fills import VALID
from tests.helpers import api_login, clone_instance, make_client, make_portal_account, make_staff

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
STEPS = {"filling": 334, "acknowledging": 333, "past": 333}


def with_task_after_acknowledgement(xml: str) -> bytes:
    """The live intake with a staff task `welcome_call` on the flow leaving the acknowledgement."""
    root = etree.fromstring(xml.encode())
    process = root.find(f"{{{BPMN}}}process[@id='client_intake']")
    flow = process.find(f"{{{BPMN}}}sequenceFlow[@sourceRef='acknowledge_each']")
    target = flow.get("targetRef")
    flow.set("targetRef", "welcome_call")
    task = etree.SubElement(process, f"{{{BPMN}}}userTask", id="welcome_call", name="Make the welcome call")
    etree.SubElement(task, f"{{{BPMN}}}incoming").text = flow.get("id")
    etree.SubElement(task, f"{{{BPMN}}}outgoing").text = "f_welcomed"
    etree.SubElement(
        process, f"{{{BPMN}}}sequenceFlow", id="f_welcomed", sourceRef="welcome_call", targetRef=target
    )
    node = process.find(f"{{{BPMN}}}*[@id='{target}']")
    for incoming in node.findall(f"{{{BPMN}}}incoming"):
        if incoming.text == flow.get("id"):
            incoming.text = "f_welcomed"
    lane = process.find(f".//{{{BPMN}}}lane[@name='staff']")
    etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = "welcome_call"
    return etree.tostring(root)


def _open_task(iid, **query) -> Task:
    return lc.wait_for(
        lambda: Task.objects(instance_id=iid, status="open", **query).first(), what=f"a task {query}"
    )


def acknowledge(client, staff, iid) -> None:
    lc.complete(
        client, staff, str(_open_task(iid, form_key="form_acknowledgement").id), {"decision": "acknowledge"}
    )


def welcome(client, staff, iid) -> None:
    lc.complete(client, staff, str(_open_task(iid, spec_name="welcome_call").id), {})


@pytest.fixture()
def world(client, installed, smtp):
    lc.configure(intake_packet=["gad7"], reminder_max=0)
    staff = api_login(client, make_staff(roles=("org_admin",)).email)
    seeds, portals = {}, {}
    for step in STEPS:
        person = make_client(first_name=step.title(), email=f"{step}@example.org")
        make_portal_account(client=person)
        portals[step] = (str(person.id), api_login(client, f"{step}@example.org"))
        resp = client.post(f"/api/v1/clients/{person.id}/invite", headers=staff, json={})
        assert resp.status_code == 201, resp.get_json()
        seeds[step] = ObjectId(resp.get_json()["id"])
        lc.perform_all(seeds[step])
    for step in ("acknowledging", "past"):
        lc.fill_packet(client, portals[step][1], portals[step][0], 1)
        lc.perform_all(seeds[step])
    acknowledge(client, staff, seeds["past"])  # its operations stay pending
    return {"staff": staff, "seeds": seeds, "portals": portals}


def test_thousand_real_intakes_move_past_ones_stay_and_all_finish(client, world):
    """Do 1,000 real intakes preview exactly, move when they can, finish on the right version, and roll back?"""
    seeds, staff = world["seeds"], world["staff"]
    by_step = {step: clone_instance(seeds[step], copies) for step, copies in STEPS.items()}
    live = ProcessVersion.objects(process_id="client_intake").order_by("-number").first()
    [new] = [
        r
        for r in deploy(SYSTEM, with_task_after_acknowledgement(live.bpmn_xml))
        if r["process_id"] == "client_intake"
    ]
    assert new["created"]

    preview = migration.preview(SYSTEM, "client_intake", new["number"])
    assert (preview["total"], preview["can_move"], preview["refused"]) == (1000, 667, 333)
    refused = {ObjectId(i["id"]) for i in preview["items"] if not i["can_move"]}
    assert refused == set(by_step["past"])
    assert all(
        "already past acknowledge_each" in " ".join(i["reasons"])
        for i in preview["items"]
        if not i["can_move"]
    )

    snapshot_of = by_step["acknowledging"][5]
    before = store.instances().find_one({"_id": snapshot_of})
    run = migration.migrate(SYSTEM, "client_intake", new["number"])
    assert (run["moved"], run["refused"], run["failed"]) == (667, 333, 0)

    # Past the change: finishes on its own version.
    lc.perform_all(seeds["past"])
    lc.wait_completed(client, staff, str(seeds["past"]))
    # Waiting for acknowledgement when it moved: acknowledgement, then the new task, then the rest.
    acknowledge(client, staff, seeds["acknowledging"])
    welcome(client, staff, seeds["acknowledging"])
    lc.perform_all(seeds["acknowledging"])
    done = lc.wait_completed(client, staff, str(seeds["acknowledging"]))
    assert done["process_version"] == new["number"]
    # Filling in when it moved: the whole new path.
    portal = world["portals"]["filling"][1]
    lc.complete(client, portal, str(_open_task(seeds["filling"], lane="client").id), VALID["gad7"])
    lc.perform_all(seeds["filling"])
    acknowledge(client, staff, seeds["filling"])
    welcome(client, staff, seeds["filling"])
    lc.perform_all(seeds["filling"])
    assert lc.wait_completed(client, staff, str(seeds["filling"]))["process_version"] == new["number"]

    snap = MigrationSnapshot.objects.get(instance_id=snapshot_of)
    migration.rollback(SYSTEM, snapshot_of)
    after = store.instances().find_one({"_id": snapshot_of})
    for f in (
        "state_json",
        "serializer_version",
        "status",
        "waiting_messages",
        "process_version",
        "process_version_id",
        "error",
    ):
        assert after[f] == before[f]
    assert after["state_json"] == snap.state_json
