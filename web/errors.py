"""One place that turns domain errors and HTTP errors into responses.

API routes answer `{"error": {"code", "message", "details"}}`; pages render an
error template, or answer a refused action as the view chose (web/pages/_flash.py on_refusal).
Bad input never becomes a 500.
"""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import Flask, jsonify, render_template, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from engine.errors import PorticoError
from web.pages._flash import refusal_response

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "stable machine code, e.g. not_found"})
    message = ma.fields.String(required=True)
    details = ma.fields.Raw(allow_none=True, metadata={"description": "field or JSON path -> messages"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


class PorticoApi(Api):
    """flask-smorest's Api documenting the error body this module really sends (not its own shape)."""

    ERROR_SCHEMA = ErrorSchema


def wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.path == "/healthz"
        or (request.accept_mimetypes.best == "application/json")
    )


def error_response(status: int, code: str, message: str, details=None):
    if wants_json():
        resp = jsonify({"error": {"code": code, "message": message, "details": details}})
        resp.status_code = status
        return resp
    if isinstance(details, dict) and "permission_title" in details:
        details = None  # the message names the permission by its title; a page shows no codes
    return render_template("error.html", status=status, code=code, message=message, details=details), status


def _webargs_details(exc: HTTPException):
    """flask-smorest/webargs put field messages in exc.data['messages'] by location."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if not isinstance(messages, dict):
        return None
    flat: dict = {}
    for _location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
    return flat or messages


def register(app: Flask) -> None:
    @app.errorhandler(PorticoError)
    def _domain(exc: PorticoError):
        if not wants_json():  # a page that chose how to answer a refused action (web/pages/_flash.py)
            try:
                answer = refusal_response(exc)
            except PorticoError as again:  # the page to show again is itself refused: the error page
                exc, answer = again, None
            if answer is not None:
                return answer
        if exc.status >= 500:
            log.error("domain error %s: %s", exc.code, exc.message)
        resp = error_response(exc.status, exc.code, exc.message, exc.details)
        if exc.status == 401 and wants_json():
            resp.headers["WWW-Authenticate"] = 'Bearer realm="portico"'
        return resp

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "error")
        details = _webargs_details(exc) if status == 422 else None
        message = exc.description or exc.name
        if status == 422 and details:
            message = "some fields are invalid"
        resp = error_response(status, code, message, details)
        retry_after = getattr(exc, "retry_after", None) if status == 429 else None
        if retry_after:
            resp.headers["Retry-After"] = str(retry_after)
        return resp

    @app.errorhandler(OverflowError)
    def _overflow(exc: OverflowError):
        # A whole number past 64 bits reaches the database only from a request (BSON refuses it).
        if "8-byte ints" not in str(exc):
            return _unexpected(exc)
        return error_response(422, "validation_failed", "a number is too large", {"$": ["number too large"]})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "something went wrong; it has been logged")
