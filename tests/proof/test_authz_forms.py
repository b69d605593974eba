"""Authorization proof for forms: what a form definition may read from the client record (prefill
paths) and which forms a portal account may open, save and submit.

Staff author forms; clients and their contacts fill them in. Neither side may reach past what the
product means to give them: a form shows only allow-listed client fields, whatever its author wrote,
and a portal account fills in only a form that an open task of theirs asks for.
"""

from __future__ import annotations

import json

import pytest
from bson import ObjectId

from engine.authz import SYSTEM, staff_actor
from engine.errors import ValidationFailed
from engine.models.forms import FormDefinition, FormVersion
from engine.services.forms import forms as form_service
from engine.services.forms import submissions
from engine.services.forms.forms import canonical_json
from tests.helpers import api_login, make_client, make_portal_account, make_staff

# Paths a form author might try, each reaching past the client fields a form may show.
FORBIDDEN_PREFILLS = (
    "client.portal_account.password_hash",
    "client.portal_account.email",
    "client.portal_account.totp_secret",
    "client.assigned_staff",
    "client.status",
    "client.version",
    "client.id",
    "client.pk",
    "client.portal_account",
    "client.address",
    "client._data",
    "client.insurance.front_file_id",
    "client.insurance.review_note",
    "signer.password_hash",
    "signer.client.date_of_birth",
    "signer.contact",
)


def _with_prefill(path: str) -> dict:
    return {"elements": [{"type": "text", "name": "shown", "prefill": path}]}


def _client_with_account():
    person = make_client(first_name="Ada", last_name="Lovelace", phone="555-0100")
    account = make_portal_account(client=person)
    return person, account


def _publish_unchecked(key: str, definition: dict) -> FormVersion:
    """A version stored the way an older release published it (before prefill paths were checked)."""
    text = canonical_json(definition)
    version = FormVersion(
        key=key,
        number=1,
        kind="dynamic",
        title=key,
        definition_json=text,
        sha256="0" * 64,
        published_by="old",
    ).save()
    FormDefinition(
        key=key, kind="dynamic", title=key, draft=definition, latest_version=1, latest_version_id=version.id
    ).save()
    return version


# --- hole 3: prefill paths -------------------------------------------------------------------------


def test_hole3_prefill_path_outside_allow_list_is_refused(clean_db):
    """May a therapist save a dynamic form prefilled from the client's portal account password hash?"""
    therapist = staff_actor(make_staff(roles=("therapist",)))
    with pytest.raises(ValidationFailed) as exc:
        form_service.create_form(
            therapist, "steal", "dynamic", "Check-in", _with_prefill("client.portal_account.password_hash")
        )
    [(where, messages)] = exc.value.details.items()
    assert where == "$.elements[0].prefill"
    assert "client.portal_account.password_hash" in messages[0] and "client.first_name" in messages[0]
    assert FormDefinition.objects(key="steal").count() == 0


@pytest.mark.parametrize("path", FORBIDDEN_PREFILLS)
def test_hole3_every_path_outside_the_allow_list_is_refused_on_save(clean_db, path):
    """Is each path past the allow-list refused when a draft is saved (nested inside a panel too)?"""
    therapist = staff_actor(make_staff(roles=("therapist",)))
    form_service.create_form(therapist, "check_in", "dynamic", "Check-in", _with_prefill("client.first_name"))
    nested = {
        "elements": [
            {
                "type": "panel",
                "name": "p",
                "elements": [
                    {
                        "type": "paneldynamic",
                        "name": "kids",
                        "templateElements": [{"type": "text", "name": "inner", "prefill": path}],
                    }
                ],
            }
        ]
    }
    for definition in (_with_prefill(path), nested):
        with pytest.raises(ValidationFailed) as exc:
            form_service.update_draft(therapist, "check_in", definition)
        assert any(path in m for ms in exc.value.details.values() for m in ms), exc.value.details
    assert FormDefinition.objects(key="check_in").get().draft == _with_prefill("client.first_name")


