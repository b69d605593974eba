"""Dynamic forms in use: staff with `dynamic_forms.manage` fill one for a client (a session note, say)
or send it to the client's portal. Either way it starts prefilled from the client record (only the
paths engine.forms.prefill allows) and ends in the client's General Documents as a PDF, like an
intake form: sent to the portal, it runs through `client_intake` (acknowledged, then filed by the
workers); filled by staff, its sealed submission is filed at once (the staff member is its reviewer).
"""

from __future__ import annotations

from engine.authz import Actor, get_client_for
from engine.errors import NotFound, ValidationFailed
from engine.models.forms import FormDefinition
from engine.services.clients import documents
from engine.services.forms import submissions
from engine.services.intake import intake
from engine.services.platform import audit

RIGHT = "dynamic_forms.manage"


def _published_dynamic(form_key) -> FormDefinition:
    form = FormDefinition.objects(key=form_key).first() if isinstance(form_key, str) and form_key else None
    if form is None or form.kind != "dynamic" or form.archived or not form.latest_version:
        raise ValidationFailed(
            "this is not a published dynamic form", details={"form_key": ["choose a published dynamic form"]}
        )
    return form


def usable(actor: Actor) -> list[FormDefinition]:
    """The published dynamic forms the actor may fill or send (none without the right)."""
    if not actor.has(RIGHT):
        return []
    return list(
        FormDefinition.objects(kind="dynamic", archived=False, latest_version__gt=0).order_by("title")
    )


def send_to_portal(actor: Actor, client_id, form_key) -> dict:
    """Send a dynamic form to the client's portal: a form request acknowledged and filed like an intake
    form. Raises Forbidden, NotFound, ValidationFailed, Conflict (portal off)."""
    client = get_client_for(actor, client_id, need=RIGHT)
    form = _published_dynamic(form_key)
    shape = intake.start_request(actor, client, form.key)
    audit.record(
        actor,
        "client_form_requested",
        client=client,
        object_type="process_instance",
        object_id=shape["id"],
        details={"form": form.key, "kind": "dynamic"},
    )
    return shape


def fill_for_client(actor: Actor, client_id, form_key, data, *, version_id: str | None = None) -> dict:
    """Staff fill a dynamic form for a client: validated and sealed like any submission, then filed in
    General Documents. Raises Forbidden, NotFound, ValidationFailed (by question name), Conflict."""
    if not actor.is_staff:
        raise NotFound("no such client")
    client = get_client_for(actor, client_id, need=RIGHT)
    form = _published_dynamic(form_key)
    # The context staff fill and save progress under (GET and PUT /clients/{id}/forms/{key}).
    sub = submissions.complete(actor, client.id, form.key, data, context="", version_id=version_id)
    pdf = submissions.submission_pdf(actor, sub.id)
    file_id = documents.store_pdf(client.id, pdf, filename=f"{form.key}.pdf")
    doc = documents.file_pdf(
        client.id,
        file_id=file_id,
        title=form.title,
        kind="form",
        source_key=f"submission:{sub.id}",
        form_key=form.key,
        submission_id=str(sub.id),
    )
    audit.record(
        actor,
        "client_form_filled",
        client=client,
        object_type="submission",
        object_id=str(sub.id),
        details={"form": form.key, "document": str(doc.id)},
    )
    return {"submission_id": str(sub.id), "document": documents.shape(doc)}
