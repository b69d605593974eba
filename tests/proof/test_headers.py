"""Security headers and cookies: CSP, framing, sniffing, referrer, no-store, HSTS in production only,
and no CSP violation in a real browser on the pages that load survey-js-ui."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.authz import SYSTEM
from tests.helpers import PASSWORD, api_login, make_client, make_portal_account, make_staff

ROOT = Path(__file__).resolve().parents[2]


def _assert_common(response):
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_and_api_answers_carry_the_headers_and_are_never_cached(client):
    """Do a page, an API answer, an error and the health check all carry the headers and no-store?"""
    staff = make_staff(roles=("org_admin",))
    auth = api_login(client, staff.email)
    for response in (
        client.get("/login"),
        client.get("/api/v1/me", headers=auth),
        client.get("/api/v1/me"),
        client.get("/no-such-page"),
        client.get("/healthz"),
    ):
        _assert_common(response)
        assert "no-store" in response.headers["Cache-Control"], response.request.path
        assert "Strict-Transport-Security" not in response.headers  # development is plain http


def test_static_files_stay_cacheable(client):
    """Is the stylesheet (no health information) left to normal caching?"""
    response = client.get("/static/portico.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_development_cookies_are_httponly_and_samesite(client):
    """Is the session cookie HttpOnly and SameSite=Lax (Secure would break plain-http development)?"""
    response = client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert "portico_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture()
def production_client(settings, clean_db):
    from web.app import create_app

    application = create_app(settings.with_(env="production"))
    application.config.update(TESTING=True)
    return application.test_client()


def test_production_adds_hsts_and_secure_cookies(production_client):
    """In production, does every answer pin HTTPS and every cookie say Secure, HttpOnly, SameSite?"""
    response = production_client.get("/login", base_url="https://portico.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    _assert_common(response)
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    app = production_client.application
    assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_HTTPONLY"]


def _csp_watch(page):
    # survey-core.min.css names Open Sans on fonts.gstatic.com. Refused on purpose: a page with health
    # information must not tell Google who opens it; the survey falls back to the system font.
    violations = []

    def on_console(msg):
        if "Content Security Policy" in msg.text and "https://fonts.gstatic.com/" not in msg.text:
            violations.append(msg.text)

    page.on("console", on_console)
    return violations


@pytest.mark.e2e
def test_survey_page_runs_under_the_policy_in_a_real_browser(live_server, page):
    """Do the login page and a survey-js-ui form page render in chromium with no CSP violation?"""
    from engine.services.forms import forms as form_service
    from tests.form_requests import request_form

    violations = _csp_watch(page)
    definition = json.loads((ROOT / "form_defs" / "gad7.json").read_text())
    form_service.create_form(SYSTEM, "gad7", "intake", "GAD-7", definition)
    form_service.publish(SYSTEM, "gad7")
    person = make_client()
    account = make_portal_account(client=person)
    request_form(person, "gad7")  # a client sees only forms asked of her
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/portal/forms/gad7")
    page.get_by_text("Feeling nervous, anxious, or on edge").wait_for()
    page.locator(".sd-question").first.get_by_text("Several days").click()
    assert violations == []