def test_hole3_publish_refuses_a_draft_saved_before_the_check(clean_db):
    """Is a draft holding a forbidden path (stored before the check existed) refused at publish?"""
    admin = staff_actor(make_staff(roles=("org_admin",)))
    form_service.create_form(admin, "old_draft", "dynamic", "Old", _with_prefill("client.first_name"))
    FormDefinition.objects(key="old_draft").update_one(
        set__draft=_with_prefill("client.portal_account.email")
    )
    with pytest.raises(ValidationFailed) as exc:
        form_service.publish(admin, "old_draft")
    assert "client.portal_account.email" in json.dumps(exc.value.details)
    assert FormVersion.objects(key="old_draft").count() == 0


def test_hole3_api_names_the_refused_path(client):
    """Does the forms API answer 422 naming the refused path, so the author knows what to change?"""
    therapist = make_staff(roles=("therapist",))
    headers = api_login(client, therapist.email)
    resp = client.post(
        "/api/v1/forms",
        headers=headers,
        json={
            "key": "steal",
            "kind": "dynamic",
            "title": "Check-in",
            "definition": _with_prefill("client.portal_account.password_hash"),
        },
    )
    assert resp.status_code == 422
    body = resp.get_json()["error"]
    assert "client.portal_account.password_hash" in json.dumps(body["details"]["$.elements[0].prefill"])


def test_hole3_old_published_version_cannot_read_past_the_allow_list(clean_db):
    """Does an already-published version prefilled from the password hash show nothing of it?"""
    person, account = _client_with_account()
    definition = {
        "elements": [
            {"type": "text", "name": "hash", "prefill": "client.portal_account.password_hash"},
            {"type": "text", "name": "login", "prefill": "client.portal_account.email"},
            {"type": "text", "name": "signer_hash", "prefill": "signer.password_hash"},
            {"type": "text", "name": "first", "prefill": "client.first_name"},
        ]
    }
    _publish_unchecked("old_steal", definition)
    shown = submissions.start(SYSTEM, person.id, "old_steal")["data"]
    assert shown == {"first": "Ada"}
    assert account.password_hash not in json.dumps(shown)


def test_hole3_every_allowed_path_reads_only_its_field(clean_db):
    """Does each allow-listed path prefill (name, birth date, contact, address, emergency contact,
    insurance basics), with nothing else of the record reachable?"""
    from datetime import date

    from engine.forms.prefill import ALLOWED_PATHS
    from engine.models.clients import Address, EmergencyContact
    from engine.models.insurance import InsurancePolicy

    person = make_client(
        first_name="Ada",
        last_name="Lovelace",
        preferred_name="Ada L",
        email="ada@example.org",
        phone="555-0100",
        date_of_birth=date(1990, 12, 10),
        address=Address(
            line1="1 Main St",
            line2="Apt 2",
            city="Springfield",
            region="IL",
            postal_code="62701",
            country="US",
        ),
        emergency_contact=EmergencyContact(name="Charles", relationship="friend", phone="555-0111"),
    )
    InsurancePolicy(
        client=person.id,
        payer="Acme Health",
        member_id="M123",
        group_number="G9",
        subscriber_name="Ada Lovelace",
        subscriber_date_of_birth=date(1990, 12, 10),
        relationship="self",
        review_note="staff only",
    ).save()
    paths = sorted(p for p in ALLOWED_PATHS if p.startswith("client."))
    definition = {"elements": [{"type": "text", "name": f"q{i}", "prefill": p} for i, p in enumerate(paths)]}
    admin = staff_actor(make_staff(roles=("org_admin",)))
    form_service.create_form(admin, "everything", "dynamic", "Everything", definition)
    form_service.publish(admin, "everything")
    shown = submissions.start(admin, person.id, "everything")["data"]
    by_path = {p: shown.get(f"q{i}") for i, p in enumerate(paths)}
    assert by_path["client.full_name"] == "Ada Lovelace" and by_path["client.date_of_birth"] == "1990-12-10"
    assert (
        by_path["client.address.city"] == "Springfield"
        and by_path["client.emergency_contact.phone"] == "555-0111"
    )
    assert (
        by_path["client.insurance.payer"] == "Acme Health" and by_path["client.insurance.member_id"] == "M123"
    )
    assert None not in by_path.values(), by_path


