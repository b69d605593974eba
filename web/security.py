"""Access declarations. Every endpoint declares who may call it; undeclared = denied.

    @public                      # anyone, logged in or not
    @access("authenticated")     # any logged-in staff member or portal account
    @access("staff")             # any staff member
    @access("portal")            # any portal account
    @access("staff:portal.invite")   # staff holding that permission

Object-level checks still happen in the engine guards (get_client_for & co.);
the declaration is the first gate, enforced in one before_request hook.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, request

from engine.authz import ANONYMOUS, PERMISSIONS, Actor
from engine.errors import Forbidden, NotAuthenticated

ATTR = "__portico_access__"
AUDIENCES = ("public", "authenticated", "staff", "portal")


def _mark(fn: Callable, value: str) -> Callable:
    setattr(fn, ATTR, value)
    return fn


def public(fn: Callable) -> Callable:
    return _mark(fn, "public")


def access(rule: str) -> Callable[[Callable], Callable]:
    audience, _, perm = rule.partition(":")
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience in access rule {rule!r}")
    if perm and perm not in PERMISSIONS:
        raise ValueError(f"undeclared permission in access rule {rule!r}")
    return lambda fn: _mark(fn, rule)


def declared_rule(endpoint: str, method: str) -> str | None:
    """The access rule declared for an endpoint and HTTP method, or None."""
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return None
    rule = getattr(view, ATTR, None)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        rule = getattr(handler, ATTR, None) or getattr(view_class, ATTR, None) or rule
    return rule


def current_actor() -> Actor:
    return getattr(g, "actor", ANONYMOUS)


def enforce(actor: Actor) -> None:
    """Raise unless the current endpoint's declaration admits `actor`."""
    if request.endpoint is None or request.method == "OPTIONS":
        return  # 404/405 are answered by Flask itself
    if request.endpoint == "static" or request.endpoint.endswith(".static"):
        return
    rule = declared_rule(request.endpoint, request.method)
    if rule is None:
        # Deny by default; tests/web/test_access_declared.py keeps this from shipping.
        raise Forbidden(f"endpoint {request.endpoint} declares no access rule")
    if rule == "public":
        return
    if actor.kind == "anonymous":
        raise NotAuthenticated()
    audience, _, perm = rule.partition(":")
    if actor.is_service:
        _admit_service(actor, audience, perm)
        return
    if audience == "staff" and not actor.is_staff:
        raise Forbidden("staff only")
    if audience == "portal" and not actor.is_portal:
        raise Forbidden("portal accounts only")
    if perm:
        actor.require(perm)


def _admit_service(actor: Actor, audience: str, perm: str) -> None:
    """A service token reaches routes that name a permission it holds; the other staff and signed-in
    routes read client records, so they need clients.view_all (a token has no assigned clients). Portal
    routes, personal ones (/me, password, logout) and pages are a person's, never a token's."""
    if audience == "portal" or not request.path.startswith("/api/") or request.path.startswith(_PERSONAL):
        raise Forbidden("not for service tokens")
    actor.require(perm or "clients.view_all")


_PERSONAL = ("/api/v1/me", "/api/v1/auth/")
