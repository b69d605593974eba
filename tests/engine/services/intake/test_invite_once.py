"""One invitation, one intake: two invitations of a client at once (a double click, or a retry sent while
the first request is still running, as the chaos run's clients do after 30 s without an answer) start one
`client_intake` and mail one activation link; a request that died mid-start blocks nobody for long."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine.authz import staff_actor
from engine.errors import Conflict
from engine.models import utcnow
from engine.models.invitations import IntakeStart
from engine.models.workflow import ProcessInstance
from engine.services.intake import intake
from tests.helpers import make_client, make_staff
from tests.intake_lifecycle import configure


@pytest.fixture()
def people(installed, smtp):
    from engine import wiring

    wiring.wire()  # what every process does at start
    configure(intake_packet=["demographics"])
    admin = make_staff(roles=("org_admin",))
    return {"staff": staff_actor(admin), "client": make_client(first_name="Ann", email="ann@example.org")}


def _intakes(client) -> int:
    return ProcessInstance.objects(client_id=client.id, process_id="client_intake").count()


def test_two_invitations_at_once_start_one_intake(people):
    """Do two simultaneous invitations of one client give one intake and one 409, not two intakes
    (each mailing its own activation link, each asking for the whole packet)?"""
    start = threading.Barrier(2)
    outcomes: list = []

    def invite():
        start.wait()
        try:
            outcomes.append(intake.invite(people["staff"], people["client"].id)["status"])
        except Conflict as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - shown in the assertion
            outcomes.append(repr(exc))

    racers = [threading.Thread(target=invite) for _ in range(2)]
    for r in racers:
        r.start()
    for r in racers:
        r.join(60)
    assert len(outcomes) == 2 and outcomes.count("running") == 1, outcomes
    assert _intakes(people["client"]) == 1
    assert IntakeStart.objects.count() == 0  # released by the one that started it


def test_an_invitation_being_started_refuses_another_until_it_is_abandoned(people):
    """While another request holds the client's intake start (alive, or killed before starting), is an
    invitation refused with invite_in_progress and nothing started; once the hold is older than any
    request lives, does the next invitation take it over and start the intake, once?"""
    ann = people["client"]
    held = intake._hold_start(ann.id)  # what a request between its check and its start holds
    with pytest.raises(Conflict) as refused:
        intake.invite(people["staff"], ann.id)
    assert refused.value.code == "invite_in_progress"
    assert _intakes(ann) == 0
    assert IntakeStart.objects.get(client=ann.id).holder == held  # the refused request took nothing
    IntakeStart.objects(client=ann.id).update_one(
        set__started_at=utcnow() - intake.ABANDONED_START_AFTER - timedelta(seconds=1)
    )
    assert intake.invite(people["staff"], ann.id)["status"] == "running"
    assert _intakes(ann) == 1 and IntakeStart.objects.count() == 0
    with pytest.raises(Conflict) as again:
        intake.invite(people["staff"], ann.id)
    assert again.value.code == "conflict"  # already under way: the hold is released on refusals too
    assert _intakes(ann) == 1 and IntakeStart.objects.count() == 0
