"""The billing API: invoices, payments with an Idempotency-Key, declines that say why."""

from __future__ import annotations

import pytest

from engine.models.billing import SandboxCharge
from tests.helpers import api_login, make_staff

VISA_OK = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
DECLINED = dict(VISA_OK, number="4000000000000002")


@pytest.fixture()
def invoice(client, family):
    desk = make_staff(roles=("front_desk",))
    resp = client.post(
        f"/api/v1/clients/{family['minor'].id}/invoices",
        headers=api_login(client, desk.email),
        json={"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 15000}]},
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _pay(client, headers, invoice, key, card):
    return client.post(
        f"/api/v1/invoices/{invoice['id']}/payments",
        json={"card": card},
        headers={**headers, **({"Idempotency-Key": key} if key else {})},
    )


def test_two_payment_requests_with_same_key_charge_once(client, family, invoice):
    """Do two payment requests with the same Idempotency-Key charge once and answer the same payment?"""
    guardian = api_login(client, family["emails"]["guardian"])
    first, second = (_pay(client, guardian, invoice, "k-abc-123", VISA_OK) for _ in range(2))
    assert first.status_code == 201 and second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"] and second.get_json()["replayed"]
    assert SandboxCharge.objects.count() == 1
    inv = client.get(f"/api/v1/clients/{family['minor'].id}/invoices", headers=guardian).get_json()["items"][
        0
    ]
    assert (inv["status"], inv["balance_cents"], len(inv["payments"])) == ("paid", 0, 1)
    assert inv["payments"][0]["receipt"]["number"].startswith("R-")
    receipt = client.get(f"/api/v1/payments/{first.get_json()['id']}/receipt", headers=guardian).get_json()
    assert receipt["invoice"]["number"] == invoice["number"] and receipt["payment"]["amount_cents"] == 15000
    aunt = api_login(client, family["emails"]["aunt"])
    assert client.get(f"/api/v1/payments/{first.get_json()['id']}/receipt", headers=aunt).status_code == 404


def test_declined_card_leaves_invoice_open_and_says_why(client, family, invoice):
    """Does a declined card answer 402 with card_declined / generic_decline and leave the invoice open?"""
    guardian = api_login(client, family["emails"]["guardian"])
    resp = _pay(client, guardian, invoice, "k-decline-1", DECLINED)
    assert resp.status_code == 402
    error = resp.get_json()["error"]
    assert error["code"] == "card_declined" and error["details"]["decline_code"] == "generic_decline"
    assert error["message"] == "Your card was declined."
    inv = client.get(f"/api/v1/clients/{family['minor'].id}/invoices", headers=guardian).get_json()["items"][
        0
    ]
    assert (inv["status"], inv["balance_cents"]) == ("open", 15000)
    assert _pay(client, guardian, invoice, "k-ok-2", VISA_OK).status_code == 201


def test_missing_idempotency_key_is_422(client, family, invoice):
    """Is a payment without an Idempotency-Key refused before anything is charged?"""
    resp = _pay(client, api_login(client, family["emails"]["guardian"]), invoice, None, VISA_OK)
    assert resp.status_code == 422 and "Idempotency-Key" in resp.get_json()["error"]["details"]
    assert SandboxCharge.objects.count() == 0


def test_contact_without_payments_and_therapist_cannot_invoice(client, family, invoice):
    """Does the aunt get 404 on invoices, and a therapist without billing.manage 403 on issuing one?"""
    aunt = api_login(client, family["emails"]["aunt"])
    assert client.get(f"/api/v1/clients/{family['minor'].id}/invoices", headers=aunt).status_code == 404
    assert _pay(client, aunt, invoice, "k-aunt-1", VISA_OK).status_code == 404
    staff = api_login(client, family["emails"]["staff"])
    resp = client.post(
        f"/api/v1/clients/{family['minor'].id}/invoices",
        headers=staff,
        json={"line_items": [{"service": "S", "service_date": "2026-11-02", "amount_cents": 1}]},
    )
    assert resp.status_code == 403


def test_saved_card_is_listed_and_can_be_forgotten(client, family, invoice):
    """Is a card saved while paying listed by brand and last four, and can the guardian forget it?"""
    guardian = api_login(client, family["emails"]["guardian"])
    resp = client.post(
        f"/api/v1/invoices/{invoice['id']}/payments",
        headers={**guardian, "Idempotency-Key": "save-1"},
        json={"card": VISA_OK, "save_method": True, "amount_cents": 5000},
    )
    assert resp.status_code == 201
    url = f"/api/v1/clients/{family['minor'].id}/payment-methods"
    [method] = client.get(url, headers=guardian).get_json()["items"]
    assert (method["brand"], method["last4"]) == ("visa", "4242")
    assert (
        client.delete(
            f"/api/v1/payment-methods/{method['id']}", headers=api_login(client, family["emails"]["aunt"])
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/payment-methods/{method['id']}", headers=guardian).status_code == 204
    assert client.get(url, headers=guardian).get_json()["items"] == []
