"""An invoice's payment lock and the crediting of a finished payment (engine.services.billing.billing).

One payment at a time holds an open invoice (`payment_in_progress`); a payment that died mid-charge
stops blocking others after STALE_LOCK. A finished payment is credited exactly once (`applied_payments`),
whichever request gets there: its own, its retry, or the next payment attempt finding it stale.
"""

from __future__ import annotations

from datetime import timedelta

from engine import persistence
from engine.errors import Conflict
from engine.models import utcnow
from engine.models.billing import Invoice

STALE_LOCK = timedelta(minutes=10)  # a payment that died mid-charge stops blocking others after this


def lock(invoice_id, payment_id) -> None:
    """Hold the open invoice for `payment_id`. Raises Conflict (invoice_not_open, payment_in_progress)."""
    now = utcnow()
    coll = persistence.collection(Invoice)
    # Free, or held by a payment gone stale: two guarded updates rather than one top-level `$or` or a
    # findAndModify: see engine.persistence.
    for free in ({"payment_in_progress": None}, {"payment_started_at": {"$lt": now - STALE_LOCK}}):
        if coll.update_one(
            {"_id": invoice_id, "status": "open", **free},
            {"$set": {"payment_in_progress": payment_id, "payment_started_at": now}},
        ).modified_count:
            return
    fresh = Invoice.objects(id=invoice_id).only("status").first()
    if fresh is None or fresh.status != "open":
        raise Conflict("this invoice is not open for payment", code="invoice_not_open")
    raise Conflict("another payment for this invoice is in progress", code="payment_in_progress")


def credit_and_unlock(invoice_id, payment_id, *, paid_cents: int = 0) -> None:
    """Count a finished payment on its invoice (once: `applied_payments`) and release its lock."""
    coll = persistence.collection(Invoice)
    for _ in range(20):
        inv = coll.find_one({"_id": invoice_id})
        applied = payment_id in (inv.get("applied_payments") or [])
        ours = inv.get("payment_in_progress") == payment_id
        if applied and not ours:
            return
        new_paid = inv.get("paid_cents", 0) + (0 if applied else paid_cents)
        changes: dict = {
            "$inc": {"version": 1},
            "$set": {"paid_cents": new_paid},
            "$addToSet": {"applied_payments": payment_id},
        }
        if new_paid >= inv.get("total_cents", 0):
            changes["$set"].update(status="paid", paid_at=inv.get("paid_at") or utcnow())
        if ours:
            changes["$unset"] = {"payment_in_progress": "", "payment_started_at": ""}
        if coll.update_one({"_id": invoice_id, "version": inv.get("version", 0)}, changes).modified_count:
            return
    raise Conflict("the invoice is too busy; try again", code="stale_version")
