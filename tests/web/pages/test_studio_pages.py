"""Studio pages render for an admin, and the workflow pages refuse staff without workflows.manage."""

from __future__ import annotations

from engine.workflow import runtime
from tests.helpers import login_as, make_staff

PAGES = (
    "/studio",
    "/studio/processes/s_flow",
    "/studio/processes/new",
    "/studio/forms",
    "/studio/forms/s_ack",
    "/studio/packet",
    "/studio/instances?process_id=s_flow&process_version=1&status=running",
    "/studio/migrate?process_id=s_flow",
)


def test_admin_sees_every_studio_page(client, s_flow):
    """Does every studio page render for an organization admin, with the instance list filtered?"""
    iid = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    login_as(client, make_staff(roles=("org_admin",)).email)
    for path in PAGES:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert b'<nav class="main studio-nav"' in resp.data
    assert str(iid).encode() in client.get("/studio/instances?process_id=s_flow").data
    assert str(iid).encode() not in client.get("/studio/instances?process_version=2").data
    bad = client.get("/studio/instances?process_version=two&status=nope")
    assert (
        bad.status_code == 200
        and b"a version is a number" in bad.data
        and b"choose a listed state" in bad.data
    )
    page = client.get(f"/studio/instances/{iid}")
    assert page.status_code == 200 and b"History" in page.data and b"started" in page.data


def test_therapist_cannot_open_workflow_pages(client, s_flow):
    """Is a therapist refused the processes, instances and migration pages (forms stay open to staff)?"""
    login_as(client, make_staff(roles=("therapist",)).email)
    for path in (
        "/studio",
        "/studio/processes/s_flow",
        "/studio/instances",
        "/studio/migrate",
        "/studio/packet",
    ):
        assert client.get(path).status_code == 403, path
    assert client.get("/studio/forms").status_code == 200
