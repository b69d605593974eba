"""Login throttling (Flask-Limiter on the real Redis): per account e-mail, and looser per IP."""

from __future__ import annotations

from engine import config as config_mod
from tests.helpers import PASSWORD, csrf_token, make_staff


def _token(client, email, password):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def test_sixth_wrong_password_in_a_minute_is_429(client):
    """Is the 6th wrong password for one account within a minute answered 429 with the error shape and Retry-After?"""
    staff = make_staff()
    for _ in range(5):
        assert _token(client, staff.email, "wrong password!").status_code == 401
    resp = _token(client, staff.email, "wrong password!")
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) > 0
    # Even the right password waits now: the throttle answers before the password is checked.
    assert _token(client, staff.email, PASSWORD).status_code == 429


def test_throttle_is_per_account_and_shared_by_page_and_api(client):
    """Do failures on the login page count for the same account's API logins, and leave other accounts alone?"""
    staff, other = make_staff(), make_staff()
    for _ in range(5):
        resp = client.post(
            "/login",
            data={"email": staff.email, "password": "wrong password!", "csrf_token": csrf_token(client)},
        )
        assert resp.status_code == 401
    assert _token(client, staff.email.upper(), PASSWORD).status_code == 429
    assert _token(client, other.email, PASSWORD).status_code == 200


def test_successful_logins_do_not_count(client):
    """Are only refused attempts counted, so six good logins in a row all succeed?"""
    staff = make_staff()
    for _ in range(6):
        assert _token(client, staff.email, PASSWORD).status_code == 200


def test_per_ip_limit_spans_accounts(settings, clean_db):
    """Does one IP trying many different e-mails hit the per-IP limit?"""
    from web.app import create_app

    app = create_app(settings.with_(login_ip_limit="3 per minute"))
    try:
        client = app.test_client()
        codes = [_token(client, f"nobody{i}@example.org", "wrong password!").status_code for i in range(4)]
        assert codes == [401, 401, 401, 429]
    finally:
        config_mod.install(settings)
