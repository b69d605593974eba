"""Clients and their contact network."""

from __future__ import annotations

from datetime import date

import mongoengine as me

from engine.models import utcnow

LINK_PERMISSIONS = ("forms", "appointments", "payments", "messages")


class Address(me.EmbeddedDocument):
    line1 = me.StringField(default="", max_length=200)
    line2 = me.StringField(default="", max_length=200)
    city = me.StringField(default="", max_length=100)
    region = me.StringField(default="", max_length=100)
    postal_code = me.StringField(default="", max_length=20)
    country = me.StringField(default="US", max_length=2)


class EmergencyContact(me.EmbeddedDocument):
    name = me.StringField(default="", max_length=200)
    relationship = me.StringField(default="", max_length=100)
    phone = me.StringField(default="", max_length=40)


class Client(me.Document):
    meta = {"collection": "clients", "indexes": ["last_name", "email", "assigned_staff", "status"]}

    first_name = me.StringField(required=True, max_length=100)
    last_name = me.StringField(required=True, max_length=100)
    preferred_name = me.StringField(default="", max_length=100)
    date_of_birth = me.DateField()
    email = me.EmailField(max_length=254)
    phone = me.StringField(default="", max_length=40)
    address = me.EmbeddedDocumentField(Address, default=Address)
    emergency_contact = me.EmbeddedDocumentField(EmergencyContact, default=EmergencyContact)
    status = me.StringField(choices=("active", "archived"), default="active")
    assigned_staff = me.ListField(me.ObjectIdField(), default=list)
    portal_account = me.ReferenceField("PortalAccount")
    created_at = me.DateTimeField(default=utcnow)
    version = me.IntField(default=0)

    @property
    def display_name(self) -> str:
        return f"{self.preferred_name or self.first_name} {self.last_name}"

    def age_on(self, day: date) -> int | None:
        if not self.date_of_birth:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    def is_minor(self, age_of_majority: int, today: date | None = None) -> bool:
        age = self.age_on(today or date.today())
        return age is not None and age < age_of_majority


class Contact(me.Document):
    """A person in a client's contact network. May be a client too (then `client` is set)."""

    meta = {"collection": "contacts", "indexes": ["email", "client", "portal_account"]}

    first_name = me.StringField(required=True, max_length=100)
    last_name = me.StringField(required=True, max_length=100)
    email = me.EmailField(max_length=254)
    phone = me.StringField(default="", max_length=40)
    client = me.ReferenceField(Client)
    portal_account = me.ReferenceField("PortalAccount")
    created_at = me.DateTimeField(default=utcnow)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class LinkPermissions(me.EmbeddedDocument):
    forms = me.BooleanField(default=False)
    appointments = me.BooleanField(default=False)
    payments = me.BooleanField(default=False)
    messages = me.BooleanField(default=False)

    def as_dict(self) -> dict[str, bool]:
        return {p: bool(getattr(self, p)) for p in LINK_PERMISSIONS}


class ContactLink(me.Document):
    """Contact ↔ client: relationship, guardian flag and what the contact may do for the client."""

    meta = {
        "collection": "contact_links",
        "indexes": [
            {"fields": ["contact", "client"], "unique": True},
            "client",
        ],
    }

    contact = me.ReferenceField(Contact, required=True)
    client = me.ReferenceField(Client, required=True)
    relationship = me.StringField(required=True, max_length=60)
    is_guardian = me.BooleanField(default=False)
    permissions = me.EmbeddedDocumentField(LinkPermissions, default=LinkPermissions)
    created_at = me.DateTimeField(default=utcnow)
