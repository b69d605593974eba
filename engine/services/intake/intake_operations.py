"""The intake workflows' service-task operations: send_email, render_packet_pdf, file_document,
notify_staff, charge_payment.

Each takes keyword arguments (params, key, instance_id, task_id) and is
idempotent on `key` (instance id:task id): mails carry the key (per
recipient) as their idempotency key, filed documents carry it as their source
key. Mails carry no health information: the practice's name, the person's
first name and a link — never a form's name or an answer.
"""

from __future__ import annotations

from bson import ObjectId

from engine import config
from engine.errors import Conflict, NotFound
from engine.forms.catalogue import get_form, get_version
from engine.forms.pdf import packet_pdf, submission_pdf
from engine.models.accounts import PortalAccount, StaffMember
from engine.models.clients import Client
from engine.models.invitations import IntakeReminder
from engine.models.mail import MailMessage
from engine.models.organization import Organization
from engine.services.billing import billing
from engine.services.clients import documents
from engine.services.forms import form_files
from engine.services.forms.submissions import submission_view
from engine.services.intake import intake_queries
from engine.services.messaging import mail
from engine.services.portal import invitations
from engine.workflow.operations import OperationBusy, OperationFailed, operation


def _client(params: dict) -> Client:
    client = Client.objects(id=ObjectId(str(params.get("client_id")))).first()
    if client is None:
        raise OperationFailed("the client no longer exists", permanent=True)
    return client


def _deliver(message_id) -> None:
    """Send a recorded mail; one another sender holds (perhaps a killed one, until its claim lapses) is
    waited for, not counted as a failure."""
    try:
        mail.deliver(message_id)
    except Conflict as exc:
        raise OperationBusy(str(exc), retry_after=mail.STALE_CLAIM.total_seconds() / 3) from exc


def _send(to: str, subject: str, text: str, key: str) -> None:
    """Send once per key; a retry re-sends a mail that failed and skips one that went out."""
    message = mail.queue_mail(to, subject, text, idempotency_key=key)
    if message.status != "sent":
        _deliver(message.id)


def _greeting(account: PortalAccount) -> str:
    return f"Hello {account.first_name}," if account.first_name else "Hello,"


def _mail_account(account: PortalAccount, client: Client, *, key: str, lead: str, instance_id=None) -> None:
    """One mail to a portal account: an activation link until the account is activated, else the portal."""
    practice = Organization.get().name
    if MailMessage.objects(idempotency_key=key, status="sent").count():
        return
    if account.activated_at is None:
        if MailMessage.objects(idempotency_key=key).count():
            _deliver(MailMessage.objects.get(idempotency_key=key).id)  # first attempt's token stays valid
            return
        link = invitations.activation_url(invitations.issue(account, client, instance_id=instance_id))
        action = (
            f"Set your password to get started:\n{link}\n\nThe link works once and expires in "
            f"{invitations.TOKEN_DAYS} days."
        )
    else:
        action = f"Sign in to continue:\n{config.current().base_url}/portal/tasks"
    # A guardian or other contact may fill in forms for several people: say whose forms these are.
    own = account.to_mongo().get("client") == client.id
    whose = "" if own else f"\n\nThese forms are for {client.first_name}."
    subject = f"{practice}: your client portal" if own else f"{practice}: forms for {client.first_name}"
    text = f"{_greeting(account)}\n\n{lead}{whose}\n\n{action}\n\n{practice}\n"
    _send(account.email, subject, text, key)


def _recipients(client: Client) -> list[PortalAccount]:
    minor = client.is_minor(Organization.get().portal.age_of_majority)
    return invitations.ensure_accounts(client, minor=minor)


def mail_reminder(client: Client, titles: list[str], *, key: str, instance_id=None) -> int:
    """Mail everyone who fills in the client's forms that forms are waiting. Returns the number mailed."""
    practice = Organization.get().name
    count = len(titles)
    lead = f"{practice} is waiting for {count} form{'s' if count != 1 else ''} in your client portal."
    recipients = _recipients(client)
    for account in recipients:
        _mail_account(account, client, key=f"{key}:{account.id}", lead=lead, instance_id=instance_id)
    return len(recipients)


@operation("send_email")
def send_email(*, params: dict, key: str, instance_id: str, task_id: str) -> dict:
    """`template` invitation: the activation (or portal) link to everyone who fills in the client's forms.
    `template` reminder: a numbered reminder of the outstanding forms.
    `template` returned: staff returned forms (`forms`) to be changed; the comment stays in the portal."""
    client = _client(params)
    iid = ObjectId(instance_id)
    template = params.get("template")
    if template == "invitation":
        practice = Organization.get().name
        lead = (
            f"{practice} has sent you a form to complete in its client portal."
            if params.get("purpose") == "form_request"
            else f"{practice} has invited you to its client portal to complete your intake forms."
        )
        recipients = _recipients(client)
        for account in recipients:
            _mail_account(account, client, key=f"{key}:{account.id}", lead=lead, instance_id=iid)
        return {"sent": len(recipients)}
    if template == "reminder":
        return _reminder(client, params, key=key, iid=iid)
    if template == "returned":
        practice = Organization.get().name
        count = len(params.get("forms") or []) or 1
        lead = (
            f"{practice} has returned {'a form' if count == 1 else f'{count} forms'} for you to change in its "
            f"client portal. Their comment says what to change."
        )
        recipients = _recipients(client)
        for account in recipients:
            _mail_account(account, client, key=f"{key}:{account.id}", lead=lead, instance_id=iid)
        return {"sent": len(recipients)}
    raise OperationFailed(f"unknown mail template {template!r}", permanent=True)


