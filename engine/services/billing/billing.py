"""Invoices, payments, receipts and saved payment methods.

Exactly-once charging: a payment row is inserted *before* the gateway is
called, with a unique idempotency key, so a retry (or a racing duplicate)
finds that row instead of charging again; the gateway gets the same key as a
second line of defence (the sandbox ledger and Stripe both dedupe on it).
While one payment talks to the gateway, the invoice carries it as
`payment_in_progress`: a payment under a *different* key waits (409) rather
than paying the same balance twice.

`charge_invoice` is also the `charge_payment` operation of the `payment` BPMN
(actor SYSTEM, key = process instance id + task id). A decline is a result
(status `failed`, with the processor's codes), not an exception, so a
workflow can branch on it; the API turns it into 402 with `raise_if_failed`.

Domain errors: NotAuthenticated, NotFound, Forbidden, ValidationFailed,
Conflict (invoice not open, payment in progress, key reused), PaymentFailed.
"""

from __future__ import annotations

from datetime import timedelta

from mongoengine.errors import NotUniqueError
from pymongo import ReturnDocument

from engine import persistence
from engine.authz import SYSTEM, Actor, get_client_for, parse_id
from engine.errors import Conflict, NotFound, PorticoError, ValidationFailed
from engine.models import utcnow
from engine.models.billing import Counter, Invoice, LineItem, Payment, PaymentMethod
from engine.models.clients import Client
from engine.models.organization import Organization
from engine.services._fields import Problems, money, text
from engine.services.appointments.availability import a_date
from engine.services.billing import invoice_locks
from engine.services.billing.payments import PaymentGateway, get_gateway
from engine.services.integrations import webhooks
from engine.services.messaging import notices
from engine.services.platform import audit

REPLAY_AFTER = timedelta(seconds=60)  # a `processing` payment older than this is driven again on retry
MAX_LINE_ITEMS = 100


class PaymentFailed(PorticoError):
    """The processor declined the payment; details say why."""

    code = "payment_failed"
    status = 402


def _need(actor: Actor, staff_need: str | None = None) -> str | None:
    return "payments" if actor.is_portal else staff_need


