"""The SurveyJS expression language: lexer and recursive-descent parser producing a small AST.

Hand-written because no maintained Python implementation exists (PyPI has
SurveyJS API clients and CMS integrations, none evaluates expressions).
Grammar follows survey-core 2.5's peggy grammar, checked against it in Node:

    or      := and (("or" | "||") and)*
    and     := cmp (("and" | "&&") cmp)*
    cmp     := add ((compare-op) add)*
    add     := mul (("+" | "-") mul)*
    mul     := pow (("*" | "/" | "%") pow)*
    pow     := unary (("^" | "power") unary)*            (left-associative, as survey-core)
    unary   := ("!" | "negate") unary | postfix
    postfix := atom ("empty" | "notempty")?
    atom    := number | string | true | false | null | undefined | {variable}
             | name "(" args ")" | "[" args "]" | "(" or ")" | bare-word

AST nodes are tuples: ("const", v), ("var", name), ("array", [..]),
("func", name, [..]), ("unary", op, node), ("binary", op, left, right).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["ExpressionSyntaxError", "parse", "variables", "functions"]


class ExpressionSyntaxError(ValueError):
    """The expression does not parse."""


_COMPARE = {
    "=": "equal",
    "==": "equal",
    "equal": "equal",
    "!=": "notequal",
    "<>": "notequal",
    "notequal": "notequal",
    "<": "less",
    "less": "less",
    ">": "greater",
    "greater": "greater",
    "<=": "lessorequal",
    "lessorequal": "lessorequal",
    ">=": "greaterorequal",
    "greaterorequal": "greaterorequal",
    "contains": "contains",
    "contain": "contains",
    "*=": "contains",
    "notcontains": "notcontains",
    "notcontain": "notcontains",
    "anyof": "anyof",
    "allof": "allof",
    "noneof": "noneof",
}
_WORD_OPS = {"or", "and", "power", "negate", "empty", "notempty"} | {k for k in _COMPARE if k.isalpha()}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<var>\{[^{}]*\})
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<num>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op>\|\||&&|==|!=|<>|<=|>=|\*=|[-+*/%^<>=!(),\[\]])
  | (?P<word>[A-Za-z_\u00C0-\uFFFF][\w\u00C0-\uFFFF.]*)
""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExpressionSyntaxError(f"unexpected character {text[pos]!r} at {pos}")
        pos = m.end()
        kind = m.lastgroup or ""  # never None: every alternative of _TOKEN is a named group
        if kind == "ws":
            continue
        value = m.group()
        if kind == "word" and value.lower() in _WORD_OPS:
            kind, value = "op", value.lower()
        out.append((kind, value))
    return out


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def accept(self, *ops):
        kind, value = self.peek()
        if kind == "op" and value in ops:
            self.i += 1
            return value
        return None

    def expect(self, op):
        if not self.accept(op):
            raise ExpressionSyntaxError(f"expected {op!r}, found {self.peek()[1] or 'end'!r}")

    def parse(self):
        if not self.tokens:
            raise ExpressionSyntaxError("empty expression")
        node = self.or_()
        if self.peek()[0] != "end":
            raise ExpressionSyntaxError(f"unexpected {self.peek()[1]!r}")
        return node

    def _chain(self, sub, ops, name=None):
        node = sub()
        while (op := self.accept(*ops)) is not None:
            node = ("binary", name(op) if name else op, node, sub())
        return node

    def or_(self):
        return self._chain(self.and_, ("or", "||"), lambda _: "or")

    def and_(self):
        return self._chain(self.cmp, ("and", "&&"), lambda _: "and")

    def cmp(self):
        return self._chain(self.add, tuple(_COMPARE), _COMPARE.__getitem__)

    def add(self):
        node = self.mul()
        while True:
            kind, value = self.peek()
            if kind == "op" and value in ("+", "-"):
                self.i += 1
                node = ("binary", "plus" if value == "+" else "minus", node, self.mul())
            else:
                return node

    def mul(self):
        names = {"*": "mul", "/": "div", "%": "mod"}
        return self._chain(self.pow, tuple(names), names.__getitem__)

    def pow(self):
        return self._chain(self.unary, ("^", "power"), lambda _: "power")

    def unary(self):
        if self.accept("!", "negate"):
            return ("unary", "negate", self.unary())
        return self.postfix()

    def postfix(self):
        node = self.atom()
        op = self.accept("empty", "notempty")
        return ("unary", op, node) if op else node

    def args(self, close):
        items = []
        if self.accept(close):
            return items
        while True:
            items.append(self.or_())
            if self.accept(close):
                return items
            self.expect(",")

    def atom(self):
        kind, value = self.take()
        if kind == "num":
            return ("const", _number(value))
        if kind == "str":
            return ("const", re.sub(r"\\(.)", r"\1", value[1:-1]))
        if kind == "var":
            name = value[1:-1].strip()
            if not name:
                raise ExpressionSyntaxError("empty variable {}")
            return ("var", name)
        if kind == "op" and value == "-":
            nxt = self.peek()
            if nxt[0] == "num":  # signed literal; survey-core refuses "-{x}" and "- 1" alike
                self.i += 1
                return ("const", -_number(nxt[1]))
            raise ExpressionSyntaxError("unary minus applies only to number literals")
        if kind == "op" and value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "op" and value == "[":
            return ("array", self.args("]"))
        if kind == "word":
            if self.accept("("):
                return ("func", value, self.args(")"))
            low = value.lower()
            if low in ("true", "false"):
                return ("const", low == "true")
            if value in ("null", "undefined"):
                return ("const", None)
            return ("const", value)  # survey-core treats a bare word as a string constant
        raise ExpressionSyntaxError(f"unexpected {value or 'end'!r}")


def _number(text: str):
    if text.startswith("0x"):
        return int(text, 16)
    if len(text) > 1 and text[0] == "0" and text[1] != ".":
        raise ExpressionSyntaxError(f"number with a leading zero: {text}")
    number = float(text)
    return int(number) if number.is_integer() and not any(c in text for c in ".eE") else number


@lru_cache(maxsize=4096)
def parse(text: str):
    """The AST of `text`. Raises ExpressionSyntaxError. Cached: forms repeat their expressions."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError("an expression must be a string")
    return _Parser(_tokens(text)).parse()


def _walk(node):
    yield node
    tag = node[0]
    if tag == "array":
        for child in node[1]:
            yield from _walk(child)
    elif tag == "func":
        for child in node[2]:
            yield from _walk(child)
    elif tag == "unary":
        yield from _walk(node[2])
    elif tag == "binary":
        yield from _walk(node[2])
        yield from _walk(node[3])


def variables(node) -> list[str]:
    """Every `{name}` the expression reads, in order."""
    return [n[1] for n in _walk(node) if n[0] == "var"]


def functions(node) -> list[str]:
    return [n[1] for n in _walk(node) if n[0] == "func"]
