"""Pages: log in, log out, forgotten password, MFA setup and verification, change password, and "/" to the right home."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session

from engine.errors import NotAuthenticated, ValidationFailed
from engine.services.accounts import accounts, mfa, password_reset
from web import sessions
from web.pages._flash import on_refusal
from web.security import access, current_actor, public

bp = Blueprint("auth", __name__)

HOMES = {"staff": "/staff", "portal": "/portal"}
NEXT_KEY = "after_login"


def _client_info() -> dict:
    return {"ip": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")[:300]}


def _home() -> str:
    return HOMES.get(current_actor().kind, "/login")


def _finish_login():
    return redirect(sessions.safe_next(session.pop(NEXT_KEY, None), "/"))


def continue_login(step: str | None, message: str):
    """After a login opened by other means than the login form (a reset or activation link): the pending
    MFA step, or home."""
    if step == "mfa_verify":
        flash(f"{message} Enter the code from your authenticator app to finish signing in.", "info")
        return redirect("/mfa/verify", 303)
    if step == "mfa_setup":
        flash(f"{message} Your account needs two-factor authentication. Set it up to continue.", "info")
        return redirect("/mfa/setup", 303)
    flash(message, "success")
    return redirect("/", 303)


@bp.get("/")
@public
def index():
    if g.pending_account is not None:
        return redirect("/mfa/verify" if g.pending_account.mfa_enabled else "/mfa/setup")
    return redirect(_home())


@bp.get("/login")
@public
def login_form():
    if current_actor().kind != "anonymous":
        return redirect(_home())
    return render_template(
        "auth/login.html",
        next=sessions.safe_next(request.args.get("next"), ""),
        email=request.args.get("email", "")[:254],
    )


@bp.post("/login")
@sessions.login_throttled
@public
def login_submit():
    email = request.form.get("email", "")
    try:
        raw, step = accounts.start_session(email, request.form.get("password", ""), **_client_info())
    except NotAuthenticated as exc:
        sessions.note_login_failed()
        return render_template(
            "auth/login.html",
            error=exc.message,
            email=email,
            next=sessions.safe_next(request.form.get("next"), ""),
        ), 401
    sessions.begin_browser_session(raw)
    session[NEXT_KEY] = sessions.safe_next(request.form.get("next"), "/")
    if step == "mfa_verify":
        return redirect("/mfa/verify")
    if step == "mfa_setup":
        flash("Your account needs two-factor authentication. Set it up to continue.", "info")
        return redirect("/mfa/setup")
    return _finish_login()


@bp.route("/password/forgot", methods=["GET", "POST"])
@sessions.reset_throttled
@public
def forgot_password():
    """Ask for a reset link: the same answer whether or not the address has an account."""
    if request.method == "GET":
        return render_template("auth/forgot.html", email=request.args.get("email", "")[:254], errors={})
    email = request.form.get("email", "")
    try:
        answer = password_reset.request_reset(email)
    except ValidationFailed as exc:
        return render_template("auth/forgot.html", email=email[:254], errors=exc.details), 422
    return render_template("auth/forgot.html", email=email[:254], errors={}, sent=answer)


@bp.route("/password/reset", methods=["GET", "POST"])
@public
def reset_password():
    """The mailed link's page: choose a new password; every other session ends and this browser signs in."""
    token = (request.values.get("token") or "")[:200]
    if request.method == "GET":
        try:
            password_reset.check_token(token)
        except ValidationFailed as exc:
            return render_template("auth/reset.html", token="", errors=exc.details), 410
        return render_template("auth/reset.html", token=token, errors={})
    if request.form.get("password", "") != request.form.get("confirm", ""):
        return render_template(
            "auth/reset.html", token=token, errors={"confirm": ["the two passwords differ"]}
        ), 422
    on_refusal(
        render=lambda exc: (render_template("auth/reset.html", token=token, errors=exc.details or {}), 422),
        catch=(ValidationFailed,),
    )
    account = password_reset.reset(token, request.form.get("password", ""), **_client_info())
    raw, step = accounts.open_login(account, via="password_reset", **_client_info())
    sessions.begin_browser_session(raw)
    return continue_login(step, "Your password is changed and every other session is signed out.")


