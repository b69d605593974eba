"""A person's first inbox page after a start: guided by the hint of a queue of the same kind."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from engine.authz import staff_actor
from engine.models.workflow import Task
from engine.services.inbox import task_windows, tasks
from tests.helpers import make_client, make_staff

NOW = datetime.now(UTC).replace(microsecond=0)


def _fill(audience: str, dues: list) -> None:
    Task._get_collection().insert_many(
        [
            {
                "instance_id": ObjectId(),
                "task_id": f"t{i}",
                "process_id": "p",
                "spec_name": "u",
                "name": "T",
                "lane": "",
                "audience": audience,
                "form_key": None,
                "form_version_id": None,
                "client_id": None,
                "status": "open",
                "due_at": due,
                "claimed_by": audience,
            }
            for i, due in enumerate(dues)
        ]
    )


def _finds(database) -> int:
    """Queries the server has answered so far (its own counter)."""
    return database.command("serverStatus")["opcounters"]["query"]


def _sorted_ids(audience: str) -> list[str]:
    rows = (
        Task._get_collection()
        .find({"status": "open", "audience": audience})
        .sort([("due_at", 1), ("_id", 1)])
    )
    return [str(r["_id"]) for r in rows]


@pytest.fixture()
def therapists(clean_db, monkeypatch):
    """Two therapists with 150 open tasks each, due from 3 days ago to 5 weeks ahead (the bench's spread).
    Read in windows, as a large queue is (QUICK_MS 0: these would be quick to read whole)."""
    monkeypatch.setattr(task_windows, "QUICK_MS", 0)
    task_windows.HINTS.clear()
    rng = random.Random(3)
    actors = [staff_actor(make_staff(roles=("therapist",))) for _ in range(2)]
    for actor in actors:
        _fill(f"staff:{actor.id}", [NOW + timedelta(minutes=rng.randint(-5000, 50000)) for _ in range(150)])
    return actors


def test_a_therapists_first_page_follows_another_therapists_hint(therapists, clean_db):
    """Does a therapist's first page after another therapist's take a handful of queries (the other
    queue's hint), not the walk in from 11 years back that a page without any hint takes?"""
    first, second = therapists
    before = _finds(clean_db)
    tasks.inbox(first)
    unguided = _finds(clean_db) - before
    before = _finds(clean_db)
    page = tasks.inbox(second)
    guided = _finds(clean_db) - before
    assert [i["id"] for i in page["items"]] == _sorted_ids(f"staff:{second.id}")[:25]
    # Both: the assigned clients and their "staff" rows, the audit head, rows without a due date.
    # Unguided: then ~7 windows in from 11 years back; guided: one or two.
    assert guided <= 7 < unguided, (guided, unguided)


def test_a_hint_of_another_queue_never_changes_the_page(clean_db, monkeypatch):
    """Does a queue whose due dates lie nowhere near those of the queue that left the hint (decades
    before and after, none at all, equal dates) still give exactly its sorted rows, page by page?"""
    monkeypatch.setattr(task_windows, "QUICK_MS", 0)
    task_windows.HINTS.clear()
    near, far = (staff_actor(make_staff(roles=("therapist",))) for _ in range(2))
    _fill(f"staff:{near.id}", [NOW + timedelta(hours=h) for h in range(60)])
    fixed = datetime(2001, 1, 1, tzinfo=UTC)
    _fill(
        f"staff:{far.id}",
        [
            datetime(1950, 1, 1, tzinfo=UTC),
            None,
            fixed,
            fixed,
            fixed,
            None,
            NOW + timedelta(days=365 * 60),
            datetime(2290, 1, 1, tzinfo=UTC),
            *[NOW + timedelta(minutes=m) for m in range(0, 40_000, 1000)],
        ],
    )
    want = _sorted_ids(f"staff:{far.id}")
    for page in range(1, 7):
        # far's own hint forgotten, the kind's left by near's queue: each page is a first page
        for key in [k for k in task_windows.HINTS if str(far.id) in k]:
            del task_windows.HINTS[key]
        tasks.inbox(near, per_page=10)
        got = tasks.inbox(far, page=page, per_page=10)
        assert [i["id"] for i in got["items"]] == want[(page - 1) * 10 : page * 10], page
        assert got["has_more"] == (len(want) > page * 10)


def test_no_read_of_a_page_asks_the_database_to_sort(therapists, clean_db):
    """Does a page read its windows and its assigned clients' "staff" rows unsorted (SecantusDB sorts in
    Python, most of what a window costs it) and still show them in (due_at, _id) order?"""
    first, _second = therapists
    client = make_client(assigned_staff=[first.login.id])
    Task._get_collection().insert_many(
        [
            {
                "instance_id": ObjectId(),
                "task_id": f"s{i}",
                "process_id": "p",
                "spec_name": "u",
                "name": "S",
                "lane": "",
                "audience": "staff",
                "client_id": client.id,
                "status": "open",
                "due_at": NOW + timedelta(hours=7 * i - 60),
            }
            for i in range(12)
        ]
    )
    want = [
        str(r["_id"])
        for r in Task._get_collection()
        .find(
            {
                "status": "open",
                "$or": [{"audience": f"staff:{first.id}"}, {"audience": "staff", "client_id": client.id}],
            }
        )
        .sort([("due_at", 1), ("_id", 1)])
    ]
    clean_db.command("profile", 2)
    try:
        pages = [tasks.inbox(first, page=page) for page in (1, 2, 3)]
    finally:
        clean_db.command("profile", 0)
    finds = [
        p["command"] for p in clean_db["system.profile"].find({"op": "query", "ns": f"{clean_db.name}.tasks"})
    ]
    clean_db["system.profile"].drop()
    assert [i["id"] for p in pages for i in p["items"]] == want[:75]
    assert len(finds) >= 6 and [f for f in finds if f.get("sort")] == []
