"""No page asks anything of another host (issue 12, hole 14, and its proof suite), and every page reads
plainly, passes axe-core and fits a phone (issue 16, acceptance 1-5).

A page with health information must not make the visitor's browser talk to anyone but Portico: not a
font server, not an image host, not an analytics script. The content security policy blocks such
requests, but it is the second line; the first is that no page tries. So these tests open the pages in
chromium with the policy bypassed (a request the policy would have refused is still recorded) and
every request of the context goes through one route: a request to another host is written down and
aborted before it leaves the machine, whatever its kind (document, stylesheet, font, image, CSS
@import, iframe, prefetch, fetch, websocket); connection hints (preconnect, dns-prefetch) are read from
each page. A probe page shows the recorder sees each of these.

Each role of the demo practice (engine/services/demo.py) signs in and walks its own pages breadth
first from its home page, following links to this site only, plus its open tasks and its forms. It
only reads: it never submits a form and never follows a link that signs out or changes something.

The same walk checks each page it opens (one walk: the crawl is the slow part): axe-core's serious and
critical violations; visible text that leaks a database word (a 24-hex id, a permission code, an ISO-8601
duration, True/False/None, a snake_case question name of a shipped form); and, at 390 x 844, a page wider
than the screen. Findings are reported by page with the offending text. The role's home page is also
photographed at desktop and phone size into docs/screenshots/ for the README.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from engine import db
from engine.authz import PERMISSIONS, SYSTEM
from engine.models.clients import Client
from engine.models.workflow import Task
from engine.services import demo
from engine.services.forms import forms as form_service
from engine.services.intake.intake_setup import install_shipped
from engine.services.processes import processes
from engine.workflow.deploy import deploy
from tests.helpers import sticking_out

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

PASSWORD = "harbor demo password 2026"
MAX_PAGES = (
    40  # per role, a bound on time; each kind of page (endpoint) is visited at most MAX_PER_KIND times
)
MAX_PER_KIND = 2
# Never followed: links that end the session or would change something, and API answers (PDF, calendar
# files, JSON), which are downloads rather than pages.
SKIP = ("/logout", "/activate", "/delete", "/cancel", "/void", "/claim", "/done", "/api/")
STAFF = ("org_admin", "therapist", "front_desk")
NOTE_FORM = {
    "pages": [
        {
            "name": "p1",
            "elements": [
                {"type": "comment", "name": "note", "title": "What came of the call?", "isRequired": True}
            ],
        }
    ]
}
# One form task for the client, one for a guardian and one for staff, all ready at once.
BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="t_crawl_forms" name="Forms for everyone" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_client" name="client"><bpmn:flowNodeRef>client_form</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_guardian" name="guardian"><bpmn:flowNodeRef>guardian_form</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_staff" name="staff"><bpmn:flowNodeRef>staff_note</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="client_form" name="Fill in the PHQ-9">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="phq9"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="guardian_form" name="Fill in the GAD-7">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="gad7"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="staff_note" name="Write down the call">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="t_crawl_note"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="client_form"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="guardian_form"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="staff_note"/>
    <bpmn:sequenceFlow id="f4" sourceRef="client_form" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="guardian_form" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="staff_note" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@dataclass
class Recorder:
    """Every request a browser context made, and those that went to another host."""

    origin: str
    seen: Counter = field(default_factory=Counter)
    outside: list[str] = field(default_factory=list)
    # page URL -> what is wrong on it ("axe: ...", "text: ...", "phone: ..."); filled only when checking
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    check: bool = False

    def route(self, route) -> None:
        request = route.request
        self.seen[request.resource_type] += 1
        if _origin(request.url) == self.origin:
            route.continue_()
            return
        self.outside.append(f"{request.resource_type} {request.url} (from {_frame_url(request)})")
        route.abort()  # before it leaves the machine

    def websocket(self, ws) -> None:
        if _origin(ws.url.replace("ws", "http", 1)) != self.origin:
            self.outside.append(f"websocket {ws.url}")


def _frame_url(request) -> str:
    try:
        return request.frame.url
    except Exception:  # a service worker's request has no frame
        return "a worker"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture()
def recorded(browser, live_server):
    """A new browser context whose every request passes a Recorder: (page, recorder)."""
    # bypass_csp: what a page *tries* to fetch is the finding. With the policy on, chromium refuses an
    # off-site font before it becomes a request, and the old font leak went unseen here.
    # It also lets the crawl inject axe-core, which the pages' policy (no inline script) would refuse.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    recorder = Recorder(origin=live_server)
    context.route(lambda url: not url.startswith(("data:", "blob:")), recorder.route)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("websocket", recorder.websocket)
    yield page, recorder
    context.close()


def _build_practice() -> dict:
    """The demo practice with the shipped forms and, ready at once, a form task for the adult client, one
    for the guardian of a minor and one for staff: {"logins": {role: login}, "tasks": {role: [urls]}}."""
    install_shipped()
    form_service.create_form(SYSTEM, "t_crawl_note", "task", "Call note", NOTE_FORM)
    form_service.publish(SYSTEM, "t_crawl_note")
    deploy(SYSTEM, BPMN)
    logins = {login["role"]: login for login in demo.seed_demo(PASSWORD)}
    adult = Client.objects.get(email=logins["client"]["email"])
    minor = Client.objects.get(first_name="Sam", last_name="Rivera")
    for person in (adult, minor):
        processes.start_process("t_crawl_forms", client_id=person.id)
    audiences = {
        "client": f"client:{adult.id}",
        "guardian": f"guardian:{minor.id}",
        **dict.fromkeys(STAFF, "staff"),
    }
    tasks: dict[str, list[str]] = {role: [] for role in audiences}
    for task in Task.objects(status="open"):
        for role, audience in audiences.items():
            if task.audience != audience:
                continue
            if role in STAFF:
                tasks[role].append(f"/staff/tasks/{task.id}")
            else:
                tasks[role] += [f"/portal/tasks/{task.id}", f"/portal/forms/{task.form_key}"]
    tasks["org_admin"] += [
        "/studio/forms/phq9",
        "/studio/forms/t_crawl_note",
        "/studio/processes/t_crawl_forms",
    ]
    return {"logins": logins, "tasks": tasks}


@pytest.fixture(scope="module")
def practice_snapshot(settings):
    """The practice built once for the module, and a copy of every collection it filled: seeding hashes
    five passwords with argon2, which would cost seconds in each of the seven tests."""
    database = db.get_db()
    for name in database.list_collection_names():
        if not name.startswith("system."):
            database[name].delete_many({})
    built = _build_practice()
    return built, {
        name: list(database[name].find())
        for name in database.list_collection_names()
        if not name.startswith("system.")
    }


@pytest.fixture()
def practice(clean_db, practice_snapshot):
    """The module's practice, put back into the emptied database."""
    built, collections = practice_snapshot
    for name, documents in collections.items():
        if documents:
            db.get_db()[name].insert_many(documents)
    return built


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _visit(page, recorder: Recorder, url: str) -> list[str]:
    """Open `url`, let its scripts, their fetches and its fonts settle, note connection hints to another
    host, and return the links on the page."""
    response = page.goto(url, wait_until="networkidle")
    if response is None or "text/html" not in (response.headers.get("content-type") or ""):
        return []
    if page.locator("#survey").count():  # a form: wait until SurveyJS drew it (or said why not)
        page.wait_for_function(
            "document.querySelector('#survey .sd-question')"
            " || !/Loading/.test(document.querySelector('#form-status')?.textContent || '')"
        )
    page.evaluate("document.fonts.ready.then(() => true)")
    # Connection hints open a connection (or look up a name) without a request a route could see.
    for rel, href in page.eval_on_selector_all(
        "link[rel~=preconnect], link[rel~=dns-prefetch]", "links => links.map(l => [l.rel, l.href])"
    ):
        if _origin(href) != recorder.origin:
            recorder.outside.append(f"{rel} {href} (from {url})")
    if recorder.check:
        _check_page(page, recorder.problems[url])
    return page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")


