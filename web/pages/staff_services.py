"""Staff pages for the portal services: unread messages, a client's thread, billing and insurance,
and the staff member's own appointments and availability.

Views parse the form, call one engine service and redirect (303) with a flash.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.authz import get_client_for
from engine.errors import PorticoError, ValidationFailed
from engine.models.organization import Organization
from engine.services import (
    availability,
    billing,
    insurance,
    messaging,
    payment_requests,
    scheduling,
)
from web.api._files import uploads
from web.pages import client_name
from web.pages._confirm import ask, cancel_sentence, confirmed, void_sentence
from web.pages._flash import back
from web.security import access, current_actor

bp = Blueprint("staff_services_pages", __name__, url_prefix="/staff")

LINE_ROWS = 3
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _client(client_id):
    return get_client_for(current_actor(), client_id)


@bp.get("/messages")
@access("staff")
def unread():
    """Threads with messages you have not read, newest first."""
    return render_template("services/staff_unread.html", rows=messaging.unread_threads_for_staff(current_actor()))


@bp.get("/clients/<client_id>/messages")
@access("staff")
def thread(client_id):
    client = _client(client_id)
    data = messaging.list_messages(current_actor(), client_id)
    if data["unread"]:
        messaging.mark_read(current_actor(), client_id)
    return render_template("services/staff_thread.html", client=client, thread=data, tab="messages")


@bp.post("/clients/<client_id>/messages")
@access("staff")
def reply(client_id):
    path = f"/staff/clients/{client_id}/messages"
    try:
        messaging.post_message(current_actor(), client_id, body=request.form.get("body", ""),
                               attachments=[u for u in uploads("attachments") if u[1]])
    except PorticoError as exc:
        return back(path, error=exc)
    return back(path, "Message sent.")


@bp.get("/clients/<client_id>/billing")
@access("staff")
def client_billing(client_id):
    return _billing_page(client_id)


def _billing_page(client_id, *, values=None, errors=None, status: int = 200):
    """The billing tab; after a refused invoice, the form as it was typed with each problem by its field."""
    client = _client(client_id)
    return render_template("services/staff_billing.html", client=client, tab="billing", rows=range(LINE_ROWS),
                           invoices=billing.list_invoices(current_actor(), client_id),
                           services=Organization.get().service_types, values=values or {}, errors=errors or {},
                           can_bill=current_actor().has("billing.manage")), status


# The form's field for each part of a line item the service names ("line_items.0.amount" -> amount_0).
_LINE_FIELDS = {"service_type": "service_type", "service": "service", "service_date": "date", "amount": "amount",
                "amount_cents": "amount", "description": "service"}


def _invoice_errors(details: dict) -> dict[str, list[str]]:
    """The service's problems by the form's field names; a problem with the whole list goes to the form."""
    out: dict[str, list[str]] = {}
    for key, problems in (details or {}).items():
        parts = key.split(".")
        if parts[0] == "line_items" and len(parts) == 3 and parts[1].isdigit():
            field = f"{_LINE_FIELDS.get(parts[2], 'amount')}_{parts[1]}"
        else:
            field = "due_date" if key == "due_date" else "form"
        out.setdefault(field, []).extend(problems if isinstance(problems, list) else [str(problems)])
    return out


@bp.post("/clients/<client_id>/invoices")
@access("staff:billing.manage")
def create_invoice(client_id):
    """Issue an invoice from the form's lines; amounts as people type them ("$180.00"). A refusal shows
    the form again with every value kept and each problem beside its field."""
    form = request.form
    items = []
    for i in range(LINE_ROWS):
        chosen = form.get(f"service_type_{i}", "")
        if not chosen and not form.get(f"service_{i}") and not form.get(f"amount_{i}"):
            continue
        items.append({"service_type": chosen, "service": form.get(f"service_{i}", ""),
                      "service_date": form.get(f"date_{i}", ""), "amount": form.get(f"amount_{i}", "")})
    try:
        inv = billing.create_invoice(current_actor(), client_id, {"line_items": items,
                                                                  "due_date": form.get("due_date", "")})
    except ValidationFailed as exc:
        errors = _invoice_errors(exc.details) or {"form": [exc.message]}
        return _billing_page(client_id, values=form.to_dict(), errors=errors, status=422)
    except PorticoError as exc:
        return back(f"/staff/clients/{client_id}/billing", error=exc)
    return back(f"/staff/clients/{client_id}/billing", f"Invoice {inv['number']} issued.")


@bp.post("/invoices/<invoice_id>/request-payment")
@access("staff:billing.manage")
def request_payment(invoice_id):
    """Ask the client to pay the invoice (the payment process: insurance details, then a card)."""
    client_id = request.form.get("client_id", "")
    try:
        inv = payment_requests.request_payment(current_actor(), invoice_id)
    except PorticoError as exc:
        return back(f"/staff/clients/{client_id}/billing", error=exc)
    return back(f"/staff/clients/{inv['client_id']}/billing",
                f"Payment requested for invoice {inv['number']}: the client has it in their portal.")


@bp.post("/invoices/<invoice_id>/void")
@access("staff:billing.manage")
def void(invoice_id):
    client_id = request.form.get("client_id", "")
    if not confirmed(request.form):  # the confirm step: a post without it voids nothing and asks first
        try:
            found, client = billing.get_invoice_for(current_actor(), invoice_id, staff_need="billing.manage")
        except PorticoError as exc:
            return back(f"/staff/clients/{client_id}/billing", error=exc)
        sentence = void_sentence(number=found.number, client=client.display_name, total_cents=found.total_cents,
                                 currency=found.currency)
        return ask(sentence, action=f"/staff/invoices/{invoice_id}/void", form=request.form,
                   back_url=f"/staff/clients/{found.client}/billing", confirm_label="Void the invoice",
                   nothing_yet="The invoice stays open until you confirm.")
    try:
        inv = billing.void_invoice(current_actor(), invoice_id)
    except PorticoError as exc:
        return back(f"/staff/clients/{client_id}/billing", error=exc)
    return back(f"/staff/clients/{inv['client_id']}/billing", f"Invoice {inv['number']} voided.")


@bp.get("/clients/<client_id>/insurance")
@access("staff")
def client_insurance(client_id):
    client = _client(client_id)
    return render_template("services/staff_insurance.html", client=client, tab="insurance",
                           policies=insurance.list_policies(current_actor(), client_id),
                           can_review=current_actor().has("billing.manage"))


@bp.post("/clients/<client_id>/insurance/<policy_id>/review")
@access("staff:billing.manage")
def review(client_id, policy_id):
    path = f"/staff/clients/{client_id}/insurance"
    try:
        done = insurance.review_policy(current_actor(), policy_id, client_id=client_id,
                                       decision=request.form.get("decision", ""), note=request.form.get("note", ""))
    except PorticoError as exc:
        return back(path, error=exc)
    return back(path, f"Policy {done['status']}.")


# An appointment's status in words on the client's Appointments tab.
APPOINTMENT_STATES = {"requested": "Requested, waiting for confirmation", "booked": "Booked",
                      "cancelled": "Cancelled", "completed": "Attended", "no_show": "Did not attend"}


@bp.get("/clients/<client_id>/appointments")
@access("staff")
def client_appointments(client_id):
    """The client's appointments, past and coming, with who, where and what."""
    client = _client(client_id)
    org = Organization.get()
    return render_template("services/staff_client_appointments.html", client=client, tab="appointments",
                           appointments=scheduling.list_appointments(current_actor(), client_id=client.id,
                                                                     upcoming=False, include_cancelled=True),
                           places={loc.key: loc.name for loc in org.locations},
                           services={st.key: st.name for st in org.service_types}, states=APPOINTMENT_STATES)


