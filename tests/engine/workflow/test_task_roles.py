"""A user task's `role` (engine.workflow.roles) is checked at deploy, like its formKey."""

from __future__ import annotations

import pytest

from engine.authz import SYSTEM
from engine.models.workflow import ProcessDefinition
from engine.workflow.deploy import SHIPPED_DIR, deploy
from engine.workflow.errors import DeployRejected
from tests.helpers import bpmn

FORM_KEY = '<spiffworkflow:property name="formKey" value="t_review"/>'


def rejected(xml: str | bytes) -> dict:
    with pytest.raises(DeployRejected) as exc:
        deploy(SYSTEM, xml)
    return exc.value.details


def with_review_properties(*properties: str) -> str:
    """t_gateways with extra properties on its user task `review`."""
    text = bpmn("t_gateways").decode()
    assert FORM_KEY in text
    return text.replace(FORM_KEY, FORM_KEY + "".join(properties))


def prop(name: str, value: str) -> str:
    return f'<spiffworkflow:property name="{name}" value="{value}"/>'


def test_an_unknown_role_is_refused_naming_the_task(deployed):
    """Is a misspelt role refused with a message on the task that names the known roles, the live
    version left in place?"""
    details = rejected(with_review_properties(prop("role", "acknowledgment")))
    [message] = details["review"]
    assert "'acknowledgment' is not a task role" in message and "acknowledgement" in message
    assert ProcessDefinition.objects.get(process_id="t_gateways").latest_version == 1
    script = '<bpmn:scriptTask id="prepare" name="Prepare">'
    on_script = (
        bpmn("t_gateways")
        .decode()
        .replace(
            script,
            script
            + (
                "<bpmn:extensionElements><spiffworkflow:properties>"
                + prop("role", "approval")
                + "</spiffworkflow:properties></bpmn:extensionElements>"
            ),
        )
    )
    assert "only a user task has a role" in rejected(on_script)["prepare"][0]


def test_a_role_without_what_it_needs_is_refused(deployed):
    """Is an acknowledgement task without `submittedForms` (the page would have nothing to show)
    refused, and one with it, whose expression compiles, deployed?"""
    details = rejected(with_review_properties(prop("role", "acknowledgement")))
    assert any("needs the property submittedForms" in m for m in details["review"])
    details = rejected(
        with_review_properties(prop("role", "acknowledgement"), prop("submittedForms", "__import__"))
    )
    assert any(m.startswith("submittedForms:") for m in details["review"])
    ok = deploy(
        SYSTEM, with_review_properties(prop("role", "acknowledgement"), prop("submittedForms", "'t_review'"))
    )
    assert ok == [{"process_id": "t_gateways", "number": 2, "created": True}]


def test_the_intake_without_its_roles_is_refused(clean_db):
    """Is a client_intake whose revision task lost its role refused with a message naming the
    role the product's pages need?"""
    from engine.services.intake.intake_setup import install_shipped

    install_shipped()
    xml = (SHIPPED_DIR / "client_intake.bpmn").read_text()
    revision = '<spiffworkflow:property name="role" value="revision"/>'
    assert revision in xml
    details = rejected(xml.replace(revision, ""))
    assert any("'revision'" in m for m in details["client_intake"])
