"""Invoices and payments: exactly-once charging, declines that say why, receipts, saved tokens."""

from __future__ import annotations

import threading

import pytest

from engine.authz import SYSTEM
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models.billing import Payment, PaymentMethod, SandboxCard, SandboxCharge
from engine.services.billing import billing
from engine.services.billing.payments.sandbox import luhn_ok

VISA_OK = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


def _card(number):
    return dict(VISA_OK, number=number)


@pytest.fixture()
def invoice(family):
    return billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {
            "line_items": [
                {"service": "Individual session", "service_date": "2026-11-02", "amount_cents": 12000},
                {"service": "Individual session", "service_date": "2026-11-09", "amount_cents": 12000},
            ]
        },
    )


def test_invoice_totals_and_balance(invoice, family):
    """Does an invoice add up its line items, and can the guardian (payments) see it but not the aunt?"""
    assert (invoice["total_cents"], invoice["balance_cents"], invoice["status"]) == (24000, 24000, "open")
    assert invoice["number"].startswith("INV-")
    assert [i["id"] for i in billing.list_invoices(family["guardian"], family["minor"].id)] == [invoice["id"]]
    with pytest.raises(NotFound):
        billing.list_invoices(family["aunt"], family["minor"].id)


def test_bad_line_items_name_the_field(family):
    """Is a negative amount refused with the line item's field named?"""
    with pytest.raises(ValidationFailed) as err:
        billing.create_invoice(
            SYSTEM,
            family["minor"].id,
            {"line_items": [{"service": "x", "service_date": "2026-11-02", "amount_cents": -5}]},
        )
    assert "line_items.0.amount_cents" in err.value.details


def test_same_idempotency_key_twice_charges_once(invoice, family):
    """Do two payment requests with the same idempotency key charge once and return the same payment?"""
    first = billing.charge_invoice(
        family["guardian"], invoice["id"], idempotency_key="pay-key-0001", card=VISA_OK
    )
    second = billing.charge_invoice(
        family["guardian"], invoice["id"], idempotency_key="pay-key-0001", card=VISA_OK
    )
    assert first["status"] == "succeeded" and second["id"] == first["id"] and second["replayed"]
    assert SandboxCharge.objects.count() == 1 and Payment.objects.count() == 1
    paid = billing.list_invoices(family["staff"], family["minor"].id)[0]
    assert (paid["status"], paid["balance_cents"]) == ("paid", 0)
    assert first["receipt"]["number"].startswith("R-")


def test_concurrent_requests_with_one_key_charge_once(invoice, family):
    """When four requests with one key arrive at once, is exactly one charge made?"""
    barrier = threading.Barrier(4)
    outcomes: list = []

    def attempt():
        barrier.wait()
        try:
            outcomes.append(
                billing.charge_invoice(
                    family["guardian"], invoice["id"], idempotency_key="same-key-xyz", card=VISA_OK
                )["status"]
            )
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(outcomes) == 4 and "succeeded" in outcomes
    assert set(outcomes) <= {"succeeded", "payment_in_progress"}
    assert SandboxCharge.objects(status="succeeded").count() == 1
    assert billing.list_invoices(family["staff"], family["minor"].id)[0]["paid_cents"] == 24000


