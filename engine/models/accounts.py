"""Logins: staff members and portal accounts, their server-side sessions and API tokens."""

from __future__ import annotations

from typing import ClassVar

import mongoengine as me

from engine.models import utcnow

ACCOUNT_KINDS = ("staff", "portal")


class Login(me.Document):
    """Fields every login has; StaffMember and PortalAccount are the concrete kinds."""

    # Annotated so that the concrete kinds may declare their own, richer meta.
    meta: ClassVar[dict[str, object]] = {"abstract": True}

    email = me.EmailField(required=True, max_length=254)
    password_hash = me.StringField(default="")  # argon2id; empty = no password yet
    password_changed_at = me.DateTimeField(default=utcnow)
    totp_secret = me.StringField(default="")  # stored only once MFA is confirmed
    totp_pending_secret = me.StringField(default="")
    mfa_enabled = me.BooleanField(default=False)
    totp_last_step = me.IntField(default=0)  # a code's time step is accepted once
    totp_failures = me.ListField(
        me.DateTimeField(), default=list
    )  # when recent wrong codes came (engine.services.accounts.mfa)
    disabled = me.BooleanField(default=False)
    created_at = me.DateTimeField(default=utcnow)
    last_login_at = me.DateTimeField()

    def clean(self):
        self.email = (self.email or "").strip().lower()


class StaffPreferences(me.EmbeddedDocument):
    service_types = me.ListField(me.StringField(), default=list)
    locations = me.ListField(me.StringField(), default=list)
    notify_new_task = me.BooleanField(default=True)
    notify_new_message = me.BooleanField(default=True)
    notify_digest = me.StringField(choices=("none", "daily", "weekly"), default="daily")


class StaffMember(Login):
    meta = {"collection": "staff_members", "indexes": [{"fields": ["email"], "unique": True}, "roles"]}
    kind = "staff"

    first_name = me.StringField(required=True, max_length=100)
    last_name = me.StringField(required=True, max_length=100)
    roles = me.ListField(me.StringField(), default=list)  # role preset keys (engine.authz.ROLE_PRESETS)
    permissions = me.ListField(me.StringField(), default=list)  # explicit grants
    preferences = me.EmbeddedDocumentField(StaffPreferences, default=StaffPreferences)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class PortalAccount(Login):
    """The login of a client or a contact. Reaches its own client profile and every linked one."""

    meta = {"collection": "portal_accounts", "indexes": [{"fields": ["email"], "unique": True}]}
    kind = "portal"

    first_name = me.StringField(default="", max_length=100)
    client = me.ReferenceField("Client")  # set when the account's person is a client
    contact = me.ReferenceField("Contact")  # set when the account's person is a contact
    activated_at = me.DateTimeField()

    @property
    def display_name(self) -> str:
        return self.first_name or self.email


class AuthSession(me.Document):
    """A browser session. The cookie holds a random id; only its hash is stored here.

    Deleting the row (logout, disable, password change) revokes the cookie even
    though its signature is still valid.
    """

    meta = {
        "collection": "auth_sessions",
        "indexes": [
            {"fields": ["token_hash"], "unique": True},
            ("account_kind", "account_id"),
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }

    token_hash = me.StringField(required=True)
    account_kind = me.StringField(required=True, choices=ACCOUNT_KINDS)
    account_id = me.ObjectIdField(required=True)
    created_at = me.DateTimeField(default=utcnow)
    last_seen_at = me.DateTimeField(default=utcnow)
    expires_at = me.DateTimeField(required=True)  # absolute lifetime
    mfa_passed = me.BooleanField(default=False)
    active_client_id = me.ObjectIdField()  # portal profile switcher
    ip = me.StringField(default="")
    user_agent = me.StringField(default="")


class ApiToken(me.Document):
    """A bearer token for /api/v1. Only the SHA-256 of the token is stored."""

    meta = {
        "collection": "api_tokens",
        "indexes": [
            {"fields": ["token_hash"], "unique": True},
            ("account_kind", "account_id"),
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }

    token_hash = me.StringField(required=True)
    account_kind = me.StringField(required=True, choices=ACCOUNT_KINDS)
    account_id = me.ObjectIdField(required=True)
    created_at = me.DateTimeField(default=utcnow)
    expires_at = me.DateTimeField(required=True)
    revoked_at = me.DateTimeField()
    label = me.StringField(default="")


class PasswordReset(me.Document):
    """A "forgot password" request and, once a worker found its account, the single-use link's HMAC.

    The web request only records the address asked about (the same write whether or not a login has
    it); a worker looks the address up, and mails a link when there is an enabled login. So the
    answer and its timing say nothing about which addresses have accounts.
    """

    meta = {
        "collection": "password_resets",
        "indexes": [
            {"fields": ["token_hash"], "unique": True, "sparse": True},
            ("status", "requested_at"),
            ("account_kind", "account_id"),
            {"fields": ["purge_at"], "expireAfterSeconds": 0},
        ],
    }

    email = me.StringField(required=True, max_length=254)  # as asked, normalized
    status = me.StringField(choices=("requested", "mailed", "no_account"), default="requested")
    requested_at = me.DateTimeField(default=utcnow)
    purge_at = me.DateTimeField(required=True)  # the row is deleted then (long after the link expired)
    account_kind = me.StringField(choices=ACCOUNT_KINDS)
    account_id = me.ObjectIdField()
    token_hash = me.StringField()  # HMAC of the raw token; the raw token is only in the mail
    expires_at = me.DateTimeField()  # the link's end: 30 minutes after it was issued
    used_at = me.DateTimeField()
