"""Portal pages for the active client profile: messages, appointments, billing, insurance.

Every page acts for the profile chosen with the switcher on the portal home
(`g.active_client_id`); the engine guards decide what the link allows. Forms
post back and redirect (303), so a reload never posts twice; a payment form
carries an idempotency key made when the page was rendered, so a double click
charges once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, flash, g, make_response, render_template, request

from engine import config
from engine.errors import NotFound, PorticoError
from engine.models.organization import Organization
from engine.services import accounts, availability, billing, files, insurance, messaging, scheduling
from web.api._files import uploads
from web.headers import allow_stripe
from web.pages._confirm import ask, booking_sentence, cancel_sentence, confirmed, staff_name
from web.pages._flash import back
from web.security import access, current_actor

bp = Blueprint("portal_services_pages", __name__, url_prefix="/portal")

SLOT_DAYS = 7


@bp.app_template_filter("svc_local")
def svc_local(value: str | datetime, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A time (ISO text or a datetime; stored times without a zone are UTC) in the practice's time zone."""
    if not value:
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(availability.org_zone()).strftime(fmt)


@bp.app_template_filter("svc_money")
def svc_money(cents: int, currency: str = "usd") -> str:
    symbol = {"usd": "$", "cad": "CA$", "aud": "A$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{(cents or 0) / 100:,.2f}"


def _active(permission: str) -> dict:
    """The active profile, if its link grants `permission`; raises NotFound otherwise."""
    me = accounts.describe_me(current_actor(), g.active_client_id)
    active = next((p for p in me["profiles"] if p["client_id"] == me["active_profile_id"]), None)
    if active is None or not active["permissions"].get(permission):
        raise NotFound("this page is not available for the profile you are using")
    return dict(active, switchable=len(me["profiles"]) > 1)


@bp.get("/messages")
@access("portal")
def messages():
    """The active profile's thread; viewing it marks it read."""
    profile = _active("messages")
    thread = messaging.list_messages(current_actor(), profile["client_id"])
    if thread["unread"]:
        messaging.mark_read(current_actor(), profile["client_id"])
    return render_template("services/portal_messages.html", profile=profile, thread=thread, active_tab="messages")


@bp.post("/messages")
@access("portal")
def post_message():
    profile = _active("messages")
    try:
        messaging.post_message(current_actor(), profile["client_id"], body=request.form.get("body", ""),
                               attachments=[u for u in uploads("attachments") if u[1]])
    except PorticoError as exc:
        return back("/portal/messages", error=exc)
    return back("/portal/messages", "Message sent.")


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
    profile = _active("appointments")
    org = Organization.get()
    upcoming = scheduling.list_appointments(current_actor(), client_id=profile["client_id"])
    choice = _booking_choices(org, request.args)
    slots: list[dict] = []
    if choice["location"] and choice["service_type"]:
        try:
            slots = availability.open_slots(location=choice["location"], service_type_key=choice["service_type"],
                                            date_from=choice["from"], date_to=choice["from"] + timedelta(days=SLOT_DAYS))
        except PorticoError as exc:
            flash(exc.message, "error")
    days: dict[str, list[dict]] = {}
    for slot in slots:  # grouped by local day, so a phone shows short lists under day headings
        days.setdefault(svc_local(slot["start"], "%A %d %B"), []).append(slot)
    return render_template("services/portal_appointments.html", profile=profile, org=org, upcoming=upcoming,
                           choice=choice, days=days, reschedule=request.args.get("reschedule", ""),
                           window=org.portal.cancellation_window_hours, policy=org.portal.late_cancellation,
                           active_tab="appointments")


@bp.post("/appointments/book")
@access("portal")
def book():
    profile = _active("appointments")
    form = request.form
    if not confirmed(form):  # the confirm step: a post without it books nothing and asks first
        return ask(booking_sentence(service_type=form.get("service_type", ""), staff_name=staff_name(form.get("staff_id")),
                                    start=form.get("start", ""), location=form.get("location", "")),
                   action="/portal/appointments/book", form=form, back_url="/portal/appointments#slots",
                   confirm_label="Book it", nothing_yet="Nothing is booked until you confirm.")
    try:
        appt = scheduling.book(current_actor(), client_id=profile["client_id"], staff_id=form.get("staff_id"),
                               location=form.get("location", ""), service_type_key=form.get("service_type", ""),
                               start=form.get("start"), request=form.get("mode") == "request")
    except PorticoError as exc:
        return back("/portal/appointments", error=exc)
    verb = "requested" if appt["status"] == "requested" else "booked"
    return back("/portal/appointments", f"Appointment {verb} for {svc_local(appt['start'])}.")


@bp.post("/appointments/<appointment_id>/cancel")
@access("portal")
def cancel(appointment_id):
    _active("appointments")
    if not confirmed(request.form):  # the confirm step: a post without it cancels nothing and asks first
        try:
            sentence = cancel_sentence(scheduling.get_appointment(current_actor(), appointment_id))
        except PorticoError as exc:
            return back("/portal/appointments", error=exc)
        return ask(sentence, action=f"/portal/appointments/{appointment_id}/cancel", form=request.form,
                   back_url="/portal/appointments", confirm_label="Cancel the appointment",
                   nothing_yet="The appointment stays booked until you confirm.")
    try:
        done = scheduling.cancel(current_actor(), appointment_id, reason=request.form.get("reason", ""))
    except PorticoError as exc:
        return back("/portal/appointments", error=exc)
    late = " It was inside the cancellation window, so it is marked as a late cancellation." \
        if done["late_cancellation"] else ""
    return back("/portal/appointments", f"Appointment cancelled.{late}")


@bp.post("/appointments/<appointment_id>/reschedule")
@access("portal")
def reschedule(appointment_id):
    _active("appointments")
    try:
        moved = scheduling.reschedule(current_actor(), appointment_id, start=request.form.get("start"))
    except PorticoError as exc:
        return back("/portal/appointments", error=exc)
    return back("/portal/appointments", f"Appointment moved to {svc_local(moved['start'])}.")


@bp.get("/billing")
@access("portal")
def billing_page():
    """Invoices with balances and receipts; a pay form for each open one."""
    profile = _active("payments")
    actor = current_actor()
    settings = config.current()
    # Stripe.js comes in only with Stripe configured, and only this page's CSP lets it in.
    stripe_key = settings.stripe_publishable_key if settings.payment_gateway == "stripe" else None
    page = render_template("services/portal_billing.html", profile=profile,
                           invoices=billing.list_invoices(actor, profile["client_id"]),
                           methods=billing.list_payment_methods(actor, profile["client_id"]),
                           sandbox=settings.payment_gateway == "sandbox", stripe_key=stripe_key,
                           pay_key=secrets.token_urlsafe(16), active_tab="billing")
    return allow_stripe(make_response(page)) if stripe_key else page


@bp.post("/billing/<invoice_id>/pay")
@access("portal")
def pay(invoice_id):
    _active("payments")
    form = request.form
    actor = current_actor()
    card = None
    if not form.get("payment_method"):
        card = {"number": form.get("number", ""), "exp_month": form.get("exp_month"),
                "exp_year": form.get("exp_year"), "cvc": form.get("cvc", "")}
    try:
        payment = billing.raise_if_failed(billing.charge_invoice(
            actor, invoice_id, idempotency_key=f"page:{actor.id}:{form.get('idempotency_key', '')}",
            payment_method=form.get("payment_method") or None, card=card, save_method="save_method" in form))
    except PorticoError as exc:
        return back("/portal/billing", error=exc)
    return back("/portal/billing", f"Thank you — payment received. Receipt {payment['receipt']['number']}.")


@bp.post("/billing/cards")
@access("portal")
def save_card():
    """Keep a card for later payments (sandbox test cards; with Stripe the Payment Element pays directly)."""
    profile = _active("payments")
    form = request.form
    card = {"number": form.get("number", ""), "exp_month": form.get("exp_month"), "exp_year": form.get("exp_year"),
            "cvc": form.get("cvc", "")}
    try:
        saved = billing.save_payment_method(current_actor(), profile["client_id"], card=card)
    except PorticoError as exc:
        return back("/portal/billing", error=exc)
    return back("/portal/billing", f"Saved {saved['label']}.")


@bp.get("/billing/receipts/<payment_id>")
@access("portal")
def receipt(payment_id):
    """A printable receipt."""
    profile = _active("payments")
    return render_template("services/receipt.html", profile=profile, receipt=billing.get_receipt(
        current_actor(), payment_id))


@bp.get("/insurance")
@access("portal")
def insurance_page():
    profile = _active("payments")
    return render_template("services/portal_insurance.html", profile=profile, active_tab="insurance",
                           policies=insurance.list_policies(current_actor(), profile["client_id"]))


@bp.post("/insurance")
@access("portal")
def add_policy():
    profile = _active("payments")
    fields = ("payer", "member_id", "group_number", "subscriber_name", "subscriber_date_of_birth", "relationship")
    try:
        cards = {side: (f.filename, files.read_upload(f.stream)) for side in insurance.SIDES
                 if (f := request.files.get(side)) is not None and f.filename}
        for _name, data in cards.values():  # refuse a bad image before anything is saved
            files.check_upload(data, allowed=insurance.CARD_TYPES)
        policy = insurance.add_policy(current_actor(), profile["client_id"],
                                      {f: request.form.get(f, "") for f in fields})
        for side, (name, data) in cards.items():
            insurance.upload_card(current_actor(), policy["id"], side, filename=name, data=data)
    except PorticoError as exc:
        return back("/portal/insurance", error=exc)
    return back("/portal/insurance", "Insurance details sent; the practice will review them.")
