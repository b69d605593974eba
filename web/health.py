"""Readiness: the database and the broker both answer."""

from __future__ import annotations

from engine.config import Settings


def check(settings: Settings) -> tuple[bool, dict]:
    details: dict[str, str] = {}
    try:
        from engine.db import get_db

        get_db().command("ping")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        details["database"] = type(exc).__name__
    try:
        _ping_broker(settings.broker_url)
    except Exception as exc:  # noqa: BLE001
        details["broker"] = type(exc).__name__
    return not details, details


def _ping_broker(url: str | None) -> None:
    if not url:
        raise RuntimeError("no broker configured")
    if url.startswith("redis"):
        import redis

        redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping()
    else:
        import pika

        params = pika.URLParameters(url)
        params.socket_timeout = 2
        params.blocked_connection_timeout = 2
        pika.BlockingConnection(params).close()
