"""The Flask app factory."""

from __future__ import annotations

import logging
import re

from flask import Flask, g, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import config as config_mod
from engine import db, wiring
from engine.config import Settings
from web import errors, headers, pages, security
from web.api import appointments as api_appointments
from web.api import auth as api_auth
from web.api import billing as api_billing
from web.api import clients as api_clients
from web.api import documents as api_documents
from web.api import forms as api_forms
from web.api import insurance as api_insurance
from web.api import intake as api_intake
from web.api import messages as api_messages
from web.api import process_instances as api_process_instances
from web.api import processes as api_processes
from web.api import reject_unknown_query
from web.api import service_tokens as api_service_tokens
from web.api import settings as api_settings
from web.api import staff as api_staff
from web.api import studio as api_studio
from web.api import tasks as api_tasks
from web.api import webhooks as api_webhooks
from web.pages import admin as pages_admin
from web.pages import auth as pages_auth
from web.pages import devmail as pages_devmail
from web.pages import forms as pages_forms
from web.pages import inbox as pages_inbox
from web.pages import intake as pages_intake
from web.pages import integrations as pages_integrations
from web.pages import portal as pages_portal
from web.pages import portal_appointments as pages_portal_appointments
from web.pages import portal_billing as pages_portal_billing
from web.pages import portal_insurance as pages_portal_insurance
from web.pages import portal_messages as pages_portal_messages
from web.pages import portal_tasks as pages_portal_tasks
from web.pages import practice as pages_practice
from web.pages import staff as pages_staff
from web.pages import staff_appointments as pages_staff_appointments
from web.pages import staff_billing as pages_staff_billing
from web.pages import staff_insurance as pages_staff_insurance
from web.pages import staff_messages as pages_staff_messages
from web.pages import studio as pages_studio


class _NoQueryStrings(logging.Filter):
    """Development server (werkzeug) access lines without query strings, like `portico web`'s
    (engine.cli.ACCESS_LOG_FORMAT): activation links carry their token there."""

    _QUERY = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (self._QUERY.sub("", record.args[0]), *record.args[1:])
        return True


_ACCESS_FILTER = _NoQueryStrings()


# What the app is made of, in registration order: the API's resources (/api/v1) and the page areas.
# A new module is added here by hand: nothing is discovered by scanning packages.
API_BLUEPRINTS = (
    api_appointments.blp,
    api_auth.blp,
    api_billing.blp,
    api_clients.blp,
    api_documents.blp,
    api_forms.blp,
    api_insurance.blp,
    api_intake.blp,
    api_messages.blp,
    api_process_instances.blp,
    api_processes.blp,
    api_service_tokens.blp,
    api_settings.blp,
    api_staff.blp,
    api_studio.blp,
    api_tasks.blp,
    api_webhooks.blp,
)
PAGE_BLUEPRINTS = (
    pages_admin.bp,
    pages_auth.bp,
    pages_devmail.bp,
    pages_forms.bp,
    pages_inbox.bp,
    pages_intake.bp,
    pages_integrations.bp,
    pages_portal.bp,
    pages_portal_appointments.bp,
    pages_portal_billing.bp,
    pages_portal_insurance.bp,
    pages_portal_messages.bp,
    pages_portal_tasks.bp,
    pages_practice.bp,
    pages_staff.bp,
    pages_staff_appointments.bp,
    pages_staff_billing.bp,
    pages_staff_insurance.bp,
    pages_staff_messages.bp,
    pages_studio.bp,
)


def create_app(settings: Settings | None = None, *, connect: bool = True) -> Flask:
    settings = config_mod.install(settings or config_mod.load())
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        PORTICO=settings,
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024 + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_NAME="portico_session",
        WTF_CSRF_TIME_LIMIT=None,
        API_TITLE="Portico API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    logging.basicConfig(level=settings.log_level)
    logging.getLogger("werkzeug").addFilter(_ACCESS_FILTER)
    if settings.trusted_proxies:
        # Behind N proxies, the client is the Nth address from the right of X-Forwarded-For (what a
        # client sends itself is further left and ignored). Rate limits, audit rows, sessions and
        # signature evidence all read request.remote_addr, so this one place fixes them all.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    wiring.wire()  # events, listeners and operations, as in every process
    if connect:
        if not settings.mongodb_uri:
            raise config_mod.ConfigError(
                "PORTICO_MONGODB_URI is not set (use `portico up` for the embedded database)"
            )
        db.connect(settings.mongodb_uri)
        db.ensure_indexes()
        from engine.services.accounts.accounts import ensure_bootstrap_admin

        ensure_bootstrap_admin(settings)  # first organization admin on an empty database

    api = errors.PorticoApi(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    app.extensions["portico_api"] = api
    # flask-smorest's own view (a bound method, so it cannot carry the marker itself): the API description is public.
    openapi_view = app.view_functions["api-docs.openapi_json"]
    app.view_functions["api-docs.openapi_json"] = security.public(lambda: openapi_view())
    for blp in API_BLUEPRINTS:
        api.register_blueprint(blp)
    for bp in PAGE_BLUEPRINTS:
        app.register_blueprint(bp)
    pages.install_globals(app)
    errors.register(app)
    headers.install(app)

    from web.sessions import init_sessions

    init_sessions(app)

    @app.before_request
    def _gate():
        security.enforce(g.actor)
        reject_unknown_query()  # after the access check: a caller refused learns nothing about parameters

    @app.get("/healthz")
    @security.public
    def healthz():
        from web.health import check

        ok, details = check(settings)
        return jsonify({"status": "ok" if ok else "unavailable", **({} if ok else {"details": details})}), (
            200 if ok else 503
        )

    return app
