"""Portal pages for the active profile's appointments: what is coming, open slots to book (or to
request), cancelling and moving one.

Every page acts for the profile chosen with the switcher on the portal home; the engine guards decide
what the link allows. Forms post back and redirect (303), so a reload never posts twice.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, render_template, request

from engine.errors import PorticoError
from engine.models.organization import Organization
from engine.services.appointments import availability, scheduling
from web.api.appointments import (
    AppointmentBooking,
    AppointmentCancellation,
    AppointmentRescheduling,
)
from web.pages import local_when
from web.pages._confirm import ask, booking_sentence, cancel_sentence, confirmed, staff_name
from web.pages._flash import back, on_refusal
from web.pages._forms import load
from web.pages._portal import active_profile
from web.security import access, current_actor

bp = Blueprint("portal_appointment_pages", __name__, url_prefix="/portal")

SLOT_DAYS = 7


def _booking_choices(org: Organization, args) -> dict:
    location = args.get("location") or (org.locations[0].key if org.locations else "")
    service = args.get("service_type") or (org.service_types[0].key if org.service_types else "")
    try:
        start = date.fromisoformat(args.get("from", ""))
    except ValueError:
        start = date.today() + timedelta(days=1)
    return {"location": location, "service_type": service, "from": start}


@bp.get("/appointments")
@access("portal")
def appointments():
    """Upcoming appointments, and open slots to book (or to move one to, with ?reschedule=<id>)."""
    profile = active_profile("appointments")
    org = Organization.get()
    upcoming = scheduling.list_appointments(current_actor(), client_id=profile["client_id"])
    choice = _booking_choices(org, request.args)
    slots: list[dict] = []
    if choice["location"] and choice["service_type"]:
        try:
            slots = availability.open_slots(
                location=choice["location"],
                service_type_key=choice["service_type"],
                date_from=choice["from"],
                date_to=choice["from"] + timedelta(days=SLOT_DAYS),
            )
        except PorticoError as exc:
            flash(exc.message, "error")
    days: dict[str, list[dict]] = {}
    for slot in slots:  # grouped by local day, so a phone shows short lists under day headings
        days.setdefault(local_when(slot["start"], "%A %d %B"), []).append(slot)
    return render_template(
        "appointments/portal_appointments.html",
        profile=profile,
        org=org,
        upcoming=upcoming,
        choice=choice,
        days=days,
        reschedule=request.args.get("reschedule", ""),
        window=org.portal.cancellation_window_hours,
        policy=org.portal.late_cancellation,
        active_tab="appointments",
    )


@bp.post("/appointments/book")
@access("portal")
def book():
    profile = active_profile("appointments")
    on_refusal("/portal/appointments")
    form = request.form
    if not confirmed(form):  # the confirm step: a post without it books nothing and asks first
        return ask(
            booking_sentence(
                service_type=form.get("service_type", ""),
                staff_name=staff_name(form.get("staff_id")),
                start=form.get("start", ""),
                location=form.get("location", ""),
            ),
            action="/portal/appointments/book",
            form=form,
            back_url="/portal/appointments#slots",
            confirm_label="Book it",
            nothing_yet="Nothing is booked until you confirm.",
        )
    body = load(
        AppointmentBooking,
        {
            "client_id": profile["client_id"],
            "request": form.get("mode") == "request",
            **{k: form[k] for k in ("staff_id", "location", "service_type", "start") if k in form},
        },
    )
    appt = scheduling.book(
        current_actor(),
        client_id=body["client_id"],
        staff_id=body["staff_id"],
        location=body["location"],
        service_type_key=body["service_type"],
        start=body["start"],
        request=body["request"],
    )
    verb = "requested" if appt["status"] == "requested" else "booked"
    return back("/portal/appointments", f"Appointment {verb} for {local_when(appt['start'])}.")


@bp.post("/appointments/<appointment_id>/cancel")
@access("portal")
def cancel(appointment_id):
    active_profile("appointments")
    on_refusal("/portal/appointments")
    if not confirmed(request.form):  # the confirm step: a post without it cancels nothing and asks first
        return ask(
            cancel_sentence(scheduling.get_appointment(current_actor(), appointment_id)),
            action=f"/portal/appointments/{appointment_id}/cancel",
            form=request.form,
            back_url="/portal/appointments",
            confirm_label="Cancel the appointment",
            nothing_yet="The appointment stays booked until you confirm.",
        )
    body = load(AppointmentCancellation, {k: request.form[k] for k in ("reason",) if k in request.form})
    done = scheduling.cancel(current_actor(), appointment_id, reason=body["reason"])
    late = (
        " It was inside the cancellation window, so it is marked as a late cancellation."
        if done["late_cancellation"]
        else ""
    )
    return back("/portal/appointments", f"Appointment cancelled.{late}")


@bp.post("/appointments/<appointment_id>/reschedule")
@access("portal")
def reschedule(appointment_id):
    active_profile("appointments")
    on_refusal("/portal/appointments")
    body = load(AppointmentRescheduling, {k: request.form[k] for k in ("start",) if k in request.form})
    moved = scheduling.reschedule(current_actor(), appointment_id, start=body["start"])
    return back("/portal/appointments", f"Appointment moved to {local_when(moved['start'])}.")
