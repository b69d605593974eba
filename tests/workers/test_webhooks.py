"""Webhooks end to end (issue 18, item 2): a receiver started here gets every event of an intake once per
event id, signed, even after failing the first attempts; addresses that are not public are refused in
production, at registration and at delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine import config
from engine.models.integrations import WEBHOOK_EVENTS, WebhookDelivery
from tests import intake_lifecycle as lc

pytestmark = pytest.mark.slow


class Receiver:
    """A local HTTP server that answers 500 to its first `fail_first` requests, then 200."""

    def __init__(self, fail_first: int):
        self.fail_first = fail_first
        self.requests: list[tuple[dict, bytes, int]] = []  # (headers, body, status answered)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = 500 if len(receiver.requests) < receiver.fail_first else 200
                    receiver.requests.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"busy" if status == 500 else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[tuple[dict, bytes]]:
        with self.lock:
            return [(h, b) for h, b, status in self.requests if status == 200]


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """The receiver's check, as docs/API.md gives it."""
    parts = dict(p.split("=", 1) for p in headers["Portico-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def test_intake_events_arrive_once_each_signed_after_failures(client, people, smtp, scheduler):
    """Does a webhook registered to a local receiver get each intake event once per event id, with a
    valid signature and ids only, although the receiver failed the first attempts?"""
    from workers.webhooks import deliver_webhook

    deliver_webhook.options.update(min_backoff=50, max_backoff=300)  # test-sized backoff between attempts
    receiver = Receiver(fail_first=3)
    staff, ann = people["staff"], people["client"]
    resp = client.post(
        "/api/v1/webhooks",
        headers=staff,
        json={"url": receiver.url, "events": list(WEBHOOK_EVENTS), "description": "EHR"},
    )
    assert resp.status_code == 201, resp.get_json()
    endpoint, secret = resp.get_json(), resp.get_json()["secret"]
    assert "secret" not in client.get(f"/api/v1/webhooks/{endpoint['id']}", headers=staff).get_json()

    instance = client.post(f"/api/v1/clients/{ann.id}/invite", headers=staff, json={}).get_json()
    lc.fill_packet(client, people["portal"], str(ann.id), 2)
    lc.acknowledge_all(client, staff, 2)
    lc.wait_completed(client, staff, instance["id"])

    def received_completion():
        return any(json.loads(b)["type"] == "intake.completed" for _h, b in receiver.accepted())

    lc.wait_for(received_completion, timeout=60, what="the intake.completed event")
    lc.wait_for(
        lambda: not WebhookDelivery.objects(status__ne="delivered").count(),
        timeout=60,
        what="every delivery to be delivered",
    )
    accepted = receiver.accepted()
    events = [json.loads(body) for _h, body in accepted]
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event was accepted more than once"
    assert sorted(e["type"] for e in events) == sorted(
        ["form.submitted"] * 2 + ["form.acknowledged"] * 2 + ["document.filed"] * 3 + ["intake.completed"]
    )
    for headers, body in accepted:
        assert verify(secret, headers, body), "bad signature"
        event = json.loads(body)
        assert headers["Portico-Event-Id"] == event["id"] and headers["Portico-Event"] == event["type"]
        assert event["data"]["client_id"] == str(ann.id)
        assert set(event["data"]) <= {
            "client_id",
            "submission_id",
            "task_id",
            "process_instance_id",
            "document_id",
        }
    assert not any(b"Ann" in body or b"ann@" in body for _h, body, _s in receiver.requests)  # ids only
    assert len(receiver.requests) == len(accepted) + 3  # the three refused attempts were retried

    log = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=staff).get_json()["items"]
    retried = [d for d in log if len(d["attempts"]) > 1]
    assert retried and retried[0]["attempts"][0]["status_code"] == 500 and retried[0]["status"] == "delivered"
    assert retried[0]["attempts"][0]["response"] == "busy"

    # Resend: the same event id again, which the receiver can drop as a duplicate.
    again = client.post(f"/api/v1/webhook-deliveries/{retried[0]['id']}/resend", headers=staff)
    assert again.status_code == 200
    lc.wait_for(lambda: len(receiver.accepted()) == len(accepted) + 1, what="the resent event")
    assert json.loads(receiver.accepted()[-1][1])["id"] == retried[0]["event_id"]
    receiver.server.shutdown()


def test_loopback_and_private_addresses_are_refused_in_production(client, settings, people):
    """Under production settings, is a loopback, private or link-local URL refused at registration, and
    a delivery to an endpoint registered before refused at delivery time?"""
    from engine.services.integrations import webhook_delivery, webhooks

    staff = people["staff"]
    made = client.post(
        "/api/v1/webhooks",
        headers=staff,
        json={"url": "http://127.0.0.1:9/hooks", "events": ["form.submitted"]},
    )
    assert made.status_code == 201  # development: the local receiver of a test or a laptop is fine
    config.install(settings.with_(env="production"))
    try:
        for url in (
            "http://127.0.0.1:9/hooks",
            "http://localhost/hooks",
            "http://10.1.2.3/x",
            "http://192.168.0.10/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x",
        ):
            resp = client.post(
                "/api/v1/webhooks", headers=staff, json={"url": url, "events": ["form.submitted"]}
            )
            assert resp.status_code == 422 and "url" in resp.get_json()["error"]["details"], url
        assert webhooks.emit("form.submitted", key="k1", client_id=people["client"].id) == 1
        row = WebhookDelivery.objects.get()
        assert webhook_delivery.deliver(row.id) == "failed"
        row.reload()
        assert (
            row.status == "failed"
            and "loopback" in row.attempts[0].error
            and row.attempts[0].status_code is None
        )
    finally:
        config.install(settings)
