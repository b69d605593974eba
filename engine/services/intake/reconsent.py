"""Re-consent: when a consent form gets a new published version, clients who signed an older one are
asked to sign the new one (organization setting `reconsent_on_new_version`).

A consent form is an intake form with a signature question (`signaturepad`): signing it is
what consent means here. The request goes out the way staff send one form
(engine.services.intake.intake.send_form: a `client_intake` run for that single form, so it is
mailed, reminded, acknowledged and filed like any other). Clients already holding an
open task for that form, or who signed this version already, are left alone.
"""

from __future__ import annotations

import logging

from engine import events
from engine.authz import SYSTEM, Actor
from engine.errors import PorticoError
from engine.models.forms import FormVersion, Submission
from engine.models.organization import Organization
from engine.models.workflow import Task
from engine.services.intake import intake
from engine.services.platform import audit

log = logging.getLogger(__name__)


def _questions(elements):
    for element in elements or []:
        yield element
        yield from _questions(element.get("elements"))
        yield from _questions(element.get("templateElements"))


def is_consent_form(definition: dict, kind: str) -> bool:
    """An intake form that asks for a signature."""
    if kind != "intake":
        return False
    pages = definition.get("pages") or [{"elements": definition.get("elements")}]
    return any(q.get("type") == "signaturepad" for page in pages for q in _questions(page.get("elements")))


def clients_to_ask(key: str, number: int) -> list:
    """Clients with a completed submission of an older version of `key` and none of version `number`."""
    signed_old = set(
        Submission.objects(form_key=key, status="completed", version_number__lt=number).distinct("client")
    )
    signed_new = set(
        Submission.objects(form_key=key, status="completed", version_number__gte=number).distinct("client")
    )
    asked = set(
        Task.objects(form_key=key, status="open", client_id__in=list(signed_old)).distinct("client_id")
    )
    return sorted(c for c in signed_old - signed_new - asked if c is not None)


def form_version_published(event: events.FormVersionPublished) -> dict:
    """The subscriber to engine.events.FormVersionPublished (engine.wiring subscribes it)."""
    return on_form_published(event.actor, event.version)


def on_form_published(actor: Actor, version: FormVersion) -> dict:
    """Called after a form version is published: ask earlier signers to sign again when the setting is on.

    Never raises for one client's problem (no e-mail, portal off): those are counted as skipped.
    Returns {"asked": n, "skipped": {client id: reason}}.
    """
    result: dict = {"asked": 0, "skipped": {}}
    if version.number < 2 or not is_consent_form(version.definition, version.kind):
        return result
    org = Organization.get()
    if not org.portal.reconsent_on_new_version:
        return result
    for client_id in clients_to_ask(version.key, version.number):
        try:
            intake.send_form(SYSTEM, client_id, version.key)
            result["asked"] += 1
        except PorticoError as exc:
            result["skipped"][str(client_id)] = exc.message
    if result["asked"] or result["skipped"]:
        audit.record(
            actor,
            "form_reconsent_requested",
            object_type="form",
            object_id=version.key,
            details={"version": version.number, "asked": result["asked"], "skipped": len(result["skipped"])},
        )
    log.info("re-consent for %s v%s: %s", version.key, version.number, result)
    return result
