"""A world for the form-file security tests: a form with a signature and a file upload, sent to clients
as client-lane tasks of a small test process, and the family of tests/portal_family.py plus an
unrelated client.

    world = build_world()                        # after clean_db
    task = world.task_for(world.minor)           # an open client-lane task asking for the form
    resp = world.complete(http, "client_a", task, world.answers())
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from engine.authz import SYSTEM
from engine.services.accounts import tokens
from tests.form_fills import SIG
from tests.helpers import make_client, make_portal_account, make_staff
from tests.portal_family import build_family

FORM_KEY = "signed_upload"
DEFINITION = {
    "title": "Signed upload",
    "elements": [
        {"type": "text", "name": "note", "title": "Note"},
        {
            "type": "file",
            "name": "docs",
            "title": "Documents",
            "storeDataAsText": True,
            "allowMultiple": True,
        },
        {"type": "signaturepad", "name": "signature", "title": "Signature", "isRequired": True},
    ],
}
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def data_url(raw: bytes, declared: str = "image/png") -> str:
    return f"data:{declared};base64,{base64.b64encode(raw).decode()}"


@dataclass
class World:
    family: dict
    minor: object
    client_b: object
    accounts: dict
    perms: dict = field(default_factory=dict)

    def headers(self, who: str) -> dict:
        if who == "anonymous":
            return {}
        raw, _ = tokens.issue_token(self.accounts[who], label="file-refs")
        return {"Authorization": f"Bearer {raw}"}

    def task_for(self, client) -> str:
        """A new open client-lane task of `client` asking for the form; its id."""
        from tests.form_requests import request_form

        return str(request_form(client, FORM_KEY).id)

    @staticmethod
    def answers(**over) -> dict:
        return {
            "note": "mine",
            "signature": SIG,
            "docs": [
                {
                    "name": "letter.pdf",
                    "type": "application/pdf",
                    "content": data_url(PDF_BYTES, "application/pdf"),
                }
            ],
            **over,
        }

    def complete(self, http, who: str, task_id: str, answers: dict):
        return http.post(
            f"/api/v1/tasks/{task_id}/complete", headers=self.headers(who), json={"data": answers}
        )

    def sealed(self, task_id: str):
        """The submission sealed by completing `task_id`."""
        from engine.models.forms import Submission

        return Submission.objects(context=f"task:{task_id}", status="completed").first()


def build_world() -> World:
    from engine.authz import portal_actor, staff_actor
    from engine.services.forms import forms as form_service

    form_service.create_form(SYSTEM, FORM_KEY, "intake", "Signed upload", DEFINITION)
    form_service.publish(SYSTEM, FORM_KEY)
    fam = build_family()
    client_b = make_client(first_name="Bea")
    account_b = make_portal_account(client=client_b)
    accounts = {
        "client_a": fam["minor"].portal_account,
        "client_b": account_b,
        "guardian_a": fam["guardian"].account,
        "contact_a": fam["aunt"].account,
        "therapist_a": fam["therapist"],
        "therapist_other": make_staff(roles=("therapist",)),
        "front_desk": make_staff(roles=("front_desk",)),
        "admin": make_staff(roles=("org_admin",)),
    }
    perms = {
        who: (
            portal_actor(a) if who in ("client_a", "client_b", "guardian_a", "contact_a") else staff_actor(a)
        ).permissions
        for who, a in accounts.items()
    }
    perms["anonymous"] = frozenset()
    return World(family=fam, minor=fam["minor"], client_b=client_b, accounts=accounts, perms=perms)
