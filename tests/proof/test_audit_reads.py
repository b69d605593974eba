"""Every read of client data writes an audit row.

READS declares every GET route (API and pages) that shows client data, with who reads it here (an
organization admin's browser session, or client A's guardian's); NO_CLIENT_DATA declares the others,
each with the reason. A GET route in neither fails the test, so a new page or API route must be
classified. Each read is made once, and must add at least one audit row of that actor.

Routes whose object this world does not build (ABSENT) are listed in the report; their read path was
checked by reading the code instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.authz import SYSTEM
from engine.models.audit import AuditEvent
from engine.services.platform import audit
from tests.form_fills import SIG, VALID
from tests.helpers import login_as
from tests.proof import test_authz_matrix as matrix

world = matrix.world  # client A with an appointment, invoices, a payment, a message, a document, a task

ROOT = Path(__file__).resolve().parents[2]
ABSENT = "absent"
# route -> who reads it ("admin" or "guardian"), or ABSENT (no object built here; checked by reading).
READS: dict[str, str] = {
    "/api/v1/appointments": "admin",
    "/api/v1/appointments.ics": "admin",
    "/api/v1/appointments/<appointment_id>": "admin",
    "/api/v1/appointments/<appointment_id>/ics": "admin",
    "/api/v1/clients": "admin",
    "/api/v1/clients/<client_id>": "admin",
    "/api/v1/clients/<client_id>/contacts": "admin",
    "/api/v1/clients/<client_id>/documents": "admin",
    "/api/v1/clients/<client_id>/forms/<key>": "admin",
    "/api/v1/clients/<client_id>/insurance": "admin",
    "/api/v1/clients/<client_id>/insurance/<policy_id>/cards/<side>": "admin",
    "/api/v1/clients/<client_id>/invoices": "admin",
    "/api/v1/clients/<client_id>/messages": "admin",
    "/api/v1/clients/<client_id>/payment-methods": "admin",
    "/api/v1/clients/<client_id>/review-items": "admin",
    "/api/v1/documents/<document_id>/content": "admin",
    "/api/v1/messages/<message_id>/attachments/<int:n>": "admin",
    "/api/v1/messages/unread": "admin",
    "/api/v1/payments/<payment_id>/receipt": "admin",
    "/api/v1/process-instances": "admin",
    "/api/v1/process-instances/<instance_id>": "admin",
    "/api/v1/process-instances/<instance_id>/diagram": "admin",
    "/api/v1/process-instances/search": "admin",
    "/api/v1/submissions/<submission_id>": "admin",
    "/api/v1/submissions/<submission_id>/files/<file_id>": "admin",
    "/api/v1/submissions/<submission_id>/pdf": "admin",
    "/api/v1/tasks": "admin",
    "/api/v1/tasks/<task_id>": "guardian",
    "/api/v1/tasks/<task_id>/review": ABSENT,  # an acknowledgement task; read_submission audits it
    "/portal/appointments": "guardian",
    "/portal/billing": "guardian",
    "/portal/billing/receipts/<payment_id>": "guardian",
    "/portal/documents": "guardian",
    "/portal/insurance": "guardian",
    "/portal/messages": "guardian",
    "/portal/tasks": "guardian",
    "/portal/tasks/<task_id>": "guardian",
    "/staff": "admin",
    "/staff/appointments": "admin",
    "/staff/clients": "admin",
    "/staff/clients/<client_id>": "admin",
    "/staff/clients/<client_id>/billing": "admin",
    "/staff/clients/<client_id>/appointments": "admin",
    "/staff/clients/<client_id>/contacts": "admin",
    "/staff/clients/<client_id>/dynamic-forms/<key>": ABSENT,
    "/api/v1/clients/<client_id>/closed-requests": "admin",
    "/api/v1/clients/<client_id>/submitted-forms": "admin",
    "/staff/clients/<client_id>/documents": "admin",
    "/staff/clients/<client_id>/insurance": "admin",
    "/staff/clients/<client_id>/messages": "admin",
    "/staff/inbox": "admin",
    "/staff/messages": "admin",
    "/staff/submissions/<submission_id>": "admin",
    "/staff/tasks/<task_id>": "admin",  # a staff-lane task (staff_task_id)
    "/staff/tasks/<task_id>/acknowledge": ABSENT,  # an acknowledgement task; read_submission audits it
    "/studio/instances": "admin",
    "/studio/instances/<instance_id>": "admin",
}
NO_CLIENT_DATA: dict[str, str] = {
    "/": "a redirect",
    "/portal/forms/<key>": "a redirect to the page of the task asking for the form (security #13)",
    "/portal/tasks/next": "a redirect to the next form waiting (the task list it reads is audited by tasks.inbox)",
    "/admin/service-tokens": "integration settings: token names, permissions, last use",
    "/admin/webhooks": "integration settings: endpoints",
    "/admin/webhooks/<endpoint_id>": "an endpoint and its deliveries, whose bodies carry ids only",
    "/api/v1/service-tokens": "integration settings: token names, permissions, last use",
    "/api/v1/webhooks": "integration settings: endpoints",
    "/api/v1/webhooks/events": "the event catalogue",
    "/api/v1/webhooks/<endpoint_id>": "an endpoint",
    "/api/v1/webhooks/<endpoint_id>/deliveries": "deliveries, whose bodies carry ids only",
    "/account/password": "the signed-in account's own form",
    "/admin/practice": "the practice's own settings",
    "/admin/setup": "the practice's set-up checklist",
    "/api/v1/settings/practice": "the practice's own settings",
    "/api/v1/settings/checklist": "the practice's set-up checklist",
    "/practice/logo": "the practice's logo (public: the sign-in page shows it)",
    "/api/v1/forms/<key>/published": "a form's published definition (questions, no answers)",
    "/admin/permissions": "organization settings",
    "/admin/portal": "organization settings",
    "/admin/staff": "staff members",
    "/admin/staff/<staff_id>": "a staff member",
    "/api/v1/availability": "open slots, no client",
    "/api/v1/availability/staff/<staff_id>": "a staff member's working hours",
    "/api/v1/forms": "form definitions",
    "/api/v1/forms/<key>": "a form definition",
    "/api/v1/forms/<key>/blank.pdf": "a blank form",
    "/api/v1/me": "the signed-in account and the names of the profiles it reaches",
    "/api/v1/openapi.json": "the API description",
    "/api/v1/settings/default-permissions": "organization settings",
    "/api/v1/settings/intake-packet": "organization settings",
    "/api/v1/staff/me/preferences": "the signed-in member's own preferences",
    "/staff/preferences": "the signed-in member's own preferences",
    "/api/v1/settings/portal": "organization settings",
    "/api/v1/staff": "staff members",
    "/api/v1/process-instances/<instance_id>/snapshots": "migration snapshots' versions and dates",
    "/api/v1/process-instances/migrations/<run_id>": "a migration run's counts and refusal reasons",
    "/api/v1/processes": "process definitions",
    "/api/v1/processes/<process_id>/diagram": "a process definition",
    "/api/v1/processes/<process_id>/diff": "a process definition",
    "/api/v1/processes/<process_id>/versions/<int:number>": "a process definition",
    "/api/v1/studio/catalog": "operations and forms for the modeler",
    "/dev/mail/": "the development mail sink (not served in production)",
    "/dev/mail/<message_id>": "the development mail sink (not served in production)",
    "/healthz": "service health",
    "/login": "the sign-in form",
    "/password/forgot": "the form asking for a reset link",
    "/password/reset": "the form choosing a new password",
    "/logout": "the sign-out form",
    "/mfa/setup": "the signed-in account's own second factor",
    "/mfa/verify": "the sign-in code form",
    "/portal": "the signed-in account and the names of the profiles it reaches",
    "/portal/activate": "the activation form",
    "/staff/calendar": "the calendar's frame; its appointments load through /api/v1/appointments",
    "/studio": "the process list",
    "/studio/forms": "form definitions",
    "/studio/forms/<key>": "a form definition",
    "/studio/migrate": "process versions",
    "/studio/packet": "the default intake packet",
    "/studio/processes/<process_id>": "a process definition",
}


def get_routes(app) -> list[str]:
    return sorted(
        {
            r.rule
            for r in app.url_map.iter_rules()
            if "GET" in r.methods and r.endpoint != "static" and not r.endpoint.endswith(".static")
        }
    )


def test_every_get_route_is_classified(app):
    """Is every GET route declared as a read of client data or as showing none (and no stale entry)?"""
    routes = set(get_routes(app))
    assert sorted(routes - set(READS) - set(NO_CLIENT_DATA)) == [], "classify these routes"
    assert sorted((set(READS) | set(NO_CLIENT_DATA)) - routes) == [], "these entries name no route any more"
    assert set(READS).isdisjoint(NO_CLIENT_DATA)


@pytest.fixture()
def reads(world):
    """The matrix world plus a signed submission with a file, proposed record changes, an insurance card."""
    from engine.models.clients import Client
    from engine.services.clients import insurance
    from engine.services.forms import forms as form_service
    from engine.services.forms import submissions

    client_id = world["client_id"]
    minor = Client.objects(id=client_id).first()
    for key in ("consent_adult", "demographics"):
        definition = json.loads((ROOT / "form_defs" / f"{key}.json").read_text())
        form_service.create_form(SYSTEM, key, "intake", definition["title"], definition)
        form_service.publish(SYSTEM, key)
    signed = submissions.complete(SYSTEM, client_id, "consent_adult", VALID["consent_adult"])
    submissions.complete(SYSTEM, client_id, "demographics", {**VALID["demographics"], "phone": "555-0188"})
    policy = insurance.add_policy(
        SYSTEM,
        client_id,
        {
            "payer": "Acme Health",
            "member_id": "XJ-1",
            "subscriber_name": minor.display_name,
            "relationship": "self",
        },
    )
    import base64

    insurance.upload_card(
        SYSTEM, policy["id"], "front", filename="card.png", data=base64.b64decode(SIG.split(",", 1)[1])
    )
    params = dict(
        world["params"],
        submission_id=str(signed.id),
        policy_id=policy["id"],
        task_id=_task(client_id, "client", form_key="gad7"),
        staff_task_id=_task(client_id, "staff"),
    )
    return dict(world, params=params)


def _task(client_id: str, lane: str, form_key: str = "") -> str:
    """An open task of `lane` for client A (the reminder test process, its lane and form changed)."""
    from engine.models.workflow import Task
    from engine.workflow.deploy import deploy
    from engine.workflow.runtime import start

    process = f"t_audit_{lane}"
    xml = (ROOT / "tests/data/bpmn/t_reminder.bpmn").read_text().replace('"t_reminder"', f'"{process}"')
    xml = xml.replace('name="client"', f'name="{lane}"')
    if form_key:
        xml = xml.replace(
            'name="Fill in the form">',
            'name="Fill in the form"><bpmn:extensionElements>'
            '<spiffworkflow:properties><spiffworkflow:property name="formKey" '
            f'value="{form_key}"/></spiffworkflow:properties></bpmn:extensionElements>',
        )
    deploy(SYSTEM, xml.encode())
    instance = start(process, client_id=client_id, data={"reminder_cadence": "P7D"})
    return str(Task.objects(instance_id=instance).first().id)


def _file_url(browser, submission_id: str) -> str:
    """The download link of the submission's signature, as the staff submission page gives it."""
    html = browser.get(f"/staff/submissions/{submission_id}").get_data(as_text=True)
    found = re.search(rf"/api/v1/submissions/{submission_id}/files/[^\"'?#\s]+", html)
    assert found, "the staff submission page links no file"
    return found.group(0)


