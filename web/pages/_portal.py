"""What the portal's pages share: the active profile (chosen with the switcher on the portal home,
`g.active_client_id`) and the guard that the profile's link grants the page's right."""

from __future__ import annotations

from flask import g

from engine.errors import NotFound
from engine.services.accounts import accounts
from web.security import current_actor


def active_profile(permission: str) -> dict:
    """The active profile, if its link grants `permission`; raises NotFound otherwise."""
    me = accounts.describe_me(current_actor(), g.active_client_id)
    active = next((p for p in me["profiles"] if p["client_id"] == me["active_profile_id"]), None)
    if active is None or not active["permissions"].get(permission):
        raise NotFound("this page is not available for the profile you are using")
    return dict(active, switchable=len(me["profiles"]) > 1)
