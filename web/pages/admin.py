"""Admin pages: staff management (list, create, edit roles/grants/preferences, disable) and default permissions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request

from engine.authz import PERMISSIONS, ROLE_PRESETS
from engine.errors import Conflict, ValidationFailed
from engine.services.accounts import staff as staff_service
from engine.services.practice import practice
from engine.services.practice import settings as settings_service
from web.api.settings import DefaultPermissions, PortalSettings
from web.pages._flash import on_refusal
from web.pages._forms import load
from web.security import access, current_actor

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")


def staff_form_data(form, *, creating: bool) -> dict:
    """The engine's shape of a staff member from the create/edit form."""
    data = {name: form.get(name, "") for name in ("first_name", "last_name", "email")}
    data["roles"] = form.getlist("roles")
    data["permissions"] = form.getlist("permissions")
    if creating:
        data["password"] = form.get("password", "")
    else:
        data["preferences"] = {
            "service_types": form.getlist("service_types"),
            "locations": form.getlist("locations"),
            "notify_new_task": "notify_new_task" in form,
            "notify_new_message": "notify_new_message" in form,
            "notify_digest": form.get("notify_digest", "daily"),
        }
    return data


def _options() -> dict:
    """Checkbox choices as (value, label, description) from the role presets, permission table and practice."""
    org = practice.describe_practice()
    return {
        # People read permissions by their titles, never their codes.
        "role_options": [
            (key, p["label"], "; ".join(sorted(PERMISSIONS[c] for c in p["permissions"])))
            for key, p in ROLE_PRESETS.items()
        ],
        "permission_options": [(code, title, None) for code, title in PERMISSIONS.items()],
        "service_options": [(s["key"], s["name"], None) for s in org["service_types"]],
        "location_options": [
            (loc["key"], loc["name"], "telehealth" if loc["telehealth"] else None) for loc in org["locations"]
        ],
    }


def _render(template: str, status: int = 200, **context):
    return render_template(
        template, roles=ROLE_PRESETS, digests=staff_service.DIGESTS, **_options(), **context
    ), status


def _staff_list(errors=None, values=None, status=200):
    members = staff_service.list_staff(current_actor())
    return _render("admin/staff.html", status, members=members, errors=errors or {}, values=values or {})


@bp.get("/staff")
@access("staff:staff.manage")
def staff():
    """Every staff member, and the form to add one."""
    return _staff_list()


@bp.post("/staff")
@access("staff:staff.manage")
def create_staff():
    """Add a staff member; errors shown beside the fields."""
    data = staff_form_data(request.form, creating=True)
    shown = {
        k: v for k, v in data.items() if k != "password"
    }  # a refused form comes back without the password
    on_refusal(
        render=lambda exc: _staff_list(exc.details or {"": [exc.message]}, shown, exc.status),
        catch=(ValidationFailed, Conflict),
    )
    made = staff_service.create_staff(current_actor(), data)
    flash(f"{made['display_name']} added.", "success")
    return redirect(f"/admin/staff/{made['id']}", 303)


def _member_page(staff_id, *, errors=None, values=None, status=200):
    member = staff_service.describe_staff(staff_service.get_staff_for(current_actor(), staff_id))
    return _render(
        "admin/staff_member.html", status, member=member, values=values or member, errors=errors or {}
    )


@bp.get("/staff/<staff_id>")
@access("staff:staff.manage")
def staff_member(staff_id):
    """One member's details, roles, grants and preferences."""
    return _member_page(staff_id)


@bp.post("/staff/<staff_id>")
@access("staff:staff.manage")
def edit_staff(staff_id):
    """Save a member's details, roles, grants and preferences."""
    data = staff_form_data(request.form, creating=False)
    on_refusal(
        render=lambda exc: _member_page(
            staff_id, errors=exc.details or {"": [exc.message]}, values=data, status=exc.status
        ),
        catch=(ValidationFailed, Conflict),
    )
    staff_service.update_staff(current_actor(), staff_id, data)
    flash("Changes saved.", "success")
    return redirect(f"/admin/staff/{staff_id}", 303)


