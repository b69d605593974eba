"""Who is calling: bearer token or server-side session → g.actor; CSRF; login throttling.

Per request, in this order:
  1. `Authorization: Bearer <token>` → that token's account, or for a service token (pst_…) the
     integration itself (engine.services.integrations.service_tokens). Such requests carry
     no ambient authority (a browser never adds the header by itself), so they
     skip CSRF and ignore any cookie.
  2. Otherwise the signed Flask session cookie's random `sid` → AuthSession
     (looked up by SHA-256). A session still waiting for its MFA step
     authenticates nothing; it only lets /mfa/* finish the login.
  3. CSRF (Flask-WTF): every state change on a page, and every state change on
     /api/ made with a session cookie, needs the token (form field or X-CSRFToken).

g.actor (engine Actor), g.auth_session (AuthSession or None), g.active_client_id
(portal profile switcher), g.pending_account (password ok, MFA not yet).

flask-login carries the identity to views and templates (`current_user`), fed by
its request_loader from the resolution above. Its own "user id in a signed
cookie" scheme is not used: a signed cookie alone cannot be revoked, so
logout, disable and password change could not end a session.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urlencode, urlsplit

from flask import Flask, current_app, g, redirect, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.datastructures import ImmutableMultiDict

from engine.authz import ANONYMOUS
from engine.errors import NotAuthenticated
from engine.models import organization
from engine.services.accounts import accounts, tokens
from engine.services.integrations import service_tokens
from web import errors

SESSION_KEY = "sid"

csrf = CSRFProtect()
login_manager = LoginManager()
# Storage comes from each app's config (RATELIMIT_STORAGE_URI = settings.redis_url).
limiter = Limiter(key_func=get_remote_address)


def init_sessions(app: Flask) -> None:
    settings = app.config["PORTICO"]
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in _resolve, once we know how the caller authenticated
        # Its HTTPS-only Referer check cannot pass: every page sends Referrer-Policy: no-referrer, so
        # browsers send no Referer, and behind a trusted proxy (PORTICO_TRUSTED_PROXIES) requests are
        # HTTPS. The token, SameSite=Lax cookies and HSTS are the defence.
        WTF_CSRF_SSL_STRICT=False,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_STRATEGY="moving-window",  # a fixed window would let 2×limit through across its edge
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_KEY_PREFIX="portico",
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # the server-side session row is the protection
    login_manager.request_loader(_login_user)
    app.before_request(_resolve)
    app.teardown_request(lambda _exc: organization.close_request_scope())
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(NotAuthenticated, _not_authenticated)
    app.context_processor(lambda: {"actor": g.get("actor", ANONYMOUS)})


class PorticoUser(UserMixin):
    """flask-login's view of the calling account (a StaffMember or PortalAccount)."""

    def __init__(self, actor):
        self.actor = actor
        self.account = actor.account

    def get_id(self) -> str:
        return f"{self.actor.kind}:{self.actor.id}"

    @property
    def is_active(self) -> bool:
        return not self.account.disabled


def _login_user(_request):
    actor = g.get("actor", ANONYMOUS)
    return PorticoUser(actor) if actor.kind in ("staff", "portal") else None


def _client_info() -> tuple[str, str]:
    return request.remote_addr or "", request.headers.get("User-Agent", "")[:300]


