"""API: bearer tokens (log in / log out), password change and recovery, and GET /me."""

from __future__ import annotations

import marshmallow as ma
from flask import g, request
from flask_smorest import Blueprint

from engine.errors import NotAuthenticated
from engine.services.accounts import accounts, password_reset
from web import sessions
from web.security import access, current_actor, public

blp = Blueprint("auth_api", __name__, url_prefix="/api/v1", description="Log in and out; who am I")


class TokenRequest(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(max=1024))
    totp = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=16),
        metadata={"description": "one-time code when MFA is on for the account"},
    )


class TokenResponse(ma.Schema):
    token = ma.fields.String(metadata={"description": "send as `Authorization: Bearer <token>`"})
    expires_at = ma.fields.DateTime()


class PasswordChange(ma.Schema):
    current_password = ma.fields.String(required=True, validate=ma.validate.Length(max=1024))
    password = ma.fields.String(required=True, validate=ma.validate.Length(max=1024))


class ResetRequest(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(max=254))


class ResetAnswer(ma.Schema):
    message = ma.fields.String(metadata={"description": "the same answer for every address"})


class ResetComplete(ma.Schema):
    token = ma.fields.String(
        required=True,
        validate=ma.validate.Length(max=200),
        metadata={"description": "the token of the mailed link"},
    )
    password = ma.fields.String(required=True, validate=ma.validate.Length(max=1024))


class Profile(ma.Schema):
    client_id = ma.fields.String()
    name = ma.fields.String()
    relationship = ma.fields.String()
    is_guardian = ma.fields.Boolean()
    permissions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean())


class Me(ma.Schema):
    kind = ma.fields.String(metadata={"description": "staff or portal"})
    id = ma.fields.String()
    email = ma.fields.String()
    name = ma.fields.String()
    mfa_enabled = ma.fields.Boolean()
    roles = ma.fields.List(ma.fields.String())
    permissions = ma.fields.List(
        ma.fields.String(), metadata={"description": "effective permission codes (staff)"}
    )
    profiles = ma.fields.List(ma.fields.Nested(Profile), metadata={"description": "client profiles (portal)"})
    active_profile_id = ma.fields.String(allow_none=True)


def _client_info() -> dict:
    return {"ip": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")[:300]}


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@sessions.login_throttled
@public
def issue_token(body):
    """Exchange e-mail + password (+ TOTP code) for a bearer token.

    401 codes: invalid_credentials, mfa_required, mfa_invalid, mfa_setup_required. 429 when throttled.
    """
    try:
        raw, expires_at = accounts.issue_api_token(
            body["email"], body["password"], body.get("totp"), **_client_info()
        )
    except NotAuthenticated as exc:
        if exc.code != "mfa_required":  # asking for the code is not a failed attempt
            sessions.note_login_failed()
        raise
    return {"token": raw, "expires_at": expires_at}


@blp.route("/auth/logout", methods=["POST"])
@blp.response(204)
@access("authenticated")
def logout():
    """End the bearer token (or the cookie session) this request came with."""
    raw = sessions.bearer_token()
    if raw is not None:
        accounts.revoke_api_token(current_actor(), raw)
    else:
        accounts.logout(sessions.end_browser_session() or "", **_client_info())
    return None


@blp.route("/auth/password", methods=["POST"])
@blp.arguments(PasswordChange)
@blp.response(204)
@access("authenticated")
def change_password(body):
    """Change your own password. Every session and token of yours ends, this one included
    (a browser session gets a fresh one). 422 with the wrong field."""
    browser = sessions.bearer_token() is None
    raw = accounts.change_password(
        current_actor(),
        body["current_password"],
        body["password"],
        reopen_session=browser,
        active_client_id=g.active_client_id,
    )
    if raw:
        sessions.begin_browser_session(raw)
    return None


@blp.route("/auth/password-reset", methods=["POST"])
@blp.arguments(ResetRequest)
@blp.response(202, ResetAnswer)
@sessions.reset_throttled
@public
def request_password_reset(body):
    """Forgot password: mail a single-use link (30 minutes) to the address if an account has it.

    The answer is the same for every address; the mail is sent by a worker. 429 when throttled.
    """
    return {"message": password_reset.request_reset(body["email"])}


@blp.route("/auth/password-reset/complete", methods=["POST"])
@blp.arguments(ResetComplete)
@blp.response(204)
@public
def complete_password_reset(body):
    """Set a new password with the mailed link's token. Every session and token of the account ends;
    sign in again afterwards. 422 names the token (invalid, used, expired) or the password."""
    password_reset.reset(body["token"], body["password"], **_client_info())
    return None


@blp.route("/me", methods=["GET"])
@blp.response(200, Me)
@access("authenticated")
def me():
    """Who am I: kind, id, e-mail, name; effective permissions (staff); client profiles and the active one (portal)."""
    return accounts.describe_me(current_actor(), g.active_client_id)
