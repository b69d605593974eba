"""The development mail sink: an aiosmtpd SMTP server that keeps every message in the database.

`portico up` runs it as a child process (`portico mailsink --port N`) when
PORTICO_SMTP_URL is unset; the messages show at /dev/mail. Tests start
`MailSink` in-process with aiosmtpd's threaded Controller.
"""

from __future__ import annotations

import logging
import signal
import threading

from aiosmtpd.controller import Controller

from engine.services.messaging.mail import record_received

log = logging.getLogger("portico.mailsink")
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class MailSink:
    """aiosmtpd handler: accept any recipient, store the message."""

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        try:
            # A blocking database write on the SMTP thread: fine for a development sink.
            stored = record_received(envelope.mail_from or "", list(envelope.rcpt_tos), envelope.content)
        except Exception:  # noqa: BLE001 - tell the sender to retry rather than lose the mail
            log.exception("could not store a received message")
            return "451 Requested action aborted: error in processing"
        log.info("kept mail %s to %s: %s", stored.id, ", ".join(stored.to), stored.subject)
        return "250 Message accepted for delivery"


def controller(host: str, port: int) -> Controller:
    return Controller(MailSink(), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES)


def serve(host: str, port: int) -> None:
    """Run the sink until SIGTERM or SIGINT (the database connection must be set up already)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    smtp = controller(host, port)
    smtp.start()
    log.info("mail sink listening on %s:%d", host, port)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        smtp.stop()
