"""Server-side sessions and API bearer tokens: random secrets handed out once, stored only as SHA-256.

A browser holds a session id in its (signed) cookie; an API client holds a
bearer token. Either is looked up by its hash, so a database dump gives no
usable credential, and deleting/revoking the row ends it even though the
cookie's signature is still valid. No domain errors: lookups answer None.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from engine import config, persistence
from engine.models import organization, utcnow
from engine.models.accounts import ApiToken, AuthSession, PortalAccount, StaffMember

# last_seen_at is refreshed at most this often, so a busy session is not one DB write per request.
TOUCH_INTERVAL = timedelta(seconds=60)
TOKEN_PREFIX = "pt_"  # noqa: S105 - not a secret: makes leaked tokens recognizable to secret scanners
_KINDS = {"staff": StaffMember, "portal": PortalAccount}


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def load_account(kind: str, account_id):
    """The enabled StaffMember/PortalAccount behind a session or token, or None."""
    model = _KINDS.get(kind)
    account = model.objects(id=account_id).first() if model else None
    return None if account is None or account.disabled else account


def _find_with_account(model, query: dict):
    """(row, enabled account or None) for the first `model` row matching `query`, or None.

    One round trip instead of three: the row, its account (looked up in both account collections
    by id; only the row's own kind is used) and the organization, which is kept for the request
    (the caller's permissions need its default set). Every request reads all three afresh, so a
    revoked token, a deleted session, a disabled account or changed permissions count at once.
    """
    pipeline: list[dict] = [{"$match": query}, {"$limit": 1}]
    pipeline += [
        {
            "$lookup": {
                "from": persistence.collection_name(account_model),
                "localField": "account_id",
                "foreignField": "_id",
                "as": f"_{kind}",
            }
        }
        for kind, account_model in _KINDS.items()
    ]
    pipeline.append(organization.lookup_stage("_org"))
    found = next(iter(persistence.collection(model).aggregate(pipeline)), None)
    if found is None:
        return None
    accounts = {kind: found.pop(f"_{kind}", []) for kind in _KINDS}
    orgs = found.pop("_org", [])
    organization.remember_for_request(orgs[0] if orgs else None)
    row = persistence.document(model, found)
    matched = accounts.get(row.account_kind) or [None]
    account = persistence.document(_KINDS[row.account_kind], matched[0]) if matched[0] is not None else None
    return row, (None if account is None or account.disabled else account)


# --- sessions ------------------------------------------------------------------


def open_session(
    account, *, mfa_passed: bool, ip: str = "", user_agent: str = "", active_client_id=None
) -> tuple[str, AuthSession]:
    """A new session for `account`; returns (raw id for the cookie, the row)."""
    settings = config.current()
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    row = AuthSession(
        token_hash=digest(raw),
        account_kind=account.kind,
        account_id=account.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
        mfa_passed=mfa_passed,
        active_client_id=active_client_id,
        ip=ip[:64],
        user_agent=(user_agent or "")[:300],
    )
    row.save()
    return raw, row


def _expired(row: AuthSession, now: datetime) -> bool:
    idle = timedelta(minutes=config.current().session_idle_minutes)
    return row.expires_at <= now or row.last_seen_at + idle <= now


def resolve_session(raw: str) -> tuple[AuthSession, object] | None:
    """(session, account) for a cookie's session id, or None when unknown, expired, or the account is disabled.

    An expired session is deleted on sight (the TTL index would only catch the absolute lifetime).
    """
    if not raw:
        return None
    found = _find_with_account(AuthSession, {"token_hash": digest(raw)})
    if found is None:
        return None
    row, account = found
    now = utcnow()
    if _expired(row, now):
        row.delete()
        return None
    if account is None:
        row.delete()
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        AuthSession.objects(id=row.id).update_one(set__last_seen_at=now)
        row.last_seen_at = now
    return row, account


def mark_mfa_passed(row: AuthSession) -> None:
    AuthSession.objects(id=row.id).update_one(set__mfa_passed=True)
    row.mfa_passed = True


def close_pending_sessions(account) -> int:
    """Delete every session of `account` still waiting for its MFA code (all addresses); returns how many."""
    return AuthSession.objects(account_kind=account.kind, account_id=account.id, mfa_passed=False).delete()


def close_session(raw: str) -> AuthSession | None:
    """Delete the session with this id (logout); returns the deleted row, if there was one."""
    row = AuthSession.objects(token_hash=digest(raw)).first() if raw else None
    if row is not None:
        row.delete()
    return row


# --- bearer tokens ---------------------------------------------------------------


def issue_token(account, *, label: str = "") -> tuple[str, ApiToken]:
    """A new bearer token valid for PORTICO_TOKEN_HOURS; returns (raw token, the row)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        token_hash=digest(raw),
        account_kind=account.kind,
        account_id=account.id,
        created_at=now,
        expires_at=now + timedelta(hours=config.current().token_hours),
        label=label[:100],
    )
    row.save()
    return raw, row


def resolve_token(raw: str) -> tuple[ApiToken, object] | None:
    """(token, account) for a bearer token, or None when unknown, expired, revoked or the account is disabled."""
    if not raw:
        return None
    found = _find_with_account(ApiToken, {"token_hash": digest(raw)})
    if found is None:
        return None
    row, account = found
    if row.revoked_at is not None or row.expires_at <= utcnow() or account is None:
        return None
    return row, account


def revoke_token(raw: str) -> bool:
    """Revoke one bearer token; True when it was live."""
    updated = ApiToken.objects(token_hash=digest(raw), revoked_at=None).update(set__revoked_at=utcnow())
    return bool(updated)


def revoke_all(account) -> None:
    """End every session and revoke every token of `account` (password change, disable)."""
    AuthSession.objects(account_kind=account.kind, account_id=account.id).delete()
    ApiToken.objects(account_kind=account.kind, account_id=account.id, revoked_at=None).update(
        set__revoked_at=utcnow()
    )
