"""SurveyJS on the server: definition checks, expression language, submission validation, prefill, PDFs.

`validate_submission(definition, data)` is the server's verdict on a
submission: errors by question name, `{}` when valid. It mirrors survey-core's
own verdict (tests/engine/forms/test_differential.py compares them).

survey-core behaviours matched on purpose (each checked in Node, each surprising):
- a required radiogroup/dropdown/checkbox whose value is not among its choices counts as unanswered
  (unless "other" is allowed), yet an optional one with such a value has no error;
- the expression validator runs even on an empty answer; numeric/text/regex validators skip
  blank or whitespace-only text, the email validator does not;
- a matrixdynamic without an answer still has its default 2 rows, so required cells fail;
  `[{}]` counts as answered but rows of blank cells do not; a paneldynamic counts as answered
  once a panel has any key; an empty paneldynamic answer gets max(panelCount, minPanelCount)
  blank panels and a short matrix is filled up to minRowCount rows, so their required questions fail;
- numeric matrix cells drop non-numeric text; a top-level number input keeps it;
- answers to disabled (enableIf false / readOnly) questions are not checked;
- `+` concatenates as soon as one side is text ("1" + "x" = "1x"), so a total over a bad
  answer is text and compares false with numbers.
- regex validators are JavaScript patterns, run with RE2 in linear time (engine/forms/jsregex.py).
Beyond survey-core (strict mode, on by default): values must have their question's type and
come from its choices, text respects maxLength and a 20,000-character cap, and dynamic panels and
matrices keep their min/max counts — the API does not go through widgets or add/remove buttons.
"""

from __future__ import annotations


def validate_submission(definition: dict, data: dict) -> dict[str, list[str]]:
    """Errors by question name for `data` answered against `definition`; `{}` when valid."""
    # Imported when called: a module that needs only the sanitizer or the catalogue of this package
    # does not load the validator and its expression language.
    from engine.forms.validator import validate

    return validate(definition, data)


def clean_submission(definition: dict, data: dict) -> dict:
    """`data` without answers to invisible or unknown questions, plus calculated values."""
    from engine.forms.validator import clean

    return clean(definition, data)


__all__ = ["clean_submission", "validate_submission"]
