"""API: BPMN process definitions — list, deploy (validated), read a version."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services.processes import processes as process_service
from web.security import access, current_actor

blp = Blueprint("processes_api", __name__, url_prefix="/api/v1", description="BPMN process definitions")

_S = ma.fields.String


class DefinitionOut(ma.Schema):
    process_id, name = _S(), _S()
    latest_version = ma.fields.Integer()
    updated_at = ma.fields.DateTime()


class DefinitionList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DefinitionOut))


class DeployIn(ma.Schema):
    bpmn = _S(
        required=True, validate=ma.validate.Length(min=1, max=2_000_000), metadata={"description": "BPMN XML"}
    )


class Deployed(ma.Schema):
    process_id = _S()
    number = ma.fields.Integer()
    created = ma.fields.Boolean(metadata={"description": "false when identical to the latest version"})


class DeployOut(ma.Schema):
    deployed = ma.fields.List(ma.fields.Nested(Deployed))


class VersionOut(ma.Schema):
    process_id, bpmn, sha256, deployed_by = _S(), _S(), _S(), _S()
    number = ma.fields.Integer()
    calls, form_keys, operations = ma.fields.List(_S()), ma.fields.List(_S()), ma.fields.List(_S())
    deployed_at = ma.fields.DateTime()


@blp.route("/processes")
class Processes(MethodView):
    @blp.response(200, DefinitionList)
    @access("staff:workflows.manage")
    def get(self):
        """Deployed processes and their latest version numbers."""
        return {"items": process_service.list_definitions(current_actor())}

    @blp.arguments(DeployIn)
    @blp.response(201, DeployOut)
    @access("staff:workflows.manage")
    def post(self, body):
        """Deploy BPMN: 422 deploy_rejected with problems by element id; identical XML is not a new version."""
        return {"deployed": process_service.deploy_bpmn(current_actor(), body["bpmn"])}


@blp.route("/processes/<process_id>/versions/<int:number>")
class ProcessVersion(MethodView):
    @blp.response(200, VersionOut)
    @access("staff:workflows.manage")
    def get(self, process_id, number):
        """One deployed version with its BPMN."""
        return process_service.get_version(current_actor(), process_id, number)
