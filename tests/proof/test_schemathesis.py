"""schemathesis against /api/v1/openapi.json with an admin bearer token: no 5xx, and every answer
(status, content type, body) conforms to the OpenAPI document.

Bounded for CI: PORTICO_SCHEMATHESIS_EXAMPLES (default 4) examples per operation. Failures of
all operations are collected and reported together, one line each.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine.services.accounts import tokens
from tests.helpers import make_client, make_staff

EXAMPLES = int(os.environ.get("PORTICO_SCHEMATHESIS_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _summary(exc: BaseException) -> str:
    """The failure's check names, status and reproducing request, on one line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    keep = [line for line in lines if line.startswith(("- ", "[", "curl"))] or lines[:3]
    return " | ".join(keep)[:600]


def test_api_answers_conform_and_never_fail(app):
    """Does every operation answer generated requests without a 5xx and as its schema says?"""
    make_client(email="known@example.org")  # something for list endpoints to return
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def exercise(case):
            # A fresh admin and token per call: generated calls may log out, revoke tokens or deactivate staff.
            raw, _ = tokens.issue_token(make_staff(roles=("org_admin",)), label="schemathesis")
            case.call_and_validate(app=app, headers={"Authorization": f"Bearer {raw}"}, checks=CHECKS)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
            failures[operation.label] = _summary(exc)
    assert not failures, "\n" + "\n".join(f"{label}: {why}" for label, why in sorted(failures.items()))
