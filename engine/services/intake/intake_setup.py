"""First start (and upgrades): load the shipped forms, offer the default intake packet, and deploy the
shipped BPMN processes.

form_defs/*.json are intake forms; workflows/forms/*.json are the task forms
the shipped processes name (acknowledgement, guardian approval). A form that
already exists is left alone (admins may have edited it); an unchanged BPMN
file is not a new version. Safe to run from several processes at once.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from engine.authz import SYSTEM
from engine.errors import Conflict
from engine.models.forms import FormDefinition
from engine.models.organization import Organization
from engine.services.forms import forms
from engine.workflow import backfill
from engine.workflow.deploy import deploy_shipped

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[3]
SHIPPED_FORMS = ((ROOT / "form_defs", "intake"), (ROOT / "workflows" / "forms", "task"))
# What an adult client fills in before a first session, in the order they fill it in: who they are and
# who to call, their history and insurance, then what they agree to. The screeners (PHQ-9, GAD-7), the
# minor's forms, telehealth consent and releases are shipped too, for the admin to add when wanted.
DEFAULT_PACKET = (
    "demographics",
    "emergency_contact",
    "health_history",
    "insurance_information",
    "consent_adult",
    "npp_acknowledgment",
    "financial_policy",
)


def load_shipped_forms() -> list[str]:
    """Create and publish every shipped form that does not exist yet; returns the keys created."""
    created = []
    for folder, kind in SHIPPED_FORMS:
        for path in sorted(folder.glob("*.json")):
            key = path.stem
            if FormDefinition.objects(key=key).count():
                continue
            definition = json.loads(path.read_text())
            try:
                forms.create_form(
                    SYSTEM, key, kind, definition.get("title") or key.replace("_", " ").title(), definition
                )
                forms.publish(SYSTEM, key)
            except Conflict:  # another process created it first
                continue
            created.append(key)
    return created


def install_default_packet() -> list[str]:
    """Give a practice that never had one the default intake packet, once; returns the packet set.

    Only the first time: an admin who later empties or edits the packet keeps their choice, and a
    practice that chose a packet before this existed keeps it. Both are compare-and-set on the
    organization, so two processes starting at once set it once.
    """
    org = Organization.get()
    if org.default_packet_installed:
        return []
    published = {
        f.key
        for f in FormDefinition.objects(
            key__in=list(DEFAULT_PACKET), kind="intake", archived=False, latest_version__gt=0
        ).only("key")
    }
    packet = [key for key in DEFAULT_PACKET if key in published]
    offered = Organization.objects(
        id=org.id, default_packet_installed__ne=True, portal__intake_packet__size=0
    ).update_one(set__portal__intake_packet=packet, set__default_packet_installed=True, inc__version=1)
    if not offered:  # a packet was already chosen: keep it, and never offer the default again
        Organization.objects(id=org.id, default_packet_installed__ne=True).update_one(
            set__default_packet_installed=True, inc__version=1
        )
    return packet if offered else []


def install_shipped() -> dict:
    """Shipped forms, the default packet, then shipped processes (their formKeys must be published first)."""
    created = load_shipped_forms()
    install_default_packet()
    deployed = [r for r in deploy_shipped() if r["created"]]
    if created or deployed:
        log.info("installed %d shipped forms and %d process versions", len(created), len(deployed))
    return {"forms": created, "processes": deployed}


def deploy_on_start() -> bool:
    """The scheduler's start-up (engine.workflow.scheduler.run_forever's `on_start`): the shipped forms
    and BPMN (unchanged files are no-ops), then the one-off upgrades of older rows
    (engine.workflow.backfill). False = try again later (e.g. the forms they name are not published yet)."""
    try:
        load_shipped_forms()  # the shipped processes name these forms: publish them first
        install_default_packet()
        for result in deploy_shipped():
            if result["created"]:
                log.info("deployed shipped process %s version %s", result["process_id"], result["number"])
        if count := backfill.task_roles():
            log.info("gave %d open tasks written before task roles their role", count)
        return True
    except Exception as exc:  # a shipped file that cannot deploy yet must not stop timers
        log.warning("shipped BPMN not deployed yet (%s); retrying", getattr(exc, "details", None) or exc)
        return False
