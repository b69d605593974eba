"""Deny by default: every route declares who may call it (web.security), or the suite fails."""

from __future__ import annotations

from flask.views import MethodView

from web.security import declared_rule

IGNORED_METHODS = {"OPTIONS", "HEAD"}  # answered by Flask itself / same rule as GET


def undeclared(app) -> list[str]:
    """Every "METHOD endpoint (rule)" whose view has no access declaration."""
    missing = []
    with app.app_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
                continue
            for method in sorted((rule.methods or set()) - IGNORED_METHODS):
                if declared_rule(rule.endpoint, method) is None:
                    missing.append(f"{method} {rule.endpoint} ({rule.rule})")
    return missing


def test_every_route_declares_access(app):
    """Does every endpoint of the real app declare @public or @access(...) for each of its methods?"""
    assert undeclared(app) == []


def test_checker_catches_an_undeclared_route(settings, clean_db):
    """Would a newly added route without a declaration (function or MethodView method) be reported?"""
    from web.app import create_app

    fresh = create_app(settings)

    @fresh.route("/dummy-undeclared", methods=["GET", "POST"])
    def dummy_undeclared():
        return "x"

    class Half(MethodView):
        def get(self):
            return "x"

    from web.security import public

    Half.post = public(lambda self: "y")
    fresh.add_url_rule("/dummy-half", view_func=Half.as_view("dummy_half"))

    found = undeclared(fresh)
    assert "GET dummy_undeclared (/dummy-undeclared)" in found
    assert "POST dummy_undeclared (/dummy-undeclared)" in found
    assert "GET dummy_half (/dummy-half)" in found
    assert "POST dummy_half (/dummy-half)" not in found


def test_undeclared_route_is_refused_at_runtime(settings, clean_db):
    """Is an undeclared route denied (403) even if the test above were skipped?"""
    from web.app import create_app

    fresh = create_app(settings)
    fresh.add_url_rule("/dummy-open", "dummy_open", lambda: "secret")
    resp = fresh.test_client().get("/dummy-open", headers={"Accept": "application/json"})
    assert resp.status_code == 403
