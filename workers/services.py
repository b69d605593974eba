"""Dramatiq actors of the portal services (thin: they call engine services).

Appointment reminders are a sweep (engine.services.scheduling.send_due_reminders)
that must run every minute or so. Each worker process runs it on a timer thread
(`ReminderSweep` middleware, started after the worker boots), and the actor
`send_appointment_reminders` lets anything else ask for a sweep now. Several
workers sweeping at once is fine: each reminder is claimed atomically. The same timer
retries outgoing mail nobody delivered (engine.services.mail.retry_unsent): a notice
sent inside a request while the relay was down, a message whose sender died; and
resumes migration runs whose worker died (workers.studio.resume_stalled).

The `payment` BPMN's `charge_payment` operation lives with the intake operations
(engine.services.intake_operations) and calls engine.services.billing.charge_payment.
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from dramatiq.middleware import Middleware

from engine.services import audit, mail, password_reset, scheduling, webhook_delivery
from workers import studio

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60
# What a dead process or a relay outage left undone is picked up here.
SWEEPS = (("appointment reminders sent", scheduling.send_due_reminders), ("unsent mails sent", mail.retry_unsent),
          ("password reset requests mailed", password_reset.mail_pending),
          ("stalled migration runs resumed", studio.resume_stalled),
          ("webhook deliveries retried", webhook_delivery.retry_due),
          ("audit rows rewritten under short keys", audit.compact_stored_rows))
# Audit entries committed with task completions are chained in batches, soon after (readers of the
# trail chain what is left first, so this only keeps the stored chain close behind).
AUDIT_SECONDS = 1.0
AUDIT_SWEEPS = (("audit entries chained", audit.chain_pending),)


@dramatiq.actor(queue_name="services", max_retries=5, min_backoff=10_000, max_backoff=300_000)
def send_appointment_reminders() -> int:
    """Mail the reminders that have come due (24 hours before each booked appointment)."""
    return scheduling.send_due_reminders()


class _PeriodicSweep(Middleware):
    """Runs `sweeps` every `interval` seconds on a thread of each worker process, until it shuts down."""

    interval: float = SWEEP_SECONDS
    sweeps: tuple = ()
    name = "sweep"

    def __init__(self, interval: float | None = None):
        if interval is not None:
            self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker, worker) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for what, sweep in self.sweeps:
                try:
                    done = sweep()
                    if done:
                        log.info("%s: %d", what, done)
                except Exception:  # the database may be restarting; try again next round
                    log.exception("%s sweep failed", what)


class ReminderSweep(_PeriodicSweep):
    """The SWEEPS (appointment reminders, unsent mail, stalled migrations) every SWEEP_SECONDS."""

    interval, sweeps, name = SWEEP_SECONDS, SWEEPS, "reminder-sweep"


class AuditChainSweep(_PeriodicSweep):
    """Chains the audit entries committed with task completions, every AUDIT_SECONDS."""

    interval, sweeps, name = AUDIT_SECONDS, AUDIT_SWEEPS, "audit-chain"


def install_sweep(broker: dramatiq.Broker | None = None) -> None:
    """Add the sweep to the broker workers run on (once)."""
    broker = broker or dramatiq.get_broker()
    if not any(isinstance(m, ReminderSweep) for m in broker.middleware):
        broker.add_middleware(ReminderSweep())
        broker.add_middleware(AuditChainSweep())


# `portico worker` sets up the real broker before importing the actor modules, so this lands there.
install_sweep()
