"""Domain exceptions. web/ maps each to one HTTP status in a single handler.

Every error has a stable machine `code`, a human `message` and optional
`details` (for validation: field or JSON path -> list of messages).
"""

from __future__ import annotations


class PorticoError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str = "", *, details=None, code: str | None = None):
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details
        if code:
            self.code = code


class ConfigError(PorticoError):
    """The configuration is unusable."""

    code = "config_error"
    status = 500


class BadRequest(PorticoError):
    """The request is malformed."""

    code = "bad_request"
    status = 400


class ValidationFailed(PorticoError):
    """Some fields are invalid; details maps each field to its messages."""

    code = "validation_failed"
    status = 422


class NotAuthenticated(PorticoError):
    """Authentication is required."""

    code = "not_authenticated"
    status = 401


class Forbidden(PorticoError):
    """You lack the permission for this action (the object itself is visible to you)."""

    code = "forbidden"
    status = 403


class NotFound(PorticoError):
    """No such object, or not one you may see."""

    code = "not_found"
    status = 404


class Conflict(PorticoError):
    """The object changed or is in a state that does not allow this."""

    code = "conflict"
    status = 409


class TooLarge(PorticoError):
    """The payload is larger than allowed."""

    code = "too_large"
    status = 413


class UnsupportedMediaType(PorticoError):
    """The content type is not accepted."""

    code = "unsupported_media_type"
    status = 415


class RateLimited(PorticoError):
    """Too many attempts; wait and try again."""

    code = "rate_limited"
    status = 429


class StaleVersion(Conflict):
    """Someone else saved this object first (compare-and-set lost)."""

    code = "stale_version"
