"""Staff management service: create, edit, disable; roles, grants and preferences checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.authz import staff_actor
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.accounts import ApiToken, AuthSession
from engine.models.audit import AuditEvent
from engine.models.organization import Location, Organization, ServiceType
from engine.services.accounts import staff as staff_service
from tests.helpers import make_staff


@pytest.fixture()
def admin(clean_db):
    org = Organization.get()
    org.locations = [
        Location(key="main", name="Main office"),
        Location(key="tele", name="Telehealth", telehealth=True),
    ]
    org.service_types = [ServiceType(key="individual", name="Individual therapy")]
    org.save()
    return staff_actor(make_staff(roles=("org_admin",)))


def _new(admin, **extra):
    data = {"first_name": "Ada", "last_name": "Lovelace", "email": "ADA@example.org ", "roles": ["therapist"]}
    data.update(extra)
    return staff_service.create_staff(admin, data)


def test_admin_creates_staff_with_roles_grants_and_preferences(admin):
    """Does a created staff member keep roles, grants and known preferences, and get audited?"""
    created = _new(
        admin,
        permissions=["portal.invite"],
        preferences={"service_types": ["individual"], "locations": ["tele"], "notify_digest": "weekly"},
    )
    assert created["email"] == "ada@example.org"
    assert created["roles"] == ["therapist"] and created["permissions"] == ["portal.invite"]
    assert {"dynamic_forms.manage", "client_documents.upload", "portal.invite"} <= set(
        created["effective_permissions"]
    )
    assert created["preferences"]["locations"] == ["tele"]
    assert created["preferences"]["notify_digest"] == "weekly"
    assert AuditEvent.objects(action="staff_member_created", object_id=created["id"]).count() == 1


def test_unknown_roles_codes_and_preferences_are_refused_with_every_field_named(admin):
    """Are unknown roles, permission codes, locations and service types all reported at once?"""
    with pytest.raises(ValidationFailed) as err:
        _new(
            admin,
            email="not-an-email",
            roles=["wizard"],
            permissions=["rule.world"],
            preferences={"locations": ["moon"], "service_types": ["séance"], "notify_digest": "hourly"},
        )
    details = err.value.details
    assert {
        "email",
        "roles",
        "permissions",
        "preferences.locations",
        "preferences.service_types",
        "preferences.notify_digest",
    } <= set(details)


def test_duplicate_email_is_a_conflict(admin):
    """Is a second staff member with the same e-mail refused?"""
    _new(admin)
    with pytest.raises(Conflict):
        _new(admin, email="ada@example.org")


def test_therapist_may_not_manage_staff(admin):
    """Does a therapist without staff.manage get Forbidden?"""
    therapist = staff_actor(make_staff(roles=("therapist",)))
    with pytest.raises(Forbidden):
        staff_service.list_staff(therapist)
    with pytest.raises(Forbidden):
        _new(therapist)


def test_edit_roles_grants_and_merge_preferences(admin):
    """Does an edit change roles and grants and merge partial preferences?"""
    created = _new(admin, preferences={"locations": ["main"]})
    updated = staff_service.update_staff(
        admin,
        created["id"],
        {"roles": ["front_desk"], "permissions": [], "preferences": {"notify_new_task": False}},
    )
    assert updated["roles"] == ["front_desk"]
    assert updated["preferences"]["locations"] == ["main"]
    assert updated["preferences"]["notify_new_task"] is False
    with pytest.raises(ValidationFailed):
        staff_service.update_staff(admin, created["id"], {"password_hash": "x"})


def test_disabling_revokes_sessions_and_tokens(admin):
    """Does disabling a member delete their sessions and API tokens but not others'?"""
    member = make_staff()
    other = make_staff()
    later = utcnow() + timedelta(hours=1)
    for owner in (member, other):
        AuthSession(
            token_hash=f"s{owner.id}", account_kind="staff", account_id=owner.id, expires_at=later
        ).save()
        ApiToken(
            token_hash=f"t{owner.id}", account_kind="staff", account_id=owner.id, expires_at=later
        ).save()
    result = staff_service.disable_staff(admin, member.id)
    assert result["disabled"] is True
    assert AuthSession.objects(account_id=member.id).count() == 0
    assert ApiToken.objects(account_id=member.id, revoked_at=None).count() == 0
    assert AuthSession.objects(account_id=other.id).count() == 1
    assert ApiToken.objects(account_id=other.id, revoked_at=None).count() == 1
    assert AuditEvent.objects(action="staff_member_disabled").count() == 1
    assert staff_service.update_staff(admin, member.id, {"disabled": False})["disabled"] is False


def test_cannot_disable_self_or_the_last_staff_manager(admin):
    """Is an admin kept from disabling themself or removing the last staff manager's rights?"""
    with pytest.raises(Conflict):
        staff_service.disable_staff(admin, admin.account.id)
    with pytest.raises(Conflict):
        staff_service.update_staff(admin, admin.account.id, {"roles": ["therapist"]})


def test_unknown_staff_id_is_not_found(admin):
    """Does a malformed or unknown staff id answer NotFound?"""
    for bad in ("nope", "64b7f0000000000000000000"):
        with pytest.raises(NotFound):
            staff_service.update_staff(admin, bad, {"first_name": "X"})
