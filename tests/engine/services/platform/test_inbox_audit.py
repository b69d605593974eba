"""An inbox page's audit entry: stored before the page returns, chained afterwards."""

from __future__ import annotations

from engine import db
from engine.authz import portal_actor, staff_actor
from engine.models.audit import AuditEvent
from engine.services.inbox import tasks
from engine.services.platform import audit
from tests.helpers import make_client, make_portal_account, make_staff


def _pending(action: str) -> list[dict]:
    return list(db.get_db()[audit.PENDING].find({"action": action}))


def test_an_inbox_page_is_audited_as_an_entry_chained_later(clean_db):
    """Is each inbox page (staff and portal) recorded at once as a pending entry naming the reader,
    with no chained row written by the page itself, and chained afterwards into a trail that verifies?"""
    client = make_client()
    staff = staff_actor(make_staff(roles=("therapist",)))
    portal = portal_actor(make_portal_account(client=client))
    audit.record(staff, "client_viewed", client=client)  # a chain to append to
    tasks.inbox(staff, page=2)
    tasks.inbox(portal, client_id=str(client.id))
    entries = _pending("task_list_viewed")
    assert [(e["actor_id"], e["details"]["page"], e["client_id"]) for e in entries] == [
        (staff.id, 2, ""),
        (portal.id, 1, str(client.id)),
    ]
    assert AuditEvent.objects(action="task_list_viewed").count() == 0
    assert audit.chain_pending() == 2
    assert [e.actor_id for e in AuditEvent.objects(action="task_list_viewed").order_by("seq")] == [
        staff.id,
        portal.id,
    ]
    assert _pending("task_list_viewed") == []
    assert audit.verify().ok