def _head_seq() -> int:
    audit.chain_pending()  # entries committed with the read but not chained yet count (engine.services.platform.audit)
    return AuditEvent.objects.order_by("-seq").first().seq


def _rows(actor_id: str) -> int:
    audit.chain_pending()
    return AuditEvent.objects(actor_id=actor_id, action__not__startswith="account_").count()


def _browsers(app, reads) -> dict:
    out = {}
    for who in ("admin", "guardian"):
        account = reads["accounts"]["guardian_a" if who == "guardian" else "admin"]
        browser = app.test_client()
        login_as(browser, account.email)
        out[who] = (browser, str(account.id))
    return out


def _url(rule: str, params: dict, browser) -> str:
    if rule.endswith("/files/<file_id>"):
        return _file_url(browser, params["submission_id"])
    if rule.startswith("/staff/tasks/"):
        params = dict(params, task_id=params["staff_task_id"])
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: params[m.group(1)], rule)


def _read_writes_a_row(browser, actor_id: str, url: str) -> tuple[int, int]:
    before = _rows(actor_id)
    status = browser.get(url).status_code
    return status, _rows(actor_id) - before


def test_hole12_submission_file_download_is_audited(app, reads):
    """Does downloading a submission's file (a signature) write an audit row naming the client?"""
    browser, actor_id = _browsers(app, reads)["admin"]
    url = _file_url(browser, reads["params"]["submission_id"])
    since = _head_seq()
    assert browser.get(url).status_code == 200
    rows = list(AuditEvent.objects(actor_id=actor_id, seq__gt=since).order_by("seq"))
    assert [(r.action, r.client_id) for r in rows] == [("form_file_downloaded", reads["client_id"])]


