"""Browser sessions: server-side, revocable, timed out; CSRF on cookie-authenticated changes."""

from __future__ import annotations

from datetime import timedelta

from engine.models import utcnow
from engine.models.accounts import AuthSession, StaffMember
from tests.helpers import (
    PASSWORD,
    api_login,
    csrf_token,
    login_as,
    make_client,
    make_portal_account,
    make_staff,
)

COOKIE = "portico_session"


def test_login_form_opens_a_session(client):
    """Does logging in through the form authenticate later API calls with the cookie alone?"""
    staff = make_staff()
    login_as(client, staff.email)
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.get_json()["email"] == staff.email


def test_cookie_holds_only_a_random_id_stored_hashed(client):
    """Is the session row keyed by a hash, so the database never holds the cookie's secret?"""
    staff = make_staff()
    login_as(client, staff.email)
    row = AuthSession.objects.get(account_id=staff.id)
    with client.session_transaction() as sess:
        sid = sess["sid"]
    assert sid != row.token_hash and len(row.token_hash) == 64 and sid not in row.token_hash


def test_replayed_cookie_after_logout_is_refused(client):
    """Does a session cookie saved before logout get 401 on the API and a login redirect on pages afterwards?"""
    staff = make_staff()
    login_as(client, staff.email)
    saved = client.get_cookie(COOKIE).value
    token = csrf_token(client, "/account/password")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    client.set_cookie(COOKIE, saved)
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "not_authenticated"
    page = client.get("/account/password")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")


def test_idle_session_times_out(client):
    """Is a session unused for longer than PORTICO_SESSION_IDLE_MINUTES refused and deleted?"""
    staff = make_staff()
    login_as(client, staff.email)
    AuthSession.objects(account_id=staff.id).update(set__last_seen_at=utcnow() - timedelta(minutes=31))
    assert client.get("/api/v1/me").status_code == 401
    assert AuthSession.objects(account_id=staff.id).count() == 0


def test_session_has_an_absolute_lifetime(client):
    """Is a busy session still ended once it is older than PORTICO_SESSION_MAX_HOURS?"""
    staff = make_staff()
    login_as(client, staff.email)
    AuthSession.objects(account_id=staff.id).update(set__expires_at=utcnow() - timedelta(seconds=1))
    assert client.get("/api/v1/me").status_code == 401


def test_last_seen_is_not_written_on_every_request(client):
    """Is last_seen_at refreshed only when it is older than a minute?"""
    staff = make_staff()
    login_as(client, staff.email)
    before = AuthSession.objects.get(account_id=staff.id).last_seen_at
    client.get("/api/v1/me")
    assert AuthSession.objects.get(account_id=staff.id).last_seen_at == before
    AuthSession.objects(account_id=staff.id).update(set__last_seen_at=utcnow() - timedelta(minutes=2))
    client.get("/api/v1/me")
    assert AuthSession.objects.get(account_id=staff.id).last_seen_at > utcnow() - timedelta(seconds=30)


def test_disabling_an_account_ends_its_session(client):
    """Is the session of an account that gets disabled refused on its next request?"""
    staff = make_staff()
    login_as(client, staff.email)
    StaffMember.objects(id=staff.id).update_one(set__disabled=True)
    assert client.get("/api/v1/me").status_code == 401


def test_csrf_missing_on_cookie_post_is_400_but_bearer_needs_none(client):
    """Is a cookie-authenticated POST without the CSRF token refused with 400, while a Bearer POST passes?"""
    staff = make_staff()
    csrf = login_as(client, staff.email)
    resp = client.post("/api/v1/auth/logout")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed"
    assert client.get("/api/v1/me").status_code == 200  # still logged in
    bearer = api_login(app_client := client.application.test_client(), staff.email)
    assert app_client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    assert client.post("/api/v1/auth/logout", headers=csrf).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_login_form_without_csrf_is_400(client):
    """Is the login form itself CSRF-protected (no login CSRF)?"""
    staff = make_staff()
    resp = client.post("/login", data={"email": staff.email, "password": PASSWORD})
    assert resp.status_code == 400


def test_password_change_ends_other_sessions_and_tokens(client):
    """Does changing the password end every other session and every token, while the changing browser stays in?"""
    staff = make_staff()
    csrf = login_as(client, staff.email)
    other = client.application.test_client()
    login_as(other, staff.email)
    token = api_login(client.application.test_client(), staff.email)
    new = "a brand new passphrase"
    resp = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": new, "password_confirm": new},
        headers=csrf,
    )
    assert resp.status_code == 302
    assert other.get("/api/v1/me").status_code == 401
    assert client.application.test_client().get("/api/v1/me", headers=token).status_code == 401
    assert client.get("/api/v1/me").status_code == 200
    api_login(client.application.test_client(), staff.email, new)


def test_password_change_with_wrong_current_password_names_the_field(client):
    """Does a wrong current password answer 422 naming current_password, and change nothing?"""
    staff = make_staff()
    headers = api_login(client, staff.email)
    resp = client.post(
        "/api/v1/auth/password",
        json={"current_password": "not it at all", "password": "x" * 12},
        headers=headers,
    )
    assert resp.status_code == 422 and "current_password" in resp.get_json()["error"]["details"]
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_root_redirects_to_the_right_home(client):
    """Does "/" send staff to /staff, portal accounts to /portal and strangers to /login?"""
    assert client.get("/").headers["Location"] == "/login"
    staff = make_staff()
    login_as(client, staff.email)
    assert client.get("/").headers["Location"] == "/staff"
    portal_browser = client.application.test_client()
    login_as(portal_browser, make_portal_account(client=make_client()).email)
    assert portal_browser.get("/").headers["Location"] == "/portal"


def test_login_does_not_redirect_off_site(client):
    """Is a `next` pointing at another host ignored after login?"""
    staff = make_staff()
    token = csrf_token(client)
    resp = client.post(
        "/login",
        data={"email": staff.email, "password": PASSWORD, "next": "//evil.example", "csrf_token": token},
    )
    assert resp.headers["Location"] == "/"


def test_failed_login_page_announces_the_error(client):
    """Does a refused login re-render the form with an announced error and the e-mail kept?"""
    token = csrf_token(client)
    resp = client.post(
        "/login", data={"email": "who@example.org", "password": "nope nope nope", "csrf_token": token}
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert 'role="alert"' in html and "email or password is not correct" in html
    assert 'value="who@example.org"' in html and 'aria-invalid="true"' in html


def test_logging_in_again_replaces_the_session(client):
    """Does a second login in the same browser end the first session instead of keeping both?"""
    staff = make_staff()
    login_as(client, staff.email)
    login_as(client, staff.email)
    assert AuthSession.objects(account_id=staff.id).count() == 1


def test_flask_login_current_user_follows_the_server_side_session(app):
    """Does flask-login's current_user name the account of a live session, and nobody after logout?"""
    from flask_login import current_user

    from tests.helpers import login_as, make_staff

    member = make_staff(roles=("therapist",), email="fl@example.org")
    web = app.test_client()
    headers = login_as(web, "fl@example.org", "correct horse battery")
    with web:
        web.get("/api/v1/me")
        assert current_user.is_authenticated
        assert current_user.get_id() == f"staff:{member.id}"
    web.post("/logout", headers=headers)
    with web:
        web.get("/api/v1/me")
        assert not current_user.is_authenticated
