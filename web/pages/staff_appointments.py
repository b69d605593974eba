"""Staff pages for appointments: a client's Appointments tab, your own upcoming appointments (requests
first to confirm) with your weekly availability, and the week calendar.

Views parse the form, call one engine service and redirect (303) with a flash.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.authz import get_client_for
from engine.models.organization import Organization
from engine.services.appointments import availability, scheduling
from web.api.appointments import (
    AppointmentCancellation,
    AppointmentStaffUpdate,
    AvailabilityExceptionIn,
    AvailabilityRuleIn,
)
from web.pages import client_name
from web.pages._confirm import ask, cancel_sentence, confirmed
from web.pages._flash import back, on_refusal
from web.pages._forms import load
from web.security import access, current_actor

bp = Blueprint("staff_appointment_pages", __name__, url_prefix="/staff")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# An appointment's status in words on the client's Appointments tab.
APPOINTMENT_STATES = {
    "requested": "Requested, waiting for confirmation",
    "booked": "Booked",
    "cancelled": "Cancelled",
    "completed": "Attended",
    "no_show": "Did not attend",
}


@bp.get("/clients/<client_id>/appointments")
@access("staff")
def client_appointments(client_id):
    """The client's appointments, past and coming, with who, where and what."""
    client = get_client_for(current_actor(), client_id)
    org = Organization.get()
    return render_template(
        "appointments/staff_client_appointments.html",
        client=client,
        tab="appointments",
        appointments=scheduling.list_appointments(
            current_actor(), client_id=client.id, upcoming=False, include_cancelled=True
        ),
        places={loc.key: loc.name for loc in org.locations},
        services={st.key: st.name for st in org.service_types},
        states=APPOINTMENT_STATES,
    )


@bp.get("/appointments")
@access("staff")
def calendar():
    """Your upcoming appointments (requests first to confirm), and your weekly availability."""
    actor = current_actor()
    org = Organization.get()
    prefs = actor.login.preferences
    # Hours can be added only where the member works; clients book only what they offer (their preferences).
    my_locations = [
        loc for loc in org.locations if not prefs or not prefs.locations or loc.key in prefs.locations
    ]
    my_services = [
        st
        for st in org.service_types
        if not prefs or not prefs.service_types or st.key in prefs.service_types
    ]
    return render_template(
        "appointments/staff_appointments.html",
        org=org,
        weekdays=WEEKDAYS,
        my_locations=my_locations,
        my_services=my_services,
        places={loc.key: loc.name for loc in org.locations},  # people read names, not keys
        services={st.key: st.name for st in org.service_types},
        appointments=scheduling.list_appointments(actor),
        availability=availability.list_availability(actor, actor.id),
    )


@bp.post("/appointments/<appointment_id>")
@access("staff")
def change_appointment(appointment_id):
    form, actor = request.form, current_actor()
    on_refusal("/staff/appointments")
    if form.get("action") == "cancel" and not confirmed(form):  # the confirm step: ask first
        appt = scheduling.get_appointment(actor, appointment_id)
        return ask(
            cancel_sentence(appt, client=client_name(appt["client_id"])),
            action=f"/staff/appointments/{appointment_id}",
            form=form,
            back_url="/staff/appointments",
            confirm_label="Cancel the appointment",
            nothing_yet="The appointment stays booked until you confirm.",
        )
    if form.get("action") == "cancel":
        body = load(AppointmentCancellation, {"reason": form.get("reason", "")})
        scheduling.cancel(actor, appointment_id, reason=body["reason"])
    else:
        changes = {"status": form.get("status") or None, "telehealth_url": form.get("telehealth_url")}
        body = load(AppointmentStaffUpdate, {k: v for k, v in changes.items() if v is not None})
        scheduling.update(
            actor, appointment_id, status=body.get("status"), telehealth_url=body.get("telehealth_url")
        )
    return back("/staff/appointments", "Appointment updated.")


@bp.post("/availability")
@access("staff")
def add_availability():
    form, actor = request.form, current_actor()
    on_refusal("/staff/appointments")
    if form.get("kind") in ("unavailable", "available"):
        body = load(
            AvailabilityExceptionIn,
            {
                "staff_id": str(actor.id),
                **{k: form.get(k, "") for k in ("date", "kind", "start", "end", "location", "note")},
            },
        )
        availability.add_exception(actor, body.pop("staff_id"), body)
    else:
        body = load(
            AvailabilityRuleIn,
            {
                "staff_id": str(actor.id),
                "weekday": form.get("weekday", ""),
                "service_types": form.getlist("service_types"),
                **{k: form.get(k, "") for k in ("location", "start", "end")},
            },
        )
        availability.add_rule(actor, body.pop("staff_id"), body)
    return back("/staff/appointments", "Availability saved.")


@bp.post("/availability/rules/<rule_id>/delete")
@access("staff")
def delete_rule(rule_id):
    on_refusal("/staff/appointments")
    availability.delete_rule(current_actor(), rule_id)
    return back("/staff/appointments", "Rule removed.")


@bp.get("/calendar")
@access("staff")
def calendar_view():
    """The week calendar (FullCalendar): drag an appointment to reschedule it."""
    return render_template("appointments/staff_calendar.html", org=Organization.get())
