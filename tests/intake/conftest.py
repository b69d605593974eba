"""Fixtures for the intake lifecycle: shipped forms and processes installed, a real SMTP server
(aiosmtpd, collecting what it receives in memory), a real Dramatiq worker and the scheduler."""

from __future__ import annotations

import email
import email.policy
import re
import threading

import pytest

from engine import config, embedded
from tests.engine.workflow.conftest import broker, scheduler, worker  # noqa: F401 - the workflow engineer's fixtures
from tests.helpers import wait_for  # noqa: F401 - re-exported for the tests here

LINK = re.compile(r"https?://\S+")


class Inbox:
    """What the test's SMTP server received: (recipients, parsed message), in arrival order."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(([r.lower() for r in envelope.rcpt_tos], parsed))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        """Plain-text bodies of the mails to `address`."""
        with self.lock:
            found = [m for rcpts, m in self.messages if address.lower() in rcpts]
        return [m.get_body(preferencelist=("plain",)).get_content() for m in found]

    def links(self, address: str, part: str) -> list[str]:
        return [link for body in self.to(address) for link in LINK.findall(body) if part in link]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@pytest.fixture()
def smtp(settings, clean_db):
    """A real SMTP server on a free port; PORTICO_SMTP_URL points at it for the test."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = embedded.free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    config.install(settings.with_(smtp_url=f"smtp://127.0.0.1:{port}", base_url="http://portal.test"))
    yield inbox
    config.install(settings)
    server.stop()


@pytest.fixture()
def installed(clean_db):
    """The shipped forms and processes, as on first start."""
    from engine.services.intake_setup import install_shipped

    return install_shipped()



@pytest.fixture()
def people(client, installed, smtp):
    """Ann, an adult client with a portal account, and an admin; packet demographics + phq9, no reminders."""
    from engine import wiring
    from tests.helpers import api_login, make_client, make_portal_account, make_staff
    from tests.intake import lifecycle as lc

    wiring.wire()
    lc.configure(intake_packet=["demographics", "phq9"], reminder_max=0)
    admin = make_staff(roles=("org_admin",))
    ann = make_client(first_name="Ann", email="ann@example.org")
    make_portal_account(client=ann)
    return {"staff": api_login(client, admin.email), "admin": admin, "client": ann,
            "portal": api_login(client, "ann@example.org")}