@bp.post("/staff/<staff_id>/status")
@access("staff:staff.manage")
def set_status(staff_id):
    """Disable (ending sessions and tokens) or re-enable a member."""
    disable = request.form.get("disabled") == "1"
    on_refusal(
        render=lambda exc: _member_page(staff_id, errors={"": [exc.message]}, status=exc.status),
        catch=(Conflict,),
    )
    staff_service.update_staff(current_actor(), staff_id, {"disabled": disable})
    flash("Disabled: their sessions and API tokens have ended." if disable else "Enabled again.", "success")
    return redirect(f"/admin/staff/{staff_id}", 303)


@bp.get("/permissions")
@access("staff:staff.manage")
def default_permissions():
    """The default permission set, with each code described."""
    current = settings_service.default_permissions(current_actor())
    return _render("admin/permissions.html", chosen=current["permissions"], errors={})


@bp.post("/permissions")
@access("staff:staff.manage")
def save_default_permissions():
    """Replace the default permission set."""
    chosen = request.form.getlist("permissions")
    on_refusal(
        render=lambda exc: _render("admin/permissions.html", 422, chosen=chosen, errors=exc.details),
        catch=(ValidationFailed,),
    )
    settings_service.set_default_permissions(
        current_actor(), load(DefaultPermissions, {"permissions": chosen})["permissions"]
    )
    flash("Default permissions saved. They apply to every staff member now.", "success")
    return redirect("/admin/permissions", 303)


def portal_form_data(form) -> dict:
    """The engine's shape of the portal settings from the settings form (checkboxes absent = off)."""
    data: dict = {name: name in form for name in settings_service.BOOL_FIELDS}
    for name in settings_service.INT_BOUNDS:
        raw = form.get(name, "").strip()
        data[name] = int(raw) if raw.lstrip("-").isdigit() else raw
    for name in settings_service.CHOICES:
        data[name] = form.get(name, "").strip()
    for name in ("reminder_cadence", "guardian_approval_timeout"):
        data[name] = form.get(name, "").strip()  # an API-style ISO value still works
        if f"{name}_count" in form:  # the page's picker: a number and a unit
            count, unit = form.get(f"{name}_count", ""), form.get(f"{name}_unit", "")
            try:
                data[name] = settings_service.duration_from_parts(count, unit)
            except ValueError:
                data[name] = f"{count} {unit}"  # refused by the engine below, and shown back as typed
    data["intake_packet"] = [
        k.strip() for k in form.get("intake_packet", "").replace(",", "\n").splitlines() if k.strip()
    ]
    return data


def _picked(form) -> dict:
    """The duration pickers' (count, unit) as typed, to show them back after an error."""
    return {
        f"{name}_parts": (form.get(f"{name}_count", ""), form.get(f"{name}_unit", "days"))
        for name in ("reminder_cadence", "guardian_approval_timeout")
        if f"{name}_count" in form
    }


def _plain_duration_errors(details: dict) -> dict:
    """The engine words a bad duration for API callers (ISO-8601); the page's picker asks for a number."""
    plain = "Enter a whole number of hours, days or weeks, at least 1."
    return {
        name: [plain] if name in ("reminder_cadence", "guardian_approval_timeout") else messages
        for name, messages in details.items()
    }


def _portal_page(values: dict, errors=None, status=200):
    return _render(
        "admin/portal.html",
        status,
        values=values,
        errors=errors or {},
        choices=settings_service.CHOICES,
        bounds=settings_service.INT_BOUNDS,
        duration_parts=settings_service.duration_parts,
    )


@bp.get("/portal")
@access("staff:portal.settings")
def portal_settings():
    """Every client portal setting in one form."""
    return _portal_page(settings_service.portal_settings(current_actor()))


@bp.post("/portal")
@access("staff:portal.settings")
def save_portal_settings():
    """Save the portal settings; nothing is saved when a field is wrong."""
    data = portal_form_data(request.form)
    on_refusal(
        render=lambda exc: _portal_page(
            {**data, **_picked(request.form)}, _plain_duration_errors(exc.details), 422
        ),
        catch=(ValidationFailed,),
    )
    settings_service.update_portal_settings(current_actor(), load(PortalSettings, data))
    flash("Portal settings saved.", "success")
    return redirect("/admin/portal", 303)