def _question_names(elements: list) -> set[str]:
    """The names of a form's questions, in panels and dynamic panels too."""
    names = set()
    for element in elements:
        names.add(element.get("name", ""))
        names |= _question_names(element.get("elements", []) + element.get("templateElements", []))
    return names


def _snake_keys() -> set[str]:
    """Every snake_case question name of the shipped forms: a person should see the question's title."""
    keys = set()
    for path in (ROOT / "form_defs").glob("*.json"):
        definition = json.loads(path.read_text())
        for form_page in definition.get("pages", []):
            keys |= _question_names(form_page.get("elements", []))
    return {key for key in keys if "_" in key}


def _words(*words) -> str:
    """A pattern for any of `words` standing alone (not inside a longer word, code or key)."""
    return (
        r"(?<![\w.])(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?![\w])"
    )


DATABASE_WORDS = {
    "database id": re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{24}(?![0-9a-fA-F])"),
    "permission code": re.compile(_words(*PERMISSIONS)),
    "ISO duration": re.compile(r"(?<![\w])P(?:\d+[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?(?![\w])"),
    # Python's words for a value. "None" opening an English sentence ("None defined yet.") is prose, so a
    # "None" followed by a lower-case word is let through; "None" alone, as a cell or a value, is not.
    "True/False/None": re.compile(r"(?<![\w.])(?:True|False|None(?! [a-z]))(?![\w])"),
    "form field key": re.compile(_words(*_snake_keys())),
}


