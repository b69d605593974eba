"""The periodic sweeps each worker process runs on timer threads (dramatiq middleware started
after the worker boots), distinct from the scheduler (engine.workflow.scheduler), which sends due
BPMN timers and relays the outbox.

`CatchUpSweep`, every minute, sends what has come due and picks up what a dead process or an
outage left undone: appointment reminders (engine.services.appointments.scheduling.send_due_reminders), outgoing
mail nobody delivered (engine.services.messaging.mail.retry_unsent: a notice sent inside a request while the
relay was down, a message whose sender died), migration runs whose worker died
(workers.studio.resume_stalled), webhook deliveries due a retry, audit rows still under long keys.
New workflow tasks are announced to their staff here too, and each member's daily (or weekly)
digest of new work is sent (engine.services.messaging.staff_notices.sweep).
`AuditChainSweep`, every second, chains the audit entries committed with task completions.
Several workers sweeping at once is fine: each piece of work is claimed atomically.
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from dramatiq.middleware import Middleware

from engine.services.accounts import password_reset
from engine.services.appointments import scheduling
from engine.services.integrations import webhook_delivery
from engine.services.messaging import mail, staff_notices
from engine.services.platform import audit
from workers import studio

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60
# What a dead process or a relay outage left undone is picked up here.
SWEEPS = (
    ("appointment reminders sent", scheduling.send_due_reminders),
    ("unsent mails sent", mail.retry_unsent),
    ("password reset requests mailed", password_reset.mail_pending),
    ("staff told about new work (notices and digests)", staff_notices.sweep),
    ("stalled migration runs resumed", studio.resume_stalled),
    ("webhook deliveries retried", webhook_delivery.retry_due),
    ("audit rows rewritten under short keys", audit.compact_stored_rows),
)
# Audit entries committed with task completions are chained in batches, soon after (readers of the
# trail chain what is left first, so this only keeps the stored chain close behind).
AUDIT_SECONDS = 1.0
AUDIT_SWEEPS = (("audit entries chained", audit.chain_pending),)


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


class CatchUpSweep(_PeriodicSweep):
    """The SWEEPS (appointment reminders, unsent mail, staff notices and digests, stalled migrations,
    webhook retries, audit compaction) every SWEEP_SECONDS. Named ReminderSweep before issue 13: reminders are one of five."""

    interval, sweeps, name = SWEEP_SECONDS, SWEEPS, "catch-up-sweep"


class AuditChainSweep(_PeriodicSweep):
    """Chains the audit entries committed with task completions, every AUDIT_SECONDS."""

    interval, sweeps, name = AUDIT_SECONDS, AUDIT_SWEEPS, "audit-chain"


def install_sweeps(broker: dramatiq.Broker | None = None) -> None:
    """Add the sweeps to the broker workers run on (once)."""
    broker = broker or dramatiq.get_broker()
    if not any(isinstance(m, CatchUpSweep) for m in broker.middleware):
        broker.add_middleware(CatchUpSweep())
        broker.add_middleware(AuditChainSweep())


# `portico worker` sets up the real broker before importing the worker modules, so this lands there.
install_sweeps()