@bp.get("/logout")
@public
def logout_form():
    return render_template("auth/logout.html")


@bp.post("/logout")
@public
def logout_submit():
    accounts.logout(sessions.end_browser_session() or "", **_client_info())
    flash("You are logged out.", "info")
    return redirect("/login")


def _mfa_code_key() -> str:
    account = g.pending_account or current_actor().account
    return f"mfa:{getattr(account, 'id', '')}:{request.remote_addr}"


# Six digits are guessable at speed: wrong codes are throttled per account and address.
_code_throttle = sessions.limiter.shared_limit(
    "5 per minute",
    scope="mfa-code",
    key_func=_mfa_code_key,
    methods=["POST"],
    deduct_when=lambda _r: bool(g.get("login_failed")),
    error_message="too many wrong codes; wait a minute and try again",
)


@bp.route("/mfa/verify", methods=["GET", "POST"])
@_code_throttle
@public
def mfa_verify():
    account = g.pending_account
    if account is None or not account.mfa_enabled:
        return redirect("/")
    if request.method == "GET":
        return render_template("auth/mfa_verify.html")
    try:
        accounts.complete_mfa(g.auth_session, account, request.form.get("code", ""), **_client_info())
    except NotAuthenticated as exc:
        sessions.note_login_failed()
        if exc.code == "mfa_locked":  # this login is void: back to the password
            sessions.end_browser_session()
            flash(exc.message, "error")
            return redirect("/login")
        return render_template("auth/mfa_verify.html", error=exc.message), 401
    return _finish_login()


@bp.route("/mfa/setup", methods=["GET", "POST"])
@public
def mfa_setup():
    """MFA setup: for a login that must set it up before finishing, or a signed-in user who wants it."""
    actor = current_actor()
    account = actor.account if actor.kind in ("staff", "portal") else g.pending_account
    if account is None:
        return redirect("/login?next=/mfa/setup")
    if account.mfa_enabled:
        return redirect("/mfa/verify" if g.pending_account is not None else "/")
    error = None
    if request.method == "POST":
        try:
            accounts.confirm_mfa_setup(
                account, request.form.get("code", ""), row=g.auth_session, **_client_info()
            )
        except ValidationFailed as exc:
            error = exc.message
        else:
            flash("Two-factor authentication is on.", "success")
            return _finish_login()
    setup = mfa.pending_setup(account) or mfa.begin_setup(account)
    return render_template(
        "auth/mfa_setup.html", setup=setup, error=error, required=g.pending_account is not None
    ), (400 if error else 200)


@bp.post("/mfa/disable")
@_code_throttle
@access("authenticated")
def mfa_disable():
    try:
        accounts.disable_mfa(current_actor(), request.form.get("code", ""))
    except ValidationFailed as exc:
        sessions.note_login_failed()
        return _password_page(errors={"mfa_code": exc.details["code"]})
    flash("Two-factor authentication is off.", "info")
    return redirect("/account/password")


def _password_page(errors: dict):
    account = current_actor().login
    return render_template(
        "auth/password.html",
        errors=errors,
        mfa_on=account.mfa_enabled,
        mfa_locked=mfa.policy_requires(account),
    ), (422 if errors else 200)


@bp.route("/account/password", methods=["GET", "POST"])
@access("authenticated")
def password():
    errors: dict = {}
    if request.method == "POST":
        form = request.form
        if form.get("password", "") != form.get("password_confirm", ""):
            errors = {"password_confirm": ["does not match the new password"]}
        else:
            try:
                raw = accounts.change_password(
                    current_actor(),
                    form.get("current_password", ""),
                    form.get("password", ""),
                    reopen_session=True,
                    active_client_id=g.active_client_id,
                )
            except ValidationFailed as exc:
                errors = exc.details or {}
            else:
                sessions.begin_browser_session(raw)
                flash("Your password is changed. Other devices have been signed out.", "success")
                return redirect("/")
    return _password_page(errors)
