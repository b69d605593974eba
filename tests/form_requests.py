"""Ask a client for one form the shortest way: a one-task process whose client-lane (or guardian-lane)
user task names the form, started for the client. What the portal may open, save and submit is what
such an open task asks for (engine/services/access/form_requests.py).

    task = request_form(client, "gad7")           # the open Task row
"""

from __future__ import annotations

_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_{pid}" targetNamespace="http://portico.test/bpmn">
  <bpmn:process id="{pid}" name="Test form request" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_{lane}" name="{lane}"><bpmn:flowNodeRef>fill</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="Fill in the form">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="{key}"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def request_form(client, form_key: str, *, lane: str = "client"):
    """Start a process asking `client` (a Client) for the published form `form_key`; its open Task row."""
    from engine.authz import SYSTEM
    from engine.models.workflow import Task
    from engine.workflow.deploy import deploy
    from engine.workflow.runtime import start

    pid = f"t_request_{form_key}_{lane}"
    deploy(SYSTEM, _BPMN.format(pid=pid, key=form_key, lane=lane))
    instance = start(pid, client_id=client.id)
    return Task.objects(instance_id=instance, status="open").get()