def _choice_labels() -> set[str]:
    """Answer choices of the shipped forms labelled with a word the check looks for: health history's
    checkboxes offer survey-core's "None" item (showNoneItem). On a form page they are the form's own
    words, not a leaked value."""
    labels = set()
    for path in (ROOT / "form_defs").glob("*.json"):
        text = path.read_text()
        if re.search(r'"showNoneItem"\s*:\s*true', text) and '"noneText"' not in text:
            labels.add("None")  # survey-core's default label for the none item
        labels |= set(re.findall(r'"text"\s*:\s*"(True|False|None)"', text))
    return labels


CHOICE_LABELS = _choice_labels()


def _database_words(text: str, *, survey: bool = False) -> list[str]:
    """Each database word in `text`, with a little of the text around it. On a form page (`survey`) an
    answer choice of a shipped form labelled with such a word (CHOICE_LABELS) is the form's own text."""
    found = []
    for what, pattern in DATABASE_WORDS.items():
        for match in pattern.finditer(text):
            if what == "ISO duration" and match.group() in ("P", "PT"):
                continue  # a bare "P" is a letter, not a duration
            if what == "True/False/None" and survey and match.group() in CHOICE_LABELS:
                continue
            around = text[max(0, match.start() - 30) : match.end() + 30].replace("\n", " / ")
            found.append(f'{what} {match.group()!r} in "…{around}…"')
    return found


def _check_page(page, problems: list[str]) -> None:
    """Write down what axe-core, a reader and a phone would find wrong on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: ./dev setup installs axe-core from web/package.json")
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    for violation in page.evaluate(
        "async () => (await axe.run(document)).violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    ):
        if violation["impact"] in ("serious", "critical"):
            problems.append(
                f"axe {violation['impact']} {violation['id']}: {violation['help']} at "
                + "; ".join(violation["nodes"])
            )
    survey = page.evaluate("!!document.querySelector('.sd-root-modern')")
    problems += [
        f"text: {found}" for found in _database_words(page.evaluate("document.body.innerText"), survey=survey)
    ]
    page.set_viewport_size(PHONE)
    try:
        wide = sticking_out(page)
        if wide:
            problems.append("phone: " + ", ".join(wide))
    finally:
        page.set_viewport_size(DESKTOP)


def _photograph(page, name: str) -> None:
    """The page as it is now, at desktop and phone size: docs/screenshots/{name}-desktop.png, -phone.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"))
    page.set_viewport_size(PHONE)
    try:
        page.screenshot(path=str(SHOTS / f"{name}-phone.png"))
    finally:
        page.set_viewport_size(DESKTOP)


def _report(problems: dict[str, list[str]]) -> str:
    """The problems grouped by page, one page a paragraph."""
    return "\n".join(f"{url}\n    " + "\n    ".join(found) for url, found in problems.items() if found)


def _kind(app, url: str) -> str:
    """The endpoint that serves `url` (one kind of page), or its path when no GET route matches."""
    path = urlsplit(url).path
    try:
        return app.url_map.bind("localhost").match(path, method="GET")[0]
    except HTTPException:
        return path


def crawl(app, page, recorder: Recorder, start: list[str]) -> list[str]:
    """Visit `start`, then the pages they link to on this site, breadth first; return the URLs visited."""
    base = recorder.origin
    queue = deque(urljoin(base, url) for url in start)
    seen = set(queue)
    visited: list[str] = []
    kinds: Counter = Counter()
    starts = set(queue)
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        kind = _kind(app, url)
        if kinds[kind] >= MAX_PER_KIND and url not in starts:  # every task and form of the role is seen
            continue
        kinds[kind] += 1
        visited.append(url)
        for link in _visit(page, recorder, url):
            link = urldefrag(link).url
            if _origin(link) != base or link in seen or any(part in urlsplit(link).path for part in SKIP):
                continue
            seen.add(link)
            queue.append(link)
    return visited


