"""Webhooks: endpoints an admin registers, the events Portico emits to them, and each endpoint's delivery log.

`emit(event, key=..., **ids)` is the one call an engine service makes where a thing happens (a form
submitted, a document filed, an appointment booked …). It writes one delivery row per active endpoint
subscribed to the event and asks a worker to send it (engine.services.integrations.webhook_delivery); it never
fails the caller's work. A body carries ids, never health information: the receiver fetches what it
needs through the API with a service token. The event id is derived from the event and its `key`
(what makes this occurrence unique), so a retried service call emits the same event again, which the
unique (endpoint, event id) index drops; receivers deduplicate on the id as well.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid

from mongoengine.errors import NotUniqueError

from engine.authz import Actor, parse_id
from engine.errors import NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.integrations import WEBHOOK_EVENTS, WebhookDelivery, WebhookEndpoint
from engine.services.accounts import mfa
from engine.services.integrations.webhook_delivery import resolve
from engine.services.platform import audit
from engine.workflow import dispatch

log = logging.getLogger(__name__)

MANAGE = "integrations.manage"
SECRET_PREFIX = "whsec_"  # noqa: S105 - not a secret: makes leaked webhook secrets recognizable
_EVENT_IDS = uuid.UUID("6f1c2a4e-18a1-4c36-9a2e-3f2b9c1d7e05")  # namespace of event ids (uuid5)
LOG_PAGE = 50


# --- emitting ------------------------------------------------------------------------


def emit(event: str, *, key: str, **ids) -> int:
    """Record `event` for every active endpoint that wants it and send it; returns how many endpoints.

    `key` makes this occurrence unique (e.g. the submission id); `ids` are the body's data, ids only.
    Never raises: an integration's trouble must not undo the practice's work (it is logged)."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"undeclared webhook event {event!r}")  # a programming error, not a runtime one
    try:
        endpoints = list(WebhookEndpoint.objects(active=True, events=event).only("id"))
        if not endpoints:
            return 0
        event_id = str(uuid.uuid5(_EVENT_IDS, f"{event}:{key}"))
        data = {k: (str(v) if v is not None else None) for k, v in ids.items()}
        body = json.dumps(
            {"id": event_id, "type": event, "created_at": utcnow().isoformat(), "data": data},
            separators=(",", ":"),
            sort_keys=True,
        )
        for endpoint in endpoints:
            row = WebhookDelivery(endpoint=endpoint.id, event_id=event_id, event=event, body=body)
            try:
                row.save(force_insert=True)
            except NotUniqueError:
                continue  # this occurrence was emitted already
            dispatch.send("deliver_webhook", row.id)
        return len(endpoints)
    except Exception:  # noqa: BLE001 - see the docstring; the sweep cannot recover an unrecorded event
        log.exception("could not record webhook event %s (%s)", event, key)
        return 0


# --- endpoints --------------------------------------------------------------------------


def describe(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "active": endpoint.active,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def _check(url, events) -> tuple[str, list[str]]:
    """The URL and events to store (events in catalogue order). Raises ValidationFailed naming every wrong field."""
    url = (url or "").strip()
    details: dict[str, list[str]] = {}
    unknown = sorted(set(events or []) - set(WEBHOOK_EVENTS))
    if unknown or not events:
        details["events"] = [f"unknown event: {e}" for e in unknown] or ["choose at least one event"]
    try:
        if len(url) > 2000:
            raise ValidationFailed("the URL is too long", details={"url": ["at most 2000 characters"]})
        resolve(url)  # ValidationFailed under "url" when it cannot be used
    except ValidationFailed as exc:
        details.update(exc.details or {})
    if details:
        raise ValidationFailed("some fields are invalid", details=details)
    return url, [e for e in WEBHOOK_EVENTS if e in set(events)]


def list_endpoints(actor: Actor) -> list[dict]:
    """Every endpoint, newest first. Raises Forbidden."""
    actor.require(MANAGE)
    return [describe(e) for e in WebhookEndpoint.objects.order_by("-created_at")]


def get_endpoint(actor: Actor, endpoint_id) -> WebhookEndpoint:
    """Raises Forbidden, NotFound."""
    actor.require(MANAGE)
    endpoint = WebhookEndpoint.objects(id=parse_id(endpoint_id)).first()
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


def create_endpoint(
    actor: Actor, *, url: str, events: list[str], description: str = "", active: bool = True
) -> tuple[str, dict]:
    """Register an endpoint; returns (its signing secret, shown this once; its description).

    Raises Forbidden, ValidationFailed (URL unusable or refused, events unknown or none)."""
    actor.require(MANAGE)
    url, events = _check(url, events)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        url=url,
        events=events,
        active=bool(active),
        description=(description or "")[:200],
        secret_sealed=mfa.seal(secret),
        created_by=f"{actor.kind}:{actor.id}",
    )
    endpoint.save(force_insert=True)
    audit.record(
        actor,
        "webhook_endpoint_created",
        object_type="webhook_endpoint",
        object_id=endpoint.id,
        details={"events": events},
    )
    return secret, describe(endpoint)


