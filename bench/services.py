"""Portal-service figures: open-slot computation, booking, paying, messaging; and a booking race.

    .venv/bin/python bench/services.py [--n 100] [--races 30]

Starts its own embedded SecantusDB (fsync on commit, as `portico up` runs it) in a
temporary directory. Prints medians and p95 in milliseconds, and for the race the
number of winners per contested slot (exactly one is the only right answer).
Nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import external_mongodb  # noqa: E402 - after the path setup, like the other scripts


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def show(label: str, values: list[float]) -> None:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(f"{label:<48} median {statistics.median(values):7.2f} ms   p95 {p95:7.2f} ms   (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--races", type=int, default=30)
    args = parser.parse_args()
    from engine import config, db, embedded

    root = Path(tempfile.mkdtemp(prefix="portico-bench-services-"))
    external = external_mongodb()  # PORTICO_BENCH_MONGODB_URI: that server instead of the embedded one
    mongo = None if external else embedded.start_mongodb(root, log=root / "mongodb.log", sync_on_commit=True)
    try:
        settings = config.install(
            config.load(
                {
                    "PORTICO_SECRET_KEY": "b" * 40,
                    "PORTICO_MONGODB_URI": external or mongo.url,
                    "PORTICO_DATA_DIR": str(root / "data"),
                }
            )
        )
        db.connect(settings.mongodb_uri)
        db.ensure_indexes()
        run(args)
    finally:
        if mongo is not None:
            mongo.stop()


def run(args) -> None:
    from engine.authz import SYSTEM, staff_actor
    from engine.errors import Conflict
    from engine.services.appointments import availability, scheduling
    from engine.services.billing import billing
    from engine.services.messaging import messaging
    from tests.helpers import make_staff
    from tests.portal_family import build_family, open_practice

    fam = open_practice(build_family())
    minor, guardian = fam["minor"].id, fam["guardian"]
    week = [date.today() + timedelta(days=1), date.today() + timedelta(days=7)]

    def slots(i, day=None):
        on = day or week[0]
        return availability.open_slots(
            location="main", service_type_key="individual", date_from=on, date_to=on if day else week[1]
        )

    show("open slots, one staff member, 7 days", timed(slots, args.n))
    free = [s for d in range(1, 60) for s in slots(0, date.today() + timedelta(days=d))]

    def book_cancel(i):
        s = free[i % len(free)]
        appt = scheduling.book(
            guardian,
            client_id=minor,
            staff_id=s["staff_id"],
            location="main",
            service_type_key="individual",
            start=s["start"],
        )
        scheduling.cancel(guardian, appt["id"])

    show("portal book + cancel (slot check, 10 claims)", timed(book_cancel, args.n))

    def pay(i):
        inv = billing.create_invoice(
            SYSTEM,
            minor,
            {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 10000}]},
        )
        billing.charge_invoice(
            guardian,
            inv["id"],
            idempotency_key=f"bench-pay-{i}",
            card={"number": "4242424242424242", "exp_month": 1, "exp_year": 2040},
        )

    show("invoice + sandbox card payment", timed(pay, args.n))
    show(
        "post a message (no attachment)",
        timed(lambda i: messaging.post_message(guardian, minor, body=f"m{i}"), args.n),
    )
    mb = b"%PDF-1.7\n" + b"x" * (1024 * 1024)
    show(
        "post a message with a 1 MB attachment",
        timed(
            lambda i: messaging.post_message(guardian, minor, body="f", attachments=[("a.pdf", mb)]),
            max(5, args.n // 5),
        ),
    )
    show(
        "read a thread (100 messages, receipts)",
        timed(lambda i: messaging.list_messages(fam["staff"], minor), args.n),
    )

    desk = [staff_actor(make_staff(roles=("front_desk",))) for _ in range(4)]
    winners = []
    for r in range(args.races):
        s = free[-1 - r]
        barrier, wins = threading.Barrier(len(desk)), []

        def attempt(actor, s=s, barrier=barrier, wins=wins):
            barrier.wait()
            try:
                scheduling.book(
                    actor,
                    client_id=minor,
                    staff_id=s["staff_id"],
                    location="main",
                    service_type_key="individual",
                    start=s["start"],
                )
                wins.append(1)
            except Conflict:
                pass

        threads = [threading.Thread(target=attempt, args=(a,)) for a in desk]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners.append(len(wins))
    print(
        f"booking race: {args.races} slots x {len(desk)} threads -> winners per slot {sorted(set(winners))}"
    )


if __name__ == "__main__":
    main()
