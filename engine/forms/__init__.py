"""SurveyJS on the server: definition checks, expression language, submission validation, prefill, PDFs.

`validate_submission(definition, data)` is the server's verdict on a
submission: errors by question name, `{}` when valid. It mirrors survey-core's
own verdict (tests/forms/test_differential.py compares them).
"""

from __future__ import annotations


def validate_submission(definition: dict, data: dict) -> dict[str, list[str]]:
    """Errors by question name for `data` answered against `definition`; `{}` when valid."""
    from engine.forms.validator import validate

    return validate(definition, data)


def clean_submission(definition: dict, data: dict) -> dict:
    """`data` without answers to invisible or unknown questions, plus calculated values."""
    from engine.forms.validator import clean

    return clean(definition, data)


__all__ = ["clean_submission", "validate_submission"]
