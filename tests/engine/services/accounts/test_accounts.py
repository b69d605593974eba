"""Accounts service: passwords (rehash), one e-mail namespace, revocation, profiles, TOTP, bootstrap admin."""

from __future__ import annotations

import time

import pyotp
import pytest
from argon2 import PasswordHasher

from engine.authz import SYSTEM
from engine.errors import NotAuthenticated, NotFound, ValidationFailed
from engine.models.accounts import ApiToken, AuthSession, StaffMember
from engine.models.clients import Contact, ContactLink, LinkPermissions
from engine.services.accounts import accounts, mfa, tokens
from tests.helpers import (
    PASSWORD,
    enable_mfa,
    make_client,
    make_portal_account,
    make_staff,
    totp_code,
)


def test_login_rehashes_outdated_parameters(clean_db, production_password_costs):
    """Does a successful login replace a hash made with weaker argon2 parameters, and still log in afterwards?"""
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    staff = make_staff(password=None)
    StaffMember.objects(id=staff.id).update_one(set__password_hash=weak)
    accounts.check_password(staff.email, PASSWORD)
    stored = StaffMember.objects.get(id=staff.id).password_hash
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)
    assert accounts.check_password(staff.email, PASSWORD).id == staff.id


def test_failed_logins_share_one_message_and_are_audited(clean_db):
    """Do unknown e-mail, wrong password, no password yet and disabled account raise the same error?"""
    from engine.models.audit import AuditEvent

    make_staff(email="known@example.org")
    make_staff(email="nopass@example.org", password=None)
    make_staff(email="off@example.org", disabled=True)
    seen = set()
    for email, password in [
        ("unknown@example.org", PASSWORD),
        ("known@example.org", "wrong password!"),
        ("nopass@example.org", PASSWORD),
        ("off@example.org", PASSWORD),
    ]:
        with pytest.raises(NotAuthenticated) as info:
            accounts.check_password(email, password, ip="10.0.0.9")
        seen.add((info.value.code, info.value.message))
    assert seen == {("invalid_credentials", accounts.LOGIN_FAILED)}
    reasons = sorted(e.details["reason"] for e in AuditEvent.objects(action="login_failed"))
    assert reasons == ["disabled", "unknown_email", "wrong_password", "wrong_password"]
    assert {e.ip for e in AuditEvent.objects(action="login_failed")} == {"10.0.0.9"}


def test_email_is_unique_across_staff_and_portal(clean_db):
    """Is an address used by a portal account reported as taken for staff too?"""
    account = make_portal_account(email="Person@Example.org")
    assert accounts.email_in_use("person@example.org ")
    assert not accounts.email_in_use("person@example.org", exclude=account)
    assert accounts.find_login("PERSON@example.org").id == account.id


def test_disable_revokes_sessions_and_tokens(clean_db):
    """Does disabling an account delete its sessions and revoke its tokens?"""
    staff = make_staff()
    raw_sid, _ = tokens.open_session(staff, mfa_passed=True)
    raw_token, _ = tokens.issue_token(staff)
    accounts.set_disabled(staff, True, actor=SYSTEM)
    assert tokens.resolve_session(raw_sid) is None and AuthSession.objects(account_id=staff.id).count() == 0
    assert tokens.resolve_token(raw_token) is None
    assert ApiToken.objects.get(account_id=staff.id).revoked_at is not None


def test_set_password_revokes_and_checks_strength(clean_db):
    """Does a new password end every session and token, and is a short one refused with the field named?"""
    account = make_portal_account()
    raw_sid, _ = tokens.open_session(account, mfa_passed=True)
    raw_token, _ = tokens.issue_token(account)
    with pytest.raises(ValidationFailed) as info:
        accounts.set_password(account, "short")
    assert "password" in info.value.details
    assert tokens.resolve_session(raw_sid) is not None
    accounts.set_password(account, "a long enough passphrase")
    assert tokens.resolve_session(raw_sid) is None and tokens.resolve_token(raw_token) is None


def test_guardian_switches_between_minors(clean_db):
    """Does a guardian's session switch between both linked minors, and refuse a client it is not linked to?"""
    kid_a, kid_b, stranger = make_client(), make_client(), make_client()
    parent = Contact(first_name="Pat", last_name="Parent", email="pat@example.org")
    parent.save()
    for kid in (kid_a, kid_b):
        ContactLink(
            contact=parent,
            client=kid,
            relationship="parent",
            is_guardian=True,
            permissions=LinkPermissions(forms=True, appointments=True),
        ).save()
    account = make_portal_account(contact=parent)
    raw, step = accounts.start_session(account.email, PASSWORD)
    row, _ = tokens.resolve_session(raw)
    assert step is None and row.active_client_id == kid_a.id
    accounts.set_active_profile(row, str(kid_b.id))
    assert AuthSession.objects.get(id=row.id).active_client_id == kid_b.id
    with pytest.raises(NotFound):
        accounts.set_active_profile(row, str(stranger.id))
    me = accounts.describe_me(accounts.actor_for(account), row.active_client_id)
    assert {p["client_id"] for p in me["profiles"]} == {str(kid_a.id), str(kid_b.id)}
    assert me["active_profile_id"] == str(kid_b.id)
    assert all(p["is_guardian"] and p["permissions"]["forms"] for p in me["profiles"])


def test_each_totp_code_works_once(clean_db):
    """Is a code accepted once, then refused, and is an older step refused after a newer one?"""
    staff = make_staff()
    secret = enable_mfa(staff)
    now, nxt = totp_code(secret), totp_code(secret, 1)
    assert mfa.verify(staff, nxt)
    assert not mfa.verify(staff, nxt)
    assert now == nxt or not mfa.verify(staff, now)


def test_totp_secret_is_encrypted_at_rest(clean_db):
    """Is the confirmed TOTP secret stored encrypted, and does a tampered one verify nothing?"""
    staff = make_staff()
    setup = mfa.begin_setup(staff)
    mfa.confirm_setup(staff, pyotp.TOTP(setup["secret"]).at(time.time() + 30))
    stored = StaffMember.objects.get(id=staff.id)
    assert stored.mfa_enabled and setup["secret"] not in stored.totp_secret
    StaffMember.objects(id=staff.id).update_one(
        set__totp_secret=stored.totp_secret[:-4] + "AAA=", set__totp_last_step=0
    )
    assert not mfa.verify(StaffMember.objects.get(id=staff.id), pyotp.TOTP(setup["secret"]).now())


def test_bootstrap_admin_only_on_empty_database(clean_db, settings):
    """Is the bootstrap admin created once on an empty database and never when staff exist?"""
    conf = settings.with_(
        bootstrap_admin_email="Boss@Example.org", bootstrap_admin_password="a strong passphrase"
    )
    admin = accounts.ensure_bootstrap_admin(conf)
    assert admin.email == "boss@example.org" and admin.roles == ["org_admin"]
    assert accounts.ensure_bootstrap_admin(conf) is None
    assert StaffMember.objects.count() == 1
    assert accounts.check_password("boss@example.org", "a strong passphrase").id == admin.id


def test_bootstrap_admin_from_create_app(clean_db, settings):
    """Does create_app on an empty database with the bootstrap variables create the admin?"""
    from engine import config as config_mod
    from web.app import create_app

    try:
        create_app(
            settings.with_(
                bootstrap_admin_email="first@example.org", bootstrap_admin_password="a strong passphrase"
            )
        )
    finally:
        config_mod.install(settings)
    assert StaffMember.objects.get(email="first@example.org").roles == ["org_admin"]
