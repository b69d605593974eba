"""Messaging: secure message threads, outgoing mail, notification mails, telling staff about new work."""