def _next(name: str, prefix: str) -> str:
    doc = persistence.collection(Counter).find_one_and_update(
        {"_id": name}, {"$inc": {"value": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    return f"{prefix}-{doc['value']:06d}"


def invoice_dict(inv: Invoice) -> dict:
    return {
        "id": str(inv.id),
        "number": inv.number,
        "client_id": str(inv.client),
        "status": inv.status,
        "currency": inv.currency,
        "total_cents": inv.total_cents,
        "paid_cents": inv.paid_cents,
        "balance_cents": inv.balance_cents,
        "due_date": inv.due_date.isoformat() if inv.due_date else None,
        "created_at": inv.created_at.isoformat(),
        "paid_at": inv.paid_at.isoformat() if inv.paid_at else None,
        "line_items": [
            {
                "service": li.service,
                "service_date": li.service_date.isoformat(),
                "amount_cents": li.amount_cents,
                "description": li.description,
                "service_type": li.service_type,
            }
            for li in inv.line_items
        ],
    }


def payment_dict(p: Payment) -> dict:
    out = {
        "id": str(p.id),
        "invoice_id": str(p.invoice),
        "client_id": str(p.client),
        "status": p.status,
        "amount_cents": p.amount_cents,
        "currency": p.currency,
        "gateway": p.gateway,
        "card": {"brand": p.card_brand, "last4": p.card_last4},
        "created_at": p.created_at.isoformat(),
        "completed_at": p.completed_at.isoformat() if p.completed_at else None,
    }
    if p.status == "failed":
        out["failure"] = {
            "code": p.failure_code,
            "decline_code": p.decline_code,
            "message": p.failure_message,
        }
    if p.receipt_number:
        out["receipt"] = {
            "number": p.receipt_number,
            "amount_cents": p.amount_cents,
            "paid_at": p.completed_at.isoformat() if p.completed_at else None,
        }
    return out


def get_invoice_for(actor: Actor, invoice_id, *, staff_need: str | None = None) -> tuple[Invoice, Client]:
    """Load an invoice whose client the actor may see (portal: with `payments`). Raises NotFound."""
    inv = Invoice.objects(id=parse_id(invoice_id)).first()
    if inv is None:
        raise NotFound("no such invoice")
    return inv, get_client_for(actor, inv.client, need=_need(actor, staff_need))


def _line_items(raw, problems: Problems) -> list[LineItem]:
    if not isinstance(raw, list) or not raw:
        problems.add("line_items", "at least one line item is needed")
        return []
    if len(raw) > MAX_LINE_ITEMS:
        problems.add("line_items", f"at most {MAX_LINE_ITEMS}")
        return []
    items = []
    offered = {st.key: st for st in Organization.get().service_types}
    for i, item in enumerate(raw):
        item = item if isinstance(item, dict) else {}
        chosen = _service_type(item, offered, f"line_items.{i}.service_type", problems)
        if chosen is not None:  # the practice's name and price, unless this line says otherwise
            item = {
                "service": chosen.name,
                "amount_cents": chosen.price_cents,
                **{k: v for k, v in item.items() if v not in (None, "")},
            }
        service = text(item.get("service"), f"line_items.{i}.service", problems, required=True)
        on = a_date(item.get("service_date"), f"line_items.{i}.service_date", problems)
        if on is None:
            problems.add(f"line_items.{i}.service_date", "is required")
        if isinstance(item.get("amount"), str) and "amount_cents" not in item:  # as typed: "$180.00"
            if item["amount"].strip():
                item = {**item, "amount_cents": money(item["amount"], f"line_items.{i}.amount", problems)}
            else:
                problems.add(f"line_items.{i}.amount", "is required (or choose a service with a price)")
                item = {**item, "amount_cents": 0}
        amount = item.get("amount_cents")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 10_000_000:
            problems.add(f"line_items.{i}.amount_cents", "must be whole cents, 0 to 10,000,000")
            amount = 0
        desc = text(item.get("description"), f"line_items.{i}.description", problems, max_length=500)
        items.append(
            LineItem(
                service=service,
                service_date=on,
                amount_cents=amount,
                description=desc,
                service_type=chosen.key if chosen else None,
            )
        )
    return items


def _service_type(item: dict, offered: dict, where: str, problems: Problems):
    """The practice's service type a line names (by key), or None when it names none."""
    key = item.get("service_type")
    if key in (None, ""):
        return None
    if key not in offered:
        problems.add(where, "is not one of the practice's services")
        return None
    return offered[key]


def create_invoice(actor: Actor, client_id, data: dict) -> dict:
    """Issue an invoice (billing.manage). Raises Forbidden, NotFound, ValidationFailed."""
    client = get_client_for(actor, client_id, need=None if actor.kind == "system" else "billing.manage")
    if actor.is_portal:
        raise NotFound("no such client")
    problems = Problems()
    items = _line_items(data.get("line_items"), problems)
    due = a_date(data.get("due_date"), "due_date", problems)
    currency = str(data.get("currency") or "usd").lower()
    if currency not in ("usd", "cad", "eur", "gbp", "aud"):
        problems.add("currency", "unsupported currency")
    problems.raise_if_any()
    total = sum(li.amount_cents for li in items)
    if total <= 0:
        raise ValidationFailed(
            "an invoice must be for more than zero", details={"line_items": ["total is zero"]}
        )
    inv = Invoice(
        client=client.id,
        number=_next("invoice", "INV"),
        line_items=items,
        total_cents=total,
        currency=currency,
        due_date=due,
        created_by=actor.id,
    ).save(force_insert=True)
    audit.record(
        actor,
        "invoice_created",
        client=client,
        object_type="invoice",
        object_id=inv.id,
        details={"total_cents": total},
    )
    for account in _payers(client):
        notices.notify(
            account,
            headline="You have a new invoice",
            path="/portal/billing",
            key=f"invoice:{inv.id}:{account.id}",
            sentence="{practice} sent you a new invoice.",
        )
    return invoice_dict(inv)


def list_invoices(actor: Actor, client_id) -> list[dict]:
    """A client's invoices, newest first, each with its payments."""
    client = get_client_for(actor, client_id, need=_need(actor))
    invoices = list(Invoice.objects(client=client.id).order_by("-created_at"))
    payments: dict = {}
    for p in Payment.objects(invoice__in=[i.id for i in invoices]).order_by("created_at"):
        payments.setdefault(p.invoice, []).append(payment_dict(p))
    audit.record(actor, "invoices_viewed", client=client, object_type="client", object_id=client.id)
    return [dict(invoice_dict(i), payments=payments.get(i.id, [])) for i in invoices]


def void_invoice(actor: Actor, invoice_id) -> dict:
    """Void an unpaid invoice (billing.manage). Raises Conflict when money was already taken."""
    inv, client = get_invoice_for(actor, invoice_id, staff_need="billing.manage")
    if actor.is_portal:
        raise NotFound("no such invoice")
    doc = persistence.collection(Invoice).find_one_and_update(
        {"_id": inv.id, "status": "open", "paid_cents": 0, "payment_in_progress": None},
        {"$set": {"status": "void"}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise Conflict("only an open invoice with nothing paid can be voided", code="invoice_not_voidable")
    audit.record(actor, "invoice_voided", client=client, object_type="invoice", object_id=inv.id)
    return invoice_dict(persistence.document(Invoice, doc))


def _payers(client: Client) -> list:
    return notices.portal_accounts_with(client, "payments")


def _resolve_method(
    gateway: PaymentGateway,
    client: Client,
    *,
    payment_method: str | None,
    card: dict | None,
    save: bool,
    actor: Actor,
) -> tuple[str, PaymentMethod | None]:
    """The gateway token to charge: a saved method of this client, a fresh token, or sandbox card details."""
    if card is not None:
        if not gateway.accepts_raw_cards:
            raise ValidationFailed(
                "card details are not accepted here; use the payment form",
                details={"card": ["send a payment_method token instead"]},
            )
        summary = gateway.tokenize(
            number=card.get("number"),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
            cvc=card.get("cvc", ""),
        )
        token = summary.token
    elif payment_method:
        saved = (
            PaymentMethod.objects(id=parse_id(payment_method), client=client.id).first()
            if len(str(payment_method)) == 24
            else None
        )
        if saved is not None:
            return saved.token, saved
        token = str(payment_method)[:255]
    else:
        raise ValidationFailed("how would you like to pay?", details={"payment_method": ["is required"]})
    saved = None
    if save:
        summary = gateway.describe(token)
        saved = PaymentMethod(
            client=client.id,
            gateway=gateway.name,
            token=token,
            brand=summary.brand,
            last4=summary.last4,
            exp_month=summary.exp_month,
            exp_year=summary.exp_year,
            saved_by=actor.id,
        )
        try:
            saved.save(force_insert=True)
        except NotUniqueError:
            saved = PaymentMethod.objects(token=token).first()
    return token, saved


def _existing(key: str, invoice_id) -> Payment | None:
    found = Payment.objects(idempotency_key=key).first()
    if found is not None and found.invoice != invoice_id:
        raise Conflict("this idempotency key was used for another payment", code="idempotency_key_reused")
    return found


def record_outcome(payment: Payment, result, actor: Actor, client: Client) -> Payment:
    """Record the gateway's answer once; only the caller that flips `processing` applies it to the invoice."""
    now = utcnow()
    changes = {
        "status": result.status if result.status in ("succeeded", "failed") else "failed",
        "charge_id": result.charge_id,
        "card_brand": result.card_brand,
        "card_last4": result.card_last4,
        "failure_code": result.failure_code,
        "decline_code": result.decline_code,
        "failure_message": result.message,
        "completed_at": now,
    }
    if result.ok:
        changes["receipt_number"] = _next("receipt", "R")
    doc = persistence.update_then_read(
        persistence.collection(Payment), {"_id": payment.id, "status": "processing"}, {"$set": changes}
    )
    if doc is None:
        return Payment.objects.get(id=payment.id)  # someone else finished it first
    return _settle(persistence.document(Payment, doc), actor, client)


def _settle(done: Payment, actor: Actor, client: Client) -> Payment:
    """What follows a payment's outcome: the invoice credited (once) and unlocked, the audit row, the
    receipt notice (once per key). Also run by the retry of a request that died after the outcome."""
    result_ok = done.status == "succeeded"
    invoice_locks.credit_and_unlock(done.invoice, done.id, paid_cents=done.amount_cents if result_ok else 0)
    audit.record(
        actor,
        "payment_succeeded" if result_ok else "payment_failed",
        client=client,
        object_type="payment",
        object_id=done.id,
        details={
            "amount_cents": done.amount_cents,
            "code": done.failure_code,
            "decline_code": done.decline_code,
        },
    )
    _payment_events(done, client)
    if result_ok:
        recipients = [actor.login] if actor.is_portal else _payers(client)
        for account in recipients:
            notices.notify(
                account,
                headline="Payment received",
                path="/portal/billing",
                key=f"receipt:{done.id}:{account.id}",
                sentence="{practice} received your payment.",
            )
    return done


def _payment_events(done: Payment, client: Client) -> None:
    """payment.failed, or invoice.paid once the invoice is settled (keys: the payment, the invoice)."""
    if done.status != "succeeded":
        webhooks.emit(
            "payment.failed",
            key=str(done.id),
            client_id=client.id,
            invoice_id=done.invoice,
            payment_id=done.id,
        )
    elif Invoice.objects(id=done.invoice, status="paid").only("id").first() is not None:
        webhooks.emit(
            "invoice.paid",
            key=str(done.invoice),
            client_id=client.id,
            invoice_id=done.invoice,
            payment_id=done.id,
        )


def _charge(gateway: PaymentGateway, payment: Payment, inv: Invoice, actor: Actor, client: Client) -> Payment:
    result = gateway.charge(
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        payment_method=payment.payment_method,
        idempotency_key=payment.idempotency_key,
        description=f"Invoice {inv.number}",
        metadata={"invoice": str(inv.id), "payment": str(payment.id)},
    )
    return record_outcome(payment, result, actor, client)


def charge_invoice(
    actor: Actor,
    invoice_id,
    *,
    idempotency_key: str,
    payment_method: str | None = None,
    card: dict | None = None,
    amount_cents: int | None = None,
    save_method: bool = False,
) -> dict:
    """Pay an invoice (all of its balance unless `amount_cents`) once per idempotency key.

    Returns the payment (status `succeeded` or `failed` with the processor's codes). A
    repeated key returns the first payment without charging. Raises NotFound, ValidationFailed,
    Conflict (invoice_not_open, payment_in_progress, idempotency_key_reused).
    """
    key = (idempotency_key or "").strip()
    if not 8 <= len(key) <= 255:
        raise ValidationFailed(
            "an idempotency key is required", details={"idempotency_key": ["8 to 255 characters"]}
        )
    inv, client = get_invoice_for(actor, invoice_id, staff_need="billing.manage")
    gateway = get_gateway()
    found = _existing(key, inv.id)
    if found is not None:
        return _replay(found, gateway, inv, actor, client)
    _recover_stale(inv, gateway, actor, client)
    amount = inv.balance_cents if amount_cents is None else amount_cents
    if inv.status != "open" or inv.balance_cents <= 0:
        raise Conflict("this invoice is not open for payment", code="invoice_not_open")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= inv.balance_cents:
        raise ValidationFailed("bad amount", details={"amount_cents": [f"1 to {inv.balance_cents}"]})
    token, _saved = _resolve_method(
        gateway, client, payment_method=payment_method, card=card, save=save_method, actor=actor
    )
    payment = Payment(
        idempotency_key=key,
        invoice=inv.id,
        client=client.id,
        amount_cents=amount,
        currency=inv.currency,
        gateway=gateway.name,
        payment_method=token,
        actor_kind=actor.kind,
        actor_id=actor.id,
    )
    try:
        payment.save(force_insert=True)  # the unique key: from here on, this request owns the charge
    except NotUniqueError:
        found = _existing(key, inv.id)
        if found is None:  # its request freed the key (lock refused) between our insert and this read
            raise
        return _replay(found, gateway, inv, actor, client)
    try:
        invoice_locks.lock(inv.id, payment.id)
    except Conflict:
        # Nothing was charged: free the key so the same request can be retried later.
        persistence.collection(Payment).delete_one({"_id": payment.id, "status": "processing"})
        raise
    audit.record(
        actor,
        "payment_started",
        client=client,
        object_type="payment",
        object_id=payment.id,
        details={"amount_cents": amount, "invoice": str(inv.id)},
    )
    return payment_dict(_charge(gateway, payment, inv, actor, client))


def _recover_stale(inv: Invoice, gateway: PaymentGateway, actor: Actor, client: Client) -> None:
    """Finish a payment that died mid-charge before anyone may take its invoice lock over.

    Asking the gateway again with that payment's own key returns what really happened
    (both gateways dedupe on it), so its money is counted and never taken twice.
    """
    if inv.payment_in_progress is None or inv.payment_started_at is None:
        return
    if utcnow() - inv.payment_started_at < invoice_locks.STALE_LOCK:
        return
    stale = Payment.objects(id=inv.payment_in_progress).first()
    if stale is None:
        return
    if stale.status == "processing":
        _charge(gateway, stale, inv, actor, client)
    else:  # its outcome was recorded but never reached the invoice: credit it before anyone pays again
        _settle(stale, actor, client)
    inv.reload()
    if inv.status != "open":
        raise Conflict("this invoice is not open for payment", code="invoice_not_open")


def _replay(found: Payment, gateway: PaymentGateway, inv: Invoice, actor: Actor, client: Client) -> dict:
    if found.status == "processing":
        if utcnow() - found.created_at < REPLAY_AFTER:
            raise Conflict("this payment is still being processed", code="payment_in_progress")
        # The first request died mid-charge: drive it again; the gateway dedupes on the same key.
        return dict(payment_dict(_charge(gateway, found, inv, actor, client)), replayed=True)
    if inv.payment_in_progress == found.id:
        found = _settle(found, actor, client)  # its request died after the outcome, before the invoice
    audit.record(actor, "payment_replayed", client=client, object_type="payment", object_id=found.id)
    return dict(payment_dict(found), replayed=True)


def raise_if_failed(payment: dict) -> dict:
    """For the API: a failed payment becomes PaymentFailed (402) saying why; others pass through."""
    if payment["status"] == "failed":
        failure = payment.get("failure", {})
        raise PaymentFailed(
            failure.get("message") or "The payment was declined.",
            code=failure.get("code") or "payment_failed",
            details={"decline_code": failure.get("decline_code", ""), "payment": payment},
        )
    return payment


def list_payment_methods(actor: Actor, client_id) -> list[dict]:
    client = get_client_for(actor, client_id, need=_need(actor))
    audit.record(actor, "payment_methods_viewed", client=client, object_type="client", object_id=client.id)
    return [method_dict(m) for m in PaymentMethod.objects(client=client.id).order_by("-created_at")]


def method_dict(m: PaymentMethod) -> dict:
    expires = f" (expires {m.exp_month:02d}/{m.exp_year})" if m.exp_month and m.exp_year else ""
    label = f"{(m.brand or 'card').title()} ending {m.last4}{expires}"
    return {
        "id": str(m.id),
        "gateway": m.gateway,
        "brand": m.brand,
        "last4": m.last4,
        "exp_month": m.exp_month,
        "exp_year": m.exp_year,
        "label": label,
    }


def save_payment_method(
    actor: Actor, client_id, *, card: dict | None = None, payment_method: str | None = None
) -> dict:
    """Keep a card for later payments without paying now: sandbox card details, or a gateway token.
    Raises NotFound, ValidationFailed (card details where the gateway takes none, bad expiry)."""
    client = get_client_for(actor, client_id, need=_need(actor, "billing.manage"))
    if payment_method and len(str(payment_method)) == 24:
        raise ValidationFailed(
            "that is a saved card already", details={"payment_method": ["send a gateway token"]}
        )
    _token, saved = _resolve_method(
        get_gateway(), client, payment_method=payment_method, card=card, save=True, actor=actor
    )
    if saved is None or saved.client != client.id:  # a token another client saved: not theirs to see
        raise ValidationFailed("this card cannot be saved here", details={"payment_method": ["unknown card"]})
    audit.record(
        actor, "payment_method_saved", client=client, object_type="payment_method", object_id=saved.id
    )
    return method_dict(saved)


def charge_payment(
    *, invoice_id: str | None, idempotency_key: str, payment_method: str | None = None
) -> dict:
    """The `charge_payment` service-task operation: charge as the system, never raising on a decline.

    `invoice_id` comes from task data: a missing one raises NotFound like an unknown one."""
    return charge_invoice(SYSTEM, invoice_id, idempotency_key=idempotency_key, payment_method=payment_method)


def delete_payment_method(actor: Actor, method_id) -> None:
    """Forget a saved card (the token only; nothing else was kept). Raises NotFound."""
    method = PaymentMethod.objects(id=parse_id(method_id)).first()
    if method is None:
        raise NotFound("no such payment method")
    client = get_client_for(actor, method.client, need=_need(actor, "billing.manage"))
    method.delete()
    audit.record(
        actor, "payment_method_deleted", client=client, object_type="payment_method", object_id=method_id
    )


def get_receipt(actor: Actor, payment_id) -> dict:
    """The receipt of a successful payment: practice, client, invoice, amount, card. Raises NotFound."""
    payment = Payment.objects(id=parse_id(payment_id), status="succeeded").first()
    if payment is None:
        raise NotFound("no such receipt")
    inv, client = get_invoice_for(actor, payment.invoice)
    audit.record(actor, "receipt_viewed", client=client, object_type="payment", object_id=payment.id)
    return {
        "number": payment.receipt_number,
        "practice": Organization.get().name,
        "client_name": client.display_name,
        "invoice": invoice_dict(inv),
        "payment": payment_dict(payment),
    }
