"""Security headers on every response: CSP, framing, sniffing, referrer, caching, HSTS.

Registered from web/app.py with `install(app)`. Why each value:
- CSP: scripts only from our own origin (no inline script anywhere in web/templates;
  survey-js-ui and bpmn-js are served from /static/vendor). Styles allow 'unsafe-inline'
  because survey-js-ui and bpmn-js write style attributes and a few templates size
  signature images inline; a style cannot run code. Images allow data:/blob: for the
  signature pad and file previews, which stay in the browser.
- frame-ancestors 'none' (and X-Frame-Options DENY for old browsers): no clickjacking.
- Cache-Control no-store on every page and API answer: they carry health information
  and must not stay in shared or browser caches. Static files keep normal caching.
- HSTS only in production, where Portico is served over TLS; a development server on
  http://127.0.0.1 must not pin a browser to https for localhost.
"""

from __future__ import annotations

from flask import Flask, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The portal's pay page with Stripe's Payment Element (only when Stripe keys are set, only that page):
# Stripe.js from js.stripe.com, its card fields in frames from js.stripe.com (hooks.stripe.com for a
# bank's 3-D Secure page), its calls to api.stripe.com; as Stripe documents for Stripe.js, nothing more.
STRIPE_CSP = (
    CSP.replace("script-src 'self'", "script-src 'self' https://js.stripe.com")
    .replace("connect-src 'self'", "connect-src 'self' https://api.stripe.com")
    .replace(
        "object-src 'none'", "frame-src https://js.stripe.com https://hooks.stripe.com; object-src 'none'"
    )
)
HSTS = "max-age=31536000; includeSubDomains"
ALWAYS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def allow_stripe(response):
    """Let this one response load Stripe.js (the pay page with Stripe keys set); every other keeps CSP."""
    response.headers["Content-Security-Policy"] = STRIPE_CSP
    return response


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def install(app: Flask) -> None:
    """Add the headers to every response and make every cookie HttpOnly, SameSite and (in production) Secure."""
    production = app.config["PORTICO"].production
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=production,
    )

    @app.after_request
    def _security_headers(response):
        for name, value in ALWAYS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if not _is_static() and "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response
