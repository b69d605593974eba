"""Staff-written `regex` validators, run in linear time with RE2 and JavaScript's meaning.

A form's regex is written for the browser (survey-core does `new RegExp(regex, "i"?)
.test(value)`), but the server checks every submission too. Python's backtracking
engine takes exponential time on patterns like `^(a+)+$`, so a client could freeze a
worker with one answer. RE2 (google-re2) guarantees time linear in the input and has
no back-references or look-around, the only constructs that need backtracking.

The two dialects differ in places, so `translate()` rewrites a JavaScript pattern
(non-unicode mode, as survey-core builds it) into RE2 syntax with the same meaning:
`\\s` is JavaScript's Unicode whitespace set, `.` excludes all four line terminators,
`\\uXXXX` and `\\cX` escapes, identity escapes (`\\p` is a plain "p"), a `{` that is no
quantifier is a literal, `[]` matches nothing and `[^]` anything, and `\\b` in a class
is a backspace. tests/engine/forms/test_jsregex.py compares verdicts with Node's RegExp.

Constructs RE2 cannot run (look-around, back-references, repetition counts over
1,000) are refused when a form is saved (`problem()`); a definition stored before
that check fails closed at submission (the answer is reported as not matching).
"""

from __future__ import annotations

from functools import lru_cache

import re2

MAX_PATTERN_CHARS = 1000
_ANY = r"\x{0}-\x{10FFFF}"
# ECMAScript WhiteSpace and LineTerminator code points: what `\s` matches in the browser.
_WS_POINTS = [
    0x09,
    0x0A,
    0x0B,
    0x0C,
    0x0D,
    0x20,
    0xA0,
    0x1680,
    *range(0x2000, 0x200B),
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x3000,
    0xFEFF,
]


def _ranges(points: list[int]) -> str:
    return "".join(rf"\x{{{p:X}}}" for p in points)


def _complement(points: list[int]) -> str:
    out, start = [], 0
    for p in sorted(points):
        if p > start:
            out.append(rf"\x{{{start:X}}}-\x{{{p - 1:X}}}")
        start = p + 1
    out.append(rf"\x{{{start:X}}}-\x{{10FFFF}}")
    return "".join(out)


_WS = _ranges(_WS_POINTS)
_NOT_WS = _complement(_WS_POINTS)
_DOT = "[^" + _ranges([0x0A, 0x0D, 0x2028, 0x2029]) + "]"
_HEX = set("0123456789abcdefABCDEF")


class UnsupportedPattern(ValueError):
    """A pattern the server cannot run in linear time, or that is not a JavaScript regex."""


def _quantifier_end(p: str, i: int) -> int | None:
    """End index (after "}") when p[i] == "{" opens a JavaScript quantifier {n}, {n,} or {n,m}."""
    j = i + 1
    while j < len(p) and p[j].isdigit():
        j += 1
    if j == i + 1:
        return None
    if j < len(p) and p[j] == ",":
        j += 1
        while j < len(p) and p[j].isdigit():
            j += 1
    return j + 1 if j < len(p) and p[j] == "}" else None


def _escape(p: str, i: int, in_class: bool, named_groups: bool) -> tuple[str, int]:
    """RE2 text for the escape starting at p[i] == "\\", and the index after it."""
    if i + 1 >= len(p):
        raise UnsupportedPattern("the pattern ends with a lone backslash")
    c = p[i + 1]
    nxt = i + 2
    if c in "dDwW":
        return "\\" + c, nxt
    if c in "bB":
        if in_class:
            return (r"\x{8}" if c == "b" else "B"), nxt
        return "\\" + c, nxt
    if c == "s":
        return (_WS if in_class else f"[{_WS}]"), nxt
    if c == "S":
        return (_NOT_WS if in_class else f"[^{_WS}]"), nxt
    if c in "nrtf":
        return "\\" + c, nxt
    if c == "v":
        return r"\x{B}", nxt
    if c == "0" and not (nxt < len(p) and p[nxt].isdigit()):
        return r"\x{0}", nxt
    if c.isdigit():
        raise UnsupportedPattern("back-references (\\1, \\2, ...) are not supported")
    if c == "k" and named_groups:
        raise UnsupportedPattern("back-references (\\k<name>) are not supported")
    if c == "u" and len(p) >= i + 6 and set(p[i + 2 : i + 6]) <= _HEX:
        return rf"\x{{{p[i + 2 : i + 6]}}}", i + 6
    if c == "x" and len(p) >= i + 4 and set(p[i + 2 : i + 4]) <= _HEX:
        return rf"\x{{{p[i + 2 : i + 4]}}}", i + 4
    if c == "c" and nxt < len(p) and p[nxt].isascii() and p[nxt].isalpha():
        return rf"\x{{{ord(p[nxt]) % 32:X}}}", nxt + 1
    if c == "c":
        return r"\\", i + 1  # JavaScript reads "\c" without a letter as a backslash, then "c"
    # Any other escape is the character itself in JavaScript's non-unicode mode (\p, \a, \z...).
    return _literal(c), nxt


