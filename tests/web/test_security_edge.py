"""Security at the web edge (issue 12, holes 6-9): client addresses behind a proxy, the return path
after login, activation links in logs and stored mail, and the cap on wrong MFA codes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from engine import config as config_mod
from engine.models.audit import AuditEvent
from tests.helpers import PASSWORD, api_login, make_client, make_portal_account, make_staff

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.2"  # the reverse proxy's address: what the web server sees without ProxyFix


@pytest.fixture()
def app_factory(settings, clean_db):
    """Build an app with changed settings; the session's settings come back afterwards."""
    from web.app import create_app

    def build(**changes):
        application = create_app(settings.with_(**changes))
        application.config.update(TESTING=True)
        return application

    yield build
    config_mod.install(settings)


def _via_proxy(client, forwarded_for: str, path: str, **kwargs):
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}
    return client.post(path, headers=headers, environ_base={"REMOTE_ADDR": PROXY}, **kwargs)


def _token(client, forwarded_for: str, email: str, password: str):
    return _via_proxy(
        client, forwarded_for, "/api/v1/auth/token", json={"email": email, "password": password}
    )


# --- hole 6: client addresses behind the shipped reverse proxy -------------------------------------


def test_hole6_trusted_proxy_failed_logins_from_many_addresses_do_not_lock_out_another(app_factory):
    """Behind one trusted proxy, do failed logins from many forwarded addresses leave a correct login
    from yet another address alone (the per-address limit counts each client, not the proxy)?"""
    client = app_factory(trusted_proxies=1, login_ip_limit="3 per minute").test_client()
    staff = make_staff()
    for i in range(6):
        assert (
            _token(client, f"203.0.113.{i + 1}", f"nobody{i}@example.org", "wrong password!").status_code
            == 401
        )
    assert _token(client, "198.51.100.7", staff.email, PASSWORD).status_code == 200


def test_hole6_trusted_proxy_audit_and_session_record_the_forwarded_address(app_factory):
    """Behind one trusted proxy, do the login's audit row and its session carry the client's address,
    not the proxy's?"""
    from engine.models.accounts import AuthSession

    client = app_factory(trusted_proxies=1).test_client()
    staff = make_staff()
    assert _token(client, "198.51.100.7", staff.email, PASSWORD).status_code == 200
    page = client.get("/login", environ_base={"REMOTE_ADDR": PROXY})
    token = page.get_data(as_text=True).split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    resp = _via_proxy(
        client,
        "198.51.100.8",
        "/login",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": token},
    )
    assert resp.status_code == 302
    ips = [e.ip for e in AuditEvent.objects(action="account_logged_in").order_by("seq")]
    assert ips == ["198.51.100.7", "198.51.100.8"]
    assert [s.ip for s in AuthSession.objects(account_id=staff.id)] == ["198.51.100.8"]


