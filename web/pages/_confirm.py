"""A confirm step before an action that is hard to take back (booking, cancelling an appointment, voiding
an invoice). The page's button carries one sentence naming what will happen; with JavaScript a dialog
(web/static/js/confirm.js) asks it and sends the form with `confirmed=yes`. Without that field the
server does nothing and answers with the same sentence on a page of its own (templates/confirm/page.html),
whose Confirm button posts the same fields again, so a page without JavaScript is just as safe.

The sentences are made here, for the buttons (template globals) and for that page alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId
from flask import Flask, render_template

from engine.models.accounts import StaffMember
from engine.models.organization import Organization
from engine.services.practice.settings import org_zone

FIELD = "confirmed"  # the form field the server checks: "yes" once the person confirmed


def confirmed(form) -> bool:
    """Whether the posted form carries the confirmation."""
    return form.get(FIELD) == "yes"


def when_words(value: str | datetime) -> str:
    """A start time as people say it, in the practice's time zone: "Tuesday 5 January at 10:00"."""
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return "the time you chose"  # a hand-made post; booking it is refused with the reason
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(org_zone())
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"


def _names(org: Organization, service_type: str, location: str) -> tuple[str, str]:
    service = next((st.name for st in org.service_types if st.key == service_type), "an appointment")
    place = next((loc.name for loc in org.locations if loc.key == location), "")
    return service, place


def booking_sentence(*, service_type: str, staff_name: str, start, location: str) -> str:
    """ "Book Initial consultation with Dana Reyes at Harbor Street on Tuesday 5 January at 10:00?" """
    service, place = _names(Organization.get(), service_type, location)
    return f"Book {service} with {staff_name}{' at ' + place if place else ''} on {when_words(start)}?"


def cancel_sentence(appt: dict, *, client: str = "") -> str:
    """ "Cancel Initial consultation with Dana Reyes on Tuesday 5 January at 10:00?" (staff name the client)."""
    service, _place = _names(Organization.get(), appt.get("service_type", ""), appt.get("location", ""))
    who = client or appt.get("staff_name") or "the practice"
    return f"Cancel {service} with {who} on {when_words(appt['start'])}?"


def void_sentence(*, number: str, client: str, total_cents: int, currency: str = "usd") -> str:
    """ "Void invoice INV-0001 for Sam Lee ($180.00)? Sam Lee will no longer owe it, and ..." """
    symbol = {"usd": "$", "cad": "CA$", "aud": "A$", "eur": "€", "gbp": "£"}.get(currency, "")
    return (
        f"Void invoice {number} for {client} ({symbol}{(total_cents or 0) / 100:,.2f})? {client} will no "
        "longer owe it, and a voided invoice cannot be reopened."
    )


def staff_name(staff_id) -> str:
    """A staff member's name for a booking posted without its confirmation (the slot named them)."""
    member = (
        StaffMember.objects(id=staff_id).only("first_name", "last_name").first()
        if ObjectId.is_valid(str(staff_id or ""))
        else None
    )
    return member.display_name if member else "the therapist"


def ask(sentence: str, *, action: str, form, back_url: str, confirm_label: str, nothing_yet: str):
    """The page asking for the confirmation the post lacked: nothing was done, and the same fields go
    back with `confirmed=yes` if the person confirms."""
    fields = [(k, v) for k, v in form.items(multi=True) if k not in ("csrf_token", FIELD)]
    return render_template(
        "confirm/page.html",
        sentence=sentence,
        action=action,
        fields=fields,
        back_url=back_url,
        confirm_label=confirm_label,
        nothing_yet=nothing_yet,
    )


def install(app: Flask) -> None:
    """The sentences as template globals, so a button says exactly what the fallback page would."""
    for fn in (booking_sentence, cancel_sentence, void_sentence, when_words):
        app.add_template_global(fn, fn.__name__)