def update_endpoint(actor: Actor, endpoint_id, changes: dict) -> dict:
    """Change an endpoint's URL, events, description or active flag. Raises Forbidden, NotFound, ValidationFailed."""
    endpoint = get_endpoint(actor, endpoint_id)
    url, events = _check(changes.get("url", endpoint.url), changes.get("events", endpoint.events))
    endpoint.url, endpoint.events = url, events
    if "description" in changes:
        endpoint.description = (changes["description"] or "")[:200]
    if "active" in changes:
        endpoint.active = bool(changes["active"])
    endpoint.updated_at = utcnow()
    endpoint.save()
    audit.record(actor, "webhook_endpoint_updated", object_type="webhook_endpoint", object_id=endpoint.id)
    return describe(endpoint)


def delete_endpoint(actor: Actor, endpoint_id) -> None:
    """Remove an endpoint and its log; deliveries still queued for it are dropped. Raises Forbidden, NotFound."""
    endpoint = get_endpoint(actor, endpoint_id)
    WebhookDelivery.objects(endpoint=endpoint.id).delete()
    endpoint.delete()
    audit.record(actor, "webhook_endpoint_deleted", object_type="webhook_endpoint", object_id=endpoint_id)


# --- the delivery log ----------------------------------------------------------------------


def describe_delivery(row: WebhookDelivery) -> dict:
    return {
        "id": str(row.id),
        "endpoint_id": str(row.endpoint),
        "event_id": row.event_id,
        "event": row.event,
        "status": row.status,
        "created_at": row.created_at,
        "delivered_at": row.delivered_at,
        "next_attempt_at": row.next_attempt_at if row.status == "retrying" else None,
        "body": json.loads(row.body),
        "attempts": [
            {
                "at": a.at,
                "status_code": a.status_code,
                "response": a.response,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in row.attempts
        ],
    }


def deliveries(actor: Actor, endpoint_id, *, page: int = 1) -> dict:
    """One page of an endpoint's deliveries, newest first, with every attempt. Raises Forbidden, NotFound."""
    endpoint = get_endpoint(actor, endpoint_id)
    page = max(1, int(page))
    rows = list(
        WebhookDelivery.objects(endpoint=endpoint.id)
        .order_by("-created_at")
        .skip((page - 1) * LOG_PAGE)
        .limit(LOG_PAGE + 1)
    )
    return {
        "items": [describe_delivery(r) for r in rows[:LOG_PAGE]],
        "page": page,
        "per_page": LOG_PAGE,
        "has_more": len(rows) > LOG_PAGE,
    }


def resend(actor: Actor, delivery_id) -> dict:
    """Send a delivery again — the same event id and body, so receivers can tell it is the same event.

    Raises Forbidden, NotFound."""
    actor.require(MANAGE)
    row = WebhookDelivery.objects(id=parse_id(delivery_id)).first()
    if row is None:
        raise NotFound("no such webhook delivery")
    get_endpoint(actor, row.endpoint)
    WebhookDelivery.objects(id=row.id, status__ne="sending").update_one(
        set__status="pending", set__next_attempt_at=None, set__tries=0
    )
    audit.record(actor, "webhook_delivery_resent", object_type="webhook_delivery", object_id=row.id)
    dispatch.send("deliver_webhook", row.id)
    row.reload()
    return describe_delivery(row)
