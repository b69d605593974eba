"""Clients and the contact network, through the engine services."""

from __future__ import annotations

from datetime import date

import pytest

from engine.authz import portal_actor, portal_profiles, staff_actor
from engine.errors import Conflict, Forbidden, NotFound, StaleVersion, ValidationFailed
from engine.models.audit import AuditEvent
from engine.models.clients import Contact, ContactLink
from engine.models.organization import Organization
from engine.services.clients import clients as svc
from tests.helpers import make_client, make_portal_account, make_staff


@pytest.fixture()
def desk(clean_db):
    return staff_actor(make_staff(roles=("front_desk",)))


def test_create_assigns_creator_and_validates_every_field(clean_db):
    """Is the creating staff member assigned, and are bad fields all reported together?"""
    creator = staff_actor(make_staff(roles=("therapist",), permissions=["clients.manage"]))
    made = svc.create_client(
        creator, {"first_name": "Mia", "last_name": "Stone", "date_of_birth": "2012-03-04"}
    )
    assert made["assigned_staff"] == [creator.id]
    assert made["date_of_birth"] == date(2012, 3, 4)
    with pytest.raises(ValidationFailed) as err:
        svc.create_client(
            creator,
            {
                "first_name": "",
                "email": "nope",
                "date_of_birth": "yesterday",
                "assigned_staff": ["x"],
                "shoe_size": 9,
            },
        )
    assert {"first_name", "last_name", "email", "date_of_birth", "assigned_staff", "shoe_size"} <= set(
        err.value.details
    )


def test_staff_see_assigned_clients_unless_view_all(desk):
    """Does a therapist list only their own clients while front desk lists all?"""
    therapist = make_staff(roles=("therapist",))
    mine = make_client(last_name="Assigned", assigned_staff=[therapist.id])
    other = make_client(last_name="Elsewhere")
    listed = svc.list_clients(staff_actor(therapist))
    assert [c["id"] for c in listed["items"]] == [str(mine.id)]
    assert listed["total"] == 1
    assert svc.list_clients(desk)["total"] == 2
    with pytest.raises(NotFound):
        svc.get_client(staff_actor(therapist), other.id)
    assert AuditEvent.objects(action="client_record_viewed", outcome="denied").count() == 1


def test_search_by_name_prefix_and_pagination(desk):
    """Does search match name prefixes case-insensitively, and do pages split the result?"""
    for last in ("Alvarez", "Albright", "Brown", "Chen"):
        make_client(last_name=last)
    assert [c["last_name"] for c in svc.list_clients(desk, q="al")["items"]] == ["Albright", "Alvarez"]
    assert svc.list_clients(desk, q="client ch")["total"] == 1
    assert svc.list_clients(desk, q="(.*")["total"] == 0
    page2 = svc.list_clients(desk, page=2, per_page=3)
    assert page2["total"] == 4 and [c["last_name"] for c in page2["items"]] == ["Chen"]


def test_client_reads_and_writes_are_audited_and_versioned(desk):
    """Does a read record client_record_viewed, and does a stale edit lose?"""
    client = make_client()
    svc.get_client(desk, client.id)
    assert AuditEvent.objects(action="client_record_viewed", client_id=str(client.id)).count() == 1
    updated = svc.update_client(
        desk, client.id, {"phone": "555-0100", "address": {"city": "Salem"}}, expected_version=0
    )
    assert updated["version"] == 1 and updated["address"]["city"] == "Salem"
    with pytest.raises(StaleVersion):
        svc.update_client(desk, client.id, {"phone": "1"}, expected_version=0)


def test_therapist_without_clients_manage_cannot_edit_their_client(clean_db):
    """Does a therapist who sees a client still need clients.manage to edit it?"""
    therapist = make_staff(roles=("therapist",))
    client = make_client(assigned_staff=[therapist.id])
    with pytest.raises(Forbidden):
        svc.update_client(staff_actor(therapist), client.id, {"phone": "1"})


def test_a_client_asking_for_another_clients_record_gets_not_found(clean_db):
    """Does a client's portal account read its own record but get NotFound for another's?"""
    own, other = make_client(), make_client()
    actor = portal_actor(make_portal_account(client=own))
    assert svc.get_client(actor, own.id)["id"] == str(own.id)
    assert "assigned_staff" not in svc.get_client(actor, own.id)
    with pytest.raises(NotFound):
        svc.get_client(actor, other.id)


