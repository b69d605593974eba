"""Resolve the acting identity of a request (scaffold: replaced by the accounts work)."""

from __future__ import annotations

from flask import Flask, g

from engine.authz import ANONYMOUS


def init_sessions(app: Flask) -> None:
    @app.before_request
    def _resolve():
        g.actor = ANONYMOUS
