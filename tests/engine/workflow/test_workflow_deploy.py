"""Deploying BPMN: what is checked beyond parsing, versioning, and specs stored once per version."""

from __future__ import annotations

import json

import pytest
from bson import ObjectId

from engine.authz import SYSTEM
from engine.models.workflow import ProcessDefinition, ProcessVersion
from engine.services.processes import processes
from engine.workflow import store
from engine.workflow.deploy import deploy, deploy_shipped
from engine.workflow.errors import DeployRejected
from tests.helpers import bpmn


def rejected(xml: str | bytes) -> dict:
    with pytest.raises(DeployRejected) as exc:
        deploy(SYSTEM, xml)
    return exc.value.details


def gateways(**replace) -> str:
    text = bpmn("t_gateways").decode()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_identical_xml_is_not_a_new_version(deployed):
    """Does redeploying the same XML keep version 1, and a change make version 2?"""
    assert deploy(SYSTEM, bpmn("t_gateways")) == [{"process_id": "t_gateways", "number": 1, "created": False}]
    changed = gateways(**{'name="Review the request"': 'name="Review the request again"'})
    assert deploy(SYSTEM, changed) == [{"process_id": "t_gateways", "number": 2, "created": True}]
    assert ProcessDefinition.objects.get(process_id="t_gateways").latest_version == 2


def test_unknown_form_operation_lane_and_bad_scripts_are_named(deployed):
    """Does a rejected deploy name each bad element and leave the live version in place?"""
    details = rejected(
        gateways(
            **{
                'value="t_review"': 'value="no_such_form"',
                'name="client"': 'name="martians"',
                'steps = ["prepared"]': "import os",
                "approved == True": "approved.__class__",
                "'P2D'": "open('x')",
            }
        )
    )
    assert any("no_such_form" in m for m in details["review"])
    assert any("martians" in m for m in details["sign"])
    assert any("import" in m for m in details["prepare"])
    assert any("condition" in m for m in details["decide"])
    assert any("due" in m for m in details["review"])
    assert ProcessDefinition.objects.get(process_id="t_gateways").latest_version == 1


def test_unknown_operation_and_bad_timer(deployed):
    """Are an unknown service operation and a timer literal that is not ISO-8601 refused?"""
    service = bpmn("t_service").decode().replace('id="test_flaky"', 'id="launch_rockets"')
    assert any("launch_rockets" in m for m in rejected(service)["flaky"])
    timer = bpmn("t_reminder").decode().replace(">reminder_cadence<", ">'P3X'<")
    assert any("ISO-8601" in m for m in rejected(timer)["reminder"])


def test_call_activity_needs_a_known_process(clean_db):
    """Is a call activity to a process that is neither in the file nor deployed refused?"""
    details = rejected(bpmn("t_parent"))
    assert "t_child" in details


def test_malformed_xml_and_no_process(clean_db):
    """Do malformed XML and a file without an executable process get a 422 with a reason?"""
    assert "bpmn" in rejected("<bpmn:definitions")
    empty = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="x"></bpmn:definitions>'
    )
    assert "bpmn" in rejected(empty)


def test_spec_is_stored_once_per_version_not_per_instance(deployed):
    """Is the spec kept on the version and absent from instance state?"""
    iid = processes.start_process("t_gateways")
    doc = store.instances().find_one({"_id": ObjectId(iid)})
    state = json.loads(store.decode_state(doc["state_json"]))
    assert "spec" not in state and "subprocess_specs" not in state
    assert doc["serializer_version"] == "1.5"
    version = ProcessVersion.objects.get(process_id="t_gateways", number=1)
    assert json.loads(version.spec_json)["spec"]["name"] == "t_gateways"


def test_parent_pins_the_called_spec(deployed):
    """Does a caller's version carry the called process's spec, so a later child deploy does not change it?"""
    version = ProcessVersion.objects.get(process_id="t_parent", number=1)
    assert version.calls == ["t_child"]
    assert "t_child" in json.loads(version.spec_json)["subprocess_specs"]


def test_deploy_shipped_deploys_a_folder_in_any_order(clean_db, tmp_path, review_form):
    """Does first-start deployment handle a caller listed before the process it calls, and repeat as a no-op?"""
    (tmp_path / "a_parent.bpmn").write_bytes(bpmn("t_parent"))
    (tmp_path / "b_child.bpmn").write_bytes(bpmn("t_child"))
    first = deploy_shipped(directory=tmp_path)
    assert sorted((r["process_id"], r["created"]) for r in first) == [("t_child", True), ("t_parent", True)]
    assert all(not r["created"] for r in deploy_shipped(directory=tmp_path))