def test_guardian_who_is_not_a_client_reaches_both_minors(desk):
    """Is a contact who is not a client linked to two minors, one contact, reaching both profiles?"""
    older = make_client(first_name="Sam", date_of_birth=date(2012, 1, 1))
    younger = make_client(first_name="Ivy", date_of_birth=date(2017, 1, 1))
    person = {
        "first_name": "Jo",
        "last_name": "Parent",
        "email": "jo@example.org",
        "relationship": "mother",
        "is_guardian": True,
        "permissions": {"forms": True, "appointments": True, "payments": True, "messages": True},
    }
    first = svc.add_contact(desk, older.id, person)
    second = svc.add_contact(desk, younger.id, person)
    fixed = svc.update_link(desk, first["id"], {"contact": {"phone": "207-555-0199"}})
    assert fixed["contact"]["phone"] == "207-555-0199"
    with pytest.raises(ValidationFailed) as err:
        svc.update_link(desk, first["id"], {"contact": {"first_name": "", "email": "x"}})
    assert set(err.value.details) == {"contact.first_name", "contact.email"}
    assert first["contact"]["id"] == second["contact"]["id"]  # same person, one contact
    assert first["contact"]["client_id"] is None
    contact = Contact.objects.get(id=first["contact"]["id"])
    account = make_portal_account(contact=contact)
    profiles = portal_profiles(account)
    assert {p["client"].id for p in profiles} == {older.id, younger.id}
    assert all(p["is_guardian"] and p["permissions"]["forms"] for p in profiles)
    with pytest.raises(Conflict):
        svc.add_contact(desk, older.id, person)


def test_existing_client_as_contact_and_link_edits(desk):
    """Can a client be another client's contact, and can the link be changed and removed?"""
    child, parent = make_client(), make_client()
    with pytest.raises(ValidationFailed):
        svc.add_contact(desk, child.id, {"client_id": str(child.id), "relationship": "self"})
    link = svc.add_contact(desk, child.id, {"client_id": str(parent.id), "relationship": "father"})
    assert link["contact"]["client_id"] == str(parent.id)
    assert link["permissions"] == {
        "forms": False,
        "appointments": False,
        "payments": False,
        "messages": False,
    }
    changed = svc.update_link(desk, link["id"], {"is_guardian": True, "permissions": {"messages": True}})
    assert (
        changed["is_guardian"] and changed["permissions"]["messages"] and not changed["permissions"]["forms"]
    )
    with pytest.raises(ValidationFailed):
        svc.update_link(desk, link["id"], {"permissions": {"teleport": True}})
    with pytest.raises(ValidationFailed) as err:  # a client's details are edited on their own record
        svc.update_link(desk, link["id"], {"contact": {"phone": "1"}})
    assert "contact" in err.value.details
    assert len(svc.contact_network(desk, child.id)) == 1
    svc.remove_link(desk, link["id"])
    assert ContactLink.objects.count() == 0
    with pytest.raises(NotFound):
        svc.update_link(desk, link["id"], {"relationship": "x"})


def test_contact_network_off_is_a_clear_conflict(desk):
    """With the contact network turned off, is adding a contact refused and are links no longer reaching?"""
    child = make_client()
    link = svc.add_contact(
        desk,
        child.id,
        {"first_name": "A", "last_name": "B", "relationship": "aunt", "permissions": {"forms": True}},
    )
    account = make_portal_account(contact=Contact.objects.get(id=link["contact"]["id"]))
    org = Organization.get()
    org.portal.contact_network_enabled = False
    org.save()
    with pytest.raises(Conflict) as err:
        svc.add_contact(desk, child.id, {"first_name": "C", "last_name": "D", "relationship": "uncle"})
    assert err.value.code == "contact_network_disabled"
    assert portal_profiles(account) == []


def test_a_client_who_is_a_contact_reaches_own_and_linked_profiles(desk):
    """Does a client linked as another client's contact reach both profiles with one portal account?"""
    parent, child = make_client(first_name="Pat"), make_client(first_name="Kim")
    account = make_portal_account(client=parent)
    svc.add_contact(
        desk,
        child.id,
        {
            "client_id": str(parent.id),
            "relationship": "father",
            "is_guardian": True,
            "permissions": {"forms": True},
        },
    )
    profiles = portal_profiles(account)
    assert [p["client"].id for p in profiles] == [parent.id, child.id]
    assert profiles[1]["permissions"]["forms"] and not profiles[1]["permissions"]["payments"]
    assert svc.get_client(portal_actor(account), child.id)["id"] == str(child.id)
