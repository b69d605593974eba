"""Authorization matrix: every API route in app.url_map × nine actors, expected outcome declared in
ROUTES below (one entry per route; a route without an entry fails the test), 0 leaks.

Actors: anonymous, client A (a minor with her own portal account), client B, guardian of A (every
link permission), contact of A without the permission (an aunt whose link grants forms only),
assigned therapist, unassigned therapist, front desk (no portal.invite, workflows.manage, staff.manage),
organization admin.

Outcomes: "ok" = the actor gets past every access check (any status but 401/403/404);
"no" = 401, 403 or 404 (a 400/422 for a malformed body is accepted too: nothing about A is read).
A leak is a "no" cell answered with anything else, or any answer to client B, the unassigned
therapist or anonymous that contains client A's id or her unique surname. 5xx always fails.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from bson import ObjectId

from engine.authz import SYSTEM, portal_actor, staff_actor
from engine.services.accounts import tokens
from tests.helpers import make_client, make_portal_account, make_staff
from tests.portal_family import build_family, open_practice

ACTORS = (
    "anonymous",
    "client_a",
    "client_b",
    "guardian_a",
    "contact_a",
    "therapist_a",
    "therapist_other",
    "front_desk",
    "admin",
)
OUTSIDERS = ("anonymous", "client_b", "therapist_other")
SURNAME = "Quorvath"
MISSING = str(ObjectId())

# Policies: PUBLIC, SELF (any signed-in actor, own data only), STAFF, PERM:<code> (staff holding it),
# CLIENT[:<staff perm>][/<link perm>] (an object of client A: portal accounts linked to A, staff who
# see A; staff perm and portal link permission when the route needs one), STAFFCLIENT[:<perm>]
# (an object of client A, staff only), ABSENT (the route's object is not built here: a made-up id,
# so nobody may get through; listed in the report as not yet exercised with a real object),
# OWN:<perm> (the unassigned therapist's own object: its owner, or staff holding the permission),
# PORTAL/<link> (an object of A for her portal accounts only), NONE (a real object nobody may act
# on in its present state: everyone is refused).
ROUTES: dict[str, str] = {
    "GET /api/v1/appointments": "SELF",
    "POST /api/v1/appointments": "SELF",
    "GET /api/v1/appointments.ics": "SELF",
    "GET /api/v1/appointments/<appointment_id>": "CLIENT/appointments",
    "PATCH /api/v1/appointments/<appointment_id>": "STAFFCLIENT",
    "POST /api/v1/appointments/<appointment_id>/cancel": "CLIENT/appointments",
    "GET /api/v1/appointments/<appointment_id>/ics": "CLIENT/appointments",
    "POST /api/v1/appointments/<appointment_id>/reschedule": "CLIENT/appointments",
    "POST /api/v1/auth/logout": "SELF",
    "POST /api/v1/auth/password": "SELF",
    "POST /api/v1/auth/token": "PUBLIC",
    "POST /api/v1/auth/password-reset": "PUBLIC",
    "POST /api/v1/auth/password-reset/complete": "PUBLIC",
    "GET /api/v1/availability": "SELF",
    "POST /api/v1/availability/exceptions": "STAFF",
    "POST /api/v1/availability/rules": "STAFF",
    "DELETE /api/v1/availability/rules/<rule_id>": "OWN:calendar.manage",
    "GET /api/v1/availability/staff/<staff_id>": "OWN:calendar.manage",
    "GET /api/v1/clients": "STAFF",
    "POST /api/v1/clients": "PERM:clients.manage",
    "GET /api/v1/clients/<client_id>": "CLIENT",
    "PATCH /api/v1/clients/<client_id>": "STAFFCLIENT:clients.manage",
    "GET /api/v1/clients/<client_id>/contacts": "STAFFCLIENT",
    "POST /api/v1/clients/<client_id>/contacts": "STAFFCLIENT:clients.manage",
    "GET /api/v1/clients/<client_id>/documents": "CLIENT",
    "POST /api/v1/clients/<client_id>/documents": "STAFFCLIENT:client_documents.upload",
    "POST /api/v1/clients/<client_id>/dynamic-forms/<key>/fill": "STAFFCLIENT:dynamic_forms.manage",  # {}: 422
    "POST /api/v1/clients/<client_id>/dynamic-forms/<key>/send": "STAFFCLIENT:dynamic_forms.manage",  # gad7: 422
    "POST /api/v1/clients/<client_id>/form-requests": "STAFFCLIENT:portal.invite",
    # Portal accounts only under an open task asking for the form: tests/proof/test_authz_forms.py.
    "GET /api/v1/clients/<client_id>/forms/<key>": "STAFFCLIENT",
    "POST /api/v1/clients/<client_id>/forms/<key>": "STAFFCLIENT",
    "PUT /api/v1/clients/<client_id>/forms/<key>": "NONE",  # no open request for gad7
    "GET /api/v1/clients/<client_id>/insurance": "CLIENT/payments",
    "POST /api/v1/clients/<client_id>/insurance": "CLIENT/payments",
    "PATCH /api/v1/clients/<client_id>/insurance/<policy_id>": "ABSENT",
    "GET /api/v1/clients/<client_id>/insurance/<policy_id>/cards/<side>": "ABSENT",
    "PUT /api/v1/clients/<client_id>/insurance/<policy_id>/cards/<side>": "ABSENT",
    "POST /api/v1/clients/<client_id>/insurance/<policy_id>/review": "ABSENT",
    "POST /api/v1/clients/<client_id>/invite": "STAFFCLIENT:portal.invite",
    "GET /api/v1/clients/<client_id>/invoices": "CLIENT/payments",
    "POST /api/v1/clients/<client_id>/invoices": "STAFFCLIENT:billing.manage",
    "GET /api/v1/clients/<client_id>/messages": "CLIENT/messages",
    "POST /api/v1/clients/<client_id>/messages": "CLIENT/messages",
    "POST /api/v1/clients/<client_id>/messages/read": "CLIENT/messages",
    "GET /api/v1/clients/<client_id>/payment-methods": "CLIENT/payments",
    "POST /api/v1/clients/<client_id>/payment-methods": "CLIENT:billing.manage/payments",
    "POST /api/v1/clients/<client_id>/resend-missed": "STAFFCLIENT:portal.invite",
    "GET /api/v1/clients/<client_id>/review-items": "STAFFCLIENT",
    "GET /api/v1/clients/<client_id>/closed-requests": "STAFFCLIENT",
    "GET /api/v1/clients/<client_id>/submitted-forms": "CLIENT",
    "DELETE /api/v1/contact-links/<link_id>": "STAFFCLIENT:clients.manage",
    "PATCH /api/v1/contact-links/<link_id>": "STAFFCLIENT:clients.manage",
    "POST /api/v1/contact-links/<link_id>/portal-invite": "STAFFCLIENT:portal.invite",
    "GET /api/v1/documents/<document_id>/content": "STAFFCLIENT",  # a staff upload, not shared
    "PUT /api/v1/documents/<document_id>/sharing": "STAFFCLIENT:client_documents.upload",  # {}: 422 if let through
    # The world's instance and task are a t_reminder's, no intake: nobody may cancel them.
    "POST /api/v1/form-requests/<task_id>/cancel": "NONE",
    "POST /api/v1/intakes/<instance_id>/cancel": "NONE",
    "GET /api/v1/forms": "STAFF",
    "POST /api/v1/forms": "STAFF",
    "POST /api/v1/forms/check": "STAFF",
    "GET /api/v1/forms/<key>/published": "STAFF",
    "GET /api/v1/forms/<key>": "STAFF",
    "PUT /api/v1/forms/<key>": "STAFF",
    "POST /api/v1/forms/<key>/archive": "PERM:intake_forms.manage",  # gad7 is an intake form
    "GET /api/v1/forms/<key>/blank.pdf": "STAFF",
    "POST /api/v1/forms/<key>/copy-to-intake": "PERM:intake_forms.manage",
    "POST /api/v1/forms/<key>/publish": "PERM:intake_forms.manage",
    "POST /api/v1/invoices/<invoice_id>/payments": "CLIENT/payments",
    "POST /api/v1/invoices/<invoice_id>/payment-intent": "CLIENT:billing.manage/payments",
    "POST /api/v1/invoices/<invoice_id>/payment-request": "STAFFCLIENT:billing.manage",
    "POST /api/v1/invoices/<invoice_id>/void": "STAFFCLIENT:billing.manage",
    "GET /api/v1/me": "SELF",
    "GET /api/v1/messages/<message_id>/attachments/<int:n>": "CLIENT/messages",
    "GET /api/v1/messages/unread": "STAFF",
    "GET /api/v1/openapi.json": "PUBLIC",
    "DELETE /api/v1/payment-methods/<method_id>": "ABSENT",
    "GET /api/v1/payments/<payment_id>/receipt": "CLIENT/payments",
    "POST /api/v1/portal/activate": "PUBLIC",
    "GET /api/v1/process-instances": "PERM:workflows.manage",
    "POST /api/v1/process-instances": "PERM:workflows.manage",
    "GET /api/v1/process-instances/<instance_id>": "PERM:workflows.manage",
    "GET /api/v1/process-instances/<instance_id>/diagram": "PERM:workflows.manage",
    "POST /api/v1/process-instances/<instance_id>/messages": "PERM:workflows.manage",
    "POST /api/v1/process-instances/<instance_id>/retry": "PERM:workflows.manage",
    "POST /api/v1/process-instances/<instance_id>/rollback": "NONE",  # nothing migrated: no snapshot
    "GET /api/v1/process-instances/<instance_id>/snapshots": "PERM:workflows.manage",
    "POST /api/v1/process-instances/messages": "PERM:workflows.manage",
    "POST /api/v1/process-instances/migrate": "PERM:workflows.manage",
    "POST /api/v1/process-instances/migrate/preview": "PERM:workflows.manage",
    "GET /api/v1/process-instances/migrations/<run_id>": "ABSENT",
    "GET /api/v1/process-instances/search": "PERM:workflows.manage",
    "GET /api/v1/processes": "PERM:workflows.manage",
    "POST /api/v1/processes": "PERM:workflows.manage",
    "GET /api/v1/processes/<process_id>/diagram": "PERM:workflows.manage",
    "GET /api/v1/processes/<process_id>/diff": "PERM:workflows.manage",
    "GET /api/v1/processes/<process_id>/versions/<int:number>": "PERM:workflows.manage",
    "POST /api/v1/processes/check": "PERM:workflows.manage",
    "POST /api/v1/review-items/<item_id>/<decision>": "ABSENT",
    "GET /api/v1/service-tokens": "PERM:integrations.manage",
    "POST /api/v1/service-tokens": "PERM:integrations.manage",
    "POST /api/v1/service-tokens/<token_id>/revoke": "ABSENT",
    "GET /api/v1/settings/default-permissions": "PERM:staff.manage",
    "GET /api/v1/settings/practice": "PERM:staff.manage",
    "PUT /api/v1/settings/practice": "PERM:staff.manage",
    "PUT /api/v1/settings/practice/logo": "PERM:staff.manage",
    "DELETE /api/v1/settings/practice/logo": "PERM:staff.manage",
    "GET /api/v1/settings/checklist": "PERM:staff.manage",
    "POST /api/v1/webhook-deliveries/<delivery_id>/resend": "ABSENT",
    "GET /api/v1/webhooks": "PERM:integrations.manage",
    "POST /api/v1/webhooks": "PERM:integrations.manage",  # {} is a 422 for those let through
    "GET /api/v1/webhooks/events": "PERM:integrations.manage",
    "DELETE /api/v1/webhooks/<endpoint_id>": "ABSENT",
    "GET /api/v1/webhooks/<endpoint_id>": "ABSENT",
    "PATCH /api/v1/webhooks/<endpoint_id>": "ABSENT",
    "GET /api/v1/webhooks/<endpoint_id>/deliveries": "ABSENT",
    "PUT /api/v1/settings/default-permissions": "PERM:staff.manage",
    "GET /api/v1/settings/intake-packet": "PERM:intake_forms.manage",
    "PUT /api/v1/settings/intake-packet": "PERM:intake_forms.manage",
    "GET /api/v1/settings/portal": "PERM:portal.settings",
    "PUT /api/v1/settings/portal": "PERM:portal.settings",
    "GET /api/v1/staff": "PERM:staff.manage",
    "POST /api/v1/staff": "PERM:staff.manage",
    "PATCH /api/v1/staff/<staff_id>": "PERM:staff.manage",
    "GET /api/v1/staff/me/preferences": "STAFF",
    "PUT /api/v1/staff/me/preferences": "STAFF",
    "POST /api/v1/stripe/webhook": "NONE",  # no signing secret configured: the endpoint is not there
    "GET /api/v1/studio/catalog": "PERM:workflows.manage",
    "GET /api/v1/submissions/<submission_id>": "ABSENT",
    "GET /api/v1/submissions/<submission_id>/files/<file_id>": "ABSENT",
    "GET /api/v1/submissions/<submission_id>/pdf": "ABSENT",
    "GET /api/v1/tasks": "SELF",
    "GET /api/v1/tasks/<task_id>": "PORTAL/forms",  # A's client-lane task
    "POST /api/v1/tasks/<task_id>/claim": "PORTAL/forms",
    "POST /api/v1/tasks/<task_id>/complete": "PORTAL/forms",
    "GET /api/v1/tasks/<task_id>/review": "NONE",  # a client-lane task has no staff review
}
# Routes that change who is signed in or delete the objects later cells use run last.
LAST = ("DELETE ", "POST /api/v1/auth/", "PATCH /api/v1/staff/")


def api_routes(app) -> list[str]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            out += [f"{m} {rule.rule}" for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(out, key=lambda r: (r.startswith(LAST), r))


def expected(policy: str, who: str, perms: dict[str, frozenset]) -> str:
    if policy == "PUBLIC":
        return "any"
    if policy in ("ABSENT", "NONE") or who == "anonymous":
        return "no"
    staff = who in ("therapist_a", "therapist_other", "front_desk", "admin")
    if policy == "SELF":
        return "ok"
    if policy == "STAFF":
        return "ok" if staff else "no"
    if policy.startswith("PERM:"):
        return "ok" if staff and policy[5:] in perms[who] else "no"
    if policy.startswith("OWN:"):
        return "ok" if who == "therapist_other" or (staff and policy[4:] in perms[who]) else "no"
    link = policy.partition("/")[2]
    staff_perm = policy.partition("/")[0].partition(":")[2]
    if who in ("client_b", "therapist_other") or (policy.startswith("PORTAL") and staff):
        return "no"
    if staff:
        return "ok" if not staff_perm or staff_perm in perms[who] else "no"
    if policy.startswith("STAFFCLIENT"):
        return "no"
    if who == "contact_a":
        return "ok" if link in ("", "forms") else "no"  # the aunt's link grants forms only
    return "ok"


@pytest.fixture()
def world(clean_db, settings):
    import json
    from pathlib import Path

    from engine.models.clients import ContactLink
    from engine.models.scheduling import AvailabilityRule
    from engine.services.appointments import availability, scheduling
    from engine.services.billing import billing
    from engine.services.clients import documents
    from engine.services.forms import forms as form_service
    from engine.services.messaging import messaging
    from engine.workflow.deploy import deploy
    from engine.workflow.runtime import start

    root = Path(__file__).resolve().parents[2]
    fam = open_practice(build_family())
    minor = fam["minor"]
    minor.last_name = SURNAME
    minor.save()
    client_b = make_client(first_name="Bea")
    account_b = make_portal_account(client=client_b)
    other = make_staff(roles=("therapist",))
    desk = make_staff(roles=("front_desk",))
    admin = make_staff(roles=("org_admin",))
    form_service.create_form(
        SYSTEM, "gad7", "intake", "GAD-7", json.loads((root / "form_defs/gad7.json").read_text())
    )
    form_service.publish(SYSTEM, "gad7")
    # The payment process ("request payment") and the forms it names.
    for key, kind, folder in (
        ("insurance_information", "intake", "form_defs"),
        ("payment_method", "task", "workflows/forms"),
    ):
        form_service.create_form(
            SYSTEM, key, kind, key, json.loads((root / folder / f"{key}.json").read_text())
        )
        form_service.publish(SYSTEM, key)
    doc = documents.upload(
        staff_actor(admin), minor.id, filename="note.pdf", data=b"%PDF-1.4 " + SURNAME.encode()
    )
    slot = next(
        s
        for d in range(1, 30)
        for s in availability.open_slots(
            location="main",
            service_type_key="individual",
            date_from=date.today() + timedelta(days=d),
            date_to=date.today() + timedelta(days=d),
        )
    )
    appt = scheduling.book(
        fam["guardian"],
        client_id=minor.id,
        staff_id=slot["staff_id"],
        location="main",
        service_type_key="individual",
        start=slot["start"],
    )
    inv = billing.create_invoice(
        SYSTEM,
        minor.id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 10000}]},
    )
    paid = billing.create_invoice(
        SYSTEM,
        minor.id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-03", "amount_cents": 5000}]},
    )
    payment = billing.charge_invoice(
        fam["guardian"],
        paid["id"],
        idempotency_key="matrix-payment-0000000001",
        card={"number": "4242424242424242", "exp_month": 1, "exp_year": 2040},
    )
    msg = messaging.post_message(
        fam["guardian"], minor.id, body=f"about {SURNAME}", attachments=[("a.pdf", b"%PDF-1.4 attachment")]
    )
    deploy(SYSTEM, (root / "tests/data/bpmn/t_reminder.bpmn").read_bytes())
    deploy(SYSTEM, (root / "workflows/bpmn/payment.bpmn").read_bytes())
    instance = start("t_reminder", client_id=minor.id, data={"reminder_cadence": "P7D"})
    from engine.models.workflow import Task

    task = Task.objects(instance_id=instance).first()
    link = ContactLink.objects(client=minor, contact__ne=None).first()
    availability.add_rule(
        staff_actor(other), other.id, {"location": "main", "weekday": 0, "start": "13:00", "end": "14:00"}
    )
    rule = AvailabilityRule.objects(staff=other.id).first()
    params = {
        "client_id": str(minor.id),
        "appointment_id": appt["id"],
        "document_id": doc["id"],
        "key": "gad7",
        "invoice_id": inv["id"],
        "payment_id": payment["id"] if isinstance(payment, dict) and "id" in payment else MISSING,
        "message_id": msg["id"],
        "n": "0",
        "instance_id": str(instance),
        "task_id": str(task.id),
        "process_id": "t_reminder",
        "number": "1",
        "link_id": str(link.id),
        "staff_id": str(other.id),
        "rule_id": str(rule.id),
        "side": "front",
        "decision": "accept",
    }
    accounts = {
        "client_a": minor.portal_account,
        "client_b": account_b,
        "guardian_a": fam["guardian"].account,
        "contact_a": fam["aunt"].account,
        "therapist_a": fam["therapist"],
        "therapist_other": other,
        "front_desk": desk,
        "admin": admin,
    }
    perms = {
        who: (
            staff_actor(a)
            if who in ("therapist_a", "therapist_other", "front_desk", "admin")
            else portal_actor(a)
        ).permissions
        for who, a in accounts.items()
    }
    perms["anonymous"] = frozenset()
    return {"params": params, "accounts": accounts, "perms": perms, "client_id": str(minor.id)}


def _url(route: str, params: dict, policy: str) -> str:
    import re

    path = route.split(" ", 1)[1]
    return re.sub(
        r"<(?:\w+:)?(\w+)>",
        lambda m: MISSING if policy == "ABSENT" else params.get(m.group(1), MISSING),
        path,
    )


def test_every_api_route_has_a_declared_outcome(app):
    """Is every API route in url_map declared in the matrix (and no stale entry left)?"""
    routes = set(api_routes(app))
    assert sorted(routes - set(ROUTES)) == [], "declare these routes in ROUTES"
    assert sorted(set(ROUTES) - routes) == [], "these ROUTES entries name no route any more"


def test_matrix_has_no_leaks(app, world):
    """Does every actor get exactly what the table declares, with no answer showing client A to outsiders?"""
    client = app.test_client()
    leaks, wrong, absent = [], [], []
    for route in api_routes(app):
        policy = ROUTES.get(route)
        if policy is None:
            continue  # the declaration test names it
        method, _ = route.split(" ", 1)
        url = _url(route, world["params"], policy)
        gone = False  # a DELETE that succeeded once answers 404 to the next allowed actor
        for who in ACTORS:
            headers = {}
            if who != "anonymous":
                raw, _ = tokens.issue_token(world["accounts"][who], label="matrix")
                headers["Authorization"] = f"Bearer {raw}"
            resp = client.open(
                url, method=method, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None
            )
            status = resp.status_code
            body = resp.get_data()
            assert status < 500, f"{route} as {who}: {status} {body[:200]!r}"
            want = expected(policy, who, world["perms"])
            got = "no" if status in (401, 403, 404) else ("neutral" if status in (400, 422) else "ok")
            gone = gone or (method == "DELETE" and status < 300)
            if who in OUTSIDERS and (world["client_id"].encode() in body or SURNAME.encode() in body):
                leaks.append(f"{route} as {who}: {status} shows client A")
            elif want == "no" and got == "ok":
                leaks.append(f"{route} as {who}: {status}, expected a refusal")
            elif want == "ok" and got == "no" and not (gone and status == 404):
                wrong.append(f"{route} as {who}: {status}, expected access")
        if policy == "ABSENT":
            absent.append(route)
    print(
        f"\nmatrix: {len(ROUTES)} routes x {len(ACTORS)} actors; {len(absent)} routes without a real object: "
        + ", ".join(absent)
    )
    assert leaks == [], "LEAKS:\n" + "\n".join(leaks)
    assert wrong == [], "refused although declared allowed:\n" + "\n".join(wrong)
