"""Dramatiq actors of the appointments (thin: they call engine.services.appointments.scheduling).

Appointment reminders are also sent by each worker's catch-up sweep (workers/sweeps.py) every
minute; `send_appointment_reminders` lets anything else ask for a round now. Several workers
sending at once is fine: each reminder is claimed atomically.

The `payment` BPMN's `charge_payment` operation lives with the intake operations
(engine.services.intake.intake_operations) and calls engine.services.billing.billing.charge_payment.
"""

from __future__ import annotations

import dramatiq

from engine.services.appointments import scheduling


# The queue keeps its first name ("services"): messages already waiting in a broker stay reachable.
@dramatiq.actor(queue_name="services", max_retries=5, min_backoff=10_000, max_backoff=300_000)
def send_appointment_reminders() -> int:
    """Mail the reminders that have come due (24 hours before each booked appointment)."""
    return scheduling.send_due_reminders()
