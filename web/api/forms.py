"""API: form definitions (drafts, publish, archive, copy to intake), filling forms for a client
profile (start with prefill, save progress, submit), submissions with evidence, review items."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.forms.pdf import blank_pdf
from engine.services.forms import forms as form_service
from engine.services.forms import submissions as sub_service
from engine.services.intake import dynamic_forms
from web.api._files import download
from web.security import access, current_actor

blp = Blueprint(
    "forms_api", __name__, url_prefix="/api/v1", description="Forms, submissions and review items"
)

_S = ma.fields.String


class FormIn(ma.Schema):
    key = _S(required=True)
    kind = _S(required=True, metadata={"description": "intake, dynamic or task"})
    title = _S(required=True)
    definition = ma.fields.Dict(required=True, metadata={"description": "SurveyJS JSON"})


class FormDraftIn(ma.Schema):
    title = _S()
    definition = ma.fields.Dict(required=True)


class FormOut(ma.Schema):
    key, kind, title, copied_from = _S(), _S(), _S(), _S()
    draft = ma.fields.Dict()
    archived = ma.fields.Boolean()
    latest_version = ma.fields.Integer()
    latest_version_id = _S(allow_none=True)
    updated_at = ma.fields.DateTime()


class FormQuery(ma.Schema):
    kind = _S(validate=ma.validate.OneOf(("intake", "dynamic", "task")))
    include_archived = ma.fields.Boolean(load_default=False)


class FormVersionOut(ma.Schema):
    id, key, kind, title, sha256 = _S(), _S(), _S(), _S(), _S()
    number = ma.fields.Integer()
    published_at = ma.fields.DateTime()


class FormCheckIn(ma.Schema):
    definition = ma.fields.Dict(required=True, metadata={"description": "SurveyJS JSON"})


class FormProblemOut(ma.Schema):
    path = _S(metadata={"description": "JSON path of the problem"})
    name = _S(metadata={"description": "the question or panel it concerns (empty: the whole form)"})
    title = _S()
    messages = ma.fields.List(_S())


class FormCheckOut(ma.Schema):
    problems = ma.fields.List(ma.fields.Nested(FormProblemOut))


class FormPublishedOut(FormVersionOut):
    definition = ma.fields.Dict()


class FormCopyIn(ma.Schema):
    new_key = _S(required=True)
    title = _S()


_CONTEXT = (
    "the task the answers belong to (task:<id>); a portal account must name an open task of "
    "theirs that asks for this form"
)


class FormAnswersIn(ma.Schema):
    data = ma.fields.Dict(load_default=dict, metadata={"description": "answers by question name"})
    context = _S(load_default="", metadata={"description": _CONTEXT})
    version_id = _S(load_default=None, allow_none=True)


class FormContextQuery(ma.Schema):
    context = _S(load_default="", metadata={"description": _CONTEXT})


class FormSessionOut(ma.Schema):
    form_key, version_id = _S(), _S()
    definition, data = ma.fields.Dict(), ma.fields.Dict()
    has_progress = ma.fields.Boolean()


class FormSubmissionOut(ma.Schema):
    id, form_key, form_version, client_id, status, context = _S(), _S(), _S(), _S(), _S(), _S()
    version_number = ma.fields.Integer()
    data = ma.fields.Dict()
    evidence = ma.fields.Dict(allow_none=True)
    verified = ma.fields.Boolean(allow_none=True)
    updated_at = ma.fields.DateTime()


class FormReviewOut(ma.Schema):
    id, client, submission, form_key, field, question, old_value, new_value, status = (_S() for _ in range(9))


class FormReviewList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FormReviewOut))


@blp.route("/forms")
class Forms(MethodView):
    @blp.arguments(FormQuery, location="query")
    @blp.response(200, FormOut(many=True))
    @access("staff")
    def get(self, args):
        """Form definitions, by key."""
        return form_service.list_forms(current_actor(), **args)

    @blp.arguments(FormIn)
    @blp.response(201, FormOut)
    @access("staff")
    def post(self, body):
        """Create a draft form; 422 lists every definition problem by JSON path; 409 if the key is taken."""
        return form_service.create_form(
            current_actor(), body["key"], body["kind"], body["title"], body["definition"]
        )


@blp.route("/forms/check", methods=["POST"])
@blp.arguments(FormCheckIn)
@blp.response(200, FormCheckOut)
@access("staff")
def check(body):
    """The server's checks on a definition, by the element they concern, without saving it."""
    return {"problems": form_service.check(body["definition"])}


@blp.route("/forms/<key>")
class FormItem(MethodView):
    @blp.response(200, FormOut)
    @access("staff")
    def get(self, key):
        """One form definition with its draft."""
        return form_service.get_form(key)

    @blp.arguments(FormDraftIn)
    @blp.response(200, FormOut)
    @access("staff")
    def put(self, body, key):
        """Replace the draft (checked like a new form)."""
        return form_service.update_draft(current_actor(), key, body["definition"], title=body.get("title"))


@blp.route("/forms/<key>/publish", methods=["POST"])
@blp.response(201, FormVersionOut)
@access("staff")
def publish(key):
    """Publish the draft as the next immutable version."""
    return form_service.publish(current_actor(), key)


@blp.route("/forms/<key>/published")
@blp.response(200, FormPublishedOut)
@access("staff")
def published(key):
    """The latest published version with its definition (404 when never published)."""
    return form_service.last_published(key)