def _literal(c: str) -> str:
    if c.isascii() and not c.isalnum() and c != "_":
        return "\\" + c
    return c if c.isascii() else rf"\x{{{ord(c):X}}}"


def translate(pattern: str) -> str:
    """The RE2 spelling of a JavaScript (non-unicode) regular expression. Raises UnsupportedPattern."""
    p = pattern
    named_groups = "(?<" in p
    out: list[str] = []
    i, in_class = 0, False
    while i < len(p):
        c = p[i]
        if c == "\\":
            text, i = _escape(p, i, in_class, named_groups)
            out.append(text)
            continue
        if in_class:
            if c == "]":
                in_class = False
                out.append("]")
            elif c in "[&~|":
                out.append("\\" + c)  # RE2 would read "[:alpha:]" and friends inside a class
            else:
                out.append(c if c.isascii() else _literal(c))
            i += 1
            continue
        if c == "[":
            if p.startswith("[]", i):
                out.append(rf"[^{_ANY}]")
                i += 2
            elif p.startswith("[^]", i):
                out.append(rf"[{_ANY}]")
                i += 3
            else:
                in_class = True
                out.append("[^" if p.startswith("[^", i) else "[")
                i += 2 if p.startswith("[^", i) else 1
                if i < len(p) and p[i] == "]":  # "[^]]" never happens here; "[a]" etc. fall through
                    pass
            continue
        if c == "(" and p.startswith("(?", i):
            if p.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                raise UnsupportedPattern(
                    "look-ahead and look-behind ((?=, (?!, (?<=, (?<!) are not supported"
                )
            if not p.startswith(("(?:", "(?<"), i):
                raise UnsupportedPattern("only (?:...) and (?<name>...) groups are allowed")
            out.append(p[i : i + 3])
            i += 3
            continue
        if c == "{":
            end = _quantifier_end(p, i)
            out.append(p[i:end] if end else r"\{")
            i = end or i + 1
            continue
        if c == "}":
            out.append(r"\}")
        elif c == ".":
            out.append(_DOT)
        else:
            out.append(c if c.isascii() else _literal(c))
        i += 1
    if in_class:
        raise UnsupportedPattern("a character class [...] is not closed")
    return "".join(out)


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    return options


@lru_cache(maxsize=256)
def compile_js(pattern: str, ignore_case: bool = False):
    """A compiled RE2 object for a JavaScript pattern. Raises UnsupportedPattern."""
    problem_text = _too_big(pattern)
    if problem_text:
        raise UnsupportedPattern(problem_text)
    text = translate(pattern)
    options = _options()
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(text, options)
    except re2.error as exc:
        detail = (
            exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        )
        raise UnsupportedPattern(f"the pattern is not valid or too large: {detail}") from None


def _too_big(pattern: str) -> str | None:
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"a pattern may have at most {MAX_PATTERN_CHARS} characters"
    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        return "the pattern holds an invalid character"
    return None


def problem(pattern, ignore_case: bool = False) -> str | None:
    """Why the server refuses this pattern at save/publish, or None when it can run it."""
    if not isinstance(pattern, str):
        return "a pattern must be text"
    try:
        compile_js(pattern, bool(ignore_case))
    except UnsupportedPattern as exc:
        return str(exc)
    return None


def _utf8_safe(text: str) -> str:
    """RE2 reads UTF-8; a lone surrogate (possible in JSON text) becomes U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def test(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """JavaScript's `new RegExp(pattern, ignore_case ? "i" : "").test(text)`, in linear time.
    A pattern the server cannot run fails closed (False)."""
    try:
        compiled = compile_js(pattern, ignore_case)
    except UnsupportedPattern:
        return False
    return compiled.search(_utf8_safe(text)) is not None
