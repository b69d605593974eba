"""The practice's set-up pages: the first-run checklist, the set-up form (name, contact, time zone,
cancellation policy, locations, service types), the logo, and the logo itself for every page's header."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from engine.errors import ValidationFailed
from engine.services.platform import files
from engine.services.practice import practice
from web.api.settings import Practice
from web.pages._flash import back, on_refusal
from web.pages._forms import load
from web.security import access, current_actor, public

bp = Blueprint("practice_pages", __name__)
BLANK_ROWS = 2  # empty rows under the lists, to add a location or a service


def _rows(form, prefix: str, fields: tuple[str, ...], checks: tuple[str, ...]) -> list[dict]:
    """Numbered rows (`loc-0-name`, ...) to the engine's list; a row ticked "remove", or with nothing
    typed in it (a ticked box or a chosen "offered" alone is not typing), is dropped."""
    rows, i = [], 0
    while f"{prefix}-{i}-name" in form:
        row = {name: form.get(f"{prefix}-{i}-{name}", "") for name in fields}
        row.update({name: f"{prefix}-{i}-{name}" in form for name in checks})
        typed = any(
            str(v).strip() for k, v in row.items() if k not in ("key", "mode") and not isinstance(v, bool)
        )
        if f"{prefix}-{i}-remove" not in form and typed:
            if not row.get("key"):
                row.pop("key", None)
            rows.append(row)
        i += 1
    return rows


def practice_form_data(form) -> dict:
    """The engine's shape of the practice from the set-up form."""
    data = {
        name: form.get(name, "") for name in ("name", "address", "phone", "timezone", "cancellation_policy")
    }
    data["locations"] = _rows(form, "loc", ("key", "name", "address"), ("telehealth",))
    data["service_types"] = [
        dict(row, telehealth=row.pop("mode", "") == "telehealth")
        for row in _rows(form, "svc", ("key", "name", "duration_minutes", "price", "mode"), ())
    ]
    return data


def _page(values: dict, errors=None, status: int = 200):
    return render_template(
        "practice/setup.html",
        values=values,
        errors=errors or {},
        blank=BLANK_ROWS,
        zones=practice.time_zones(),
        current=practice.describe_practice(),
        active="admin_practice",
    ), status


@bp.get("/admin/setup")
@access("staff:staff.manage")
def checklist():
    """The first-run checklist: what is set up and what is left, each with a link to where it is done."""
    return render_template(
        "practice/checklist.html", checklist=practice.checklist(current_actor()), active="admin_setup"
    )


@bp.get("/admin/practice")
@access("staff:staff.manage")
def setup():
    """The practice's set-up form."""
    return _page(practice.describe_practice())


@bp.post("/admin/practice")
@access("staff:staff.manage")
def save():
    """Save the set-up; when a field is wrong nothing is saved and the form keeps what was typed."""
    data = practice_form_data(request.form)
    on_refusal(render=lambda exc: _page(data, exc.details, 422), catch=(ValidationFailed,))
    practice.update_practice(current_actor(), load(Practice, data))
    return back("/admin/setup", "The practice is saved.")


@bp.post("/admin/practice/logo")
@access("staff:staff.manage")
def upload_logo():
    """Upload a new logo, or remove it."""
    upload = request.files.get("logo")
    on_refusal("/admin/practice#logo")
    if request.form.get("remove"):
        practice.remove_logo(current_actor())
        return back("/admin/practice#logo", "The logo is removed.")
    if upload is None or not upload.filename:
        raise ValidationFailed("choose an image file", details={"logo": ["is required"]})
    practice.set_logo(current_actor(), files.read_upload(upload.stream), upload.filename)
    return back("/admin/practice#logo", "The logo is saved.")


@bp.get("/practice/logo")
@public
def logo():
    """The practice's logo, for the header of every page (the sign-in page too) and for mails."""
    data, content_type = practice.logo()
    resp = Response(data, mimetype=content_type)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp
