"""Insurance policies with card images and a staff review."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

RELATIONSHIPS = ("self", "spouse", "child", "other")
REVIEW_STATUSES = ("pending", "accepted", "rejected")


class InsurancePolicy(me.Document):
    meta = {"collection": "insurance_policies", "indexes": [("client", "-created_at"), "status"]}

    client = me.ObjectIdField(required=True)
    priority = me.StringField(choices=("primary", "secondary"), default="primary")
    payer = me.StringField(required=True, max_length=200)
    member_id = me.StringField(required=True, max_length=60)
    group_number = me.StringField(default="", max_length=60)
    subscriber_name = me.StringField(required=True, max_length=200)
    subscriber_date_of_birth = me.DateField()
    relationship = me.StringField(choices=RELATIONSHIPS, default="self")
    front_file_id = me.StringField(default="")
    back_file_id = me.StringField(default="")
    status = me.StringField(choices=REVIEW_STATUSES, default="pending")
    review_note = me.StringField(default="", max_length=1000)
    reviewed_by = me.StringField(default="")
    reviewed_at = me.DateTimeField()
    submitted_by_kind = me.StringField(default="")
    submitted_by_id = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)
    updated_at = me.DateTimeField(default=utcnow)