def test_hole6_trusted_proxy_signature_evidence_records_the_forwarded_address(app_factory):
    """Behind one trusted proxy, does a signed form's evidence name the signer's address?"""
    from tests.form_fills import VALID

    client = app_factory(trusted_proxies=1).test_client()
    admin = make_staff(roles=("org_admin",))
    h = api_login(client, admin.email)
    definition = json.loads((ROOT / "form_defs" / "consent_adult.json").read_text())
    assert (
        client.post(
            "/api/v1/forms",
            json={"key": "consent_adult", "kind": "intake", "title": "Consent", "definition": definition},
            headers=h,
        ).status_code
        == 201
    )
    assert client.post("/api/v1/forms/consent_adult/publish", headers=h).status_code == 201
    person = make_client(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    account = make_portal_account(client=person)
    bearer = _token(client, "198.51.100.9", account.email, PASSWORD).get_json()["token"]
    # A client signs only a form a task of theirs asks for (security #13): the task's completion seals it.
    from engine.models.forms import Submission
    from tests.form_requests import request_form

    task = request_form(person, "consent_adult")
    resp = _via_proxy(
        client,
        "198.51.100.9",
        f"/api/v1/tasks/{task.id}/complete",
        json={"data": VALID["consent_adult"]},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert resp.status_code == 200, resp.get_json()
    [sealed] = Submission.objects(client=person.id, status="completed")
    assert sealed.evidence.ip == "198.51.100.9"


def test_hole6_no_trusted_proxy_ignores_x_forwarded_for(app_factory):
    """With no trusted proxy (the default), is X-Forwarded-For ignored, so a client cannot pick its own
    address: neither to dodge the per-address limit nor to plant an address in the audit trail?"""
    assert config_mod.load({"PORTICO_SECRET_KEY": "x" * 40}).trusted_proxies == 0
    client = app_factory(trusted_proxies=0, login_ip_limit="3 per minute").test_client()
    staff = make_staff()
    codes = [
        _token(client, f"203.0.113.{i + 1}", f"nobody{i}@example.org", "wrong password!").status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    client = app_factory(trusted_proxies=0).test_client()
    assert _token(client, "198.51.100.7", staff.email, PASSWORD).status_code == 200
    assert [e.ip for e in AuditEvent.objects(action="account_logged_in", actor_id=str(staff.id))] == [PROXY]


def test_hole6_trusted_proxies_setting_is_checked():
    """Is a nonsense PORTICO_TRUSTED_PROXIES refused with a one-line reason?"""
    for bad in ("-1", "many", "50"):
        with pytest.raises(config_mod.ConfigError, match="PORTICO_TRUSTED_PROXIES must"):
            config_mod.load({"PORTICO_SECRET_KEY": "x" * 40, "PORTICO_TRUSTED_PROXIES": bad})


# --- hole 7: the return path after login -----------------------------------------------------------


def _login_with_next(client, next_value: str):
    from tests.helpers import csrf_token

    staff = make_staff()
    return client.post(
        "/login",
        data={
            "email": staff.email,
            "password": PASSWORD,
            "next": next_value,
            "csrf_token": csrf_token(client),
        },
    )


def _stays_on_site(location: str) -> bool:
    """Would a browser following this Location stay on https://portico.test? Resolved as browsers do
    (WHATWG URL): tabs and newlines are dropped and a backslash counts as a slash."""
    cleaned = "".join(c for c in location if c not in "\t\n\r").replace("\\", "/")
    return urlsplit(urljoin("https://portico.test/login", cleaned)).netloc == "portico.test"


def test_hole7_next_with_tab_is_not_an_open_redirect(client):
    """Does next=/<tab>/evil.example/steal send the browser home instead of to evil.example?"""
    resp = _login_with_next(client, "/\t/evil.example/steal")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/" and _stays_on_site(resp.headers["Location"])


def test_hole7_newline_in_next_is_not_a_500(app):
    """Is a newline (or other control character) in next answered with a redirect home, not a 500?"""
    for bad in ("/portal\r\nSet-Cookie: x=1", "/portal\n", "/a\x00b", "/a\x7fb"):
        resp = _login_with_next(app.test_client(), bad)
        assert resp.status_code == 302 and resp.headers["Location"] == "/", bad
    assert app.test_client().get("/login?next=%2Fportal%0A%2Fx").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/ /evil.example",
        "/\u3000/evil.example",
        "javascript:alert(1)",
        "/%0a/evil",
        "\t/evil",
        "/\x0c/evil.example",
        "http:/evil.example",
    ],
)
def test_hole7_other_tricks_go_home(target):
    """Do the usual open-redirect spellings all fall back to the default?"""
    from web.sessions import safe_next

    result = safe_next(target, "/")
    assert _stays_on_site(result)
    assert result == "/" or target == "/%0a/evil"  # percent-encoded stays a path on this site


def test_hole7_paths_on_this_site_still_come_back(app):
    """Does a real page (with a query and an encoded space) still come back after login?"""
    resp = _login_with_next(app.test_client(), "/staff/clients?q=Ada%20L&page=2")
    assert resp.headers["Location"] == "/staff/clients?q=Ada%20L&page=2"
    bounced = app.test_client().get("/staff/tasks/a b é")
    assert bounced.status_code == 302
    next_value = parse_qs(urlsplit(bounced.headers["Location"]).query)["next"][0]
    from web.sessions import safe_next

    assert safe_next(next_value, "") == "/staff/tasks/a%20b%20%C3%A9"


@settings_(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="/\\\t\n\r :.@%?#ab\x00\x0b\u3000\u2028\uff0f", max_size=24),
        st.builds(lambda a, b: "/" + a + "/" + b, st.text(max_size=4), st.text(max_size=8)),
    )
)
@example("//[")  # an unclosed IPv6 host: urlsplit raised, a 500 on the sign-in page (found by this test)
@example("//]a")
def test_hole7_safe_next_only_ever_answers_a_path_on_this_site(target):
    """Whatever string comes in, is the answer either the default or a bare path that a browser
    resolves to this site, and can it be sent as a Location header?"""
    from werkzeug.utils import redirect as wz_redirect

    from web.sessions import safe_next

    result = safe_next(target, "/home")
    assert result == "/home" or result == target
    parts = urlsplit(result)
    assert result.startswith("/") and not parts.scheme and not parts.netloc
    assert _stays_on_site(result)
    assert wz_redirect(result).headers["Location"] == result


# --- hole 9: wrong MFA codes are capped per account, whatever the address ---------------------------


