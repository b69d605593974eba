"""Does "forgot password" take as long for an unknown address as for a known one? (no account enumeration)

    python bench/password_reset.py [-n 300]

Embedded database and Redis in a temp dir, the app in this process (Flask's test client: the server's
own work, no network). Alternates POST /api/v1/auth/password-reset for an address with a login and for
one without, and prints p50/p99 of each and the difference of the medians. The request only records the
address and wakes a worker (engine.services.accounts.password_reset), so the two should be the same within noise.
The throttle is lifted for the run.
"""

from __future__ import annotations

import argparse
import time

from _harness import embedded_services, summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="requests per kind of address (default 300)")
    args = parser.parse_args(argv)
    with embedded_services("portico-bench-reset-") as (settings, _env, _root):
        from engine.models.accounts import StaffMember
        from engine.services.accounts import passwords
        from web.app import create_app

        lifted = "1000000 per minute"
        settings = settings.with_(password_reset_limit=lifted, login_ip_limit=lifted)
        app = create_app(settings)
        StaffMember(
            email="known@example.org",
            first_name="Known",
            last_name="Person",
            password_hash=passwords.hash_password("a long password 123"),
        ).save()
        client = app.test_client()
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        for i in range(args.n + 10):
            for kind, address in (("known", "known@example.org"), ("unknown", f"nobody{i}@example.org")):
                start = time.perf_counter()
                resp = client.post("/api/v1/auth/password-reset", json={"email": address})
                elapsed = time.perf_counter() - start
                assert resp.status_code == 202, resp.get_json()  # noqa: S101 - a broken run prints nothing useful
                if i >= 10:  # the first few warm up
                    times[kind].append(elapsed)
        for kind, values in times.items():
            print(f"{kind:8s} address  {summary(values)}")
        known, unknown = (sorted(v)[len(v) // 2] * 1000 for v in times.values())
        print(f"median difference (unknown - known): {unknown - known:+.3f} ms")


if __name__ == "__main__":
    main()