def test_hole12_proposed_record_changes_listing_is_audited(app, reads):
    """Does listing a client's proposed record changes write an audit row naming the client?"""
    browser, actor_id = _browsers(app, reads)["admin"]
    since = _head_seq()
    resp = browser.get(f"/api/v1/clients/{reads['client_id']}/review-items")
    assert resp.status_code == 200 and resp.get_json()["items"]
    rows = list(AuditEvent.objects(actor_id=actor_id, seq__gt=since).order_by("seq"))
    assert [(r.action, r.client_id) for r in rows] == [("client_changes_viewed", reads["client_id"])]


def test_hole12_every_client_data_read_is_audited(app, reads):
    """Does every route that reads client data write at least one audit row for the reader?"""
    browsers = _browsers(app, reads)
    silent, failed, absent = [], [], []
    for rule, who in sorted(READS.items()):
        if who == ABSENT:
            absent.append(rule)
            continue
        browser, actor_id = browsers[who]
        status, written = _read_writes_a_row(browser, actor_id, _url(rule, reads["params"], browser))
        if status >= 300:
            failed.append(f"{rule} as {who}: {status}")
        elif not written:
            silent.append(f"{rule} as {who}")
    print(f"\naudited reads: {len(READS) - len(absent)} routes read; not built here: " + ", ".join(absent))
    assert failed == [], "these reads did not succeed, so they prove nothing:\n" + "\n".join(failed)
    assert silent == [], "these reads of client data wrote no audit row:\n" + "\n".join(silent)
