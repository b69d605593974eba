"""Reminders, returned forms and uploads through the API (real SMTP, worker and scheduler where timers run)."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from engine import config
from engine.models.documents import Document
from engine.models.invitations import Invitation
from engine.services.platform import files
from tests import intake_lifecycle as lc
from tests.form_fills import VALID
from tests.helpers import api_login, make_client, make_staff


@pytest.fixture()
def staff(client, installed, smtp, scheduler):
    admin = make_staff(roles=("org_admin",))
    return api_login(client, admin.email)


@pytest.mark.slow
def test_two_reminders_then_one_follow_up(client, staff, smtp):
    """With cadence PT2S and at most 2 reminders, does a client who never answers get exactly two
    reminders and staff exactly one follow-up task?"""
    lc.configure(intake_packet=["phq9", "gad7"], reminder_cadence="PT2S", reminder_max=2)
    quiet = make_client(first_name="Quinn", email="quinn@example.org")
    assert client.post(f"/api/v1/clients/{quiet.id}/invite", headers=staff, json={}).status_code == 201
    lc.wait_tasks(client, staff, lambda t: t["name"].startswith("Follow up"), "the follow-up task")
    time.sleep(3)  # a cadence and more: nothing else may arrive
    mails = smtp.to("quinn@example.org")
    assert len(mails) == 3  # the invitation and two reminders
    assert all("waiting for 2 forms" in m for m in mails[1:])
    follow_ups = [t for t in lc.open_tasks(client, staff) if t["name"].startswith("Follow up")]
    assert len(follow_ups) == 1


@pytest.mark.slow
def test_returning_one_form_reopens_only_that_form(client, staff, smtp):
    """When staff return one form with a comment, is exactly that form reopened for the client, and
    does the intake finish once the revised form is acknowledged?"""
    lc.configure(intake_packet=["demographics", "phq9", "gad7"], reminder_max=0)
    ann = make_client(first_name="Ann", email="ann@example.org")
    instance = client.post(f"/api/v1/clients/{ann.id}/invite", headers=staff, json={}).get_json()
    portal = lc.activate(client, smtp, "ann@example.org")
    lc.fill_packet(client, portal, str(ann.id), 3)
    lc.acknowledge_all(client, staff, 3, returns={"phq9": "Please answer question 9 again."})

    [reopened] = lc.wait_tasks(client, portal, lambda t: t["lane"] == "client", "the reopened form")
    assert reopened["form_key"] == "phq9"
    assert [t["form_key"] for t in lc.open_tasks(client, portal)] == ["phq9"]
    assert lc.open_tasks(client, staff) == []
    filed = sorted(d["form_key"] for d in lc.documents(client, staff, str(ann.id)))
    assert filed == ["demographics", "gad7"]

    from engine.models.workflow import Task
    from engine.services.intake.intake_queries import revision_context

    revision = revision_context(
        Task._get_collection().find_one({"_id": Task.objects.get(id=reopened["id"]).id})
    )
    assert revision["comment"] == "Please answer question 9 again."
    assert (
        revision["answers"]["phq9_1"] == VALID["phq9"]["phq9_1"]
    )  # the client starts from the earlier answers
    lc.complete(client, portal, reopened["id"], VALID["phq9"])
    assert len(lc.acknowledge_all(client, staff, 1)) == 1  # only the revised form comes back
    lc.wait_completed(client, staff, instance["id"])
    kinds = sorted((d["kind"], d["form_key"] or "") for d in lc.documents(client, staff, str(ann.id)))
    assert kinds == [("form", "demographics"), ("form", "gad7"), ("form", "phq9"), ("packet", "")]


def _upload(client, headers, client_id, name: str, data: bytes):
    import io

    return client.post(
        f"/api/v1/clients/{client_id}/documents",
        headers=headers,
        data={"file": (io.BytesIO(data), name), "title": name},
        content_type="multipart/form-data",
    )


def test_uploads_are_checked_by_content_and_size(client, settings):
    """Is an executable renamed .pdf refused with 415 and an oversized file with 413, neither stored,
    while a real PDF is stored encrypted and its downloads audited?"""
    from engine.models.audit import AuditEvent

    member = make_staff(roles=("therapist",), permissions=["clients.view_all"])
    headers = api_login(client, member.email)
    ann = make_client(first_name="Ann")
    before = files.count_files()
    elf = _upload(client, headers, ann.id, "scan.pdf", b"\x7fELF\x02\x01\x01" + b"\0" * 200)
    assert elf.status_code == 415 and elf.get_json()["error"]["code"] == "unsupported_media_type"
    config.install(settings.with_(max_upload_mb=1))
    try:
        big = _upload(client, headers, ann.id, "big.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024))
    finally:
        config.install(settings)
    assert big.status_code == 413
    assert files.count_files() == before and Document.objects.count() == 0

    ok = _upload(client, headers, ann.id, "referral.pdf", b"%PDF-1.4\n% a scanned referral\n%%EOF\n")
    assert ok.status_code == 201, ok.get_json()
    doc = ok.get_json()
    raw = (
        files._bucket()
        .open_download_stream(files.parse_id(Document.objects.get(id=doc["id"]).file_id))
        .read()
    )
    assert b"scanned referral" not in raw  # encrypted at rest
    got = client.get(f"/api/v1/documents/{doc['id']}/content", headers=headers)
    assert got.status_code == 200 and b"scanned referral" in got.data
    assert AuditEvent.objects(action="client_document_downloaded").count() == 1


def test_upload_needs_the_permission(client):
    """Does a staff member without client_documents.upload get 403, and a portal client 403?"""
    member = make_staff(roles=("front_desk",))
    ann = make_client(first_name="Ann")
    resp = _upload(client, api_login(client, member.email), ann.id, "a.pdf", b"%PDF-1.4\n")
    assert resp.status_code == 403


def test_activation_tokens_are_hashed_single_use_and_expire(client, installed):
    """Is an invitation token stored only as a hash, usable once, and refused once expired?"""
    from engine.models.accounts import PortalAccount
    from engine.services.portal import invitations

    ann = make_client(first_name="Ann", email="ann@example.org")
    [account] = invitations.ensure_accounts(ann, minor=False)
    raw = invitations.issue(account, ann)
    assert Invitation.objects(token_hash=raw).count() == 0 and Invitation.objects.count() == 1
    weak = client.post("/api/v1/portal/activate", json={"token": raw, "password": "short"})
    assert weak.status_code == 422 and "password" in weak.get_json()["error"]["details"]
    ok = client.post("/api/v1/portal/activate", json={"token": raw, "password": lc.PORTAL_PASSWORD})
    assert ok.status_code == 200 and ok.get_json()["email"] == "ann@example.org"
    assert PortalAccount.objects.get(id=account.id).activated_at is not None
    assert (
        client.post(
            "/api/v1/portal/activate", json={"token": raw, "password": lc.PORTAL_PASSWORD}
        ).status_code
        == 422
    )

    old = invitations.issue(account, ann)
    Invitation.objects(used_at=None).update(set__expires_at=date.today() - timedelta(days=1))
    resp = client.post("/api/v1/portal/activate", json={"token": old, "password": lc.PORTAL_PASSWORD})
    assert resp.status_code == 422 and "token" in resp.get_json()["error"]["details"]


def test_an_activation_killed_between_claim_and_password_is_finished_by_its_retry(client, installed):
    """When the process dies after claiming the link but before the password reached the account, does
    the client's retry with the same password finish the activation (and another password not), after
    which the link is spent?"""
    from engine.models import utcnow
    from engine.models.accounts import PortalAccount
    from engine.services.accounts import passwords
    from engine.services.portal import invitations

    ann = make_client(first_name="Ann", email="ann@example.org")
    [account] = invitations.ensure_accounts(ann, minor=False)
    raw = invitations.issue(account, ann)
    Invitation.objects(account=account.id).update_one(  # the claim the dead process wrote
        set__used_at=utcnow(), set__password_hash=passwords.hash_password(lc.PORTAL_PASSWORD)
    )
    assert PortalAccount.objects.get(id=account.id).activated_at is None

    other = client.post(
        "/api/v1/portal/activate", json={"token": raw, "password": "another long password 42"}
    )
    assert other.status_code == 422 and "token" in other.get_json()["error"]["details"]
    retry = client.post("/api/v1/portal/activate", json={"token": raw, "password": lc.PORTAL_PASSWORD})
    assert retry.status_code == 200, retry.get_json()
    assert PortalAccount.objects.get(id=account.id).activated_at is not None
    assert api_login(client, "ann@example.org", lc.PORTAL_PASSWORD)
    assert Invitation.objects.get(account=account.id).password_hash is None  # not kept once on the account
    again = client.post("/api/v1/portal/activate", json={"token": raw, "password": lc.PORTAL_PASSWORD})
    assert again.status_code == 422


def test_invite_needs_portal_invite(client, installed):
    """Does a therapist (no portal.invite) get 403 when inviting, and an unknown packet form 422?"""
    lc.configure(intake_packet=["demographics"])
    therapist = make_staff(roles=("therapist",), permissions=["clients.view_all"])
    ann = make_client(first_name="Ann", email="ann@example.org")
    resp = client.post(
        f"/api/v1/clients/{ann.id}/invite", headers=api_login(client, therapist.email), json={}
    )
    assert resp.status_code == 403
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    bad = client.post(f"/api/v1/clients/{ann.id}/invite", headers=admin, json={"packet": ["no_such_form"]})
    assert bad.status_code == 422 and "packet" in bad.get_json()["error"]["details"]


def test_activation_asks_for_mfa_when_the_practice_requires_it(client, installed):
    """When the practice requires MFA for the portal, does activation say so, and does the first
    sign-in then lead to MFA setup rather than into the portal?"""
    from engine.services.portal import invitations

    lc.configure(require_mfa_for_portal=True)
    ann = make_client(first_name="Ann", email="ann@example.org")
    [account] = invitations.ensure_accounts(ann, minor=False)
    resp = client.post(
        "/api/v1/portal/activate",
        json={"token": invitations.issue(account, ann), "password": lc.PORTAL_PASSWORD},
    )
    assert resp.status_code == 200 and resp.get_json()["mfa_setup_required"] is True
    from tests.helpers import csrf_token

    token = csrf_token(client, "/logout")
    login = client.post(
        "/login", data={"email": "ann@example.org", "password": lc.PORTAL_PASSWORD, "csrf_token": token}
    )
    assert login.status_code in (302, 303) and "/mfa/setup" in login.headers["Location"]
