"""Staff pages: home (what needs me today, the intake funnel), client list (search, create), a client's hub
(overview: portal invitation, intake, details; contacts tab: the contact network) and
each member's own preferences."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request

from engine.errors import Conflict, ValidationFailed
from engine.models.clients import LINK_PERMISSIONS
from engine.models.organization import Organization
from engine.services.accounts import staff as staff_service
from engine.services.clients import clients as client_service
from engine.services.intake import dashboard, intake
from engine.services.portal import contact_invitations, invitations
from engine.services.practice import practice
from web.pages._flash import on_refusal
from web.security import access, current_actor

bp = Blueprint("staff_pages", __name__, url_prefix="/staff")

CLIENT_TEXT = ("first_name", "last_name", "preferred_name", "date_of_birth", "email", "phone")
NESTED = {
    "address": ("line1", "line2", "city", "region", "postal_code", "country"),
    "emergency_contact": ("name", "relationship", "phone"),
}
PER_PAGE = 25
CONTACT_PERSON = ("first_name", "last_name", "email", "phone")


def client_form_data(form) -> dict:
    """The engine's shape of a client from the create/edit form (nested fields are `address.city`…)."""
    data = {name: form.get(name, "") for name in CLIENT_TEXT if name in form}
    for group, names in NESTED.items():
        if any(f"{group}.{n}" in form for n in names):
            data[group] = {n: form.get(f"{group}.{n}", "") for n in names}
    if "assigned_staff" in form:
        data["assigned_staff"] = [v for v in form.getlist("assigned_staff") if v]
    return data


def client_form_values(record: dict) -> dict:
    """A client record flattened to the form's field names, to fill the edit form."""
    values = {name: record.get(name) or "" for name in CLIENT_TEXT}
    born = record.get("date_of_birth")
    values["date_of_birth"] = born.isoformat() if born else ""
    for group, names in NESTED.items():
        values.update({f"{group}.{n}": (record.get(group) or {}).get(n) or "" for n in names})
    return values


def link_form_data(form) -> dict:
    data = {
        "relationship": form.get("relationship", ""),
        "is_guardian": "is_guardian" in form,
        "permissions": {p: f"perm_{p}" in form for p in LINK_PERMISSIONS},
    }
    chosen = form.get("existing_client_id", "")
    if chosen:
        data["client_id"] = chosen
    else:
        data.update({n: form.get(n, "") for n in CONTACT_PERSON})
    return data


@bp.get("")
@access("staff")
def home():
    """Staff home: the set-up checklist while the practice is not set up, what needs me today, the intake
    funnel (practice and per therapist) and the clients assigned to me."""
    actor = current_actor()
    mine = client_service.list_clients(actor, mine=True, per_page=10)
    setup = practice.checklist(actor) if actor.has(practice.MANAGE) else None
    return render_template(
        "staff/home.html",
        mine=mine,
        first_name=actor.login.first_name,
        setup=setup,
        today=dashboard.needs_me(actor),
        funnel=dashboard.intake_funnel(actor),
    )


def _client_list(errors=None, values=None, status=200):
    actor = current_actor()
    q, page = request.args.get("q", "")[:200], request.args.get("page", 1, type=int) or 1
    found = client_service.list_clients(actor, q=q, page=max(page, 1), per_page=PER_PAGE)
    return render_template(
        "staff/clients.html",
        found=found,
        q=q,
        errors=errors or {},
        values=values or {},
        can_manage=actor.has("clients.manage"),
        per_page=PER_PAGE,
    ), status


@bp.get("/clients")
@access("staff")
def clients():
    """Clients I may see, searchable, paged; the new-client form for clients.manage."""
    return _client_list()


@bp.post("/clients")
@access("staff:clients.manage")
def create_client():
    """Create a client from the list page; errors shown beside the fields."""
    on_refusal(render=lambda exc: _client_list(exc.details, request.form, 422), catch=(ValidationFailed,))
    made = client_service.create_client(current_actor(), client_form_data(request.form))
    flash(f"Client {made['display_name']} created.", "success")
    return redirect(f"/staff/clients/{made['id']}", 303)


def _client_page(
    client_id, *, tab="overview", errors=None, contact_errors=None, link_errors=None, status=200
):
    """The client hub's Overview tab (portal invitation, intake status, details) or its Contacts tab."""
    actor = current_actor()
    record = client_service.get_client(actor, client_id)
    overview = {}
    if tab == "overview":
        overview = {
            "invitation": invitations.portal_status(actor, record["id"]),
            **dashboard.client_intakes(actor, record["id"]),
            "intake_forms": intake.invite_choices() if actor.has(intake.INVITE) else [],
        }
    network_on = Organization.get().portal.contact_network_enabled
    network = client_service.contact_network(actor, client_id) if network_on else []
    can_manage = actor.has("clients.manage")
    choices = []
    if can_manage and network_on:
        choices = [
            c for c in client_service.list_clients(actor, per_page=100)["items"] if c["id"] != record["id"]
        ]
    directory = staff_service.staff_directory(actor) if can_manage else []
    return render_template(
        "staff/client.html",
        tab=tab,
        **overview,
        client=record,
        network=network,
        network_on=network_on,
        can_manage=can_manage,
        client_choices=choices,
        directory=directory,
        can_invite=actor.has(contact_invitations.INVITE),
        can_start_intake=actor.has(intake.INVITE),
        link_permissions=LINK_PERMISSIONS,
        values=request.form if errors else client_form_values(record),
        assigned=request.form.getlist("assigned_staff") if errors else record["assigned_staff"],
        errors=errors or {},
        contact_errors=contact_errors or {},
        contact_perms={p: f"perm_{p}" in request.form for p in LINK_PERMISSIONS},
        link_errors=link_errors or {},
    ), status


