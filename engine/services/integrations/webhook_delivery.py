"""Sending webhook deliveries: the address check, the signature, one HTTP attempt, retries with backoff.

Like outgoing mail (engine.services.messaging.mail), a delivery is a row written first (engine.services.integrations.webhooks.emit)
and sent by a worker (workers/webhooks.py) that claims it, so two workers handed the same message never
both send it; a failed attempt is recorded on the row and raises DeliveryFailed, and the broker retries
with backoff; `retry_due` (the workers' sweep) picks up what a lost message or a dead worker left.

Signature: header `Portico-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`,
the scheme Stripe's receivers already know; the timestamp lets a receiver refuse replays.

Addresses: in production an endpoint may not point at loopback, private, link-local or otherwise
non-public addresses, checked after DNS resolution at registration and again at each delivery, and
the connection goes to the very address that was checked (a name that re-resolves elsewhere between
the check and the connection, "DNS rebinding", gains nothing). Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import ssl
import time
from datetime import timedelta
from urllib.parse import urlsplit

from bson import ObjectId

from engine import config, persistence
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.integrations import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from engine.services.accounts import mfa

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Portico-Signature"
TIMEOUT_SECONDS = 10
# A sender killed mid-attempt holds its claim this long; the actor's time limit stops a live one before.
STALE_CLAIM = timedelta(seconds=90)
MAX_ATTEMPTS = 12
MIN_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(hours=2)
UNSENT_AFTER = timedelta(minutes=1)  # a pending row nobody took within this lost its message
RESPONSE_KEPT = 500  # characters of the receiver's answer kept in the log


class DeliveryFailed(Exception):
    """This attempt failed; the broker should deliver the message again later."""


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, MIN_BACKOFF * 2 ** max(0, attempts - 1))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to) for an endpoint URL.

    Raises ValidationFailed (details under "url"): not http(s), no host, unresolvable, or — in
    production — resolving to any address that is not public."""

    def refuse(why: str):
        return ValidationFailed(f"this webhook URL cannot be used: {why}", details={"url": [why]})

    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refuse("use an http:// or https:// address with a host name")
    if parts.username or parts.password:
        raise refuse("leave credentials out of the address; the signature authenticates Portico")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError):
        raise refuse("the host name does not resolve") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise refuse("the host name does not resolve")
    if config.current().production and not all(_public(a) for a in addresses):
        raise refuse("it points at a loopback, private or link-local address")
    return parts.scheme, parts.hostname, port, addresses[0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an already checked address, with the certificate still verified for the host name."""

    def __init__(self, host: str, port: int, address: str, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def _post(url: str, body: bytes, headers: dict) -> tuple[int, str]:
    """POST `body` to `url` (checked first); (status, the start of the answer). Raises ValidationFailed, OSError."""
    scheme, host, port, address = resolve(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = conn_class(host, port, address, timeout=TIMEOUT_SECONDS)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read(RESPONSE_KEPT * 4).decode("utf-8", "replace")[:RESPONSE_KEPT]
        return resp.status, text
    finally:
        conn.close()


def _claim(oid: ObjectId) -> dict | None:
    """Take the delivery for this attempt: one guarded update per claimable state (no `$or`)."""
    now = utcnow()
    update = {"$set": {"status": "sending", "claimed_at": now}}
    doc = None
    for claimable in (
        {"status": {"$in": ["pending", "retrying"]}},
        {"status": "sending", "claimed_at": {"$lt": now - STALE_CLAIM}},
    ):
        doc = doc or persistence.update_then_read(
            persistence.collection(WebhookDelivery), {"_id": oid, **claimable}, update
        )
    return doc


def deliver(delivery_id) -> str:
    """Send one delivery once; returns delivered | failed | skipped.

    Raises NotFound; Conflict while another worker holds a fresh claim; DeliveryFailed when this
    attempt failed and another will follow (after `backoff`)."""
    if not ObjectId.is_valid(str(delivery_id)):
        raise NotFound("no such webhook delivery")
    oid = ObjectId(str(delivery_id))
    doc = _claim(oid)
    if doc is None:
        existing = persistence.collection(WebhookDelivery).find_one({"_id": oid}, {"status": 1})
        if existing is None:
            raise NotFound("no such webhook delivery")
        if existing["status"] in ("delivered", "failed"):
            return "skipped"
        raise Conflict("this webhook delivery is being sent by another worker")
    endpoint = WebhookEndpoint.objects(id=doc["endpoint"]).first()
    if endpoint is None or not endpoint.active:
        _record(
            oid, doc, "failed", WebhookAttempt(at=utcnow(), error="the endpoint was removed or switched off")
        )
        return "failed"
    secret = mfa.unseal(endpoint.secret_sealed)
    if not secret:  # never sign with an empty key: the receiver would accept forgeries made the same way
        _record(
            oid,
            doc,
            "failed",
            WebhookAttempt(
                at=utcnow(),
                error=(
                    "the signing secret cannot be read (was PORTICO_SECRET_KEY changed?); register the endpoint again"
                ),
            ),
        )
        return "failed"
    body = doc["body"].encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Portico-Webhooks/1",
        "Portico-Event-Id": doc["event_id"],
        "Portico-Event": doc["event"],
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    started = time.monotonic()
    attempt = WebhookAttempt(at=utcnow())
    try:
        attempt.status_code, attempt.response = _post(endpoint.url, body, headers)
    except ValidationFailed as exc:  # the address is refused now: retrying will not change that
        attempt.error = exc.message[:500]
        _record(oid, doc, "failed", attempt)
        return "failed"
    except (OSError, http.client.HTTPException) as exc:
        attempt.error = f"{type(exc).__name__}: {exc}"[:500]
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    if attempt.status_code is not None and 200 <= attempt.status_code < 300:
        _record(oid, doc, "delivered", attempt)
        return "delivered"
    tries = doc.get("tries", 0) + 1
    final = tries >= MAX_ATTEMPTS
    _record(oid, doc, "failed" if final else "retrying", attempt)
    if final:
        log.warning("webhook delivery %s gave up after %d attempts", oid, tries)
        return "failed"
    raise DeliveryFailed(f"webhook delivery {oid} attempt {tries}: {attempt.status_code or attempt.error}")


def _record(oid: ObjectId, doc: dict, status: str, attempt: WebhookAttempt) -> None:
    now = utcnow()
    tries = doc.get("tries", 0) + 1
    changes: dict = {
        "status": status,
        "claimed_at": None,
        "tries": tries,
        "next_attempt_at": now + backoff(tries) if status == "retrying" else None,
    }
    if status == "delivered":
        changes["delivered_at"] = now
    persistence.collection(WebhookDelivery).update_one(
        {"_id": oid, "status": "sending"},
        {"$set": changes, "$push": {"attempts": attempt.to_mongo().to_dict()}},
    )


def retry_due(*, now=None, batch: int = 100) -> int:
    """Send deliveries nobody is sending: pending past UNSENT_AFTER (their message was lost), retrying
    whose backoff is over, or claimed by a worker that died. Returns how many were delivered."""
    now = now or utcnow()
    coll = persistence.collection(WebhookDelivery)
    dues = (
        {
            "status": "pending",
            "created_at": {"$lt": now - UNSENT_AFTER},
        },  # one query each, no `$or` (engine.persistence)
        {"status": "retrying", "next_attempt_at": {"$lte": now}},
        {"status": "sending", "claimed_at": {"$lt": now - STALE_CLAIM}},
    )
    ids = [row["_id"] for due in dues for row in coll.find(due, {"_id": 1}).limit(batch)]
    delivered = 0
    for oid in ids:
        try:
            delivered += deliver(oid) == "delivered"
        except (Conflict, DeliveryFailed, NotFound):
            continue
    return delivered