def bearer_token() -> str | None:
    """The raw token of an `Authorization: Bearer` header, or None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _resolve() -> None:
    organization.open_request_scope()  # the organization is read at most once per request
    g.actor = ANONYMOUS
    g.auth_session = None
    g.active_client_id = None
    g.pending_account = None
    if request.endpoint == "static" or (request.endpoint or "").endswith(".static"):
        return
    ip, user_agent = _client_info()
    raw = bearer_token()
    if raw is not None and raw.startswith(service_tokens.PREFIX):
        g.actor = service_tokens.resolve(raw, ip=ip, user_agent=user_agent) or ANONYMOUS
        return
    if raw is not None:
        found = tokens.resolve_token(raw)
        if found is not None:
            g.actor = accounts.actor_for(found[1], ip=ip, user_agent=user_agent)
        return
    sid = session.get(SESSION_KEY)
    if sid:
        found = tokens.resolve_session(sid)
        if found is None:
            session.pop(SESSION_KEY, None)
        else:
            row, account = found
            g.auth_session = row
            if row.mfa_passed:
                g.actor = accounts.actor_for(account, ip=ip, user_agent=user_agent)
                g.active_client_id = row.active_client_id
            else:
                g.pending_account = account
    if not request.path.startswith("/api/") or g.auth_session is not None:
        csrf.protect(apply_exemptions=True)


# --- used by the login views -----------------------------------------------------


def begin_browser_session(raw_sid: str) -> None:
    """Put a fresh session id in the cookie; drop everything the old cookie held (fixation, CSRF token)."""
    old = session.get(SESSION_KEY)
    if old:
        tokens.close_session(old)  # logging in again replaces the previous session, not piles up next to it
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = raw_sid


def end_browser_session() -> str | None:
    """Clear the cookie session; returns the session id it held."""
    sid = session.get(SESSION_KEY)
    session.clear()
    return sid


_MAX_NEXT = 2000


def safe_next(target: object, default: str = "/") -> str:
    """A path on this site to go to after login (every `next` passes here); anything else is `default`.

    Browsers forgive a lot in a Location header: they drop tabs and newlines (`/`, a tab, `/evil`
    becomes `//evil`: another host), read a backslash as a slash, and a newline cannot be sent at
    all (a 500). So only printable ASCII without spaces or backslashes passes, and it must parse as
    a bare path: no scheme, no host, not `//`. Paths this app builds are percent-encoded, so
    nothing real is lost.
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > _MAX_NEXT:
        return default
    if "\\" in target or any(not "!" <= char <= "~" for char in target):
        return default
    try:
        parts = urlsplit(target)
    except ValueError:  # "//[" is an unclosed IPv6 host to urlsplit (found by the property test)
        return default
    if parts.scheme or parts.netloc or parts.path.startswith("//"):
        return default
    return target


# --- login throttling ------------------------------------------------------------


def _login_email_key() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form
    email = accounts.normalize_email(data.get("email") if isinstance(data, dict | ImmutableMultiDict) else "")
    return "login-email:" + (email or "-")


def _attempt_failed(_response) -> bool:
    # Only refused logins count: a practice behind one NAT logging in at 9am is not an attack.
    return bool(g.get("login_failed"))


def note_login_failed() -> None:
    """Views call this when a login attempt is refused, so the throttles count it."""
    g.login_failed = True


_MESSAGE = "too many login attempts; wait a minute and try again"


def login_throttled(view):
    """Decorator for login views: PORTICO_LOGIN_LIMIT per e-mail, the looser PORTICO_LOGIN_IP_LIMIT per IP."""
    per_email = limiter.shared_limit(
        lambda: current_app.config["PORTICO"].login_limit,
        scope="login-email",
        key_func=_login_email_key,
        deduct_when=_attempt_failed,
        error_message=_MESSAGE,
    )
    per_ip = limiter.shared_limit(
        lambda: current_app.config["PORTICO"].login_ip_limit,
        scope="login-ip",
        key_func=get_remote_address,
        deduct_when=_attempt_failed,
        error_message=_MESSAGE,
    )
    return per_ip(per_email(view))


_RESET_MESSAGE = "too many password reset requests; wait a while and try again"


def reset_throttled(view):
    """Decorator for "forgot password" views: every request counts (each may send a mail), per e-mail
    address (PORTICO_PASSWORD_RESET_LIMIT) and per IP (PORTICO_LOGIN_IP_LIMIT). An unknown address is
    throttled exactly like a known one, so the throttle reveals nothing either."""
    per_email = limiter.shared_limit(
        lambda: current_app.config["PORTICO"].password_reset_limit,
        scope="reset-email",
        key_func=_login_email_key,
        methods=["POST"],
        error_message=_RESET_MESSAGE,
    )
    per_ip = limiter.shared_limit(
        lambda: current_app.config["PORTICO"].login_ip_limit,
        scope="reset-ip",
        key_func=get_remote_address,
        methods=["POST"],
        error_message=_RESET_MESSAGE,
    )
    return per_ip(per_email(view))


# --- error responses owned by this module ----------------------------------------


def _csrf_error(exc: CSRFError):
    return errors.error_response(400, "csrf_failed", f"{exc.description} Reload the page and try again.")


def _not_authenticated(exc: NotAuthenticated):
    """API: the JSON error. Pages: to the login (or the pending MFA step), coming back afterwards."""
    if errors.wants_json():
        resp = errors.error_response(exc.status, exc.code, exc.message, exc.details)
        resp.headers["WWW-Authenticate"] = 'Bearer realm="portico"'
        return resp
    if g.get("pending_account") is not None:
        return redirect("/mfa/verify" if g.pending_account.mfa_enabled else "/mfa/setup")
    # request.path is decoded: quote it again, so a path with spaces or accents survives safe_next.
    query = request.query_string.decode("latin-1")
    back = quote(request.path) + (f"?{query}" if query else "")
    return redirect("/login?" + urlencode({"next": back}))