@bp.get("/appointments")
@access("staff")
def calendar():
    """Your upcoming appointments (requests first to confirm), and your weekly availability."""
    actor = current_actor()
    org = Organization.get()
    prefs = actor.login.preferences
    # Hours can be added only where the member works; clients book only what they offer (their preferences).
    my_locations = [loc for loc in org.locations if not prefs or not prefs.locations or loc.key in prefs.locations]
    my_services = [st for st in org.service_types
                   if not prefs or not prefs.service_types or st.key in prefs.service_types]
    return render_template("services/staff_appointments.html", org=org, weekdays=WEEKDAYS,
                           my_locations=my_locations, my_services=my_services,
                           places={loc.key: loc.name for loc in org.locations},  # people read names, not keys
                           services={st.key: st.name for st in org.service_types},
                           appointments=scheduling.list_appointments(actor),
                           availability=availability.list_availability(actor, actor.id))


@bp.post("/appointments/<appointment_id>")
@access("staff")
def change_appointment(appointment_id):
    form, actor = request.form, current_actor()
    try:
        if form.get("action") == "cancel" and not confirmed(form):  # the confirm step: ask first
            appt = scheduling.get_appointment(actor, appointment_id)
            return ask(cancel_sentence(appt, client=client_name(appt["client_id"])),
                       action=f"/staff/appointments/{appointment_id}", form=form, back_url="/staff/appointments",
                       confirm_label="Cancel the appointment",
                       nothing_yet="The appointment stays booked until you confirm.")
        if form.get("action") == "cancel":
            scheduling.cancel(actor, appointment_id, reason=form.get("reason", ""))
        else:
            scheduling.update(actor, appointment_id, status=form.get("status") or None,
                              telehealth_url=form.get("telehealth_url"))
    except PorticoError as exc:
        return back("/staff/appointments", error=exc)
    return back("/staff/appointments", "Appointment updated.")


@bp.post("/availability")
@access("staff")
def add_availability():
    form, actor = request.form, current_actor()
    try:
        if form.get("kind") in ("unavailable", "available"):
            availability.add_exception(actor, actor.id, {k: form.get(k, "") for k in (
                "date", "kind", "start", "end", "location", "note")})
        else:
            weekday = form.get("weekday", "")
            availability.add_rule(actor, actor.id, {
                "location": form.get("location", ""), "weekday": int(weekday) if weekday.isdigit() else None,
                "start": form.get("start", ""), "end": form.get("end", ""),
                "service_types": form.getlist("service_types")})
    except PorticoError as exc:
        return back("/staff/appointments", error=exc)
    return back("/staff/appointments", "Availability saved.")


@bp.post("/availability/rules/<rule_id>/delete")
@access("staff")
def delete_rule(rule_id):
    try:
        availability.delete_rule(current_actor(), rule_id)
    except PorticoError as exc:
        return back("/staff/appointments", error=exc)
    return back("/staff/appointments", "Rule removed.")


@bp.get("/calendar")
@access("staff")
def calendar_view():
    """The week calendar (FullCalendar): drag an appointment to reschedule it."""
    return render_template("services/staff_calendar.html", org=Organization.get())
