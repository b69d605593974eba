"""API: appointments (list, book or request, cancel, reschedule, staff updates, iCalendar) and availability."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services.appointments import availability, scheduling
from web.api._files import download
from web.security import access, current_actor

blp = Blueprint(
    "appointments_api", __name__, url_prefix="/api/v1", description="Appointments and availability"
)

_S, _I, _B = ma.fields.String, ma.fields.Integer, ma.fields.Boolean


class AppointmentOut(ma.Schema):
    id, client_id, staff_id, staff_name, location, service_type = _S(), _S(), _S(), _S(), _S(), _S()
    start, end, status, telehealth_url, cancel_reason = _S(), _S(), _S(), _S(), _S()
    cancelled_at = _S(allow_none=True)
    late_cancellation = _B(metadata={"description": "changed inside the cancellation window (policy `flag`)"})
    reschedule_count, sequence = _I(), _I()


class AppointmentList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AppointmentOut))


class AppointmentQuery(ma.Schema):
    client_id = _S(metadata={"description": "one client's appointments"})
    staff_id = _S(metadata={"description": "staff: another member's calendar (calendar.manage)"})
    upcoming = _B(load_default=True)
    include_cancelled = _B(load_default=False)
    start_from = ma.fields.AwareDateTime(
        data_key="from", metadata={"description": "starts at or after (ISO-8601)"}
    )
    start_to = ma.fields.AwareDateTime(data_key="to", metadata={"description": "starts before (ISO-8601)"})


class AppointmentBooking(ma.Schema):
    client_id, staff_id = _S(required=True), _S(required=True)
    location, service_type = _S(required=True), _S(required=True)
    start = _S(
        required=True, metadata={"description": "ISO-8601 with offset, one of GET /availability's starts"}
    )
    request = _B(
        load_default=False, metadata={"description": "ask the practice to confirm instead of booking"}
    )
    telehealth_url = _S(load_default="", metadata={"description": "staff only; https://"})


class AppointmentCancellation(ma.Schema):
    reason = _S(load_default="", validate=ma.validate.Length(max=500))


class AppointmentRescheduling(ma.Schema):
    start = _S(required=True)
    staff_id = _S(metadata={"description": "staff only: move to another staff member"})


class AppointmentStaffUpdate(ma.Schema):
    status = _S(validate=ma.validate.OneOf(("booked", "completed", "no_show")))
    telehealth_url = _S()


class SlotQuery(ma.Schema):
    location, service_type = _S(required=True), _S(required=True)
    date_from = ma.fields.Date(required=True, data_key="from")
    date_to = ma.fields.Date(required=True, data_key="to")
    staff_id = _S()


class OpenSlot(ma.Schema):
    staff_id, staff_name, location, service_type, start, end = _S(), _S(), _S(), _S(), _S(), _S()


class OpenSlotList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(OpenSlot))


class AvailabilityRuleIn(ma.Schema):
    staff_id, location = _S(required=True), _S(required=True)
    weekday = _I(required=True, metadata={"description": "0 = Monday"})
    start, end = _S(required=True), _S(required=True)
    service_types = ma.fields.List(_S())
    valid_from, valid_until = _S(allow_none=True), _S(allow_none=True)


class AvailabilityRuleOut(AvailabilityRuleIn):
    id = _S()


class AvailabilityExceptionIn(ma.Schema):
    staff_id, date = _S(required=True), _S(required=True)
    kind = _S(load_default="unavailable")
    start, end, location, note = _S(allow_none=True), _S(allow_none=True), _S(), _S()
    service_types = ma.fields.List(_S())


class AvailabilityExceptionOut(AvailabilityExceptionIn):
    id = _S()


class AvailabilityOut(ma.Schema):
    staff_id, staff_name = _S(), _S()
    rules = ma.fields.List(ma.fields.Nested(AvailabilityRuleOut))
    exceptions = ma.fields.List(ma.fields.Nested(AvailabilityExceptionOut))


@blp.route("/appointments")
class Appointments(MethodView):
    @blp.arguments(AppointmentQuery, location="query")
    @blp.response(200, AppointmentList)
    @access("authenticated")
    def get(self, args):
        """Portal: upcoming appointments of every profile you manage; staff: your calendar (or a client's)."""
        return {"items": scheduling.list_appointments(current_actor(), **args)}

    @blp.arguments(AppointmentBooking)
    @blp.response(201, AppointmentOut)
    @access("authenticated")
    def post(self, body):
        """Book an open slot (409 slot_taken / slot_not_open), or request it with `request: true`."""
        return scheduling.book(
            current_actor(),
            client_id=body["client_id"],
            staff_id=body["staff_id"],
            location=body["location"],
            service_type_key=body["service_type"],
            start=body["start"],
            request=body["request"],
            telehealth_url=body["telehealth_url"],
        )


@blp.route("/appointments.ics")
class AppointmentFeed(MethodView):
    @blp.arguments(AppointmentQuery, location="query")
    @blp.response(200, description="text/calendar")
    @access("authenticated")
    def get(self, args):
        """The same list as GET /appointments, as an iCalendar feed."""
        return download(scheduling.calendar_ics(current_actor(), **args), "text/calendar", "appointments.ics")


@blp.route("/appointments/<appointment_id>")
class AppointmentItem(MethodView):
    @blp.response(200, AppointmentOut)
    @access("authenticated")
    def get(self, appointment_id):
        """One appointment."""
        return scheduling.get_appointment(current_actor(), appointment_id)

    @blp.arguments(AppointmentStaffUpdate)
    @blp.response(200, AppointmentOut)
    @access("staff")
    def patch(self, body, appointment_id):
        """Confirm a request (`booked`), record `completed` / `no_show`, set the telehealth link."""
        return scheduling.update(current_actor(), appointment_id, **body)


@blp.route("/appointments/<appointment_id>/ics")
class AppointmentIcs(MethodView):
    @blp.response(200, description="text/calendar")
    @access("authenticated")
    def get(self, appointment_id):
        """One appointment as an .ics file (add it to your calendar)."""
        ics = scheduling.calendar_ics(current_actor(), appointment_id=appointment_id)
        return download(ics, "text/calendar", "appointment.ics")


@blp.route("/appointments/<appointment_id>/cancel")
class AppointmentCancel(MethodView):
    @blp.arguments(AppointmentCancellation)
    @blp.response(200, AppointmentOut)
    @access("authenticated")
    def post(self, body, appointment_id):
        """Cancel; inside the policy window 409 late_cancellation_refused, or cancelled and flagged."""
        return scheduling.cancel(current_actor(), appointment_id, reason=body["reason"])


@blp.route("/appointments/<appointment_id>/reschedule")
class AppointmentReschedule(MethodView):
    @blp.arguments(AppointmentRescheduling)
    @blp.response(200, AppointmentOut)
    @access("authenticated")
    def post(self, body, appointment_id):
        """Move to another open slot; the policy window applies as for cancelling."""
        return scheduling.reschedule(current_actor(), appointment_id, **body)


@blp.route("/availability")
class OpenSlots(MethodView):
    @blp.arguments(SlotQuery, location="query")
    @blp.response(200, OpenSlotList)
    @access("authenticated")
    def get(self, args):
        """Open slots for a location and service type between two dates (at most 62 days)."""
        return {
            "items": availability.open_slots(
                location=args["location"],
                service_type_key=args["service_type"],
                date_from=args["date_from"],
                date_to=args["date_to"],
                staff_id=args.get("staff_id"),
            )
        }


@blp.route("/availability/staff/<staff_id>")
class StaffAvailability(MethodView):
    @blp.response(200, AvailabilityOut)
    @access("staff")
    def get(self, staff_id):
        """A staff member's weekly rules and upcoming exceptions (yours, or any with calendar.manage)."""
        return availability.list_availability(current_actor(), staff_id)


@blp.route("/availability/rules")
class Rules(MethodView):
    @blp.arguments(AvailabilityRuleIn)
    @blp.response(201, AvailabilityRuleOut)
    @access("staff")
    def post(self, body):
        """Add a weekly rule (wall-clock times in the organization's time zone)."""
        return availability.add_rule(current_actor(), body.pop("staff_id"), body)


@blp.route("/availability/rules/<rule_id>")
class RuleItem(MethodView):
    @blp.response(204)
    @access("staff")
    def delete(self, rule_id):
        """Remove a weekly rule (booked appointments stay)."""
        availability.delete_rule(current_actor(), rule_id)


@blp.route("/availability/exceptions")
class Exceptions(MethodView):
    @blp.arguments(AvailabilityExceptionIn)
    @blp.response(201, AvailabilityExceptionOut)
    @access("staff")
    def post(self, body):
        """Add time off (`unavailable`, whole day without times) or extra hours (`available`)."""
        return availability.add_exception(current_actor(), body.pop("staff_id"), body)
