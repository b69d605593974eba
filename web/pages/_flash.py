"""Post/redirect/get for the pages, and the one way a page answers a refused action.

A view that acts says once, before acting, what a refusal (a domain error) brings:

    on_refusal("/portal/appointments")               # flash the error's message and go back (303)
    on_refusal(render=lambda exc: page(errors=...))  # show the form again, as typed, each problem by its field

then calls the service without try/except. The app's PorticoError handler (web/errors.py) answers an
error raised after that point with the view's choice; an error raised before it (the guard that finds
the page's object, say) still shows the error page with its status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import flash, g, redirect

from engine.errors import PorticoError


def field_words(key: str) -> str:
    """A field as a person reads it: `card.exp_month` -> "Exp month", `line_items.0.amount` -> "Amount"."""
    last = next((part for part in reversed(key.split(".")) if not part.isdigit()), key)
    return last.replace("_", " ").strip().capitalize()


def back(path: str, message: str = "", error: PorticoError | None = None):
    """A 303 to `path` carrying either a success message or the error's message and field details
    (fields named in words: people never see a field's key)."""
    if error is not None:
        details = "; ".join(
            f"{field_words(k)}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in (error.details or {}).items()
            if k not in ("payment", "decline_code")
        )
        flash(f"{error.message}{' — ' + details if details else ''}", "error")
    elif message:
        flash(message, "ok")
    return redirect(path, 303)


@dataclass(frozen=True)
class Refusal:
    """What the current view answers to a refused action of the kinds in `catch`."""

    respond: Callable[[PorticoError], object]
    catch: tuple[type[PorticoError], ...]


def on_refusal(
    back_to: str | None = None,
    *,
    render: Callable[[PorticoError], object] | None = None,
    catch: tuple[type[PorticoError], ...] = (PorticoError,),
) -> None:
    """From here on in this request, a domain error of a kind in `catch` is answered by `render(exc)`
    (the page again, with the input kept and the problems beside the fields) or, without `render`, by
    flashing its message and redirecting (303) to `back_to`. Other errors show the error page."""
    if render is None:
        if back_to is None:
            raise TypeError("on_refusal needs back_to or render")
        path = back_to

        def render(exc: PorticoError) -> object:
            return back(path, error=exc)

    g.page_refusal = Refusal(render, catch)


def refusal_response(exc: PorticoError) -> object | None:
    """The current view's answer to `exc` (see on_refusal), or None when it chose none for it."""
    refusal: Refusal | None = g.pop("page_refusal", None)
    if refusal is None or not isinstance(exc, refusal.catch):
        return None
    return refusal.respond(exc)
