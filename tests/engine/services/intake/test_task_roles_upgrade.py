"""Upgrading to task roles: intakes running on a version stored before roles existed keep their
pages, and open rows written by the older code get their role at the scheduler's start.

Operations are performed here directly (tests.intake_lifecycle.perform_all) instead of by a worker.
"""

from __future__ import annotations

import json

from engine.models.workflow import ProcessVersion, Task
from engine.workflow import backfill, store
from tests import intake_lifecycle as lc
from tests.helpers import login_as

ROLE_PROPERTIES = ("role", "submittedForms", "note")


def _strip_roles(node) -> None:
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name in ROLE_PROPERTIES:
                properties.pop(name, None)
        for value in node.values():
            _strip_roles(value)
    elif isinstance(node, list):
        for value in node:
            _strip_roles(value)


def make_live_intake_predate_roles() -> None:
    """Store the live client_intake as a version deployed before roles were declared."""
    version = ProcessVersion.objects(process_id="client_intake").order_by("-number").first()
    spec = json.loads(version.spec_json)
    assert '"role": "acknowledgement"' in json.dumps(spec)
    _strip_roles(spec)
    ProcessVersion.objects(id=version.id).update_one(
        set__spec_json=json.dumps(spec), unset__declares_roles=True
    )
    store._spec_cache.clear()


def test_an_intake_on_a_version_from_before_roles_keeps_its_pages(client, people):
    """On a version stored before tasks declared roles, does a new acknowledgement row still get its
    role and form, and do open rows written by the older code (no role at all) get theirs from the
    one-off backfill, once, so that the acknowledgement page opens?"""
    make_live_intake_predate_roles()
    ann = people["client"]
    instance = client.post(f"/api/v1/clients/{ann.id}/invite", headers=people["staff"], json={}).get_json()
    lc.perform_all(instance["id"])
    assert sorted(lc.fill_packet(client, people["portal"], str(ann.id), 2)) == ["demographics", "phq9"]
    lc.perform_all(instance["id"])
    acks = list(Task.objects(process_id="client_intake", status="open", lane="staff"))
    assert sorted(t.submitted_forms[0] for t in acks) == ["demographics", "phq9"]
    assert {t.role for t in acks} == {"acknowledgement"}

    rows = Task._get_collection()
    rows.update_many(
        {"_id": {"$in": [t.id for t in acks]}}, {"$unset": {"role": "", "submitted_forms": "", "note": ""}}
    )
    login_as(client, people["admin"].email)
    assert client.get(f"/staff/tasks/{acks[0].id}/acknowledge").status_code == 404  # no role: not found
    assert backfill.task_roles() == 2
    assert backfill.task_roles() == 0
    backfilled = {r["submitted_forms"][0]: r for r in rows.find({"_id": {"$in": [t.id for t in acks]}})}
    assert sorted(backfilled) == ["demographics", "phq9"]
    assert {r["role"] for r in backfilled.values()} == {"acknowledgement"}
    page = client.get(f"/staff/tasks/{acks[0].id}/acknowledge")
    assert page.status_code == 200
