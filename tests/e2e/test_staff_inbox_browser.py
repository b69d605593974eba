"""A staff task with a form, in a real browser: the server's field errors appear on the question,
and a valid answer completes the task and returns to the inbox."""

from __future__ import annotations

from engine.authz import SYSTEM
from engine.models.workflow import ProcessInstance
from engine.services.forms import forms
from engine.services.processes import processes
from engine.workflow.deploy import deploy
from tests.helpers import PASSWORD, make_client, make_staff

FORM = {
    "pages": [
        {
            "name": "p1",
            "elements": [
                {
                    "type": "text",
                    "name": "outcome",
                    "title": "What came of the call?",
                    "isRequired": True,
                    "validators": [
                        {"type": "text", "minLength": 5, "text": "Say a little more (5 characters at least)"}
                    ],
                },
            ],
        }
    ]
}

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="t_call_note" name="Call note" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_staff" name="staff"><bpmn:flowNodeRef>note</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="note" name="Write down the call">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="t_call_note"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="note"/>
    <bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_staff_task_form_shows_server_errors_then_completes(live_server, page):
    """Does a too-short answer get the server's message on the question, and a good one finish the task?"""
    therapist = make_staff(roles=("therapist",), email="caller@example.org")
    client = make_client(first_name="Noor", last_name="Haddad", assigned_staff=[therapist.id])
    forms.create_form(SYSTEM, "t_call_note", "task", "Call note", FORM)
    forms.publish(SYSTEM, "t_call_note")
    deploy(SYSTEM, BPMN)
    iid = processes.start_process("t_call_note", client_id=client.id)

    page.goto(f"{live_server}/login")
    page.fill("#email", "caller@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/staff/inbox")
    page.get_by_role("link", name="Write down the call").click()
    page.wait_for_selector("#survey input[type=text]")
    # Switch the browser's own checks off, so that only the server judges the answer.
    page.evaluate("window.porticoSurvey.validationEnabled = false")
    page.fill("#survey input[type=text]", "ok")
    page.locator("#survey input[type=text]").press("Tab")
    page.locator("input[type=button][value=Complete], button:has-text('Complete')").first.click()
    page.get_by_text("Say a little more").first.wait_for()
    assert ProcessInstance.objects.get(id=iid).status == "running"
    page.fill("#survey input[type=text]", "Booked a follow-up for Thursday")
    page.locator("input[type=button][value=Complete], button:has-text('Complete')").first.click()
    page.wait_for_url(f"{live_server}/staff/inbox")
    assert ProcessInstance.objects.get(id=iid).status == "completed"
