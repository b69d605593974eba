"""Test helpers in the CTFd style: make records, log in.

    staff = make_staff(roles=("org_admin",))
    headers = api_login(client, staff.email, PASSWORD)          # Bearer token
    client.get("/api/v1/me", headers=headers)

    csrf = login_as(client, staff.email, PASSWORD)              # cookie session
    client.post("/api/v1/clients", json={...}, headers=csrf)    # {"X-CSRFToken": ...}
    client.post("/some/form", data={..., "csrf_token": csrf["X-CSRFToken"]})

    xml = bpmn("t_message")                                     # a test process, tests/data/bpmn
    browser_login(page, live_server, staff.email)               # the login form in a real browser

Signatures here are stable: other test modules import them. Fixtures (database, app, browser,
workers, ...) are in tests/fixtures/ and are named by tests, never imported.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import time
from pathlib import Path

from PIL import Image

from engine.services.accounts import passwords

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "tests" / "data" / "bpmn"

_counter = itertools.count(1)
_hash_cache: dict[str, str] = {}
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _hash(password: str) -> str:
    # one hash per distinct password keeps fixtures fast (tests/fixtures/passwords.py sets argon2id's cost).
    if password not in _hash_cache:
        _hash_cache[password] = passwords.hash_password(password)
    return _hash_cache[password]


def _unique_email(prefix: str) -> str:
    return f"{prefix}{next(_counter)}@example.org"


def make_staff(roles=("therapist",), email=None, password=PASSWORD, **fields):
    """A saved StaffMember with `roles`; any other model field may be given."""
    from engine.models.accounts import StaffMember

    n = next(_counter)
    values = {"first_name": "Staff", "last_name": f"Member{n}"}
    values.update(fields)
    member = StaffMember(
        email=email or _unique_email("staff"),
        roles=list(roles),
        password_hash=_hash(password) if password else "",
        **values,
    )
    member.save()
    return member


def make_client(**fields):
    """A saved, active Client; any model field may be given."""
    from engine.models.clients import Client

    n = next(_counter)
    values = {"first_name": "Client", "last_name": f"Person{n}"}
    values.update(fields)
    client = Client(**values)
    client.save()
    return client


def make_portal_account(client=None, contact=None, email=None, password=PASSWORD, **fields):
    """A saved, activated PortalAccount for `client` and/or `contact` (their back-references are set)."""
    from engine.models import utcnow
    from engine.models.accounts import PortalAccount

    account = PortalAccount(
        email=email
        or (getattr(client, "email", None) or getattr(contact, "email", None))
        or _unique_email("portal"),
        password_hash=_hash(password) if password else "",
        client=client,
        contact=contact,
        activated_at=utcnow(),
        **fields,
    )
    account.save()
    if client is not None:
        client.portal_account = account
        client.save()
    if contact is not None:
        contact.portal_account = account
        contact.save()
    return account


def api_login(client, email, password=PASSWORD, totp=None) -> dict:
    """Log in through POST /api/v1/auth/token; returns {"Authorization": "Bearer …"}."""
    body = {"email": email, "password": password}
    if totp is not None:
        body["totp"] = totp
    resp = client.post("/api/v1/auth/token", json=body)
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def csrf_token(client, path="/login") -> str:
    """The CSRF token of the current cookie session, read from a page's <meta name="csrf-token">."""
    resp = client.get(path)
    match = _META_CSRF.search(resp.get_data(as_text=True))
    assert match, f"no csrf meta tag on {path} ({resp.status_code})"
    return match.group(1)


def login_as(client, email, password=PASSWORD, totp=None) -> dict:
    """Log in through the login form (cookie session); returns {"X-CSRFToken": …} for later calls.

    The header works for JSON API calls and for form posts alike (Flask-WTF reads both).
    With `totp`, the MFA step is completed too.
    """
    token = csrf_token(client, "/logout")  # renders for anyone; /login redirects a signed-in browser
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
    if totp is not None:
        token = csrf_token(client, "/mfa/verify")
        resp = client.post("/mfa/verify", data={"code": totp, "csrf_token": token})
        assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
    # The CSRF token is rotated at login: read the new one from a page of the session.
    return {"X-CSRFToken": csrf_token(client, "/account/password")}