def test_hole3_insurance_basics_only_for_whoever_may_see_insurance(clean_db):
    """Does a form show insurance basics to a guardian with the payments right, and not to an aunt
    whose link grants forms only?"""
    from engine.models.insurance import InsurancePolicy
    from tests.form_requests import request_form
    from tests.portal_family import build_family

    fam = build_family()
    InsurancePolicy(
        client=fam["minor"].id, payer="Acme Health", member_id="M123", subscriber_name="Gail Guardian"
    ).save()
    definition = {
        "elements": [
            {"type": "text", "name": "payer", "prefill": "client.insurance.payer"},
            {"type": "text", "name": "first", "prefill": "client.first_name"},
        ]
    }
    form_service.create_form(SYSTEM, "coverage", "intake", "Coverage", definition)
    form_service.publish(SYSTEM, "coverage")
    task = request_form(fam["minor"], "coverage")
    context = f"task:{task.id}"
    guardian = submissions.start(fam["guardian"], fam["minor"].id, "coverage", context=context)["data"]
    aunt = submissions.start(fam["aunt"], fam["minor"].id, "coverage", context=context)["data"]
    assert guardian == {"payer": "Acme Health", "first": "Mia"}
    assert aunt == {"first": "Mia"}


# --- hole 13: unrequested form submissions ----------------------------------------------------------


@pytest.fixture()
def asked(client):
    """The shipped forms; a minor (her own account), her guardian and an aunt whose link grants forms;
    another adult client. Open tasks: the minor's gad7 (client lane), her guardian's consent_minor
    (guardian lane), Bea's gad7; the minor's phq9 task is already completed."""
    from engine.authz import portal_actor
    from engine.services.inbox import tasks
    from engine.services.intake.intake_setup import load_shipped_forms
    from tests.form_fills import VALID
    from tests.form_requests import request_form
    from tests.portal_family import build_family

    load_shipped_forms()
    fam = build_family()
    bea = make_client(first_name="Bea")
    bea_account = make_portal_account(client=bea)
    done = request_form(fam["minor"], "phq9")
    tasks.complete(fam["client"], str(done.id), VALID["phq9"])
    return {
        "fam": fam,
        "bea": bea,
        "bea_actor": portal_actor(bea_account),
        "gad7": request_form(fam["minor"], "gad7"),
        "consent": request_form(fam["minor"], "consent_minor", lane="guardian"),
        "done": done,
        "bea_gad7": request_form(bea, "gad7"),
        "headers": {who: api_login(client, email) for who, email in fam["emails"].items() if who != "staff"}
        | {"bea": api_login(client, bea_account.email)},
    }


def _submissions(**query) -> list:
    from engine.models.forms import Submission

    return list(Submission.objects(**query))


def test_hole13_client_cannot_submit_unrequested_form(client, asked):
    """May a client open, save or submit a published form nobody asked of her (the staff-only
    acknowledgement form, or a packet form)? Nothing may be written."""
    bea, headers = asked["bea"], asked["headers"]["bea"]
    for key, data in (
        ("form_acknowledgement", {"decision": "acknowledge"}),
        ("phq9", {"phq9_1": 0}),
        ("consent_adult", {"consent_given": True}),
    ):
        url = f"/api/v1/clients/{bea.id}/forms/{key}"
        assert client.get(url, headers=headers).status_code == 404
        assert client.put(url, headers=headers, json={"data": data}).status_code == 404
        assert client.post(url, headers=headers, json={"data": data}).status_code == 404
    assert _submissions(client=bea.id) == []


def test_hole13_a_task_of_one_form_does_not_open_another(client, asked):
    """May a client use her open gad7 task to open, save or submit another form (staff-only included)?"""
    minor, headers = asked["fam"]["minor"], asked["headers"]["client"]
    context = f"task:{asked['gad7'].id}"
    for key in ("form_acknowledgement", "phq9", "guardian_approval"):
        url = f"/api/v1/clients/{minor.id}/forms/{key}"
        assert client.get(url, headers=headers, query_string={"context": context}).status_code == 404
        assert client.put(url, headers=headers, json={"data": {}, "context": context}).status_code == 404
        assert client.post(url, headers=headers, json={"data": {}, "context": context}).status_code in (
            404,
            422,
        )
    assert _submissions(client=minor.id, form_key__ne="phq9") == []