@pytest.mark.parametrize(
    ("number", "code", "decline"),
    [
        ("4000000000000002", "card_declined", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000000069", "expired_card", "expired_card"),
        ("4242424242424241", "incorrect_number", ""),
    ],
)
def test_declined_card_leaves_invoice_open_and_says_why(invoice, family, number, code, decline):
    """Does a declined test card leave the invoice open, with the processor's code and a message?"""
    result = billing.charge_invoice(
        family["client"], invoice["id"], idempotency_key=f"k-{number}", card=_card(number)
    )
    assert result["status"] == "failed"
    assert (result["failure"]["code"], result["failure"]["decline_code"]) == (code, decline)
    assert result["failure"]["message"]
    inv = billing.list_invoices(family["staff"], family["minor"].id)[0]
    assert (inv["status"], inv["balance_cents"]) == ("open", 24000)
    with pytest.raises(billing.PaymentFailed) as err:
        billing.raise_if_failed(result)
    assert err.value.status == 402 and err.value.code == code
    retry = billing.charge_invoice(
        family["client"], invoice["id"], idempotency_key=f"k2-{number}", card=VISA_OK
    )
    assert retry["status"] == "succeeded"


def test_paid_invoice_refuses_a_new_key(invoice, family):
    """Is a second payment under a new key refused once the invoice is paid?"""
    billing.charge_invoice(family["guardian"], invoice["id"], idempotency_key="first-key-1", card=VISA_OK)
    with pytest.raises(Conflict) as err:
        billing.charge_invoice(
            family["guardian"], invoice["id"], idempotency_key="second-key-2", card=VISA_OK
        )
    assert err.value.code == "invoice_not_open"


def test_saved_payment_method_is_a_token_only(invoice, family, clean_db):
    """Is a saved card stored as a token with brand and last four, never the number?"""
    billing.charge_invoice(
        family["guardian"],
        invoice["id"],
        idempotency_key="save-key-1",
        card=VISA_OK,
        amount_cents=1000,
        save_method=True,
    )
    [method] = billing.list_payment_methods(family["guardian"], family["minor"].id)
    assert (method["brand"], method["last4"]) == ("visa", "4242")
    for name in clean_db.list_collection_names():
        for doc in clean_db[name].find():
            assert "4242424242424242" not in str(doc)
    again = billing.charge_invoice(
        family["guardian"], invoice["id"], idempotency_key="save-key-2", payment_method=method["id"]
    )
    assert again["status"] == "succeeded" and again["amount_cents"] == 23000
    assert PaymentMethod.objects.count() == 1 and SandboxCard.objects.count() == 1


def test_contact_without_payments_permission_cannot_pay(invoice, family):
    """Does a contact whose link lacks `payments` get NotFound?"""
    with pytest.raises(NotFound):
        billing.charge_invoice(family["aunt"], invoice["id"], idempotency_key="aunt-key-1", card=VISA_OK)


def test_charge_payment_operation_for_the_workflow(invoice, family):
    """Can the payment workflow's charge_payment operation charge a saved token as the system?"""
    card = billing.get_gateway().tokenize(number="4242424242424242", exp_month=1, exp_year=2040)
    results = [
        billing.charge_payment(
            invoice_id=invoice["id"], idempotency_key="inst-1:task-9", payment_method=card.token
        )
        for _ in range(3)
    ]  # a retried task
    assert [r["status"] for r in results] == ["succeeded"] * 3 and SandboxCharge.objects.count() == 1


def test_luhn():
    """Does the Luhn check accept test cards and refuse a changed digit?"""
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424243")


@pytest.mark.parametrize("status", ["processing", "succeeded"])
def test_payment_that_died_mid_charge_is_counted_not_charged_again(invoice, family, status):
    """After a crash between the processor's charge and our record (processing), or between our record
    and the invoice's credit (succeeded), once its lock is stale: is the money counted once, a new
    payment refused (invoice_not_open) instead of charged, and the first key's retry answered?"""
    _crashed_payment(invoice, family, "crash-key-1", status=status, long_ago=True)
    with pytest.raises(Conflict) as err:
        billing.charge_invoice(family["guardian"], invoice["id"], idempotency_key="new-key-2", card=VISA_OK)
    assert err.value.code == "invoice_not_open"
    assert SandboxCharge.objects(status="succeeded").count() == 1
    inv = billing.list_invoices(family["staff"], family["minor"].id)[0]
    assert (inv["status"], inv["paid_cents"]) == ("paid", 24000)
    again = billing.charge_invoice(
        family["guardian"], invoice["id"], idempotency_key="crash-key-1", card=VISA_OK
    )
    assert again["status"] == "succeeded" and again["replayed"]


def _crashed_payment(invoice, family, key: str, *, status: str, long_ago: bool) -> Payment:
    """The state a request leaves that died after the processor charged `key`: its payment row says
    `status` (processing: before recording the answer; succeeded: after it, before crediting the
    invoice), and the invoice is still open and locked by it."""
    from datetime import timedelta

    from engine.models import utcnow
    from engine.models.billing import Invoice

    gateway = billing.get_gateway()
    token = gateway.tokenize(number="4242424242424242", exp_month=1, exp_year=2040).token
    when = utcnow() - (timedelta(hours=1) if long_ago else timedelta(0))
    charge = gateway.charge(amount_cents=24000, currency="usd", payment_method=token, idempotency_key=key)
    row = Payment(
        idempotency_key=key,
        invoice=billing.parse_id(invoice["id"]),
        client=family["minor"].id,
        amount_cents=24000,
        gateway="sandbox",
        payment_method=token,
        status=status,
        created_at=when,
    )
    if status == "succeeded":
        row.charge_id, row.completed_at = charge.charge_id, when
    row.save()
    Invoice.objects(id=invoice["id"]).update_one(
        set__payment_in_progress=row.id, set__payment_started_at=when
    )
    return row


def test_a_retry_credits_a_payment_whose_request_died_before_the_invoice(invoice, family):
    """When the request died after the payment succeeded but before the invoice was credited, does the
    retry with its key credit the invoice once (twice retried: still once) without charging again?"""
    key = "api:portal:x:died-after-outcome"
    done = _crashed_payment(invoice, family, key, status="succeeded", long_ago=False)
    for _ in range(2):
        again = billing.charge_invoice(family["guardian"], invoice["id"], idempotency_key=key, card=VISA_OK)
        assert again["id"] == str(done.id) and again["replayed"]
    inv = billing.list_invoices(family["staff"], family["minor"].id)[0]
    assert (inv["status"], inv["paid_cents"], inv["balance_cents"]) == ("paid", 24000, 0)
    assert SandboxCharge.objects(status="succeeded").count() == 1
