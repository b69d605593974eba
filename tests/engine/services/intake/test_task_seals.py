"""One task, one sealed submission: crashes between sealing a client's form and completing its task,
retries, racing requests and closed tasks never leave two sealed submissions, nor none for a 2xx."""

from __future__ import annotations

import threading
from datetime import timedelta

from bson import ObjectId

from engine.authz import portal_actor
from engine.models import utcnow
from engine.models.accounts import PortalAccount
from engine.models.forms import Submission
from engine.models.workflow import Task
from engine.services.inbox import tasks
from engine.workflow import runtime
from tests import intake_lifecycle as lc
from tests.form_fills import VALID

OTHER_PHQ9 = {**VALID["phq9"], "phq9_1": 3 - VALID["phq9"]["phq9_1"]}


def _phq9_task(http, people) -> tuple[dict, dict]:
    """The client's open phq9 task, as the API shows it and as its inbox row."""
    instance = http.post(f"/api/v1/clients/{people['client'].id}/invite", headers=people["staff"], json={})
    lc.perform_all(instance.get_json()["id"])
    task = next(t for t in lc.open_tasks(http, people["portal"]) if t["form_key"] == "phq9")
    return task, Task._get_collection().find_one({"_id": ObjectId(task["id"])})


def _dead_attempt(people, row: dict, answers: dict) -> Submission:
    """What a web worker killed after sealing, before completing the task, leaves behind."""
    actor = portal_actor(PortalAccount.objects.get(email="ann@example.org"))
    _data, sub = tasks._seal(actor, row, answers)
    return sub


def _sealed(task_id: str) -> list[Submission]:
    return list(Submission.objects(context=f"task:{task_id}", status="completed"))


def _post(http, people, task_id: str, answers: dict):
    return http.post(f"/api/v1/tasks/{task_id}/complete", headers=people["portal"], json={"data": answers})


def test_a_retry_after_a_crash_between_seal_and_completion_reuses_the_seal(client, people):
    """Does the client's retry of the same answers complete the task with the seal the dead attempt left,
    instead of sealing a second submission?"""
    task, row = _phq9_task(client, people)
    left = _dead_attempt(people, row, VALID["phq9"])
    assert _post(client, people, task["id"], VALID["phq9"]).status_code == 200
    assert [s.id for s in _sealed(task["id"])] == [left.id]
    done = runtime.task_completion(row["instance_id"], row["task_id"])
    assert done["details"]["submission"] == str(left.id)


def test_other_answers_wait_until_the_abandoned_seal_may_be_replaced(client, people):
    """Are other answers refused (409) while the earlier seal could still be in flight, and do they
    replace it once it is abandoned, leaving the old one superseded as evidence?"""
    task, row = _phq9_task(client, people)
    left = _dead_attempt(people, row, VALID["phq9"])
    refused = _post(client, people, task["id"], OTHER_PHQ9)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "already_sealed"
    long_ago = utcnow() - tasks.REPLACE_ABANDONED_SEAL_AFTER - timedelta(seconds=1)
    Submission.objects(id=left.id).update_one(set__updated_at=long_ago)
    assert _post(client, people, task["id"], OTHER_PHQ9).status_code == 200
    [kept] = _sealed(task["id"])
    assert kept.id != left.id and kept.answers["phq9_1"] == OTHER_PHQ9["phq9_1"]
    assert Submission.objects.get(id=left.id).status == "superseded"
    assert Submission.objects.get(id=left.id).seal_key is None


def test_a_seal_the_task_did_not_take_is_superseded(client, people):
    """When the task was closed without this seal (the row not yet showing it), is the fresh seal
    superseded and the answer 409, so no sealed submission belongs to no completed task?"""
    task, row = _phq9_task(client, people)
    runtime.complete_task(row["instance_id"], row["task_id"], {}, by="staff:someone")
    Task._get_collection().update_one({"_id": row["_id"]}, {"$set": {"status": "open"}})  # projection lag
    answer = _post(client, people, task["id"], VALID["phq9"])
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "task_not_open"
    assert _sealed(task["id"]) == []
    assert Submission.objects(context=f"task:{task['id']}").get().status == "superseded"


def test_a_seal_a_racing_retry_completed_the_task_with_is_kept(client, people):
    """When a racing retry of the same answers completed the task with the seal, does the loser's 409
    leave that seal in place?"""
    task, row = _phq9_task(client, people)
    left = _dead_attempt(people, row, VALID["phq9"])
    data = {"form_answers": left.answers, "submission_id": str(left.id)}
    runtime.complete_task(row["instance_id"], row["task_id"], data, by="portal:winner")
    Task._get_collection().update_one({"_id": row["_id"]}, {"$set": {"status": "open"}})  # projection lag
    assert _post(client, people, task["id"], VALID["phq9"]).status_code == 409
    assert [s.id for s in _sealed(task["id"])] == [left.id]


def test_racing_completions_of_one_task_seal_once(app, client, people):
    """Do two simultaneous completions of one task (same answers, then different answers on the next
    task) give one 200, one 409 and exactly one sealed submission each time?"""
    task, _row = _phq9_task(client, people)
    other = next(t for t in lc.open_tasks(client, people["portal"]) if t["form_key"] == "demographics")
    for target, variants in (
        (task, [VALID["phq9"], VALID["phq9"]]),
        (other, [VALID["demographics"], {**VALID["demographics"], "city": "Shelbyville"}]),
    ):
        start = threading.Barrier(2)
        statuses = []

        def go(answers, target=target, start=start, statuses=statuses):
            http = app.test_client()
            start.wait()
            statuses.append(_post(http, people, target["id"], answers).status_code)

        racers = [threading.Thread(target=go, args=(answers,)) for answers in variants]
        for r in racers:
            r.start()
        for r in racers:
            r.join(60)
        assert sorted(statuses) == [200, 409], statuses
        assert len(_sealed(target["id"])) == 1


def test_a_task_form_is_not_completed_through_the_forms_api(client, people):
    """Is completing a form under a task's context through the forms API refused (422), so that only
    the task seals the task's submission?"""
    task, _row = _phq9_task(client, people)
    resp = client.post(
        f"/api/v1/clients/{people['client'].id}/forms/phq9",
        headers=people["portal"],
        json={"data": VALID["phq9"], "context": f"task:{task['id']}"},
    )
    assert resp.status_code == 422 and "context" in resp.get_json()["error"]["details"]
    assert _sealed(task["id"]) == []
