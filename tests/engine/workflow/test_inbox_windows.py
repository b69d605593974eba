"""The inbox reads pages in due_at windows; these check it returns what the plain sorted query returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.authz import portal_actor, staff_actor
from engine.models.workflow import ProcessVersion, Task
from engine.services.inbox import task_windows, tasks
from tests.helpers import make_client, make_portal_account, make_staff

NOW = datetime.now(UTC).replace(microsecond=0)
FIXED = [NOW, NOW - timedelta(hours=3), NOW + timedelta(days=2), datetime(1990, 5, 1, tzinfo=UTC)]
ABSENT = "absent"  # a row without the field at all (a "staff" row of no client matches client_id None too)


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)  # BSON dates keep milliseconds


DUE = st.one_of(
    st.none(),
    st.sampled_from(FIXED),  # equal due dates: the _id decides
    st.integers(-200_000, 200_000).map(lambda m: NOW + timedelta(minutes=m)),  # clustered around now
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2300, 1, 1), timezones=st.just(UTC)).map(
        _ms
    ),
)


@pytest.fixture()
def world(clean_db):
    """A therapist assigned to two of four clients, an org admin, and a portal account of the first client."""
    clients = [make_client() for _ in range(4)]
    therapist = make_staff(roles=("therapist",))
    admin = make_staff(roles=("org_admin",))
    for c in clients[:2]:
        c.assigned_staff = [therapist.id]
        c.save()
    account = make_portal_account(client=clients[0])
    # inbox() asks for permission-addressed rows only when a deployed process addresses that permission
    ProcessVersion._get_collection().insert_one(
        {"process_id": "p", "number": 1, "permissions": ["billing.manage"]}
    )
    actors = {
        "portal": portal_actor(account),
        "therapist": staff_actor(therapist),
        "admin": staff_actor(admin),
    }
    cids = [c.id for c in clients]
    audiences = [
        "staff",
        "perm:billing.manage",
        f"staff:{therapist.id}",
        f"staff:{admin.id}",
        f"account:{account.id}",
        *[f"client:{c}" for c in cids[:2]],
        f"guardian:{cids[0]}",
    ]
    return actors, cids, audiences


def _visibility(actor) -> dict:
    """The visibility rule as one database filter (the engine judges it in Python: SecantusDB scans the
    collection for a top-level `$or`), the oracle the windowed pages are held to."""
    keys, limited = tasks.audiences(actor)
    if not limited:
        return {"audience": {"$in": keys}}
    assigned = tasks.assigned_clients(actor)
    return {
        "audience": {"$in": keys},
        "$or": [{"audience": {"$ne": "staff"}}, {"client_id": {"$in": [*assigned, None]}}],
    }


def _naive(actor, *, scope, due_before, page, per_page) -> tuple[list[str], bool]:
    """The page as the unbounded sorted query gives it."""
    query = {"status": "open"}
    query.update({"claimed_by": tasks.actor_key(actor)} if scope == "mine" else _visibility(actor))
    if due_before is not None:
        query["due_at"] = {"$lte": due_before}
    rows = list(Task._get_collection().find(query).sort([("due_at", 1), ("_id", 1)]))
    window = rows[(page - 1) * per_page : page * per_page + 1]
    return [str(r["_id"]) for r in window[:per_page]], len(window) > per_page


@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_windowed_pages_equal_the_unbounded_sorted_query(world, monkeypatch, data):
    """Does every page, for portal, therapist and admin actors, hold exactly the rows, order and has_more of
    the unbounded (due_at, _id) sorted query, whatever the due dates (null, equal, far apart) and clients
    (assigned or not, none, no client_id field)?"""
    actors, cids, audiences = world
    coll = Task._get_collection()
    coll.delete_many({})
    if data.draw(st.booleans(), label="forget window hints"):
        task_windows.HINTS.clear()
    # 0: never try the whole query first, so these few rows are read in windows too
    monkeypatch.setattr(
        task_windows, "QUICK_MS", data.draw(st.sampled_from([0, 0, 0, task_windows.QUICK_MS]), label="quick")
    )
    rows = data.draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "audience": st.sampled_from(audiences),
                    "client_id": st.sampled_from([*cids, None, ABSENT]),
                    "due_at": DUE,
                    "status": st.sampled_from(["open", "open", "open", "completed"]),
                    "claimed_by": st.sampled_from([None, f"staff:{actors['therapist'].id}"]),
                }
            ),
            max_size=60,
        ),
        label="rows",
    )
    if rows:
        coll.insert_many(
            [
                {
                    **{k: v for k, v in r.items() if v is not ABSENT},
                    "instance_id": ObjectId(),
                    "task_id": f"t{i}",
                    "process_id": "p",
                    "name": "T",
                    "lane": "",
                    "form_key": None,
                    "form_version_id": None,
                }
                for i, r in enumerate(rows)
            ]
        )
    per_page = data.draw(st.sampled_from([1, 3, 7]), label="per_page")
    due_before = data.draw(st.one_of(st.none(), DUE.filter(lambda d: d is not None)), label="due_before")
    for name, actor in actors.items():
        for scope in ("audience", "mine") if name == "therapist" else ("audience",):
            for page in range(1, len(rows) // per_page + 3):
                got = tasks.inbox(actor, scope=scope, due_before=due_before, page=page, per_page=per_page)
                want = _naive(actor, scope=scope, due_before=due_before, page=page, per_page=per_page)
                assert ([i["id"] for i in got["items"]], got["has_more"]) == want, (name, scope, page)
