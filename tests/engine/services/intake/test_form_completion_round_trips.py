"""A client form completion reads its form version once and commits the seal's audit entry with the
completion (no chained append of its own inside the request)."""

from __future__ import annotations

import contextlib
from collections import Counter

import mongoengine
from bson import ObjectId
from pymongo import monitoring

from engine import config, db
from engine.models.audit import AuditEvent
from engine.models.workflow import Task
from engine.services.platform import audit
from tests import intake_lifecycle as lc
from tests.form_fills import VALID


class _Commands(monitoring.CommandListener):
    def __init__(self):
        super().__init__()
        self.sent: Counter = Counter()

    def started(self, event):
        target = event.command.get(event.command_name)
        self.sent[(event.command_name, target if isinstance(target, str) else "")] += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@contextlib.contextmanager
def _watched():
    """The commands this process sends meanwhile (a connection of its own, with a listener)."""
    listener = _Commands()
    uri = config.current().mongodb_uri
    mongoengine.disconnect()
    mongoengine.connect(
        host=uri,
        db=db.database_name(uri),
        uuidRepresentation="standard",
        tz_aware=True,
        event_listeners=[listener],
    )
    try:
        yield listener.sent
    finally:
        db.connect(uri)


def test_a_form_completion_reads_its_version_once_and_commits_its_audit_with_it(client, people):
    """Does completing a client's phq9 read `form_versions` once, write no chained audit row during the
    request (the seal's and the completion's entries commit in its transaction), and do both entries
    reach the chain?"""
    instance = client.post(f"/api/v1/clients/{people['client'].id}/invite", headers=people["staff"], json={})
    lc.perform_all(instance.get_json()["id"])
    task = next(t for t in lc.open_tasks(client, people["portal"]) if t["form_key"] == "phq9")
    with _watched() as sent:
        resp = client.post(
            f"/api/v1/tasks/{task['id']}/complete", headers=people["portal"], json={"data": VALID["phq9"]}
        )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["form"] is not None
    assert sent[("find", "form_versions")] == 1, sent
    assert sent[("insert", AuditEvent._get_collection_name())] == 0, sent
    audit.chain_pending()
    row = Task._get_collection().find_one({"_id": ObjectId(task["id"])})
    sub_events = AuditEvent.objects(action="form_submission_completed", client_id=str(people["client"].id))
    assert sub_events.count() == 1
    assert AuditEvent.objects(action="task_completed", object_id=str(row["_id"])).count() == 1
    assert audit.verify().ok
