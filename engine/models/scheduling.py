"""Appointments and staff availability.

Availability: weekly rules (weekday, local start/end, location, service types)
and dated exceptions, in the organization's time zone. Appointments are stored
in UTC. `SlotClaim` rows make double booking impossible: every 5-minute block
an appointment covers is one row, unique per (staff, block start), inserted
before the appointment counts as booked.
"""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

BLOCK_MINUTES = 5
APPOINTMENT_STATUSES = ("requested", "booked", "cancelled", "completed", "no_show")
HOLDS_SLOT = ("requested", "booked")
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class AvailabilityRule(me.Document):
    """A weekly window in which a staff member sees clients at one location."""

    meta = {"collection": "availability_rules", "indexes": ["staff", ("location", "weekday")]}

    staff = me.ObjectIdField(required=True)
    location = me.StringField(required=True)
    service_types = me.ListField(me.StringField(), default=list)  # empty = every service type
    weekday = me.IntField(required=True, min_value=0, max_value=6)  # Monday = 0
    start = me.StringField(required=True, regex=HHMM)
    end = me.StringField(required=True, regex=HHMM)
    valid_from = me.DateField()
    valid_until = me.DateField()
    created_at = me.DateTimeField(default=utcnow)


class AvailabilityException(me.Document):
    """One date that differs: time off (`unavailable`) or extra hours (`available`)."""

    meta = {"collection": "availability_exceptions", "indexes": [("staff", "date")]}

    staff = me.ObjectIdField(required=True)
    date = me.DateField(required=True)
    kind = me.StringField(choices=("unavailable", "available"), default="unavailable")
    start = me.StringField(regex=HHMM)  # unset with `unavailable` = the whole day
    end = me.StringField(regex=HHMM)
    location = me.StringField(default="")
    service_types = me.ListField(me.StringField(), default=list)
    note = me.StringField(default="", max_length=200)


class Appointment(me.Document):
    meta = {
        "collection": "appointments",
        "indexes": [
            ("client", "start"),
            ("staff", "start"),
            ("status", "start"),
            "reminder_due_at",
        ],
    }

    client = me.ObjectIdField(required=True)
    staff = me.ObjectIdField(required=True)
    location = me.StringField(required=True)
    service_type = me.StringField(required=True)
    start = me.DateTimeField(required=True)  # UTC
    end = me.DateTimeField(required=True)
    status = me.StringField(choices=APPOINTMENT_STATUSES, default="booked")
    telehealth_url = me.StringField(default="", max_length=500)
    booked_by_kind = me.StringField(default="")
    booked_by_id = me.StringField(default="")
    late_cancellation = me.BooleanField(default=False)
    cancelled_at = me.DateTimeField()
    cancelled_by_kind = me.StringField(default="")
    cancel_reason = me.StringField(default="", max_length=500)
    reschedule_count = me.IntField(default=0)
    reminder_due_at = me.DateTimeField()  # cleared once the reminder has been claimed
    reminder_sent_at = me.DateTimeField()
    sequence = me.IntField(default=0)  # iCalendar SEQUENCE: bumped on every change
    created_at = me.DateTimeField(default=utcnow)


class SlotClaim(me.Document):
    """One 5-minute block of one staff member's time, held by one appointment."""

    meta = {
        "collection": "slot_claims",
        "indexes": [
            {"fields": ["staff", "block_start"], "unique": True},
            "appointment",
        ],
    }

    staff = me.ObjectIdField(required=True)
    block_start = me.DateTimeField(required=True)
    appointment = me.ObjectIdField(required=True)