@bp.get("/clients/<client_id>")
@access("staff")
def client_page(client_id):
    """A client's details and contact network (404 when not visible)."""
    return _client_page(client_id)


@bp.get("/clients/<client_id>/contacts")
@access("staff")
def client_contacts(client_id):
    """The client's contact network: who may act for them, and their portal logins."""
    return _client_page(client_id, tab="contacts")


@bp.post("/clients/<client_id>")
@access("staff:clients.manage")
def edit_client(client_id):
    """Save the client's details (version-checked)."""
    on_refusal(
        render=lambda exc: _client_page(client_id, errors=exc.details, status=422), catch=(ValidationFailed,)
    )
    client_service.update_client(
        current_actor(),
        client_id,
        client_form_data(request.form),
        expected_version=request.form.get("version", type=int),
    )
    flash("Client record saved.", "success")
    return redirect(f"/staff/clients/{client_id}", 303)


@bp.post("/clients/<client_id>/contacts")
@access("staff:clients.manage")
def add_contact(client_id):
    """Link a new person or an existing client to this client."""
    on_refusal(
        render=lambda exc: _client_page(
            client_id, tab="contacts", contact_errors=exc.details or {"": [exc.message]}, status=exc.status
        ),
        catch=(ValidationFailed, Conflict),
    )
    client_service.add_contact(current_actor(), client_id, link_form_data(request.form))
    flash("Contact added.", "success")
    return redirect(f"/staff/clients/{client_id}/contacts", 303)


@bp.post("/contact-links/<link_id>")
@access("staff:clients.manage")
def edit_link(link_id):
    """Change a link's relationship, guardian flag and permissions."""
    actor = current_actor()
    link = client_service.get_link_for(actor, link_id, need="clients.manage")
    changes = link_form_data(request.form)
    changes = {k: changes[k] for k in ("relationship", "is_guardian", "permissions")}
    if "contact.first_name" in request.form:  # only shown for contacts who are not clients
        changes["contact"] = {n: request.form.get(f"contact.{n}", "") for n in CONTACT_PERSON}
    on_refusal(
        render=lambda exc: _client_page(
            link.client.id, tab="contacts", link_errors={link_id: exc.details}, status=422
        ),
        catch=(ValidationFailed,),
    )
    client_service.update_link(actor, link_id, changes)
    flash("Contact link saved.", "success")
    return redirect(f"/staff/clients/{link.client.id}/contacts", 303)


@bp.post("/contact-links/<link_id>/portal-invite")
@access("staff:portal.invite")
def invite_contact(link_id):
    """Mail the link's contact an activation link to the client portal."""
    link = client_service.get_link_for(current_actor(), link_id)
    contacts = f"/staff/clients/{link.client.id}/contacts"

    def refused(exc):
        flash(exc.message, "error")
        return redirect(contacts, 303)

    on_refusal(render=refused, catch=(Conflict, ValidationFailed))
    sent = contact_invitations.invite_contact(current_actor(), link_id)
    flash(f"Invitation sent to {sent['email']}.", "success")
    return redirect(contacts, 303)


@bp.post("/contact-links/<link_id>/delete")
@access("staff:clients.manage")
def remove_link(link_id):
    """Remove a contact from this client's network."""
    link = client_service.get_link_for(current_actor(), link_id, need="clients.manage")
    client_service.remove_link(current_actor(), link_id)
    flash("Contact removed from this client's network.", "success")
    return redirect(f"/staff/clients/{link.client.id}/contacts", 303)


def _preferences_page(prefs: dict, errors=None, status=200):
    org = practice.describe_practice()
    return render_template(
        "staff/preferences.html",
        prefs=prefs,
        errors=errors or {},
        digests=staff_service.DIGESTS,
        service_options=[(s["key"], s["name"], None) for s in org["service_types"]],
        location_options=[
            (loc["key"], loc["name"], "telehealth" if loc["telehealth"] else None) for loc in org["locations"]
        ],
    ), status


@bp.route("/preferences", methods=["GET", "POST"])
@access("staff")
def preferences():
    """The signed-in member's own service types, locations and notifications."""
    if request.method == "GET":
        return _preferences_page(staff_service.own_preferences(current_actor()))
    form = request.form
    changes = {
        "service_types": form.getlist("service_types"),
        "locations": form.getlist("locations"),
        "notify_new_task": "notify_new_task" in form,
        "notify_new_message": "notify_new_message" in form,
        "notify_digest": form.get("notify_digest", "daily"),
    }
    on_refusal(render=lambda exc: _preferences_page(changes, exc.details, 422), catch=(ValidationFailed,))
    staff_service.set_own_preferences(current_actor(), changes)
    flash("Your preferences are saved.", "success")
    return redirect("/staff/preferences", 303)
