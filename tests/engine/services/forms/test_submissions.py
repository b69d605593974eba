"""Submissions: publish, prefill, progress, sealed completion, tamper detection, review before overwrite."""

from __future__ import annotations

import pytest

from engine.authz import SYSTEM, staff_actor
from engine.errors import ValidationFailed
from engine.models.clients import Address, Client
from engine.models.forms import ProposedChange, Signature, Submission
from engine.services.forms import form_files, submissions
from engine.services.forms import forms as form_service
from tests.form_fills import VALID
from tests.helpers import make_client, make_staff, publish_shipped_form


def test_publish_gives_an_immutable_version(clean_db):
    """Does publishing create version 1, and does republishing an unchanged draft keep it?"""
    v1 = publish_shipped_form("phq9")
    assert v1.number == 1 and form_service.form_exists("phq9")
    assert form_service.publish(SYSTEM, "phq9").id == v1.id
    version_id, definition = form_service.published_definition("phq9")
    assert version_id == str(v1.id) and definition["title"] == "PHQ-9"


def test_therapist_cannot_create_intake_forms(clean_db):
    """May a therapist create a dynamic form but not an intake form?"""
    from engine.errors import Forbidden

    actor = staff_actor(make_staff(roles=("therapist",)))
    form_service.create_form(
        actor, "check_in", "dynamic", "Check-in", {"elements": [{"type": "text", "name": "how"}]}
    )
    with pytest.raises(Forbidden):
        form_service.create_form(actor, "intake_x", "intake", "X", {"elements": []})


def test_prefill_never_overwrites_saved_progress(clean_db):
    """Is the form prefilled from the client record, with saved progress winning over the record?"""
    publish_shipped_form("demographics")
    client = make_client(first_name="Ada", last_name="Lovelace", phone="555-0100")
    first = submissions.start(SYSTEM, client.id, "demographics")
    assert first["data"]["first_name"] == "Ada" and first["data"]["phone"] == "555-0100"
    submissions.save_progress(SYSTEM, client.id, "demographics", {"first_name": "Augusta"})
    resumed = submissions.start(SYSTEM, client.id, "demographics")
    assert resumed["has_progress"] and resumed["data"]["first_name"] == "Augusta"


def test_rejected_submission_keeps_progress(clean_db):
    """Does an invalid completion raise field errors and leave the saved answers intact?"""
    publish_shipped_form("gad7")
    client = make_client()
    submissions.save_progress(SYSTEM, client.id, "gad7", {"gad7_1": 1})
    with pytest.raises(ValidationFailed) as exc:
        submissions.complete(SYSTEM, client.id, "gad7", {"gad7_1": 1})
    assert "gad7_2" in exc.value.details
    assert Submission.objects(client=client.id, status="in_progress").first().answers == {"gad7_1": 1}


def test_completed_submission_is_sealed_and_one_changed_byte_breaks_it(clean_db):
    """Does changing one byte of a stored completed submission make verification fail?"""
    publish_shipped_form("consent_adult")
    client = make_client()
    sub = submissions.complete(SYSTEM, client.id, "consent_adult", VALID["consent_adult"])
    assert submissions.verify_submission(sub.id)
    # signatures live in GridFS; answers keep only a reference
    assert sub.answers["signature"].startswith(submissions.FILE_REF)
    data, content_type, _ = form_files.read(sub, sub.answers["signature"])
    assert content_type == "image/png" and data.startswith(b"\x89PNG")
    assert Signature.objects(submission=sub.id).count() == 1
    raw = clean_db["form_submissions"].find_one({"_id": sub.id})
    text = raw["answers_json"]
    i = text.index("Ada")
    clean_db["form_submissions"].update_one(
        {"_id": sub.id}, {"$set": {"answers_json": text[:i] + "E" + text[i + 1 :]}}
    )
    assert not submissions.verify_submission(sub.id)
    clean_db["form_submissions"].update_one(
        {"_id": sub.id}, {"$set": {"answers_json": text, "evidence.ip": "10.0.0.9"}}
    )
    assert not submissions.verify_submission(sub.id)


def test_record_changes_wait_for_staff_review(clean_db):
    """Do answers that differ from the client record become review items, applied only when accepted?"""
    publish_shipped_form("demographics")
    client = make_client(
        first_name="Ada",
        last_name="Lovelace",
        phone="555-0100",
        address=Address(line1="1 Old Road", city="Springfield"),
    )
    data = {**VALID["demographics"], "phone": "555-0199", "city": "Shelbyville"}
    sub = submissions.complete(SYSTEM, client.id, "demographics", data)
    items = {i.field: i for i in ProposedChange.objects(submission=sub.id)}
    assert items["phone"].old_value == "555-0100" and items["phone"].new_value == "555-0199"
    assert Client.objects(id=client.id).first().phone == "555-0100"  # nothing changed silently
    staff = staff_actor(make_staff(roles=("org_admin",)))
    submissions.decide_proposed_change(staff, items["phone"].id, accept=True)
    submissions.decide_proposed_change(staff, items["address.city"].id, accept=False)
    fresh = Client.objects(id=client.id).first()
    assert fresh.phone == "555-0199" and fresh.address.city == "Springfield"


def test_guardian_sees_their_own_name_prefilled(clean_db):
    """On a minor's consent, is the guardian's own name prefilled (signer), and the child's from the record?"""
    from engine.authz import portal_actor
    from engine.models.clients import Contact, ContactLink, LinkPermissions
    from tests.form_requests import request_form
    from tests.helpers import make_portal_account

    publish_shipped_form("consent_minor")
    child = make_client(first_name="Sam", last_name="Lovelace")
    mum = Contact(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    mum.save()
    ContactLink(
        contact=mum,
        client=child,
        relationship="parent",
        is_guardian=True,
        permissions=LinkPermissions(forms=True),
    ).save()
    account = make_portal_account(contact=mum)
    task = request_form(child, "consent_minor")
    start = submissions.start(portal_actor(account), child.id, "consent_minor", context=f"task:{task.id}")
    assert start["data"]["minor_name"] == "Sam Lovelace" and start["data"]["guardian_name"] == "Ada Lovelace"


def test_copy_dynamic_form_to_intake_and_archive(clean_db):
    """Can an admin copy a therapist's dynamic form into a new intake form, and archive the original?"""
    admin = staff_actor(make_staff(roles=("org_admin",)))
    form_service.create_form(
        admin, "sleep_log", "dynamic", "Sleep log", {"elements": [{"type": "text", "name": "hours"}]}
    )
    form_service.publish(admin, "sleep_log")
    copy = form_service.copy_to_intake(admin, "sleep_log", "sleep_intake")
    assert (
        copy.kind == "intake"
        and copy.copied_from == "sleep_log"
        and copy.draft["elements"][0]["name"] == "hours"
    )
    form_service.archive(admin, "sleep_log")
    assert not form_service.form_exists("sleep_log")