def _browser_at_mfa_step(app, staff, address: str):
    """A browser that passed the password step from `address` and waits for its code."""
    from tests.helpers import csrf_token

    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    resp = browser.post(
        "/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(browser)}
    )
    assert resp.headers["Location"] == "/mfa/verify"
    return browser, csrf_token(browser, "/mfa/verify")


def _code(browser, token: str, code: str, address: str):
    browser.environ_base["REMOTE_ADDR"] = address
    return browser.post("/mfa/verify", data={"code": code, "csrf_token": token})


def _signed_in(browser) -> bool:
    return browser.get("/account/password").status_code == 200


def test_hole9_mfa_failures_void_pending_sign_in(app):
    """After MAX_FAILURES wrong codes from as many addresses, is every login waiting for a code void,
    so that not even the right code gets in without the password, and is the right code refused
    until the failures age out?"""
    from engine.models.accounts import AuthSession, StaffMember
    from engine.services.accounts import mfa
    from tests.helpers import enable_mfa, totp_code, wrong_totp_code

    staff = make_staff()
    secret = enable_mfa(staff)
    browser, token = _browser_at_mfa_step(app, staff, "192.0.2.1")
    other, other_token = _browser_at_mfa_step(app, staff, "192.0.2.99")
    wrong = wrong_totp_code(secret)
    for i in range(mfa.MAX_FAILURES - 1):
        assert _code(browser, token, wrong, f"198.51.100.{i + 1}").status_code == 401
    last = _code(browser, token, wrong, "198.51.100.200")
    assert last.status_code == 302 and last.headers["Location"] == "/login"
    assert "too many wrong codes" in browser.get("/login").get_data(as_text=True)
    assert AuthSession.objects(account_id=staff.id, mfa_passed=False).count() == 0
    # Both waiting logins are void: the right code now signs nobody in.
    for waiting, waiting_token in ((browser, token), (other, other_token)):
        _code(waiting, waiting_token, totp_code(secret), "192.0.2.50")
        assert not _signed_in(waiting)
    # The password again: the account still takes no code until the failures are FAILURE_WINDOW old.
    again, again_token = _browser_at_mfa_step(app, staff, "192.0.2.1")
    refused = _code(again, again_token, totp_code(secret), "192.0.2.1")
    assert refused.headers.get("Location") == "/login" and not _signed_in(again)
    aged = [at - mfa.FAILURE_WINDOW for at in StaffMember.objects.get(id=staff.id).totp_failures]
    StaffMember.objects(id=staff.id).update_one(set__totp_failures=aged)
    later, later_token = _browser_at_mfa_step(app, staff, "192.0.2.1")
    assert _code(later, later_token, totp_code(secret), "192.0.2.1").status_code == 302
    assert _signed_in(later)
    assert StaffMember.objects.get(id=staff.id).totp_failures == []


def test_hole9_api_token_mfa_failures_are_capped_per_account(app_factory):
    """Does the token endpoint stop taking codes for an account after MAX_FAILURES wrong ones from
    as many addresses, the right code included?"""
    from engine.services.accounts import mfa
    from tests.helpers import enable_mfa, totp_code, wrong_totp_code

    # A loose per-e-mail login limit, so that only the MFA cap can refuse the right code below.
    client = app_factory(login_limit="50 per minute").test_client()
    staff = make_staff()
    secret = enable_mfa(staff)

    def token_from(address: str, code: str):
        return client.post(
            "/api/v1/auth/token",
            json={"email": staff.email, "password": PASSWORD, "totp": code},
            environ_base={"REMOTE_ADDR": address},
        )

    codes = [
        token_from(f"198.51.100.{i + 1}", wrong_totp_code(secret)).get_json()["error"]["code"]
        for i in range(mfa.MAX_FAILURES)
    ]
    assert codes == ["mfa_invalid"] * (mfa.MAX_FAILURES - 1) + ["mfa_locked"]
    right = token_from("203.0.113.5", totp_code(secret))
    assert right.status_code == 401 and right.get_json()["error"]["code"] == "mfa_locked"


def test_hole9_a_right_code_clears_the_count(app_factory):
    """Does a right code forget earlier wrong ones, so a user who mistypes now and then is never locked?"""
    from engine.services.accounts import mfa
    from tests.helpers import enable_mfa, totp_code, wrong_totp_code

    client = app_factory(login_limit="50 per minute").test_client()
    staff = make_staff()
    secret = enable_mfa(staff)
    body = {"email": staff.email, "password": PASSWORD}
    for step in (0, 1):
        for _ in range(mfa.MAX_FAILURES - 1):
            resp = client.post("/api/v1/auth/token", json={**body, "totp": wrong_totp_code(secret)})
            assert resp.get_json()["error"]["code"] == "mfa_invalid"
        assert (
            client.post("/api/v1/auth/token", json={**body, "totp": totp_code(secret, step)}).status_code
            == 200
        )


