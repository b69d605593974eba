"""Admin pages for integrations: service tokens (create, shown once, revoke) and webhooks (endpoints, deliveries)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request

from engine.authz import PERMISSIONS
from engine.errors import ValidationFailed
from engine.services import service_tokens
from web.pages._flash import back
from web.security import access, current_actor

bp = Blueprint("integration_pages", __name__, url_prefix="/admin")


@bp.app_template_filter("when")
def when(value: datetime | None) -> str:
    """A stored time as people read it (UTC, to the minute); "never" when there is none."""
    return value.strftime("%d %b %Y, %H:%M UTC") if value else "never"


def _permission_options() -> list[tuple[str, str, None]]:
    return [(code, label, None) for code, label in PERMISSIONS.items() if current_actor().has(code)]


def _tokens_page(status: int = 200, *, created: dict | None = None, raw: str = "", errors=None, values=None):
    return render_template("admin/service_tokens.html", tokens=service_tokens.list_tokens(current_actor()),
                           labels=PERMISSIONS, permission_options=_permission_options(), created=created,
                           raw=raw, errors=errors or {}, values=values or {}), status


@bp.get("/service-tokens")
@access("staff:integrations.manage")
def tokens():
    """Every service token with its permissions and last use, and the form to make one."""
    return _tokens_page()


@bp.post("/service-tokens")
@access("staff:integrations.manage")
def create_token():
    """Create a token and show it this once (rendered, never put in a cookie or redirect)."""
    values = {"name": request.form.get("name", ""), "permissions": request.form.getlist("permissions")}
    try:
        raw, made = service_tokens.create_token(current_actor(), values["name"], values["permissions"])
    except ValidationFailed as exc:
        return _tokens_page(exc.status, errors=exc.details, values=values)
    return _tokens_page(201, created=made, raw=raw)


@bp.post("/service-tokens/<token_id>/revoke")
@access("staff:integrations.manage")
def revoke_token(token_id):
    """Revoke a token; the integration using it is refused from its next request."""
    made = service_tokens.revoke_token(current_actor(), token_id)
    return back("/admin/service-tokens", f"{made['name']} revoked.")
