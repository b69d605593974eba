"""Dramatiq actors of the portal services (thin: they call engine services).

`send_appointment_reminders` is a sweep: run it periodically (every few
minutes) from the scheduler or a cron-like trigger; it is safe to run from
several processes at once (each reminder is claimed atomically).
The `payment` BPMN's `charge_payment` operation lives with the intake operations
(engine.services.intake_operations) and calls engine.services.billing.charge_payment.
"""

from __future__ import annotations

import dramatiq

from engine.services import scheduling


@dramatiq.actor(queue_name="services", max_retries=5, min_backoff=10_000, max_backoff=300_000)
def send_appointment_reminders() -> int:
    """Mail the reminders that have come due (24 hours before each booked appointment)."""
    return scheduling.send_due_reminders()