# --- hole 8: activation links stay out of logs and out of our copy of sent mail ---------------------


def _activation_mail(ann) -> tuple[str, str]:
    """Mail Ann her activation link (as the intake's invitation does); returns (link, raw token) as
    her mailbox (the development sink) received them."""
    from engine.models.mail import MailMessage
    from engine.services.intake import intake_operations
    from engine.services.messaging import mail

    intake_operations.mail_reminder(ann, ["Intake questionnaire"], key="hole8")
    received = MailMessage.objects(direction="sink").get()
    [link] = [found for found in mail.links(received.text) if "/portal/activate" in found]
    return link, parse_qs(urlsplit(link).query)["token"][0]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_hole8_activation_token_not_in_access_log(settings, clean_db, tmp_path):
    """Does `portico web` (gunicorn) log an activation request by its path only, without the token?"""
    import os
    import signal
    import subprocess
    import sys

    import requests

    from engine import embedded

    port = embedded.free_port()
    log = tmp_path / "web.log"
    env = {**os.environ, "PORTICO_PORT": str(port), "PORTICO_LOG_LEVEL": "INFO"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "web", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        embedded.wait_for_port(port, timeout=60)
        secret = "hole8-secret-token-0123456789abcdef"
        page = requests.get(f"http://127.0.0.1:{port}/portal/activate?token={secret}", timeout=30)
        assert page.status_code == 200 and secret in page.text  # the form still carries it, in the POST body
        assert requests.get(f"http://127.0.0.1:{port}/healthz?probe={secret}", timeout=30).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    text = log.read_text()
    assert '"GET /portal/activate HTTP/1.1" 200' in text and '"GET /healthz HTTP/1.1" 200' in text
    assert secret not in text and "token=" not in text


def test_hole8_development_server_access_log_has_no_query_string(app, caplog):
    """Does the development server (werkzeug) log the path of an activation request without the token?"""
    import logging
    import threading

    import requests
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            resp = requests.get(
                f"http://127.0.0.1:{server.port}/portal/activate?token=hole8-dev-secret", timeout=30
            )
            assert resp.status_code == 200
    finally:
        server.shutdown()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /portal/activate HTTP/1.1" in line for line in lines), lines
    assert not any("hole8-dev-secret" in line for line in lines)


def test_hole8_stored_mail_has_no_live_link(client):
    """Once an activation mail is sent, does our stored copy (and nothing else in the database but the
    development sink, which stands for her mailbox) hold the token, while her link still works?"""
    from engine import db
    from engine.models.mail import MailMessage

    ann = make_client(first_name="Ann", email="ann@example.org")
    link, raw = _activation_mail(ann)
    sent = MailMessage.objects(direction="out").get()
    assert sent.status == "sent"
    assert raw not in sent.text and raw not in sent.html
    assert f"{urlsplit(link).path}?" in sent.text  # where the link went, for the record
    database = db.get_db()
    for name in database.list_collection_names():
        for doc in database[name].find():
            if name == MailMessage._get_collection_name() and doc["direction"] == "sink":
                continue
            assert raw not in str(doc), f"{name} holds a live activation token"
    ok = client.post("/api/v1/portal/activate", json={"token": raw, "password": "a long portal password 42"})
    assert ok.status_code == 200, ok.get_json()


def test_hole8_dev_mail_page_still_shows_the_live_link(client):
    """Does /dev/mail (development only: the demo's stand-in for the recipient's mailbox) still show
    the working activation link?"""
    from engine.models.mail import MailMessage
    from tests.helpers import login_as

    ann = make_client(first_name="Ann", email="ann@example.org")
    link, _raw = _activation_mail(ann)
    staff = make_staff(roles=("org_admin",))
    login_as(client, staff.email)
    received = MailMessage.objects(direction="sink").get()
    page = client.get(f"/dev/mail/{received.id}").get_data(as_text=True)
    assert link.replace("&", "&amp;") in page


def test_hole8_redact_links_keeps_plain_links_and_cuts_queries():
    """Are plain links kept as they are, and every query string and fragment (in text or HTML) cut?"""
    from engine.services.messaging.mail import REDACTED, redact_links

    text = (
        "Sign in: https://p.example/portal/tasks\n"
        "Set your password: https://p.example/portal/activate?token=abc-123&x=1\n"
        '<a href="https://p.example/r#t=zzz">go</a>'
    )
    redacted = redact_links(text)
    assert "https://p.example/portal/tasks\n" in redacted
    assert f"https://p.example/portal/activate?{REDACTED}\n" in redacted
    assert f'href="https://p.example/r?{REDACTED}"' in redacted
    assert "abc-123" not in redacted and "zzz" not in redacted
