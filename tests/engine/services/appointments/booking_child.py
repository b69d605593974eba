"""A separate process that books one slot for one portal account (for the cross-process race test)."""

from __future__ import annotations


def book_in_child(env: dict, account_id: str, client_id: str, slot: dict, barrier, results) -> None:
    from engine import config, db
    from engine.authz import portal_actor
    from engine.errors import Conflict
    from engine.models.accounts import PortalAccount
    from engine.services.appointments import scheduling

    settings = config.install(config.load(env))
    db.connect(settings.mongodb_uri)
    actor = portal_actor(PortalAccount.objects.get(id=account_id))
    barrier.wait(60)
    try:
        scheduling.book(
            actor,
            client_id=client_id,
            staff_id=slot["staff_id"],
            location="main",
            service_type_key="individual",
            start=slot["start"],
        )
        results.put("booked")
    except Conflict as exc:
        results.put(exc.code)
