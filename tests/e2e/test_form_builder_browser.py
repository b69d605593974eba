"""The form builder in a real browser: an admin builds a form by clicks and drags alone, publishes it,
adds it to the intake packet, and a client completes it in the portal; its condition behaves the same
in the builder's preview, in the portal and on the server. Also: axe-core finds no serious or critical
problem on the builder, and screenshots of it (desktop and phone) land in docs/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.authz import staff_actor
from engine.forms import validate_submission
from engine.models.forms import Submission
from engine.models.organization import Organization
from engine.services.forms import forms as form_service
from engine.services.intake import intake
from tests import intake_lifecycle as lc
from tests.helpers import (
    PASSWORD,
    make_client,
    make_portal_account,
    make_staff,
    sticking_out,
    wait_for,
)

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"


def _login(page, base, email, password=PASSWORD):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _add(page, kind, title):
    """Add a question from the toolbox by a click, then give it a title in the property panel."""
    page.click(f"#builder-tools [data-type={kind}]")
    page.fill("#bp-title", title)


def _select(page, title):
    page.locator(".builder-pick").filter(has_text=title).first.click()
    page.wait_for_function(
        "t => document.getElementById('bp-title') && document.getElementById('bp-title').value === t",
        arg=title,
    )


def _drag(page, source, target, position=None):
    """An HTML drag and drop as a person does it: Chromium drops a drag that scrolls the page on the way,
    so the drop place is brought into view first (the toolbox stays in view: it is sticky)."""
    target.scroll_into_view_if_needed()
    source.scroll_into_view_if_needed()
    source.drag_to(target, target_position=position)


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


def test_build_publish_and_complete_a_form_by_clicks_and_drags(live_server, browser, installed, smtp):  # noqa: F811
    """Can an admin build a six-question form (one required, one checked, one conditional) by clicks and
    drags, publish it and add it to the packet, and does a client complete it in the portal, the
    condition behaving the same in the preview, the portal and on the server?"""
    lc.configure(intake_packet=["gad7"], reminder_max=0)
    admin = make_staff(roles=("org_admin",))
    # bypass_csp: the test injects axe-core and reads the preview's model (the pages allow no inline script)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith((live_server, "data:", "blob:")) else None,
    )
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, live_server, admin.email)
    page.goto(f"{live_server}/studio/forms/new")
    page.wait_for_selector("#form-editor[data-ready=true]")
    page.fill("#fe-key", "pet_intake")
    page.fill("#fe-title", "Pets at home")
    page.select_option("#fe-kind", "intake")

    _add(page, "text", "Your email")
    page.select_option("#bp-inputtype", "email")
    page.select_option("#bp-add-validator-type", "email")
    page.click("#bp-add-validator")
    page.wait_for_selector("#bp-v0-text")
    # a toolbox type dragged onto the form's drop zone lands at the end
    _drag(page, page.locator("#builder-tools [data-type=boolean]"), page.locator(".builder-drop").last)
    page.wait_for_selector(".builder-item.selected .builder-type:has-text('Yes / No')")
    page.fill("#bp-title", "Do you have pets")
    _add(page, "text", "Pet name")
    page.check("#bp-required")
    page.click("#bp-visibleIf-add")
    page.select_option("#bp-visibleIf-q0", "do_you_have_pets")
    assert errors == []
    page.select_option("#bp-visibleIf-v0", "true")
    assert page.input_value("#bp-visibleIf-expr") == "{do_you_have_pets} = true"
    _add(page, "radiogroup", "Kind of pet")
    page.fill("#bp-choices", "Dog\nCat\nBird")
    _add(page, "comment", "Anything else")
    page.select_option("#bp-add-validator-type", "text")
    page.click("#bp-add-validator")
    page.fill("#bp-v0-max", "200")
    _add(page, "dropdown", "Visit reason")
    _drag(page, page.locator("#builder-tools [data-type=rating]"), page.locator(".builder-drop").last)
    page.wait_for_selector(".builder-item.selected .builder-type:has-text('Rating')")
    page.fill("#bp-title", "How are you today")
    # reorder: drag the rating above the first question, then move it back down by its keyboard button
    _drag(
        page,
        page.locator(".builder-item[data-name=how_are_you_today]"),
        page.locator(".builder-item").first,
        {"x": 20, "y": 5},
    )
    names = lambda: page.eval_on_selector_all(".builder-item", "ns => ns.map(n => n.dataset.name)")  # noqa: E731
    assert names()[0] == "how_are_you_today", names()
    page.click("button[aria-label='Move How are you today down']")
    assert names()[:2] == ["your_email", "how_are_you_today"], names()
    assert "moved down" in page.inner_text("#fe-announce")
    # duplicate, delete and undo
    page.click("button[aria-label='Duplicate Kind of pet']")
    page.click("button[aria-label='Delete Kind of pet']")
    assert "kind_of_pet" not in names() and "kind_of_pet_copy" in names()
    page.click("#fe-undo")
    page.click("#fe-undo")
    assert names() == [
        "your_email",
        "how_are_you_today",
        "do_you_have_pets",
        "pet_name",
        "kind_of_pet",
        "anything_else",
        "visit_reason",
    ], names()
    page.wait_for_selector("#fe-check-summary:has-text('checks pass')")

    # the preview follows the condition
    page.wait_for_selector("#fe-preview-frame[data-pending=false]")
    page.wait_for_function("window.porticoPreview && window.porticoPreview.getQuestionByName('pet_name')")
    assert page.evaluate("window.porticoPreview.getQuestionByName('pet_name').isVisible") is False
    page.locator("#fe-preview .sd-question").filter(has_text="Do you have pets").locator(
        ".sd-boolean__label", has_text="Yes"
    ).first.click()
    page.wait_for_function("window.porticoPreview.getQuestionByName('pet_name').isVisible")
    preview_required = page.evaluate("window.porticoPreview.getQuestionByName('pet_name').hasErrors(false)")

    SHOTS.mkdir(parents=True, exist_ok=True)
    _select(page, "Pet name")
    page.screenshot(path=str(SHOTS / "form-builder-desktop.png"), full_page=True)
    problems = _serious(page)
    assert problems == [], problems
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#fe-phone")
    assert sticking_out(page) == []
    page.screenshot(path=str(SHOTS / "form-builder-phone.png"), full_page=True)
    problems = _serious(page)
    assert problems == [], problems
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("#fe-publish")
    page.wait_for_selector("#fe-status:has-text('Published version 1')")
    page.wait_for_selector("#fe-diff:has-text('No changes')")
    _select(page, "Anything else")
    page.check("#bp-required")
    page.wait_for_selector("#fe-diff:has-text('Changed: Anything else (required)')")

    # the server's verdict on the published version matches the preview's
    _, definition = form_service.published_definition("pet_intake")
    assert preview_required is True
    assert "pet_name" in validate_submission(definition, {"do_you_have_pets": True, "kind_of_pet": "Dog"})
    assert "pet_name" not in validate_submission(definition, {"do_you_have_pets": False})
    assert {q["type"] for q in definition["pages"][0]["elements"]} == {
        "text",
        "boolean",
        "radiogroup",
        "comment",
        "rating",
        "dropdown",
    }

    page.goto(f"{live_server}/studio/packet")
    page.wait_for_selector("#packet-page[data-ready=true]")
    page.select_option("#packet-add", "pet_intake")
    page.click("#packet-add-button")
    page.click("button[aria-label='Move Pets at home up']")  # the client's first form
    page.click("#packet-save")
    page.wait_for_selector("#packet-status:has-text('saved')")
    assert list(Organization.get().portal.intake_packet) == ["pet_intake", "gad7"]
    assert outside == [] and errors == []

    person = make_client(first_name="Pia", email="pia@example.org")
    make_portal_account(client=person)
    shape = intake.invite(staff_actor(admin), person.id)
    lc.perform_all(shape["id"])
    client = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True).new_page()
    client.set_default_timeout(15000)
    _login(client, live_server, "pia@example.org")
    client.goto(f"{live_server}/portal/tasks")
    # the portal lists the packet in its order as a stepper, each form by its title
    steps = client.locator(".stepper .step-body a")
    wait_for(lambda: (client.reload(), steps.count() == 2)[1], what="the packet's two forms")
    steps.first.click()
    assert client.locator("#task-page").get_attribute("data-form-key") == "pet_intake"
    client.wait_for_function("window.porticoSurvey !== undefined")
    assert client.evaluate("window.porticoSurvey.getQuestionByName('pet_name').isVisible") is False
    client.fill("input[type=email]", "pia@example.org")
    client.locator(".sd-question").filter(has_text="Do you have pets").locator(
        ".sd-boolean__label", has_text="Yes"
    ).first.click()
    client.wait_for_function("window.porticoSurvey.getQuestionByName('pet_name').isVisible")
    client.locator(".sd-navigation__complete-btn").click()
    client.get_by_text("Response required").first.wait_for()  # the same condition makes it required here
    client.locator(".sd-question").filter(has_text="Pet name").locator("input").fill("Biscuit")
    client.locator(".sd-question").filter(has_text="Kind of pet").get_by_text("Cat").click()
    here = client.url
    client.locator(".sd-navigation__complete-btn").click()
    client.wait_for_function("u => location.href !== u && !location.pathname.endsWith('/next')", arg=here)
    sub = Submission.objects(client=person.id, form_key="pet_intake", status="completed").first()
    assert (
        sub is not None and sub.answers["pet_name"] == "Biscuit" and sub.answers["do_you_have_pets"] is True
    )
    client.context.close()
    context.close()