@blp.route("/forms/<key>/archive", methods=["POST"])
@blp.response(200, FormOut)
@access("staff")
def archive(key):
    """Archive a form; existing submissions keep their version."""
    return form_service.archive(current_actor(), key)


@blp.route("/forms/<key>/copy-to-intake", methods=["POST"])
@blp.arguments(FormCopyIn)
@blp.response(201, FormOut)
@access("staff:intake_forms.manage")
def copy_to_intake(body, key):
    """Copy a dynamic form into a new intake form (draft)."""
    return form_service.copy_to_intake(current_actor(), key, body["new_key"], body.get("title"))


@blp.route("/forms/<key>/blank.pdf")
@access("staff")
def blank(key):
    """A printable blank PDF of the latest published version."""
    _, definition = form_service.published_definition(key)
    return download(blank_pdf(definition), "application/pdf", f"{key}.pdf")


@blp.route("/clients/<client_id>/forms/<key>")
class FillForm(MethodView):
    @blp.arguments(FormContextQuery, location="query")
    @blp.response(200, FormSessionOut)
    @access("authenticated")
    def get(self, args, client_id, key):
        """The form to fill for a client profile: definition and answers (saved progress over prefill)."""
        return sub_service.start(current_actor(), client_id, key, context=args["context"])

    @blp.arguments(FormAnswersIn)
    @blp.response(204)
    @access("authenticated")
    def put(self, body, client_id, key):
        """Save partial answers to resume later (not validated)."""
        sub_service.save_progress(current_actor(), client_id, key, body["data"], context=body["context"])

    @blp.arguments(FormAnswersIn)
    @blp.response(201, FormSubmissionOut)
    @access("authenticated")
    def post(self, body, client_id, key):
        """Submit: 422 with errors by question name (progress kept), else the sealed submission.

        Portal accounts submit by completing the task asking for the form: POST /tasks/{id}/complete."""
        sub = sub_service.complete(
            current_actor(),
            client_id,
            key,
            body["data"],
            context=body["context"],
            version_id=body["version_id"],
        )
        return sub_service.submission_view(sub)


class DynamicFillIn(ma.Schema):
    data = ma.fields.Dict(required=True, metadata={"description": "answers by question name"})
    version_id = _S(load_default=None, allow_none=True)


class DynamicFillOut(ma.Schema):
    submission_id = _S()
    document = ma.fields.Dict(metadata={"description": "the PDF filed in the client's General Documents"})


class DynamicSendOut(ma.Schema):
    id, process_id, status = _S(), _S(), _S()


@blp.route("/clients/<client_id>/dynamic-forms/<key>/fill", methods=["POST"])
@blp.arguments(DynamicFillIn)
@blp.response(201, DynamicFillOut)
@access("staff:dynamic_forms.manage")
def fill_dynamic(body, client_id, key):
    """Staff fill a dynamic form for the client (prefill: GET /clients/{id}/forms/{key}); sealed and filed
    in General Documents."""
    return dynamic_forms.fill_for_client(
        current_actor(), client_id, key, body["data"], version_id=body["version_id"]
    )


@blp.route("/clients/<client_id>/dynamic-forms/<key>/send", methods=["POST"])
@blp.response(201, DynamicSendOut)
@access("staff:dynamic_forms.manage")
def send_dynamic(client_id, key):
    """Send a dynamic form to the client's portal: acknowledged and filed like an intake form."""
    return dynamic_forms.send_to_portal(current_actor(), client_id, key)


@blp.route("/submissions/<submission_id>")
@blp.response(200, FormSubmissionOut)
@access("authenticated")
def submission(submission_id):
    """One submission with its evidence and whether its seal still verifies."""
    return sub_service.read_submission(current_actor(), submission_id)


@blp.route("/submissions/<submission_id>/pdf")
@access("authenticated")
def submission_pdf(submission_id):
    """The filled PDF of a completed submission."""
    pdf = sub_service.submission_pdf(current_actor(), submission_id)
    return download(pdf, "application/pdf", f"submission-{submission_id}.pdf")


@blp.route("/submissions/<submission_id>/files/<file_id>")
@access("authenticated")
def submission_file(submission_id, file_id):
    """A signature image or uploaded file of a submission, as an attachment (an <img> still shows it)."""
    data, content_type, filename = sub_service.submission_file(current_actor(), submission_id, file_id)
    return download(data, content_type, filename)


def _review(item) -> dict:
    return {k: str(getattr(item, k)) for k in FormReviewOut._declared_fields}


@blp.route("/clients/<client_id>/review-items")
@blp.response(200, FormReviewList)
@access("staff")
def review_items(client_id):
    """Proposed client-record changes from forms, waiting for a decision."""
    return {"items": [_review(i) for i in sub_service.pending_changes(current_actor(), client_id)]}


@blp.route("/review-items/<item_id>/<decision>", methods=["POST"])
@blp.response(200, FormReviewOut)
@access("staff:clients.manage")
def decide(item_id, decision):
    """Accept (apply to the record) or reject one proposed change."""
    from engine.errors import NotFound

    if decision not in ("accept", "reject"):
        raise NotFound()
    return _review(sub_service.decide_proposed_change(current_actor(), item_id, accept=decision == "accept"))
