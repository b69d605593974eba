"""The studio an admin can read (issue 17), in a real browser: the modeler uses the window's width, opens
zoomed to fit with its start clear of the palette, lists the import warnings as items that select their
element; forms, lanes, operations and timers are chosen, not typed; the element list is grouped and has
no arrows. The instance monitor names the client and the people, words its history and marks the
current step. axe-core finds nothing serious on these pages, none scrolls sideways on a phone, none
loads anything from another host; screenshots land in docs/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.models.organization import Organization
from engine.models.workflow import Task
from engine.workflow import runtime
from tests.helpers import browser_login, make_client, make_staff, sticking_out
from web.pages import local_time

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def _open(browser, live_server, viewport=None):
    """A page whose requests to any other host are collected, and whose script errors are too."""
    # bypass_csp: the test injects axe-core (the pages allow no inline script)
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.outside, page.errors = [], []
    page.on(
        "request",
        lambda r: (
            page.outside.append(r.url) if not r.url.startswith((live_server, "data:", "blob:")) else None
        ),
    )
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


def _serious(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: ./dev setup installs axe-core from web/package.json")
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def _selected(page) -> list[str]:
    return page.evaluate("window.porticoModeler.get('selection').get().map(e => e.id)")


def _read(page, element_id) -> dict:
    """What the properties panel's reader finds on an element of the diagram as it is now."""
    return page.evaluate(
        "id => window.StudioProperties.read(window.porticoModeler.get('elementRegistry').get(id).businessObject)",
        element_id,
    )


def test_modeler_lists_warnings_and_offers_choices(live_server, browser, s_flow):  # noqa: F811
    """Does the modeler fill the width, fit the diagram clear of the palette, list each warning as an item
    that selects its element, group the element list without arrows, and offer forms and timers as
    choices that write the keys and ISO durations the engine reads?"""
    admin = make_staff(roles=("org_admin",))
    context, page = _open(browser, live_server)
    browser_login(page, live_server, admin.email)
    page.goto(f"{live_server}/studio/processes/s_flow")
    page.wait_for_selector("#modeler-page[data-ready=true]")
    assert page.locator("#process-title").inner_text() == "Studio test intake"

    # Full width, and the start event to the right of the palette, not under it.
    canvas = page.locator("#canvas").bounding_box()
    assert canvas["width"] > 850, canvas  # main's 70rem measure left it ~750 px
    palette = page.locator("#canvas .djs-palette").bounding_box()
    start = page.locator('#canvas [data-element-id="start"]').bounding_box()
    assert start["x"] >= palette["x"] + palette["width"], (start, palette)
    done = page.locator('#canvas [data-element-id="done"]').bounding_box()
    assert done["x"] + done["width"] <= canvas["x"] + canvas["width"], "the diagram's end is cut off"

    # The import warning (s_flow's multi-instance names its list by a task-data variable) is an item.
    assert "listed under Problems" in page.inner_text("#modeler-status")
    warning = page.locator("#problems li.studio-warning").first
    assert "Complete an intake form" in warning.inner_text()
    warning.locator("button").click()
    assert _selected(page) == ["fill"]
    assert page.input_value("#prop-name") == "Complete an intake form"
    assert page.input_value("#element-picker") == "fill"

    # The element list: grouped by kind, no sequence flows.
    groups = page.eval_on_selector_all("#element-picker optgroup", "gs => gs.map(g => g.label)")
    assert groups[0] == "Tasks for people" and "Events and timers" in groups, groups
    values = page.eval_on_selector_all("#element-picker option", "os => os.map(o => o.value)")
    assert "f1" not in values and "acknowledge" in values
    flows = page.evaluate(
        "window.porticoModeler.get('elementRegistry').filter(e => e.type === 'bpmn:SequenceFlow').length"
    )
    assert flows > 0

    # A form from a select showing titles; a timer picked as "every 2 days, 3 times".
    page.select_option("#element-picker", "acknowledge")
    labels = page.eval_on_selector_all("#prop-form option", "os => os.map(o => o.textContent)")
    assert "S Form B" in labels and not any("s_form_b" in label for label in labels), labels
    page.select_option("#prop-form", label="S Form B")
    page.click("#props-form button[type=submit]")
    assert _read(page, "acknowledge")["formKey"] == "s_form_b"

    page.select_option("#element-picker", "reminder")
    assert page.input_value("#prop-timer-count") == "3" and page.input_value("#prop-timer-unit") == "D"
    assert not page.locator("#prop-timer").is_visible()  # the expression is for power users only
    page.select_option("#prop-timer-kind", "timeCycle")
    page.fill("#prop-timer-count", "2")
    page.fill("#prop-timer-times", "3")
    assert page.inner_text("#prop-timer-summary") == "Fires every 2 days, 3 times."
    page.click("#props-form button[type=submit]")
    timer = _read(page, "reminder")
    assert (timer["timerKind"], timer["timer"]) == ("timeCycle", '"R3/P2D"')
    page.click("#check-bpmn")
    page.wait_for_selector("#modeler-status:has-text('No problems found')")

    assert _serious(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "studio-modeler-desktop.png"))
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/studio/processes/s_flow")
    page.wait_for_selector("#modeler-page[data-ready=true]")
    assert sticking_out(page) == []
    palette = page.locator("#canvas .djs-palette").bounding_box()
    start = page.locator('#canvas [data-element-id="start"]').bounding_box()
    assert start["x"] >= palette["x"] + palette["width"], (start, palette)
    page.screenshot(path=str(SHOTS / "studio-modeler-phone.png"), full_page=True)
    assert page.outside == [] and page.errors == []
    context.close()


