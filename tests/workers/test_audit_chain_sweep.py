"""The worker's audit chain sweep: entries committed with completions reach the chain by themselves."""

from __future__ import annotations

import time

import dramatiq
from dramatiq.brokers.stub import StubBroker

from engine import db, persistence
from engine.authz import SYSTEM
from engine.models.audit import AuditEvent
from engine.services.platform import audit


def test_a_booted_worker_chains_pending_audit_entries(clean_db):
    """Does a booted worker chain committed audit entries on its own, and stop its sweep with it?"""
    from workers.sweeps import AuditChainSweep, install_sweeps

    persistence.commit_writes([audit.entry(SYSTEM, "probe", details={"n": n}) for n in range(3)])
    broker = StubBroker()
    install_sweeps(broker)
    [sweep] = [m for m in broker.middleware if isinstance(m, AuditChainSweep)]
    sweep.interval = 0.1
    worker = dramatiq.Worker(broker, worker_timeout=100)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while AuditEvent.objects(action="probe").count() < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    assert sorted(e.details["n"] for e in AuditEvent.objects(action="probe")) == [0, 1, 2]
    assert db.get_db()[audit.PENDING].count_documents({}) == 0
    assert not sweep._thread.is_alive()