def _reminder(client: Client, params: dict, *, key: str, iid: ObjectId) -> dict:
    """A numbered reminder of the intake's outstanding forms. Timer reminders and staff's resends count
    toward the same `reminder_max`; one past it is neither kept nor sent ("counted": False)."""
    # Staff's resend runs as an instance of its own and names the intake it reminds of.
    intake_iid = ObjectId(params["intake_id"]) if params.get("intake_id") else iid
    forms = intake_queries.outstanding(client.id, instance_id=intake_iid)
    keys = [f["form_key"] for f in forms]
    IntakeReminder.objects(key=key).update_one(
        upsert=True, set_on_insert__instance_id=intake_iid, set_on_insert__forms=keys
    )
    mine = IntakeReminder.objects.get(key=key)
    # Its place among the intake's reminders, not how many there are now: two reminders performed at
    # once (a resend as the timer fires) get different numbers, so only one of them reaches the limit.
    number = IntakeReminder.objects(instance_id=intake_iid, id__lte=mine.id).count()
    limit = int(params.get("reminder_max") or 0)
    if limit and number > limit:
        mine.delete()  # not sent: it does not count (a retry of this operation judges again)
        return {"number": number, "forms": keys, "counted": False}
    if forms:  # the last form may have come in just as the timer fired
        mail_reminder(client, [f["title"] for f in forms], key=key, instance_id=intake_iid)
    return {"number": number, "forms": keys, "counted": True}


def _submission_pdf(sub) -> bytes:
    view = submission_view(sub)
    return submission_pdf(
        get_version(sub.form_version).definition,
        view["data"],
        view["evidence"],
        read_file=form_files.reader(sub),
    )


def _title(form_key: str) -> str:
    try:
        return get_form(form_key).title
    except NotFound:
        return form_key


@operation("render_packet_pdf")
def render_packet_pdf(*, params: dict, key: str, instance_id: str, task_id: str) -> dict:
    """Join the latest submission of each packet form into one PDF (stored encrypted); returns its file id."""
    client = _client(params)
    items, subs = [], []
    for form_key in params.get("forms") or []:
        sub = intake_queries.latest_submission(ObjectId(instance_id), form_key)
        if sub is None:
            raise OperationFailed(f"no submission of {form_key!r} to put in the packet", permanent=True)
        view = submission_view(sub)
        items.append((get_version(sub.form_version).definition, view["data"], view["evidence"]))
        subs.append(sub)
    pdf = packet_pdf(items, read_file=form_files.reader(*subs))
    return {"file_id": documents.store_pdf(client.id, pdf, filename="intake-packet.pdf")}


@operation("file_document")
def file_document(*, params: dict, key: str, instance_id: str, task_id: str) -> dict:
    """File into General Documents: a stored PDF (`file_id`, `title`), or each form in `forms` as its own PDF."""
    client = _client(params)
    iid = ObjectId(instance_id)
    if params.get("file_id"):
        doc = documents.file_pdf(
            client.id,
            file_id=params["file_id"],
            title=params.get("title") or "Document",
            kind="packet",
            source_key=key,
            instance_id=iid,
        )
        return {"document_ids": [str(doc.id)]}
    filed = []
    for form_key in params.get("forms") or []:
        source = f"{key}:{form_key}"
        existing = documents.Document.objects(source_key=source).first()
        if existing is None:
            sub = intake_queries.latest_submission(iid, form_key)
            if sub is None:
                raise OperationFailed(f"no submission of {form_key!r} to file", permanent=True)
            file_id = documents.store_pdf(client.id, _submission_pdf(sub), filename=f"{form_key}.pdf")
            existing = documents.file_pdf(
                client.id,
                file_id=file_id,
                title=_title(form_key),
                kind="form",
                source_key=source,
                form_key=form_key,
                submission_id=str(sub.id),
                instance_id=iid,
            )
        filed.append(str(existing.id))
    return {"document_ids": filed}


@operation("notify_staff")
def notify_staff(*, params: dict, key: str, instance_id: str, task_id: str) -> dict:
    """Mail the client's assigned staff (or, when none, the organization admins) to look at the client."""
    client = _client(params)
    staff = list(StaffMember.objects(id__in=client.assigned_staff or [], disabled=False)) or list(
        StaffMember.objects(roles="org_admin", disabled=False)
    )
    practice = Organization.get().name
    link = f"{config.current().base_url}/staff/clients/{client.id}"
    subject = str(params.get("subject") or "A client needs your attention")[:150].replace("\n", " ")
    for member in staff:
        _send(
            member.email,
            f"{practice}: {subject}",
            f"Hello {member.first_name},\n\n{subject}.\n\n{link}\n",
            f"{key}:{member.id}",
        )
    return {"notified": len(staff)}


@operation("charge_payment")
def charge_payment(*, params: dict, key: str, instance_id: str, task_id: str) -> dict:
    """Charge the invoice through the billing service; a declined charge raises the BPMN error at once."""
    payment = billing.charge_payment(
        invoice_id=params.get("invoice_id"),
        idempotency_key=key,
        payment_method=params.get("payment_method") or None,
    )
    if payment.get("status") != "succeeded":
        failure = payment.get("failure") or {}
        reason = failure.get("message") or failure.get("code") or "no reason given"
        raise OperationFailed(f"payment {payment.get('status')}: {reason}", permanent=True)
    return {"payment_id": payment.get("id"), "status": payment["status"]}