def test_instance_monitor_names_people_and_marks_the_current_step(live_server, browser, s_flow):  # noqa: F811
    """Does the instance page name the client and who did what ("Dana Reyes completed …, 3 Dec 10:14" in
    the practice's time zone), mark the current step on the diagram, and show no database ids?"""
    org = Organization.get()
    org.timezone = "Australia/Sydney"  # far from UTC, so a time left in UTC shows
    org.save()
    admin = make_staff(roles=("org_admin",))
    desk = make_staff(first_name="Dana", last_name="Reyes")
    client = make_client(first_name="Nora", last_name="Quill")
    iid = runtime.start(
        "s_flow", client_id=client.id, data={"packet": ["s_form_a"]}, started_by=f"staff:{admin.id}"
    )
    fill = Task.objects(instance_id=iid, status="open").first()
    runtime.complete_task(iid, fill.task_id, {"answer": "x"}, by=f"staff:{desk.id}")
    assert Task.objects(instance_id=iid, status="open").first().name == "Acknowledge the packet"

    context, page = _open(browser, live_server)
    browser_login(page, live_server, admin.email)
    page.goto(f"{live_server}/studio/instances/{iid}")
    page.wait_for_selector("#diagram-summary:has-text('Now at')")
    assert page.locator("h1").inner_text() == "Studio test intake for Nora Quill"
    assert page.inner_text("#instance-client") == "Nora Quill"
    history = page.locator("#history li").all_inner_texts()
    from engine.workflow import store

    at = [
        e["at"] for e in store.instances().find_one({"_id": iid})["history"] if e["kind"] == "task_completed"
    ][0]
    assert f"Dana Reyes completed Complete an intake form, {local_time(at, '%-d %b %H:%M')}" in history, (
        history
    )
    assert history[0].startswith(f"{admin.first_name} {admin.last_name} started the process"), history
    assert page.locator('#diagram g[data-element-id="acknowledge"].studio-active').count() == 1
    assert page.locator('#diagram g[data-element-id="fill"].studio-completed').count() == 1
    assert "Now at: Acknowledge the packet." in page.inner_text("#diagram-summary")
    text = page.inner_text("main")
    assert str(iid) not in text and str(client.id) not in text and str(desk.id) not in text

    assert _serious(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "studio-instance-desktop.png"), full_page=True)
    page.goto(f"{live_server}/studio/instances")
    assert _serious(page) == []
    page.set_viewport_size(PHONE)
    for path in ("/studio/instances", f"/studio/instances/{iid}"):
        page.goto(f"{live_server}{path}")
        assert sticking_out(page) == [], path
    page.wait_for_selector("#diagram-summary:has-text('Now at')")
    page.screenshot(path=str(SHOTS / "studio-instance-phone.png"), full_page=True)
    assert page.outside == [] and page.errors == []
    context.close()
