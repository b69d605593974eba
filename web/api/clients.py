"""API: clients (list, search, create, read, edit) and their contact network (contacts and contact links)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.models.clients import LINK_PERMISSIONS
from engine.services.clients import clients as client_service
from engine.services.portal import contact_invitations
from web.security import access, current_actor

blp = Blueprint(
    "clients_api", __name__, url_prefix="/api/v1", description="Clients and their contact network"
)

_S = ma.fields.String
_len = ma.validate.Length


class Address(ma.Schema):
    line1, line2 = _S(validate=_len(max=200)), _S(validate=_len(max=200))
    city, region = _S(validate=_len(max=100)), _S(validate=_len(max=100))
    postal_code, country = _S(validate=_len(max=20)), _S(validate=_len(max=2))


class EmergencyContact(ma.Schema):
    name, relationship, phone = (
        _S(validate=_len(max=200)),
        _S(validate=_len(max=100)),
        _S(validate=_len(max=40)),
    )


class ClientEdit(ma.Schema):
    first_name = _S(validate=_len(max=100))
    last_name = _S(validate=_len(max=100))
    preferred_name = _S(validate=_len(max=100))
    date_of_birth = ma.fields.Date(allow_none=True)
    email = _S(allow_none=True, validate=_len(max=254))
    phone = _S(validate=_len(max=40))
    address = ma.fields.Nested(Address)
    emergency_contact = ma.fields.Nested(EmergencyContact)
    status = _S(metadata={"description": "active or archived"})
    assigned_staff = ma.fields.List(_S(), validate=_len(max=50), metadata={"description": "staff member ids"})


class ClientCreate(ClientEdit):
    first_name = _S(required=True, validate=_len(max=100))
    last_name = _S(required=True, validate=_len(max=100))


class ClientPatch(ClientEdit):
    version = ma.fields.Integer(
        metadata={"description": "the version you read; 409 stale_version if it moved on"}
    )


class ClientOut(ClientEdit):
    id = _S()
    display_name = _S()
    has_portal_account = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    version = ma.fields.Integer()


class ClientQuery(ma.Schema):
    q = _S(
        load_default="",
        validate=_len(max=200),
        metadata={"description": "words matching name or e-mail starts"},
    )
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(
        load_default=25, validate=ma.validate.Range(min=1, max=client_service.MAX_PER_PAGE)
    )
    status = _S(load_default="active", validate=ma.validate.OneOf(("active", "archived", "all")))


class ClientPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ClientOut))
    total, page, per_page = ma.fields.Integer(), ma.fields.Integer(), ma.fields.Integer()


LinkPermissions = ma.Schema.from_dict(
    {name: ma.fields.Boolean() for name in LINK_PERMISSIONS}, name="LinkPermissions"
)


class LinkFields(ma.Schema):
    relationship = _S(validate=_len(max=60))
    is_guardian = ma.fields.Boolean()
    permissions = ma.fields.Nested(LinkPermissions)


class ContactPerson(ma.Schema):
    first_name, last_name = _S(validate=_len(max=100)), _S(validate=_len(max=100))
    email = _S(allow_none=True, validate=_len(max=254))
    phone = _S(validate=_len(max=40))


class LinkEdit(LinkFields):
    contact = ma.fields.Nested(
        ContactPerson,
        metadata={
            "description": "correct a non-client contact's details (a client's are edited on their record)"
        },
    )


class ContactAdd(LinkFields, ContactPerson):
    """Give `contact_id` (a known contact), `client_id` (an existing client) or a new person's details."""

    relationship = _S(required=True, validate=_len(max=60))
    contact_id = _S()
    client_id = _S()


class ContactOut(ma.Schema):
    id, first_name, last_name, display_name, email, phone = _S(), _S(), _S(), _S(), _S(allow_none=True), _S()
    client_id = _S(allow_none=True, metadata={"description": "set when the contact is also a client"})
    has_portal_account = ma.fields.Boolean()
    portal_login = _S(metadata={"description": "active (signs in), invited (activation link sent) or none"})


class LinkOut(LinkFields):
    id = _S()
    client_id = _S()
    contact = ma.fields.Nested(ContactOut)


class LinkList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LinkOut))


@blp.route("/clients")
class Clients(MethodView):
    @blp.arguments(ClientQuery, location="query")
    @blp.response(200, ClientPage)
    @access("staff")
    def get(self, args):
        """Clients you may see (assigned to you, or all with clients.view_all), by last name."""
        return client_service.list_clients(current_actor(), **args)

    @blp.arguments(ClientCreate)
    @blp.response(201, ClientOut)
    @access("staff:clients.manage")
    def post(self, body):
        """Create a client; without `assigned_staff`, you are assigned."""
        return client_service.create_client(current_actor(), body)


@blp.route("/clients/<client_id>")
class ClientItem(MethodView):
    @blp.response(200, ClientOut)
    @access("authenticated")
    def get(self, client_id):
        """One client record (staff who may see it, or a portal account reaching the profile); else 404."""
        return client_service.get_client(current_actor(), client_id)

    @blp.arguments(ClientPatch)
    @blp.response(200, ClientOut)
    @access("staff:clients.manage")
    def patch(self, body, client_id):
        """Edit a client record; nested address and emergency contact are merged."""
        version = body.pop("version", None)
        return client_service.update_client(current_actor(), client_id, body, expected_version=version)


@blp.route("/clients/<client_id>/contacts")
class ClientContacts(MethodView):
    @blp.response(200, LinkList)
    @access("staff")
    def get(self, client_id):
        """The client's contact network. 409 contact_network_disabled when the organization turned it off."""
        return {"items": client_service.contact_network(current_actor(), client_id)}

    @blp.arguments(ContactAdd)
    @blp.response(201, LinkOut)
    @access("staff:clients.manage")
    def post(self, body, client_id):
        """Link a contact (known contact, existing client, or new person). 409 already_linked."""
        return client_service.add_contact(current_actor(), client_id, body)


@blp.route("/contact-links/<link_id>")
class ContactLinkItem(MethodView):
    @blp.arguments(LinkEdit)
    @blp.response(200, LinkOut)
    @access("staff:clients.manage")
    def patch(self, body, link_id):
        """Change relationship, guardian flag, permissions (merged) or a non-client contact's details."""
        return client_service.update_link(current_actor(), link_id, body)

    @blp.response(204)
    @access("staff:clients.manage")
    def delete(self, link_id):
        """Unlink the contact from the client; the contact itself stays."""
        client_service.remove_link(current_actor(), link_id)


class PortalInviteOut(ma.Schema):
    email = _S()
    status = _S(metadata={"description": "invited"})


@blp.route("/contact-links/<link_id>/portal-invite")
class ContactPortalInvite(MethodView):
    @blp.response(202, PortalInviteOut)
    @access("staff:portal.invite")
    def post(self, link_id):
        """Mail the contact an activation link to the client portal (a worker sends it). The contact then
        sees this client with the rights of the link. 409 no_rights, already_active; 422 without e-mail."""
        return contact_invitations.invite_contact(current_actor(), link_id)
