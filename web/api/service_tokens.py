"""API: service tokens — named API tokens for integrations, with their own permissions (shown once, revocable)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.authz import PERMISSIONS
from engine.services.integrations import service_tokens
from web.security import access, current_actor

blp = Blueprint(
    "service_tokens_api",
    __name__,
    url_prefix="/api/v1",
    description="Service tokens for integrations (send as `Authorization: Bearer pst_…`)",
)

_S = ma.fields.String


class TokenIn(ma.Schema):
    name = _S(required=True, validate=ma.validate.Length(min=1, max=100))
    permissions = ma.fields.List(
        _S(validate=ma.validate.OneOf(sorted(PERMISSIONS))),
        load_default=list,
        validate=ma.validate.Length(max=len(PERMISSIONS)),
        metadata={"description": "permission codes; only ones you hold"},
    )


class TokenOut(ma.Schema):
    id, name = _S(), _S()
    permissions = ma.fields.List(_S())
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)


class TokenCreated(TokenOut):
    token = _S(metadata={"description": "the token itself, shown this once"})


class TokenList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TokenOut))


@blp.route("/service-tokens")
class ServiceTokens(MethodView):
    @blp.response(200, TokenList)
    @access("staff:integrations.manage")
    def get(self):
        """Every service token with its permissions and last use (revoked ones marked)."""
        return {"items": service_tokens.list_tokens(current_actor())}

    @blp.arguments(TokenIn)
    @blp.response(201, TokenCreated)
    @access("staff:integrations.manage")
    def post(self, body):
        """Create a token; the answer holds the token itself, shown only this once."""
        raw, made = service_tokens.create_token(current_actor(), body["name"], body["permissions"])
        return {**made, "token": raw}


@blp.route("/service-tokens/<token_id>/revoke")
class ServiceTokenRevoke(MethodView):
    @blp.response(200, TokenOut)
    @access("staff:integrations.manage")
    def post(self, token_id):
        """Revoke a token: it is refused from the next request on."""
        return service_tokens.revoke_token(current_actor(), token_id)
