"""The form builder's logic (web/static/js/builder/model.mjs): its node unit tests run inside the suite,
and every template survives a round trip through the builder with the same validation verdicts."""

from __future__ import annotations

import json
import shutil
import subprocess  # noqa: S404 - runs node on files of this repository
from pathlib import Path

import pytest

from engine.forms import validate_submission
from engine.forms.definition import check_definition
from tests.form_fills import INVALID, VALID

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "form_defs").glob("*.json"))}
CONDITIONS = ("visibleIf", "enableIf", "requiredIf")


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("the builder's tests need node (18 or newer), as ./dev setup does")
    return node


def _differences(a, b, path="$"):
    """JSON paths where two values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [path]


def test_builder_unit_tests_pass():
    """Do the builder's own unit tests (node's test runner) pass?"""
    result = subprocess.run(
        [_node(), "--test", "web/static/js/builder/"],
        cwd=ROOT,
        capture_output=True,  # noqa: S603
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_template_round_trips_through_the_builder(key):
    """Does a template loaded into the builder, every element opened, and saved back give the same
    verdicts on valid, invalid, partial and empty answers, changing only condition spelling?"""
    original = TEMPLATES[key]
    result = subprocess.run(
        [_node(), "tests/engine/forms/builder_roundtrip.mjs"],
        cwd=ROOT,
        input=json.dumps(original),  # noqa: S603
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    saved = json.loads(result.stdout)
    assert check_definition(saved) == {}
    changed = _differences(original, saved)
    assert all(path.rsplit(".", 1)[-1] in CONDITIONS for path in changed), changed
    valid = VALID[key]
    partial = dict(list(valid.items())[: len(valid) // 2])
    for answers in (valid, INVALID[key][0], partial, {}):
        assert validate_submission(saved, answers) == validate_submission(original, answers)


def test_checks_come_back_by_element_without_saving(client):
    """Does the builder's check call place each problem on its question (inside a panel too), save
    nothing, and does the last published version come back for the diff only once there is one?"""
    from tests.helpers import api_login, make_staff

    admin = make_staff(roles=("org_admin",))
    h = api_login(client, admin.email)
    bad = {
        "pages": [
            {
                "name": "p1",
                "elements": [
                    {"type": "text", "name": "a", "title": "Age"},
                    {
                        "type": "panel",
                        "name": "box",
                        "elements": [
                            {"type": "radiogroup", "name": "pick", "title": "Pick one"},
                            {
                                "type": "text",
                                "name": "b",
                                "title": "Why",
                                "visibleIf": "{nope} = 1",
                                "validators": [{"type": "email"}],
                            },
                        ],
                    },
                ],
            }
        ]
    }
    r = client.post("/api/v1/forms/check", json={"definition": bad}, headers=h)
    assert r.status_code == 200
    paths = {p["path"]: p["name"] for p in r.get_json()["problems"]}
    assert paths == {
        "$.pages[0].elements[1].elements[0].choices": "pick",
        "$.pages[0].elements[1].elements[1].visibleIf": "b",
    }
    good = TEMPLATES["gad7"]
    assert client.post("/api/v1/forms/check", json={"definition": good}, headers=h).get_json() == {
        "problems": []
    }
    assert client.get("/api/v1/forms", headers=h).get_json() == []

    assert (
        client.post(
            "/api/v1/forms",
            json={"key": "gad7", "kind": "intake", "title": "GAD-7", "definition": good},
            headers=h,
        ).status_code
        == 201
    )
    assert client.get("/api/v1/forms/gad7/published", headers=h).status_code == 404
    assert client.post("/api/v1/forms/gad7/publish", headers=h).status_code == 201
    r = client.get("/api/v1/forms/gad7/published", headers=h)
    assert r.status_code == 200 and r.get_json()["number"] == 1 and r.get_json()["definition"] == good
