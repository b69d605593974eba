"""Admin pages for integrations: service tokens (create, shown once, revoke) and webhooks (endpoints, deliveries)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request

from engine.authz import PERMISSIONS
from engine.errors import ValidationFailed
from engine.models.integrations import WEBHOOK_EVENTS
from engine.services.integrations import service_tokens, webhooks
from web.pages._flash import back, on_refusal
from web.security import access, current_actor

bp = Blueprint("integration_pages", __name__, url_prefix="/admin")


@bp.app_template_filter("when")
def when(value: datetime | None) -> str:
    """A stored time as people read it (UTC, to the minute); "never" when there is none."""
    return value.strftime("%d %b %Y, %H:%M UTC") if value else "never"


def _permission_options() -> list[tuple[str, str, None]]:
    return [(code, label, None) for code, label in PERMISSIONS.items() if current_actor().has(code)]


def _tokens_page(status: int = 200, *, created: dict | None = None, raw: str = "", errors=None, values=None):
    return render_template(
        "admin/service_tokens.html",
        tokens=service_tokens.list_tokens(current_actor()),
        labels=PERMISSIONS,
        permission_options=_permission_options(),
        created=created,
        raw=raw,
        errors=errors or {},
        values=values or {},
    ), status


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
    on_refusal(
        render=lambda exc: _tokens_page(exc.status, errors=exc.details, values=values),
        catch=(ValidationFailed,),
    )
    raw, made = service_tokens.create_token(current_actor(), values["name"], values["permissions"])
    return _tokens_page(201, created=made, raw=raw)


@bp.post("/service-tokens/<token_id>/revoke")
@access("staff:integrations.manage")
def revoke_token(token_id):
    """Revoke a token; the integration using it is refused from its next request."""
    made = service_tokens.revoke_token(current_actor(), token_id)
    return back("/admin/service-tokens", f"{made['name']} revoked.")


# A delivery's state as people read it.
DELIVERY_STATES = {
    "pending": "Waiting to send",
    "sending": "Sending",
    "delivered": "Delivered",
    "retrying": "Will try again",
    "failed": "Gave up",
}


def _endpoint_form(form) -> dict:
    return {
        "url": form.get("url", "").strip(),
        "description": form.get("description", "").strip(),
        "events": form.getlist("events"),
        "active": "active" in form,
    }


def _webhooks_page(
    status: int = 200, *, created: dict | None = None, secret: str = "", errors=None, values=None
):
    return render_template(
        "admin/webhooks.html",
        endpoints=webhooks.list_endpoints(current_actor()),
        event_labels=WEBHOOK_EVENTS,
        event_options=[(k, v, None) for k, v in WEBHOOK_EVENTS.items()],
        created=created,
        secret=secret,
        errors=errors or {},
        values=values or {"active": True},
    ), status


@bp.get("/webhooks")
@access("staff:integrations.manage")
def webhook_list():
    """Every webhook endpoint with the events it receives, and the form to add one."""
    return _webhooks_page()


@bp.post("/webhooks")
@access("staff:integrations.manage")
def create_webhook():
    """Register an endpoint and show its signing secret this once."""
    values = _endpoint_form(request.form)
    on_refusal(
        render=lambda exc: _webhooks_page(exc.status, errors=exc.details, values=values),
        catch=(ValidationFailed,),
    )
    secret, made = webhooks.create_endpoint(current_actor(), **values)
    return _webhooks_page(201, created=made, secret=secret)


def _endpoint_page(endpoint_id, status: int = 200, *, errors=None, values=None):
    actor = current_actor()
    endpoint = webhooks.describe(webhooks.get_endpoint(actor, endpoint_id))
    log = webhooks.deliveries(actor, endpoint_id, page=max(1, request.args.get("page", 1, type=int) or 1))
    return render_template(
        "admin/webhook.html",
        endpoint=endpoint,
        log=log,
        states=DELIVERY_STATES,
        event_labels=WEBHOOK_EVENTS,
        event_options=[(k, v, None) for k, v in WEBHOOK_EVENTS.items()],
        errors=errors or {},
        values=values or endpoint,
    ), status


@bp.get("/webhooks/<endpoint_id>")
@access("staff:integrations.manage")
def webhook(endpoint_id):
    """One endpoint: its settings and its delivery log with every attempt."""
    return _endpoint_page(endpoint_id)


@bp.post("/webhooks/<endpoint_id>")
@access("staff:integrations.manage")
def edit_webhook(endpoint_id):
    """Save an endpoint's URL, events, description and whether it is on."""
    values = _endpoint_form(request.form)
    on_refusal(
        render=lambda exc: _endpoint_page(endpoint_id, exc.status, errors=exc.details, values=values),
        catch=(ValidationFailed,),
    )
    webhooks.update_endpoint(current_actor(), endpoint_id, values)
    return back(f"/admin/webhooks/{endpoint_id}", "Changes saved.")


@bp.post("/webhooks/<endpoint_id>/delete")
@access("staff:integrations.manage")
def delete_webhook(endpoint_id):
    """Remove an endpoint and its log."""
    webhooks.delete_endpoint(current_actor(), endpoint_id)
    return back("/admin/webhooks", "Endpoint removed.")


@bp.post("/webhook-deliveries/<delivery_id>/resend")
@access("staff:integrations.manage")
def resend_delivery(delivery_id):
    """Send a delivery again (same event id), back on its endpoint's page."""
    sent = webhooks.resend(current_actor(), delivery_id)
    return back(f"/admin/webhooks/{sent['endpoint_id']}", "Sent again.")
