"""The server's regex engine (RE2 through engine/forms/jsregex.py) gives the browser's verdict.

Each pattern x flag x input is judged by Node's own `new RegExp(pattern, flags).test(input)`
(what survey-core runs) and by `jsregex.test`; they must agree on every case the server accepts.
The cases aim at the places where JavaScript, Python and RE2 differ: `\\s` and `.` over Unicode
line terminators, `$` before a final newline, literal `{`, `\\p`, `\\u`, `\\c`, `[]`, `[^]`, `[\\b]`.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from engine.forms import jsregex
from tests.engine.forms.oracle import available

PATTERNS = [
    r"^[0-9]{5}$",
    r"^[0-9]{5}(-[0-9]{4})?$",
    r"^[0-9()+\-. ]{7,20}$",
    r"^[A-Za-z0-9-]{3,30}$",
    r"^(a+)+$",
    r"\s",
    r"^\S+$",
    r"[\s\S]",
    r"[^\s]",
    r"^.$",
    r"a.c",
    r"a{",
    r"a{,3}",
    r"{x}",
    r"\p{L}",
    r"\u0041",
    r"caf\u00e9",
    r"\x41",
    r"\x4",
    r"\cJ",
    r"\c",
    r"[]",
    r"[^]",
    r"[\b]",
    r"\bcat\b",
    r"\d",
    r"\w+",
    r"(?<y>\d{4})-\d\d",
    r"^\+?1?\d{10}$",
    r"^[A-Z]{2}\d{6}$",
    r"é",
    r"[a-z&&[^b]]",
    r"[[:alpha:]]",
    r"^$",
    r"a|b",
    r"\/",
    r"^\d*\.?\d+$",
    r"^(?:\d{3}-){2}\d{4}$",
    r"x*?y",
    r"[\-a]",
    r"\_",
    r"^[^@]+@[^@]+\.[a-z]{2,}$",
    r"\v",
    r"\0",
    r"\A",
    r"\z",
    r"\Z",
    r"\Qa",
    r"[\d-z]",
]
# Kept short: Node's own backtracking engine takes seconds on ^(a+)+$ past ~25 characters.
INPUTS = [
    "",
    "12345",
    "12345\n",
    "12345-6789",
    "1234",
    "(555) 010-2000",
    "aaaa",
    "a" * 12 + "b",
    " ",
    "\u00a0",
    "\ufeff",
    "x\u2028y",
    "a\nc",
    "a\rc",
    "abc",
    "A",
    "a{",
    "a{,3}",
    "{x}",
    "p{L}",
    "Éé",
    "café",
    "CAFÉ",
    "\b",
    "the cat sat",
    "concat",
    "\u0663",
    "1999-12",
    "AB123456",
    "ab123456",
    "+15550102000",
    "/",
    "\x0b",
    "\x00",
    "a.c",
    "a\u2029c",
    "z",
    "Z",
    "Qa",
    "x@y.co",
    "&",
    "[",
    ":",
    "b",
    "\\c",
    "\n",
    "-",
]
NODE = (
    "const c = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
    "process.stdout.write(JSON.stringify(c.map(([p, f, s]) => {"
    " try { return new RegExp(p, f).test(s); } catch (e) { return 'error'; } })));"
)


def test_regex_verdicts_match_javascript():
    """Does every accepted pattern give Node's RegExp verdict on every input, with and without "i"?"""
    if available():
        pytest.fail(available())
    cases = [(p, f, s) for p in PATTERNS for f in ("", "i") for s in INPUTS]
    done = subprocess.run(
        ["node", "-e", NODE], input=json.dumps(cases), capture_output=True, text=True, check=True, timeout=60
    )
    wrong = []
    for (pattern, flags, text), expected in zip(cases, json.loads(done.stdout), strict=True):
        refused = jsregex.problem(pattern, flags == "i")
        if expected == "error" or refused:
            if not (expected == "error" and refused):
                wrong.append((pattern, flags, text, expected, refused))
            continue
        if jsregex.test(pattern, text, flags == "i") != expected:
            wrong.append((pattern, flags, text, expected))
    assert not wrong, wrong[:10]


def test_lone_surrogates_in_answers_do_not_crash():
    """Does an answer holding a lone surrogate (valid JSON text) get a verdict instead of an encoding error?"""
    assert jsregex.test("^a", "a\ud800") is True
