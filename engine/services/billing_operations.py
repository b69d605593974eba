"""The `charge_payment` service-task operation of the `payment` BPMN, backed by billing.charge_invoice.

Params (from the service task): `invoice_id`, optional `payment_method` (a saved
payment method id or gateway token) and `amount_cents`. The idempotency key is
the operation's key (instance id:task id), so a retried task never charges twice.
A decline is a result (`status: failed` with codes) for the process to branch
on; an invoice that is no longer open answers `status: not_open`.
"""

from __future__ import annotations

from engine.authz import SYSTEM
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.services import billing
from engine.workflow.operations import OperationFailed, operation


@operation("charge_payment")
def charge_payment(*, params: dict, key: str, instance_id: str = "", task_id: str = "") -> dict:
    """Charge the invoice named in `params` as the system, once per `key`."""
    try:
        return billing.charge_invoice(SYSTEM, params.get("invoice_id"), idempotency_key=f"wf:{key}",
                                      payment_method=params.get("payment_method"),
                                      amount_cents=params.get("amount_cents"))
    except Conflict as exc:
        if exc.code == "invoice_not_open":
            return {"status": "not_open", "invoice_id": str(params.get("invoice_id"))}
        raise  # payment_in_progress: retried with backoff
    except (NotFound, ValidationFailed) as exc:
        raise OperationFailed(f"charge_payment: {exc.message}", permanent=True) from exc
