"""The one way a page answers a refused action (web/pages/_flash.py on_refusal, answered by web/errors.py)."""

from __future__ import annotations

import pytest
from flask import Blueprint, render_template_string, request

from engine.errors import Conflict, NotFound, ValidationFailed
from tests.helpers import login_as
from web.app import create_app
from web.pages._flash import on_refusal
from web.security import public


@pytest.fixture()
def refusing(settings, clean_db):
    """An app of this test's own (the `app` fixture is shared by the session) with pages that refuse in
    each way the mechanism has to tell apart."""
    app = create_app(settings)
    _refusing_pages(app)
    return app


def _refusing_pages(app) -> None:
    bp = Blueprint("refusal_test_pages", __name__, url_prefix="/refusal-test")

    def form_again(exc):
        return render_template_string(
            '<input name="name" value="{{ v }}"><p class="field-error">{{ e }}</p>',
            v=request.args.get("name", ""),
            e=exc.details["name"][0],
        ), 422

    @bp.get("/form")
    @public
    def form():
        on_refusal(render=form_again, catch=(ValidationFailed,))
        raise ValidationFailed("some fields are invalid", details={"name": ["is already taken"]})

    @bp.get("/other-kind")
    @public
    def other_kind():
        on_refusal(render=form_again, catch=(ValidationFailed,))
        raise Conflict("someone else changed it")

    @bp.get("/before")
    @public
    def before():
        raise NotFound("no such thing")  # a guard, before the view says how it answers a refusal

    @bp.get("/back")
    @public
    def go_back():
        on_refusal("/login")
        raise Conflict("the slot is taken", details={"start": ["is taken"]})

    @bp.get("/back-fields")
    @public
    def go_back_naming_fields():
        on_refusal("/login")
        raise ValidationFailed(
            "some fields are invalid",
            details={
                "card.exp_month": ["Not a valid integer."],
                "line_items.0.amount_cents": ["must be whole cents"],
            },
        )

    @bp.get("/page-gone")
    @public
    def page_gone():
        def gone(_exc):
            raise NotFound("the page to show again is gone")

        on_refusal(render=gone)
        raise ValidationFailed("bad")

    app.register_blueprint(bp)


def test_a_refused_form_comes_back_with_the_input_and_the_problem_by_its_field(refusing):
    """Does a view's render answer a refusal of the kind it names: 422, what was typed kept, the problem shown?"""
    resp = refusing.test_client().get("/refusal-test/form?name=Ada%20Byron")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'value="Ada Byron"' in html and "is already taken" in html


def test_a_refusal_of_another_kind_and_a_guard_before_show_the_error_page(refusing):
    """Does an error the view did not choose to answer, or one raised before it chose, keep its status and page?"""
    client = refusing.test_client()
    other = client.get("/refusal-test/other-kind")
    assert other.status_code == 409 and "someone else changed it" in other.get_data(as_text=True)
    assert client.get("/refusal-test/before").status_code == 404


def test_a_refusal_flashes_its_message_and_goes_back(refusing):
    """Does on_refusal(path) answer 303 to the path, and does that page show the message with its details?"""
    client = refusing.test_client()
    resp = client.get("/refusal-test/back")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login")
    assert "the slot is taken" in client.get("/login").get_data(as_text=True)


def test_a_flashed_refusal_names_fields_in_words_not_code(refusing):
    """Does the message flashed on the way back name each field in words ("Exp month", "Amount cents"),
    never as the code spells it (card.exp_month, line_items.0.amount_cents)?"""
    client = refusing.test_client()
    client.get("/refusal-test/back-fields")
    html = client.get("/login").get_data(as_text=True)
    assert "Exp month: Not a valid integer." in html and "Amount cents: must be whole cents" in html
    assert "exp_month" not in html and "line_items" not in html


def test_a_page_to_show_again_that_is_itself_refused_is_the_error_page_not_a_500(refusing):
    assert refusing.test_client().get("/refusal-test/page-gone").status_code == 404


def test_the_api_answers_json_whatever_a_page_chose(refusing):
    """Does a JSON caller still get the error body, not a redirect?"""
    resp = refusing.test_client().get("/refusal-test/back", headers={"Accept": "application/json"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"


def test_a_portal_action_refused_by_the_service_flashes_and_a_missing_right_is_not_found(client, family):
    """Does an empty message go back to the thread with the service's words, while a contact without the
    messages right posting is answered 404 (the guard runs before the view chooses its answer)?"""
    csrf = login_as(client, family["emails"]["guardian"])
    resp = client.post("/portal/messages", data={"body": "  ", "csrf_token": csrf["X-CSRFToken"]})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/portal/messages")
    html = client.get("/portal/messages").get_data(as_text=True)
    assert '<p class="flash flash-error" role="status">write a message or attach a file' in html
    client.post("/logout", data={"csrf_token": csrf["X-CSRFToken"]})
    csrf = login_as(client, family["emails"]["aunt"])
    assert (
        client.post("/portal/messages", data={"body": "hi", "csrf_token": csrf["X-CSRFToken"]}).status_code
        == 404
    )
