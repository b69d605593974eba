"""Server-rendered pages (Jinja). One module per area, each exposing `bp`, listed in
web/app.py PAGE_BLUEPRINTS."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from pymongo.errors import PyMongoError

from engine.authz import PERMISSIONS
from engine.models.clients import Client
from engine.models.organization import Organization
from engine.services.practice.settings import duration_words, org_zone
from web.pages import _confirm


def practice_brand() -> dict:
    """The practice's name and whether it has a logo, for the header of every page.

    The error page also shows the header, and may be rendering because the database is down: then
    the header says Portico rather than failing a second time.
    """
    try:
        org = Organization.get()
    except PyMongoError:
        return {"name": "Portico", "logo": False}
    return {"name": org.name, "logo": bool(org.logo_file_id)}


def local_time(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A stored time (UTC; naive ones are UTC too) shown in the practice's time zone."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(Organization.get().timezone or "UTC")).strftime(fmt)


def local_when(value: str | datetime, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A time (ISO text or a datetime; stored times without a zone are UTC) in the practice's time zone,
    with the weekday: appointments, messages, invoices."""
    if not value:
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(org_zone()).strftime(fmt)


def money(cents: int, currency: str = "usd") -> str:
    """An amount in cents as people read it: $1,234.50."""
    symbol = {"usd": "$", "cad": "CA$", "aud": "A$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{(cents or 0) / 100:,.2f}"


def client_name(client_id) -> str:
    """A client's name where a page would otherwise show the id (the instance monitor)."""
    client = Client.objects(id=client_id).only("first_name", "last_name", "preferred_name").first()
    return client.display_name if client else "a client no longer on file"


def install_globals(app: Flask) -> None:
    """What every page's template may use: the practice's brand in the header, `local` for times."""
    app.jinja_env.globals["practice_brand"] = practice_brand
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.filters["local_when"] = local_when
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["duration_words"] = duration_words  # "P3D" -> "3 days"
    # Pages that leave out a control for want of a permission name it by its title (templates/_permission.html).
    app.add_template_global(lambda code: PERMISSIONS[code], "permission_title")
    app.jinja_env.filters["permission_title_filter"] = lambda code: PERMISSIONS.get(code, code)
    app.add_template_global(client_name, "client_name")
    _confirm.install(app)  # the confirm step's sentences (booking, cancelling, voiding)
