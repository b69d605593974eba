"""First start (and upgrades): load the shipped forms and deploy the shipped BPMN processes.

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
from engine.services import forms

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
SHIPPED_FORMS = ((ROOT / "form_defs", "intake"), (ROOT / "workflows" / "forms", "task"))


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
                forms.create_form(SYSTEM, key, kind, definition.get("title") or key.replace("_", " ").title(),
                                  definition)
                forms.publish(SYSTEM, key)
            except Conflict:  # another process created it first
                continue
            created.append(key)
    return created


def install_shipped() -> dict:
    """Shipped forms, then shipped processes (their formKeys must be published first)."""
    from engine.workflow.deploy import deploy_shipped

    created = load_shipped_forms()
    deployed = [r for r in deploy_shipped() if r["created"]]
    if created or deployed:
        log.info("installed %d shipped forms and %d process versions", len(created), len(deployed))
    return {"forms": created, "processes": deployed}
