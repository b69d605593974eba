"""Staff ask a client to pay an invoice: the `payment` process, started from the invoice.

The process asks the client for their insurance details (the form shows what is on file and keeps
what changes: engine.services.clients.insurance.record_from_form), then charges the client's newest saved
card; with no saved card, or after a declined one, the client chooses a card in the "Update your
payment method" form (workflows/forms/payment_method.json). One request per invoice runs at a time.

Domain errors: NotFound, Forbidden, Conflict (invoice_not_open, payment_already_requested).
"""

from __future__ import annotations

from bson import ObjectId

from engine import persistence
from engine.authz import Actor
from engine.errors import Conflict
from engine.models.billing import Invoice, PaymentMethod
from engine.models.workflow import ProcessInstance
from engine.services.billing import billing
from engine.services.platform import audit
from engine.services.processes import processes

PROCESS = "payment"


def request_payment(actor: Actor, invoice_id) -> dict:
    """Start the payment process for an open invoice (billing.manage). Returns the invoice with
    `payment_request` (the process instance id). Raises NotFound, Forbidden, Conflict."""
    inv, client = billing.get_invoice_for(actor, invoice_id, staff_need="billing.manage")
    actor.require("billing.manage")
    if inv.status != "open" or inv.balance_cents <= 0:
        raise Conflict("this invoice is not open for payment", code="invoice_not_open")
    earlier = inv.payment_request
    if earlier is not None and ProcessInstance.objects(id=earlier, status__in=("running", "errored")).count():
        raise Conflict("payment was already requested for this invoice", code="payment_already_requested")
    # Claim the invoice before starting anything (two staff pressing the button at once start one
    # process). A process that died between claim and start leaves a claim naming no instance, which
    # the next request may take over like a finished one.
    invoices, claim = persistence.collection(Invoice), ObjectId()
    if not invoices.update_one(
        {"_id": inv.id, "payment_request": earlier}, {"$set": {"payment_request": claim}}
    ).modified_count:
        raise Conflict("payment was already requested for this invoice", code="payment_already_requested")
    saved = PaymentMethod.objects(client=client.id).order_by("-created_at").only("id").first()
    try:
        iid = processes.start_process(
            PROCESS,
            client_id=client.id,
            started_by=f"staff:{actor.id}",
            data={"invoice_id": str(inv.id), "payment_method": str(saved.id) if saved else ""},
        )
    except Exception:
        invoices.update_one({"_id": inv.id, "payment_request": claim}, {"$set": {"payment_request": earlier}})
        raise
    invoices.update_one(
        {"_id": inv.id, "payment_request": claim}, {"$set": {"payment_request": ObjectId(iid)}}
    )
    audit.record(
        actor,
        "payment_requested",
        client=client,
        object_type="invoice",
        object_id=inv.id,
        details={"instance": iid},
    )
    return dict(billing.invoice_dict(Invoice.objects.get(id=inv.id)), payment_request=iid)
