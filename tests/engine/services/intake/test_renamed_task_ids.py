"""Issue 13, acceptance 3: the staff and portal pages find a task by the role the BPMN declares, not
by its element id. Every element id of the shipped processes is renamed in a copy, the copy is
deployed, and a minor's intake runs through the pages: the guardian's approval page, the staff
acknowledgement page (return with a comment, then acknowledge), and the returned form's page.

Operations are performed here directly (tests.intake_lifecycle.perform_all) instead of by a worker.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from lxml import etree

from engine import wiring
from engine.models.clients import Contact, ContactLink, LinkPermissions
from engine.models.workflow import ProcessInstance, ProcessVersion, Task
from engine.workflow.deploy import SHIPPED_DIR, deploy_shipped
from tests import intake_lifecycle as lc
from tests.form_fills import SIG, VALID
from tests.helpers import login_as, make_client, make_staff

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Attributes and element texts that refer to another element by id.
REF_ATTRS = ("sourceRef", "targetRef", "attachedToRef", "default", "errorRef", "messageRef", "signalRef")
REF_TEXTS = ("incoming", "outgoing", "flowNodeRef")
# Not renamed: process ids (the product starts `client_intake` by id, and call activities name the
# processes they call) and multi-instance data items, whose ids are task-data variable names.
KEPT = ("process", "inputDataItem", "outputDataItem")
EARLIER = re.compile(r'<script type="application/json" id="earlier-answers">(.*?)</script>', re.S)


def rename_ids(xml: bytes) -> tuple[bytes, dict[str, str]]:
    """The BPMN with every other element id replaced by a new one, and the references with it."""
    root = etree.fromstring(xml)
    renamed: dict[str, str] = {}
    # BPMN elements only: the ids inside spiffworkflow extensions name operations and parameters.
    elements = [e for e in root.iter(f"{{{BPMN}}}*") if e.getparent() is not None]
    for element in elements:
        if element.get("id") is not None and etree.QName(element).localname not in KEPT:
            renamed[element.get("id")] = f"el_{len(renamed):03d}"
    for element in elements:
        if element.get("id") in renamed and etree.QName(element).localname not in KEPT:
            element.set("id", renamed[element.get("id")])
        for attr in REF_ATTRS:
            if element.get(attr) in renamed:
                element.set(attr, renamed[element.get(attr)])
        if etree.QName(element).localname in REF_TEXTS and element.text in renamed:
            element.text = renamed[element.text]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), renamed


def renamed_copy(folder: Path) -> dict[str, str]:
    """Every shipped BPMN file, its element ids renamed, written to `folder`; returns old id -> new."""
    renamed: dict[str, str] = {}
    for path in sorted(SHIPPED_DIR.glob("*.bpmn")):
        xml, ids = rename_ids(path.read_bytes())
        (folder / path.name).write_bytes(xml)
        renamed.update({f"{path.stem}:{old}": new for old, new in ids.items()})
    return renamed


def _open(iid, **query) -> Task:
    return lc.wait_for(
        lambda: Task.objects(instance_id=iid, status="open", **query).first(), what=f"an open task {query}"
    )


def test_an_intake_with_every_element_id_renamed_runs_through_the_pages(
    app, client, installed, smtp, tmp_path
):
    """With every task, event, gateway, flow and lane of the shipped processes renamed, does a minor's
    intake still show the guardian the minor's answers, give staff the acknowledgement page (return
    with a comment, then acknowledge), show the client staff's comment and earlier answers on the
    returned form, and finish with the packet filed?"""
    renamed = renamed_copy(tmp_path)
    assert "client_intake:acknowledge_form" in renamed and "guardian_approval:approve" in renamed
    created = {r["process_id"] for r in deploy_shipped(directory=tmp_path) if r["created"]}
    assert {"client_intake", "guardian_approval"} <= created
    live = ProcessVersion.objects(process_id="client_intake").order_by("-number").first().bpmn_xml
    assert not re.search(r'id="(acknowledge_form|revise_form|fill_form)"', live)

    wiring.wire()
    lc.configure(
        intake_packet=["minor_assent"],
        reminder_max=0,
        guardian_approval_rule="any",
        guardian_approval_timeout="P7D",
    )
    today = date.today()
    sam = make_client(
        first_name="Sam", last_name="Lovelace", date_of_birth=today.replace(year=today.year - 12, day=1)
    )
    ada = Contact(first_name="Ada", last_name="Parent", email="ada.parent@example.org")
    ada.save()
    ContactLink(
        contact=ada,
        client=sam,
        relationship="parent",
        is_guardian=True,
        permissions=LinkPermissions(forms=True),
    ).save()
    admin = make_staff(roles=("org_admin",))
    staff = login_as(client, admin.email)

    invited = client.post(f"/staff/clients/{sam.id}/invite", data={"packet": ["minor_assent"]}, headers=staff)
    assert invited.status_code in (302, 303)
    iid = ProcessInstance.objects(client_id=sam.id).get().id
    lc.perform_all(iid)

    # The guardian, in a browser of their own: the packet form, then the approval page.
    portal_http = app.test_client()
    guardian = lc.activate(portal_http, smtp, "ada.parent@example.org")
    assert lc.fill_packet(portal_http, guardian, str(sam.id), 1) == ["minor_assent"]
    lc.perform_all(iid)
    approval = _open(iid, lane="guardian")
    assert approval.role == "approval" and approval.spec_name != "approve"
    login_as(portal_http, "ada.parent@example.org", lc.PORTAL_PASSWORD)
    page = portal_http.get(f"/portal/tasks/{approval.id}")
    assert (
        page.status_code == 200 and b"The answers given for Sam" in page.data and b"Sam Lovelace" in page.data
    )
    lc.complete(portal_http, guardian, str(approval.id), {"approved": True, "guardian_signature": SIG})
    lc.perform_all(iid)

    # Staff: the task opens its acknowledgement page; the form goes back with a comment.
    ack = _open(iid, lane="staff")
    assert ack.role == "acknowledgement" and ack.submitted_forms == ["minor_assent"]
    documents_tab = client.get(f"/staff/clients/{sam.id}/documents")
    assert f"/staff/tasks/{ack.id}/acknowledge".encode() in documents_tab.data
    opened = client.get(f"/staff/tasks/{ack.id}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(
        f"/staff/tasks/{ack.id}/acknowledge"
    )
    page = client.get(f"/staff/tasks/{ack.id}/acknowledge")
    assert page.status_code == 200 and b"Sam Lovelace" in page.data
    returned = client.post(
        f"/staff/tasks/{ack.id}/acknowledge",
        headers=staff,
        data={"decision": "return", "return_comment": "Please sign again, Sam."},
    )
    assert returned.status_code in (302, 303)
    lc.perform_all(iid)

    # The returned form's page shows staff's comment and starts from the earlier answers.
    revision = _open(iid, lane="client")
    assert revision.role == "revision" and revision.form_key == "minor_assent"
    page = portal_http.get(f"/portal/tasks/{revision.id}")
    assert page.status_code == 200 and b"Please sign again, Sam." in page.data
    earlier = EARLIER.search(page.get_data(as_text=True))
    assert earlier and json.loads(earlier.group(1))["understands"] == "Yes"  # the answers to start from
    lc.complete(portal_http, guardian, str(revision.id), VALID["minor_assent"])
    lc.perform_all(iid)

    again = _open(iid, lane="staff")
    assert client.get(f"/staff/tasks/{again.id}/acknowledge").status_code == 200
    done = client.post(
        f"/staff/tasks/{again.id}/acknowledge", headers=staff, data={"decision": "acknowledge"}
    )
    assert done.status_code in (302, 303)
    lc.perform_all(iid)
    assert ProcessInstance.objects.get(id=iid).status == "completed"
    assert {d["kind"] for d in lc.documents(portal_http, guardian, str(sam.id))} == {"form", "packet"}
