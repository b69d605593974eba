"""Service tokens: named API tokens for integrations, created by an admin with a chosen set of permissions.

The raw token is shown once (only its SHA-256 is stored, as for personal tokens: engine.services.accounts.tokens),
can be revoked, and records when it was last used. A token acts as itself — actor kind "service" —
never as the admin who made it: it carries no person's session, MFA or client assignments, so it sees
clients only with clients.view_all. An admin may grant only permissions they hold themselves.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from engine import authz
from engine.authz import Actor, parse_id
from engine.errors import NotFound, ValidationFailed
from engine.models import aware, utcnow
from engine.models.integrations import ServiceToken
from engine.services.accounts.tokens import digest
from engine.services.platform import audit

MANAGE = "integrations.manage"
PREFIX = "pst_"  # noqa: S105 - not a secret: tells service tokens from personal ones (and to secret scanners)
# last_used_at is written at most this often, so a busy integration is not one DB write per request.
TOUCH_INTERVAL = timedelta(seconds=60)


def describe(row: ServiceToken) -> dict:
    return {
        "id": str(row.id),
        "name": row.name,
        "permissions": sorted(row.permissions),
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
        "active": row.revoked_at is None,
    }


def list_tokens(actor: Actor) -> list[dict]:
    """Every service token, newest first (revoked ones too, marked). Raises Forbidden."""
    actor.require(MANAGE)
    return [describe(t) for t in ServiceToken.objects.order_by("-created_at")]


def create_token(actor: Actor, name: str, permissions: list[str]) -> tuple[str, dict]:
    """A new token; returns (the raw token, shown this once; its description).

    Raises Forbidden, ValidationFailed (empty name, unknown codes, codes the creator does not hold)."""
    actor.require(MANAGE)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            "a name is needed", details={"name": ["give the token a name (up to 100 characters)"]}
        )
    codes = authz.check_codes(list(permissions or []))
    beyond = [c for c in codes if not actor.has(c)]
    if beyond:
        raise ValidationFailed(
            "you can only grant permissions you hold",
            details={"permissions": [f"you do not hold: {authz.PERMISSIONS[c]}" for c in beyond]},
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    row = ServiceToken(
        name=name, token_hash=digest(raw), permissions=codes, created_by=f"{actor.kind}:{actor.id}"
    )
    row.save(force_insert=True)
    audit.record(
        actor,
        "service_token_created",
        object_type="service_token",
        object_id=row.id,
        details={"name": name, "permissions": codes},
    )
    return raw, describe(row)


def revoke_token(actor: Actor, token_id) -> dict:
    """Revoke a token (at once: every request reads it afresh). Raises Forbidden, NotFound."""
    actor.require(MANAGE)
    row = ServiceToken.objects(id=parse_id(token_id)).first()
    if row is None:
        raise NotFound("no such service token")
    if row.revoked_at is None:
        ServiceToken.objects(id=row.id, revoked_at=None).update_one(set__revoked_at=utcnow())
        row.reload()
        audit.record(actor, "service_token_revoked", object_type="service_token", object_id=row.id)
    return describe(row)


def resolve(raw: str, *, ip: str = "", user_agent: str = "") -> Actor | None:
    """The service actor of a live token, or None (unknown or revoked)."""
    if not raw or not raw.startswith(PREFIX):
        return None
    row = ServiceToken.objects(token_hash=digest(raw)).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - aware(row.last_used_at) >= TOUCH_INTERVAL:
        ServiceToken.objects(id=row.id).update_one(set__last_used_at=now)
    return authz.service_actor(row, ip=ip, user_agent=user_agent)
