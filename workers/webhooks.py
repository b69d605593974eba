"""Webhook actor: send one recorded delivery (engine.services.integrations.webhooks.emit made it), retried with backoff.

The engine asks for a send through engine.workflow.dispatch ("deliver_webhook", registered below with the
workflow actors' dispatcher); deliveries whose message was lost, or whose sender died, are sent by the
workers' sweep (workers/sweeps.py, engine.services.integrations.webhook_delivery.retry_due).
"""

from __future__ import annotations

import logging

import dramatiq

from engine.errors import NotFound
from engine.services.integrations import webhook_delivery
from workers import workflow

log = logging.getLogger(__name__)


# Retried by dramatiq with doubling backoff while the receiver fails (DeliveryFailed) or another worker
# holds the claim (Conflict); the time limit is well inside the claim (webhook_delivery.STALE_CLAIM).
@dramatiq.actor(
    queue_name="webhooks",
    max_retries=webhook_delivery.MAX_ATTEMPTS,
    min_backoff=int(webhook_delivery.MIN_BACKOFF.total_seconds() * 1000),
    max_backoff=int(webhook_delivery.MAX_BACKOFF.total_seconds() * 1000),
    time_limit=60_000,
)
def deliver_webhook(delivery_id: str) -> None:
    """Send the delivery unless it was delivered or given up already."""
    try:
        webhook_delivery.deliver(delivery_id)
    except NotFound:
        log.warning("webhook delivery %s no longer exists; nothing to send", delivery_id)


workflow.ACTORS["deliver_webhook"] = deliver_webhook
