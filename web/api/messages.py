"""API: secure messaging — a client profile's thread, posting (with attachments), read marks, downloads."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services.messaging import messaging
from web.api._files import file_response, uploads
from web.security import access, current_actor

blp = Blueprint("messages_api", __name__, url_prefix="/api/v1", description="Secure messaging")

_S, _I = ma.fields.String, ma.fields.Integer


class MessageAuthor(ma.Schema):
    kind, id, name = _S(), _S(), _S()


class MessageReader(MessageAuthor):
    at = _S(allow_none=True)


class AttachmentOut(ma.Schema):
    n, filename, content_type, size = _I(), _S(), _S(), _I()


class MessageOut(ma.Schema):
    id, seq, client_id, body, created_at = _S(), _I(), _S(), _S(), _S()
    author = ma.fields.Nested(MessageAuthor)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentOut))
    read_by = ma.fields.List(ma.fields.Nested(MessageReader))


class ThreadOut(ma.Schema):
    client_id = _S()
    thread_id = _S(allow_none=True)
    unread = _I()
    messages = ma.fields.List(ma.fields.Nested(MessageOut))


class ThreadQuery(ma.Schema):
    before_seq = _I(validate=ma.validate.Range(min=1))
    limit = _I(load_default=messaging.PAGE, validate=ma.validate.Range(min=1, max=messaging.PAGE))


class ThreadMarkRead(ma.Schema):
    up_to_seq = _I(validate=ma.validate.Range(min=0), metadata={"description": "default: every message"})


class ThreadUnreadOut(ma.Schema):
    unread = _I()


class UnreadThread(ma.Schema):
    client_id, client_name, thread_id, last_message_at = _S(), _S(), _S(), _S()
    unread = _I()


class UnreadList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UnreadThread))


@blp.route("/clients/<client_id>/messages")
class Thread(MethodView):
    @blp.arguments(ThreadQuery, location="query")
    @blp.response(200, ThreadOut)
    @access("authenticated")
    def get(self, args, client_id):
        """The thread (newest `limit` messages, oldest first) with read receipts and your unread count."""
        return messaging.list_messages(current_actor(), client_id, **args)

    @blp.doc(
        requestBody={
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"body": {"type": "string"}}}
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "body": {"type": "string"},
                            "attachments": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        },
                    }
                },
            }
        }
    )
    @blp.response(201, MessageOut)
    @blp.alt_response(413, description="an attachment is too large")
    @blp.alt_response(415, description="an attachment is not an accepted type")
    @access("authenticated")
    def post(self, client_id):
        """Post a message: JSON `{"body"}`, or multipart with `body` and up to five `attachments` files."""
        if request.mimetype == "multipart/form-data":
            body, attached = request.form.get("body", ""), uploads("attachments")
        else:
            payload = request.get_json(silent=True)
            body, attached = (payload.get("body", "") if isinstance(payload, dict) else ""), []
        return messaging.post_message(current_actor(), client_id, body=str(body), attachments=attached)


@blp.route("/clients/<client_id>/messages/read")
class ThreadRead(MethodView):
    @blp.arguments(ThreadMarkRead)
    @blp.response(200, ThreadUnreadOut)
    @access("authenticated")
    def post(self, body, client_id):
        """Mark the thread read (up to `up_to_seq`); returns what is still unread."""
        return messaging.mark_read(current_actor(), client_id, **body)


@blp.route("/messages/<message_id>/attachments/<int:n>")
class AttachmentItem(MethodView):
    @blp.response(200, description="the file, as an attachment")
    @access("authenticated")
    def get(self, message_id, n):
        """Download attachment `n` (from 0) of a message in a thread you may read."""
        return file_response(*messaging.read_attachment(current_actor(), message_id, n))


@blp.route("/messages/unread")
class Unread(MethodView):
    @blp.response(200, UnreadList)
    @access("staff")
    def get(self):
        """Threads of clients you see with messages you have not read (shown beside tasks in the inbox)."""
        return {"items": messaging.unread_threads_for_staff(current_actor())}