def enable_mfa(account) -> str:
    """Turn TOTP on for `account` without using up a code; returns the base32 secret."""
    import pyotp

    from engine.services.accounts import mfa

    secret = pyotp.random_base32()
    type(account).objects(id=account.id).update_one(
        set__totp_secret=mfa.seal(secret), set__mfa_enabled=True, set__totp_last_step=0
    )
    account.reload()
    return secret


def totp_code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator shows now (or `steps_ahead` 30-second steps later)."""
    import time

    import pyotp

    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def wrong_totp_code(secret: str) -> str:
    """A well-formed code that is not valid for `secret` in the accepted window."""
    valid = {totp_code(secret, k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def wait_for(predicate, timeout: float = 30.0, what: str = "condition", interval: float = 0.05):
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def bpmn(name: str) -> bytes:
    """The test process `name` (tests/data/bpmn/<name>.bpmn), as deploy() takes it."""
    return (BPMN_DIR / f"{name}.bpmn").read_bytes()


def publish_form(key: str, definition: dict, kind: str = "task", title: str = ""):
    """Create the form `key` with `definition` and publish it; returns the published version."""
    from engine.authz import SYSTEM
    from engine.services.forms import forms

    forms.create_form(SYSTEM, key, kind, title or key.replace("_", " ").title(), definition)
    return forms.publish(SYSTEM, key)


def publish_shipped_form(key: str):
    """The shipped intake form form_defs/<key>.json, created and published; returns the version."""
    definition = json.loads((ROOT / "form_defs" / f"{key}.json").read_text())
    return publish_form(key, definition, kind="intake", title=definition["title"])


def clone_instance(seed, copies: int) -> list:
    """`copies` instances in the seed's state (the seed included), with the inbox rows and timers its
    projection wrote: a thousand instances in seconds instead of running each one there."""
    from bson import ObjectId

    from engine.models.workflow import Task, Timer
    from engine.workflow import store

    doc = store.instances().find_one({"_id": seed})
    rows = [dict(doc, _id=ObjectId()) for _ in range(copies - 1)]
    store.instances().insert_many(rows)
    for model in (Task, Timer):
        seed_rows = list(
            model._get_collection().find({"instance_id": seed, "status": {"$in": ["open", "waiting"]}})
        )
        if seed_rows:
            model._get_collection().insert_many(
                [dict(r, _id=ObjectId(), instance_id=row["_id"]) for row in rows for r in seed_rows]
            )
    return [seed, *[r["_id"] for r in rows]]


def browser_login(page, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form in a real browser (Playwright `page`, server at `base`) and wait
    until the browser has left the login page."""
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/login" not in url)


def deliver_queued_mail(broker) -> None:
    """Run one real Dramatiq worker until the mail queue is empty (what the workers do after a request
    recorded a mail and asked for its delivery)."""
    from dramatiq import Worker

    from workers.mail import send_mail_message

    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        broker.join(send_mail_message.queue_name, timeout=30_000)
        worker.join()
    finally:
        worker.stop()


def sticking_out(page) -> list[str]:
    """The elements that stick out of the window on the right, named for a failure message (none: the page
    does not scroll sideways). Gives the page up to 3 s to settle first: after a resize, survey-core
    re-renders its questions for the new width from a ResizeObserver, a few frames later on a loaded
    machine (CI saw a builder preview 404 px wide in that moment); what still sticks out then is reported."""
    # imported here: only browser tests come this way
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )
    except PlaywrightTimeout:
        pass
    return page.evaluate("""() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return done([]);
        done([...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > width + 0.5 && e.getClientRects().length)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
                 + (typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\\s+/).join(".") : ""))
            .concat(["(page " + document.documentElement.scrollWidth + " px wide at " + width + " px)"]));
    })))""")


def png(color=(20, 90, 160)) -> bytes:
    """A small real PNG (a logo, a card image)."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return out.getvalue()
