"""Logging in and out, passwords, the portal's active profile, "who am I", and the bootstrap admin.

One login namespace: an e-mail address belongs to at most one StaffMember or
PortalAccount. Every failure to log in answers the same message at about the
same cost (argon2 runs against a dummy hash for unknown e-mails), so the
answer does not reveal which addresses have accounts.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NoReturn

from mongoengine.errors import NotUniqueError

from engine import authz, config
from engine.errors import Forbidden, NotAuthenticated, NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.accounts import AuthSession, PortalAccount, StaffMember
from engine.services.accounts import mfa, passwords, tokens
from engine.services.platform import audit

log = logging.getLogger(__name__)

LOGIN_FAILED = "email or password is not correct"


def normalize_email(email) -> str:
    return str(email or "").strip().lower()


def find_login(email) -> StaffMember | PortalAccount | None:
    """The staff member or portal account with this e-mail (disabled ones included), or None."""
    address = normalize_email(email)
    if not address:
        return None
    return StaffMember.objects(email=address).first() or PortalAccount.objects(email=address).first()


def email_in_use(email, *, exclude=None) -> bool:
    """Is this e-mail taken by any login (staff or portal) other than `exclude`?"""
    found = find_login(email)
    return found is not None and not (
        exclude is not None and found.kind == exclude.kind and found.id == exclude.id
    )


def actor_for(account, *, ip: str = "", user_agent: str = "") -> authz.Actor:
    if account.kind == "staff":
        return authz.staff_actor(account, ip=ip, user_agent=user_agent)
    return authz.portal_actor(account, ip=ip, user_agent=user_agent)


def _anonymous(ip: str, user_agent: str) -> authz.Actor:
    return authz.Actor(kind="anonymous", ip=ip, user_agent=user_agent)


def _fail(
    reason: str,
    email: str,
    account,
    ip: str,
    user_agent: str,
    code: str = "invalid_credentials",
    message: str = LOGIN_FAILED,
) -> NoReturn:
    """Audit a refused login and raise the one public error for it."""
    actor = (
        actor_for(account, ip=ip, user_agent=user_agent)
        if account is not None
        else _anonymous(ip, user_agent)
    )
    audit.record(
        actor,
        "login_failed",
        object_type=getattr(account, "kind", ""),
        object_id=getattr(account, "id", ""),
        outcome="denied",
        details={"email": normalize_email(email)[:254], "reason": reason},
    )
    raise NotAuthenticated(message, code=code)


def check_password(email, password, *, ip: str = "", user_agent: str = ""):
    """The enabled account whose password this is; rehashes outdated argon2 parameters.

    Raises NotAuthenticated (code invalid_credentials) with one message for an
    unknown e-mail, a wrong password, an account without a password and a
    disabled account.
    """
    account = find_login(email)
    ok, new_hash = passwords.verify_password(account.password_hash if account else "", str(password or ""))
    if account is None:
        _fail("unknown_email", email, None, ip, user_agent)
    if not ok:
        _fail("wrong_password", email, account, ip, user_agent)
    if account.disabled:
        _fail("disabled", email, account, ip, user_agent)
    if new_hash:
        # Same password, stronger parameters: no sessions are revoked for this.
        type(account).objects(id=account.id).update_one(set__password_hash=new_hash)
        account.password_hash = new_hash
    return account


def next_step(account) -> str | None:
    """What a password-verified login still needs: "mfa_verify", "mfa_setup" or None."""
    if account.mfa_enabled:
        return "mfa_verify"
    return "mfa_setup" if mfa.is_required(account) else None


def _logged_in(account, via: str, ip: str, user_agent: str) -> None:
    type(account).objects(id=account.id).update_one(set__last_login_at=utcnow())
    audit.record(
        actor_for(account, ip=ip, user_agent=user_agent),
        "account_logged_in",
        object_type=account.kind,
        object_id=account.id,
        details={"via": via},
    )


def _first_profile_id(account):
    if account.kind != "portal":
        return None
    profiles = authz.portal_profiles(account)
    return profiles[0]["client"].id if profiles else None


def start_session(email, password, *, ip: str = "", user_agent: str = "") -> tuple[str, str | None]:
    """Password step of a browser login: (raw session id, next step or None when fully logged in).

    A session that still needs MFA exists but authenticates nothing until
    `complete_mfa` passes. Raises NotAuthenticated (invalid_credentials).
    """
    account = check_password(email, password, ip=ip, user_agent=user_agent)
    return open_login(account, via="password", ip=ip, user_agent=user_agent)


def open_login(account, *, via: str, ip: str = "", user_agent: str = "") -> tuple[str, str | None]:
    """A browser session for an account that has just proved itself (its password, or a mailed link
    with a password chosen there): (raw session id, next step or None when fully logged in).

    Two-factor authentication is not skipped by any of these: with MFA on (or required and not set
    up) the session waits for that step like after a password.
    """
    step = next_step(account)
    raw, _row = tokens.open_session(
        account,
        mfa_passed=step is None,
        ip=ip,
        user_agent=user_agent,
        active_client_id=_first_profile_id(account),
    )
    if step is None:
        _logged_in(account, via, ip, user_agent)
    return raw, step


MFA_LOCKED = "too many wrong codes: sign in again with your password in 15 minutes"


def _refuse_code(account, email, ip: str, user_agent: str) -> NoReturn:
    """A code was refused. Once the account has had too many wrong codes (engine.services.accounts.mfa), every
    login waiting for a code is void: whoever guesses must start again with the password."""
    if mfa.locked(account):
        tokens.close_pending_sessions(account)
        _fail("mfa_locked", email, account, ip, user_agent, code="mfa_locked", message=MFA_LOCKED)
    _fail(
        "mfa_invalid",
        email,
        account,
        ip,
        user_agent,
        code="mfa_invalid",
        message="that code is not valid (codes work once)",
    )


def complete_mfa(row: AuthSession, account, code: str, *, ip: str = "", user_agent: str = "") -> None:
    """Second step of a browser login. Raises NotAuthenticated: mfa_invalid for a wrong or reused code,
    mfa_locked (this login is void) after too many wrong codes for the account."""
    if not mfa.verify(account, code):
        _refuse_code(account, account.email, ip, user_agent)
    tokens.mark_mfa_passed(row)
    _logged_in(account, "password+totp", ip, user_agent)


def confirm_mfa_setup(
    account, code: str, *, row: AuthSession | None = None, ip: str = "", user_agent: str = ""
) -> None:
    """Turn MFA on; a login waiting for it is then complete. Raises ValidationFailed for a wrong code."""
    mfa.confirm_setup(account, code)
    audit.record(
        actor_for(account, ip=ip, user_agent=user_agent),
        "mfa_enabled",
        object_type=account.kind,
        object_id=account.id,
    )
    if row is not None and not row.mfa_passed:
        tokens.mark_mfa_passed(row)
        _logged_in(account, "password+totp", ip, user_agent)


def disable_mfa(actor: authz.Actor, code: str) -> None:
    """The signed-in user turns their own MFA off, proving it with a current code.

    Raises Forbidden (code mfa_required_by_policy) where policy requires MFA, and
    ValidationFailed {"code": [...]} for a wrong or reused code.
    """
    account = actor.login
    if mfa.policy_requires(account):
        raise Forbidden(
            "two-factor authentication is required for your account", code="mfa_required_by_policy"
        )
    if not mfa.verify(account, code):
        locked = mfa.locked(account)
        problem = (
            "too many wrong codes; try again in 15 minutes" if locked else "code is wrong or already used"
        )
        raise ValidationFailed("that code is not valid", details={"code": [problem]})
    mfa.disable(account)
    audit.record(actor, "mfa_disabled", object_type=account.kind, object_id=account.id)


def issue_api_token(
    email, password, totp=None, *, ip: str = "", user_agent: str = ""
) -> tuple[str, datetime]:
    """POST /auth/token: (raw bearer token, expires_at).

    Raises NotAuthenticated with code invalid_credentials, mfa_required (MFA is on
    and no code came), mfa_invalid, mfa_locked (too many wrong codes for the account,
    from anywhere: no code is taken until they age out), or mfa_setup_required (MFA
    is required but not set up yet: that happens in the browser).
    """
    account = check_password(email, password, ip=ip, user_agent=user_agent)
    step = next_step(account)
    if step == "mfa_setup":
        _fail(
            "mfa_not_set_up",
            email,
            account,
            ip,
            user_agent,
            code="mfa_setup_required",
            message="set up two-factor authentication in the browser first",
        )
    if step == "mfa_verify":
        if not totp:
            raise NotAuthenticated("a one-time code (totp) is required", code="mfa_required")
        if not mfa.verify(account, str(totp)):
            _refuse_code(account, email, ip, user_agent)
    raw, row = tokens.issue_token(account, label="api")
    _logged_in(account, "api_token", ip, user_agent)
    return raw, row.expires_at


def logout(raw_session: str, *, ip: str = "", user_agent: str = "") -> None:
    """End one browser session (no error when it is already gone)."""
    row = tokens.close_session(raw_session)
    account = tokens.load_account(row.account_kind, row.account_id) if row is not None else None
    if account is not None:
        audit.record(
            actor_for(account, ip=ip, user_agent=user_agent),
            "account_logged_out",
            object_type=account.kind,
            object_id=account.id,
            details={"via": "session"},
        )


def revoke_api_token(actor: authz.Actor, raw_token: str) -> None:
    """End the bearer token a request came with."""
    if tokens.revoke_token(raw_token):
        audit.record(
            actor,
            "account_logged_out",
            object_type=actor.kind,
            object_id=actor.id,
            details={"via": "api_token"},
        )


def set_password(account, new_password: str, *, actor: authz.Actor | None = None) -> None:
    """Store a new password and end every session and token of the account.

    Raises ValidationFailed {"password": [...]} when it is too weak.
    """
    passwords.check_strength(new_password, field_name="password")
    type(account).objects(id=account.id).update_one(
        set__password_hash=passwords.hash_password(new_password), set__password_changed_at=utcnow()
    )
    account.reload()
    tokens.revoke_all(account)
    audit.record(
        actor or actor_for(account), "password_changed", object_type=account.kind, object_id=account.id
    )


def change_password(
    actor: authz.Actor,
    current: str,
    new_password: str,
    *,
    reopen_session: bool = False,
    active_client_id=None,
) -> str | None:
    """The signed-in user changes their own password (current one required).

    Every session and token of the account ends, the caller's own included;
    with `reopen_session` a fresh session id is returned so the browser that
    made the change stays signed in. Raises ValidationFailed
    {"current_password": [...]} or {"password": [...]}.
    """
    account = actor.login
    ok, _ = passwords.verify_password(account.password_hash or "", current or "")
    if not ok:
        raise ValidationFailed(
            "current password is not correct", details={"current_password": ["not correct"]}
        )
    if current == new_password:
        raise ValidationFailed(
            "choose a different password", details={"password": ["same as the current one"]}
        )
    set_password(account, new_password, actor=actor)
    if not reopen_session:
        return None
    raw, _row = tokens.open_session(
        account, mfa_passed=True, ip=actor.ip, user_agent=actor.user_agent, active_client_id=active_client_id
    )
    return raw


def set_disabled(account, disabled: bool, *, actor: authz.Actor) -> None:
    """Disable (ending all sessions and tokens) or re-enable a login."""
    type(account).objects(id=account.id).update_one(set__disabled=bool(disabled))
    account.disabled = bool(disabled)
    if disabled:
        tokens.revoke_all(account)
    audit.record(
        actor,
        "account_disabled" if disabled else "account_enabled",
        object_type=account.kind,
        object_id=account.id,
    )


def set_active_profile(row: AuthSession, client_id) -> None:
    """Switch a portal session to another client profile the account reaches.

    Raises NotFound when the account does not reach that client.
    """
    account = tokens.load_account(row.account_kind, row.account_id)
    if account is None or account.kind != "portal":
        raise NotFound("no such client")
    wanted = authz.parse_id(client_id)
    if not any(p["client"].id == wanted for p in authz.portal_profiles(account)):
        raise NotFound("no such client")
    AuthSession.objects(id=row.id).update_one(set__active_client_id=wanted)
    row.active_client_id = wanted


def describe_me(actor: authz.Actor, active_client_id=None) -> dict:
    """GET /me: who the actor is, their permissions (staff), their client profiles (portal).

    Raises NotAuthenticated for an anonymous actor.
    """
    if actor.kind not in ("staff", "portal"):
        raise NotAuthenticated()
    account = actor.login
    me = {
        "kind": actor.kind,
        "id": actor.id,
        "email": account.email,
        "name": account.display_name,
        "mfa_enabled": bool(account.mfa_enabled),
    }
    if actor.is_staff:
        me.update(
            roles=sorted(account.roles),
            permissions=sorted(actor.permissions),
            profiles=[],
            active_profile_id=None,
        )
        return me
    profiles = [
        {
            "client_id": str(p["client"].id),
            "name": p["client"].display_name,
            "relationship": p["relationship"],
            "is_guardian": p["is_guardian"],
            "permissions": p["permissions"],
        }
        for p in authz.portal_profiles(account)
    ]
    ids = [p["client_id"] for p in profiles]
    active = (
        str(active_client_id)
        if active_client_id and str(active_client_id) in ids
        else (ids[0] if ids else None)
    )
    me.update(roles=[], permissions=[], profiles=profiles, active_profile_id=active)
    return me


def ensure_bootstrap_admin(settings: config.Settings | None = None) -> StaffMember | None:
    """On a database without staff, create the PORTICO_BOOTSTRAP_ADMIN_* organization admin.

    Safe with several processes starting at once (the unique e-mail index
    decides). Raises ValidationFailed when the configured password is too weak.
    """
    settings = settings or config.current()
    email = normalize_email(settings.bootstrap_admin_email)
    if not email or not settings.bootstrap_admin_password or StaffMember.objects.first() is not None:
        return None
    passwords.check_strength(settings.bootstrap_admin_password, field_name="PORTICO_BOOTSTRAP_ADMIN_PASSWORD")
    if PortalAccount.objects(email=email).first() is not None:
        log.warning("bootstrap admin e-mail %s is a portal account; not creating the admin", email)
        return None
    admin = StaffMember(
        email=email,
        first_name="Organization",
        last_name="Admin",
        roles=["org_admin"],
        password_hash=passwords.hash_password(settings.bootstrap_admin_password),
    )
    try:
        admin.save()
    except NotUniqueError:
        return None
    audit.record(
        authz.SYSTEM,
        "staff_member_created",
        object_type="staff",
        object_id=admin.id,
        details={"bootstrap": True},
    )
    log.info("created bootstrap organization admin %s", email)
    return admin
