"""Post/redirect/get for the service pages: flash the outcome (or the domain error, with its fields) and go back."""

from __future__ import annotations

from flask import flash, redirect

from engine.errors import PorticoError


def back(path: str, message: str = "", error: PorticoError | None = None):
    """A 303 to `path` carrying either a success message or the error's message and field details."""
    if error is not None:
        details = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                            for k, v in (error.details or {}).items()
                            if k not in ("payment", "decline_code"))
        flash(f"{error.message}{' — ' + details if details else ''}", "error")
    elif message:
        flash(message, "ok")
    return redirect(path, 303)
