"""API: a client's General Documents: list, upload (checked by content and size), download (audited).

Blank forms for the paper path are printed from GET /api/v1/forms/{key}/blank.pdf (the forms API)."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.errors import ValidationFailed
from engine.services.clients import documents
from engine.services.intake import intake_requests
from web.api._files import file_response, uploads
from web.security import access, current_actor

blp = Blueprint("documents_api", __name__, url_prefix="/api/v1", description="General Documents")

_S = ma.fields.String


class DocumentOut(ma.Schema):
    id, client_id, kind, title, content_type, created_by = _S(), _S(), _S(), _S(), _S(), _S()
    form_key = _S(allow_none=True)
    size = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    shared = ma.fields.Boolean(metadata={"description": "an upload shown in the client's portal"})


class DocumentList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DocumentOut))


@blp.route("/clients/<client_id>/documents")
class Documents(MethodView):
    @blp.response(200, DocumentList)
    @access("authenticated")
    def get(self, client_id):
        """The client's General Documents, newest first (portal: the completed forms and packets)."""
        return {"items": documents.list_documents(current_actor(), client_id)}

    @blp.response(201, DocumentOut)
    @blp.alt_response(413, description="the file is too large")
    @blp.alt_response(415, description="the file's content is not an accepted type")
    @access("staff:client_documents.upload")
    def post(self, client_id):
        """Upload a file (multipart field `file`, optional `title`); checked by content, stored encrypted.

        `answers_request` (an outstanding form's task id; needs portal.invite too): the file is that form
        completed on paper, and the request closes."""
        files = uploads("file")
        if len(files) != 1:
            raise ValidationFailed("send one file", details={"file": ["exactly one file is required"]})
        filename, data = files[0]
        title, answers = request.form.get("title", ""), request.form.get("answers_request", "")
        if answers:
            return intake_requests.upload_paper_form(
                current_actor(), client_id, answers, filename=filename, data=data, title=title
            )
        return documents.upload(current_actor(), client_id, filename=filename, data=data, title=title)


class SubmittedForm(ma.Schema):
    submission_id, title = _S(), _S()
    submitted_at = ma.fields.DateTime()


class SubmittedForms(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SubmittedForm))


@blp.route("/clients/<client_id>/submitted-forms")
class SubmittedFormList(MethodView):
    @blp.response(200, SubmittedForms)
    @access("authenticated")
    def get(self, client_id):
        """The client's submitted forms awaiting the practice's review (PDF: /submissions/{id}/pdf)."""
        return {"items": documents.submitted_forms(current_actor(), client_id)}


class SharingIn(ma.Schema):
    shared = ma.fields.Boolean(
        required=True, metadata={"description": "show the upload in the client's portal"}
    )


@blp.route("/documents/<document_id>/sharing")
class DocumentSharing(MethodView):
    @blp.arguments(SharingIn)
    @blp.response(200, DocumentOut)
    @access("staff:client_documents.upload")
    def put(self, body, document_id):
        """Share an uploaded document with the client (shown in their portal), or hide it again."""
        return documents.set_shared(current_actor(), document_id, body["shared"])


@blp.route("/documents/<document_id>/content")
class DocumentContent(MethodView):
    @blp.response(200, description="the file")
    @access("authenticated")
    def get(self, document_id):
        """Download a document (every download is audited)."""
        return file_response(*documents.download(current_actor(), document_id))