def test_hole14_form_page_asks_no_outside_font_server(live_server, recorded, practice):
    """Does a client's form page (SurveyJS and its stylesheet) load without asking a font server, or any
    other host, for anything?"""
    page, recorder = recorded
    _sign_in(page, live_server, practice["logins"]["client"]["email"])
    _visit(page, recorder, live_server + practice["tasks"]["client"][0])
    assert page.locator("#survey .sd-question").count(), "the form did not render"
    assert recorder.seen["stylesheet"] and recorder.seen["script"]
    assert recorder.outside == []


ANONYMOUS = ["/", "/login", "/portal/activate?token=not-a-token", "/mfa/verify", "/no-such-page"]


@pytest.mark.slow
# One xdist group a role (tests/conftest.py): the walks are the suite's longest tests, shared by both workers.
@pytest.mark.parametrize(
    "role",
    [
        pytest.param(role, marks=pytest.mark.xdist_group(f"crawl-{role}"))
        for role in ("anonymous", *STAFF, "client", "guardian")
    ],
)
def test_every_page_of_a_role_is_local_plain_accessible_and_fits_a_phone(
    app, live_server, recorded, practice, role
):
    """Does every page a role reaches, from its home page, its tasks and its forms, stay on this site, pass
    axe-core without a serious or critical violation, show no database word, and fit a 390 px phone?"""
    page, recorder = recorded
    start = ANONYMOUS
    if role != "anonymous":
        _sign_in(page, live_server, practice["logins"][role]["email"])
        start = ["/", *practice["tasks"][role]]
        page.goto(live_server + "/", wait_until="networkidle")
        _photograph(page, role + "-home")
    recorder.check = True
    visited = crawl(app, page, recorder, start)
    print(f"{role}: {len(visited)} pages, requests {dict(recorder.seen)}", *visited, sep="\n  ")
    assert len(visited) >= len(start), visited
    assert recorder.outside == [], "\n".join(recorder.outside)
    assert not any(recorder.problems.values()), f"{role}'s pages:\n" + _report(recorder.problems)


def test_crawl_check_finds_each_database_word():
    """Can the plain-words check fail: does it find an id, a permission code, a duration, True/False/None
    and a form's field key, and leave ordinary prose alone?"""
    text = (
        "Client 6b11a2c3d4e5f60718293a4b needs portal.invite; remind P3D or PT2S; ok: True / None;"
        " address_line1 given"
    )
    found = " ".join(_database_words(text))
    for word in (
        "6b11a2c3d4e5f60718293a4b",
        "portal.invite",
        "'P3D'",
        "'PT2S'",
        "'True'",
        "'None'",
        "address_line1",
    ):
        assert word in found, (word, found)
    assert (
        _database_words(
            "Every 3 days. Page 2 of 5, PHQ-9 is due; P.O. Box; None defined yet; Nonetheless true."
        )
        == []
    )


PROBE = """<!doctype html><html><head>
<link rel="stylesheet" href="/probe.css"><link rel="prefetch" href="https://prefetch.example.invalid/next">
<link rel="preconnect" href="https://preconnect.example.invalid">
</head><body><p class="lettered">Probe</p><img src="https://images.example.invalid/pixel.png" alt="">
<iframe src="https://frames.example.invalid/embed" title="probe"></iframe></body></html>"""
PROBE_CSS = """@import url("https://imports.example.invalid/more.css");
@font-face { font-family: Probe; src: url(https://fonts.example.invalid/probe.woff2) format("woff2"); }
.lettered { font-family: Probe; }"""


def test_recorder_sees_every_kind_of_request_to_another_host(live_server, recorded):
    """Can the crawl's recorder fail at all: does it see a font, an image, a CSS @import, an iframe, a
    prefetch and a preconnect that a page asks of another host?"""
    page, recorder = recorded
    # The probe page and its stylesheet are served by the test, under the app's own origin.
    page.route(f"{live_server}/probe", lambda route: route.fulfill(content_type="text/html", body=PROBE))
    page.route(
        f"{live_server}/probe.css", lambda route: route.fulfill(content_type="text/css", body=PROBE_CSS)
    )
    _visit(page, recorder, f"{live_server}/probe")
    hosts = {urlsplit(entry.split()[1]).hostname for entry in recorder.outside}
    assert hosts == {
        f"{kind}.example.invalid"
        for kind in ("prefetch", "preconnect", "images", "frames", "imports", "fonts")
    }, recorder.outside