def test_hole13_engine_refuses_unrequested_forms_for_every_portal_actor(asked):
    """Does the service itself (not only the API) refuse a form not asked of the client, guardian or aunt?"""
    from engine.errors import NotFound
    from tests.form_fills import VALID

    minor = asked["fam"]["minor"]
    for who in ("client", "guardian", "aunt"):
        actor = asked["fam"][who]
        with pytest.raises(NotFound):
            submissions.complete(actor, minor.id, "form_acknowledgement", {"decision": "acknowledge"})
        with pytest.raises(NotFound):
            submissions.complete(actor, minor.id, "gad7", VALID["gad7"])  # asked, but only through its task
        with pytest.raises(NotFound):
            submissions.save_progress(actor, minor.id, "phq9", {"phq9_1": 1})
        with pytest.raises(NotFound):
            submissions.start(actor, minor.id, "consent_adult")
    assert _submissions(client=minor.id, form_key__ne="phq9") == []


def test_staff_still_fill_in_a_form_for_their_client_without_a_task(asked):
    """May the assigned therapist open and save a form for her client without any request (on paper
    in the office)?"""
    staff, minor = asked["fam"]["staff"], asked["fam"]["minor"]
    assert submissions.start(staff, minor.id, "gad7")["form_key"] == "gad7"
    submissions.save_progress(staff, minor.id, "gad7", {"gad7_1": 1})
    assert [s.context for s in _submissions(client=minor.id, form_key="gad7")] == [""]


def test_forms_api_matrix_for_portal_accounts(client, asked):
    """Forms API x portal account x task context x form: only an open task the account may see, naming
    that form for that client, opens and saves it; nobody submits outside a task; no refusal writes."""
    fam, bea = asked["fam"], asked["bea"]
    minor = fam["minor"]
    contexts = {
        "none": "",
        "gad7": f"task:{asked['gad7'].id}",
        "consent": f"task:{asked['consent'].id}",
        "done": f"task:{asked['done'].id}",
        "bea_gad7": f"task:{asked['bea_gad7'].id}",
        "garbage": "task:not-an-id",
        "missing": f"task:{ObjectId()}",
        "bare": str(asked["gad7"].id),
    }
    keys = ("gad7", "phq9", "consent_minor", "form_acknowledgement", "guardian_approval", "no_such_form")
    profiles = {"client": minor, "guardian": minor, "aunt": minor, "bea": bea}
    allowed = {
        ("client", "gad7", "gad7"),
        ("aunt", "gad7", "gad7"),
        ("guardian", "gad7", "gad7"),
        ("guardian", "consent", "consent_minor"),
        ("bea", "bea_gad7", "gad7"),
    }
    wrong = []
    for who, profile in [*profiles.items(), ("bea", minor)]:
        headers = asked["headers"][who]
        for name, context in contexts.items():
            for key in keys:
                url = f"/api/v1/clients/{profile.id}/forms/{key}"
                ok = (who, name, key) in allowed and profile == profiles[who]
                got = (
                    client.get(url, headers=headers, query_string={"context": context}).status_code,
                    client.put(url, headers=headers, json={"data": {}, "context": context}).status_code,
                    client.post(url, headers=headers, json={"data": {}, "context": context}).status_code,
                )
                want_get_put = (200, 204) if ok else (404, 404)
                if got[:2] != want_get_put or got[2] not in (404, 422):
                    wrong.append(f"{who} on {profile.first_name}'s {key} with {name}: {got}")
    assert wrong == [], "\n".join(wrong)
    written = {(s.form_key, s.context, s.status) for s in _submissions(form_key__ne="phq9")}
    assert written == {
        ("gad7", contexts["gad7"], "in_progress"),
        ("consent_minor", contexts["consent"], "in_progress"),
        ("gad7", contexts["bea_gad7"], "in_progress"),
    }
