"""A form asked of a client, in a real browser: survey-js-ui renders, progress is saved and resumed,
the server's field errors appear on their questions, and a valid fill is submitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.authz import SYSTEM
from engine.models.forms import Submission
from engine.services.forms import forms as form_service
from tests.form_requests import request_form
from tests.helpers import browser_login, make_client, make_portal_account

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


def test_fill_save_resume_and_submit(live_server, page):
    """Can a client asked for GAD-7 save answers, come back to them, see the server's errors in place,
    and submit?"""
    definition = json.loads((ROOT / "form_defs" / "gad7.json").read_text())
    form_service.create_form(SYSTEM, "gad7", "intake", "GAD-7", definition)
    form_service.publish(SYSTEM, "gad7")
    person = make_client()
    account = make_portal_account(client=person)
    task = request_form(person, "gad7")
    browser_login(page, live_server, account.email)
    page.goto(f"{live_server}/portal/forms/gad7")  # leads to the task asking for it
    page.wait_for_url(f"**/portal/tasks/{task.id}")
    page.get_by_text("Feeling nervous, anxious, or on edge").wait_for()
    page.locator(".sd-question").first.get_by_text("Several days").click()
    page.click("#save-progress")
    page.get_by_text("Your answers are saved").wait_for()
    page.reload()
    page.get_by_text("Welcome back").wait_for()
    assert page.evaluate("window.porticoSurvey.data.gad7_1") == 1
    # Bypass the browser's own checks: the server must still refuse, and say where.
    page.evaluate("window.porticoSurvey.validationEnabled = false")
    page.get_by_role("button", name="Complete").click()
    page.get_by_text("Some answers need attention").wait_for()
    assert page.locator(".sd-question").nth(1).get_by_text("Response required").count() >= 1
    page.evaluate("window.porticoSurvey.validationEnabled = true")
    for i in range(2, 8):
        page.evaluate(f"window.porticoSurvey.setValue('gad7_{i}', 2)")
    here = page.url
    page.get_by_role("button", name="Complete").click()
    # After a form the portal moves on by itself: to the next form, or home when all are in.
    page.wait_for_function("u => location.href !== u && !location.pathname.endsWith('/next')", arg=here)
    sub = Submission.objects(client=person.id, status="completed").first()
    assert sub is not None and sub.answers["gad7_total"] == 13 and sub.evidence.user_agent
