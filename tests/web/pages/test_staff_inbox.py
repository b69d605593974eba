"""The staff inbox page: tasks beside unread messages, a task page, mark done."""

from __future__ import annotations

from engine.authz import SYSTEM
from engine.models.workflow import ProcessInstance
from engine.services.messaging import messaging
from engine.services.processes import processes
from engine.workflow.deploy import deploy
from tests.helpers import login_as, make_client, make_portal_account, make_staff

CALL_BACK = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="t_call_back" name="Call the client back" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_staff" name="staff"><bpmn:flowNodeRef>call</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="call" name="Call the client back"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _setup(app):
    therapist = make_staff(roles=("therapist",), email="inbox@example.org")
    stranger = make_staff(roles=("therapist",), email="other@example.org")
    client = make_client(first_name="Ada", last_name="Lane", assigned_staff=[therapist.id])
    deploy(SYSTEM, CALL_BACK)
    iid = processes.start_process("t_call_back", client_id=client.id)
    return therapist, stranger, client, iid


def test_assigned_therapist_sees_the_task_and_marks_it_done(app):
    """Does the assigned therapist find the task in the inbox, open it and complete the instance with one click?"""
    _therapist, _stranger, client, iid = _setup(app)
    web = app.test_client()
    headers = login_as(web, "inbox@example.org")
    page = web.get("/staff/inbox").get_data(as_text=True)
    assert "Call the client back" in page and "Ada Lane" in page
    task_id = page.split('href="/staff/tasks/')[1].split('"')[0]
    detail = web.get(f"/staff/tasks/{task_id}").get_data(as_text=True)
    assert "Mark done" in detail
    resp = web.post(f"/staff/tasks/{task_id}/done", headers=headers)
    assert resp.status_code == 303
    assert ProcessInstance.objects.get(id=iid).status == "completed"
    assert "Nothing waiting for you" in web.get("/staff/inbox").get_data(as_text=True)


def test_unassigned_therapist_sees_neither_task_nor_client(app):
    """Does a therapist not assigned to the client see no task, and get 404 for its page?"""
    therapist, _stranger, client, _iid = _setup(app)
    mine = app.test_client()
    login_as(mine, "inbox@example.org")
    task_id = mine.get("/staff/inbox").get_data(as_text=True).split('href="/staff/tasks/')[1].split('"')[0]
    other = app.test_client()
    login_as(other, "other@example.org")
    assert "Ada Lane" not in other.get("/staff/inbox").get_data(as_text=True)
    assert other.get(f"/staff/tasks/{task_id}").status_code == 404


def test_unread_messages_sit_beside_tasks(app):
    """Does a client's unread message show in the staff inbox, and leave it once read?"""
    therapist, _stranger, client, _iid = _setup(app)
    account = make_portal_account(client=client, email="ada@example.org")
    from engine.authz import portal_actor, staff_actor

    messaging.post_message(portal_actor(account), client.id, body="Can we move Tuesday?")
    web = app.test_client()
    login_as(web, "inbox@example.org")
    assert "1 unread" in web.get("/staff/inbox").get_data(as_text=True)
    messaging.mark_read(staff_actor(therapist), client.id)
    assert "No unread messages" in web.get("/staff/inbox").get_data(as_text=True)
