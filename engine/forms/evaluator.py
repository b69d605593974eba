"""Evaluate parsed SurveyJS expressions against answers, with survey-core's value rules.

`Context` resolves `{name}`, `{name.sub}`, `{name[0].x}`, `{row.col}`,
`{panel.x}` (names are case-insensitive, as in survey-core). Unknown
functions evaluate to None (survey-core logs and returns undefined).
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

from engine.forms import jsvalues as js
from engine.forms.expressions import parse
from engine.forms.functions import FUNCTIONS, to_date

_PATH = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


class Context:
    """Values visible to an expression: survey answers and calculated values, plus row/panel scopes."""

    def __init__(self, values: dict, *, scopes: dict | None = None, container_ready=None):
        self.values = values
        self.scopes = scopes or {}
        self.container_ready = container_ready
        self._lower: dict | None = None

    def child(self, **scopes) -> Context:
        merged = dict(self.scopes)
        merged.update(scopes)
        return Context(self.values, scopes=merged, container_ready=self.container_ready)

    def _top(self, key: str):
        if key in self.values:
            return True, self.values[key]
        if self._lower is None:
            self._lower = {k.lower(): k for k in self.values}
        real = self._lower.get(key.lower())
        return (True, self.values[real]) if real is not None else (False, None)

    def lookup(self, name: str):
        """(found, value) for a variable name."""
        head, _, rest = name.partition(".")
        if head in self.scopes and head not in self.values:
            found, value = True, self.scopes[head]
            return _descend(value, rest) if rest else (found, value)
        found, value = self._top(name)
        if found:
            return found, value
        parts = _PATH.findall(name)
        if not parts:
            return False, None
        first = parts[0][1]
        found, value = self._top(first) if first else (False, None)
        if not found:
            return False, None
        for index, key in parts[1:]:
            if index:
                i = int(index)
                if not isinstance(value, list) or i >= len(value):
                    return False, None
                value = value[i]
            else:
                if not isinstance(value, dict):
                    return False, None
                if key not in value:
                    match = next((k for k in value if k.lower() == key.lower()), None)
                    if match is None:
                        return False, None
                    key = match
                value = value[key]
        return True, value


def _descend(value, rest):
    return Context(value if isinstance(value, dict) else {}).lookup(rest)


def _correct(value):
    """survey-core Const.getCorrectValue: strings that look like booleans or numbers become them."""
    if not isinstance(value, str) or not value:
        return value
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if len(value) > 1 and value[0] in "'\"" and value[-1] in "'\"":
        return value[1:-1]
    if js.is_number(value):
        text = value.strip()
        if text[0] == "0" and not text.startswith("0x"):
            point = len(text) > 1 and text[1] in ".,"
            if (not point and len(text) > 1) or (point and len(text) < 2):
                return value
        return js.to_number(value)
    return value


def _date_pair(left, right):
    """survey-core convertValForDateCompare: a string compared with a date becomes a date."""
    if isinstance(right, datetime) and isinstance(left, str):
        parsed = to_date(left)
        if parsed is not None:
            left = parsed
    if isinstance(left, datetime) and isinstance(right, str):
        parsed = to_date(right)
        if parsed is not None:
            right = parsed
    return left, right


def _cmp(left, right, op):
    if left is None or right is None:
        return False
    left, right = _date_pair(left, right)
    if isinstance(left, datetime) and isinstance(right, datetime):
        return left < right if op == "<" else left > right
    if isinstance(left, datetime) or isinstance(right, datetime):
        left = _epoch_ms(left) if isinstance(left, datetime) else left
        right = _epoch_ms(right) if isinstance(right, datetime) else right
    return js.compare(left, right, op)


def _epoch_ms(moment: datetime) -> float:
    """JS Date.valueOf() of a local-time date; near year 1 or 9999 the OS refuses timestamp()."""
    try:
        return moment.timestamp() * 1000
    except (ValueError, OverflowError, OSError):
        return ((moment - datetime(1970, 1, 1)).total_seconds() + time.timezone) * 1000


def _equal(left, right):
    left, right = _date_pair(left, right)
    if isinstance(left, datetime) or isinstance(right, datetime):
        return isinstance(left, datetime) and isinstance(right, datetime) and left == right
    return js.values_equal(left, right, ignore_order=True)


def _contains_core(left, right, is_contains):
    if isinstance(left, list) and not left:
        return not is_contains
    if left is None or left == "" or (isinstance(left, float) and math.isnan(left)):
        return False
    if not isinstance(left, (list, str)):
        left = js.to_js_string(left)
    if isinstance(left, str):
        if not js.truthy(right):
            return False
        found = js.to_js_string(right).lower() in left.lower()
        return found if is_contains else not found
    for r in right if isinstance(right, list) else [right]:
        if not any(js.values_equal(item, r, ignore_order=True) for item in left):
            return not is_contains
    return is_contains


def _anyof(left, right):
    if js.is_empty(left) and js.is_empty(right):
        return True
    if js.is_empty(left):
        return False
    if js.is_empty(right):
        return True
    if not isinstance(left, list):
        return _contains_core(right, left, True)
    if not isinstance(right, list):
        return _contains_core(left, right, True)
    return any(_contains_core(left, r, True) for r in right)


def _allof(left, right):
    if not js.truthy(left) and not js.is_empty(right):
        return False
    if not isinstance(right, list):
        return _contains_core(left, right, True)
    return all(_contains_core(left, r, True) for r in right)


def _arith_operand(value, other):
    if not js.is_empty(value):
        return value
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        return 0
    if isinstance(value, str):
        return value
    if isinstance(other, str):
        return ""
    if isinstance(other, list):
        return []
    return 0


def _plus(a, b):
    if not js.is_number(a) or not js.is_number(b):
        if isinstance(a, list) and isinstance(b, list):
            return a + b
        if isinstance(a, str) or isinstance(b, str):
            return js.to_js_string(a) + js.to_js_string(b)
        return js.js_number(a) + js.js_number(b)
    if isinstance(a, str) or isinstance(b, str):
        return js.to_js_string(a) + js.to_js_string(b)
    return js.round_like_js(a, b, a + b)


def _arith(op, a, b):
    a = _arith_operand(a, b)
    b = _arith_operand(b, a)
    if op == "plus":
        return _plus(a, b)
    x, y = js.js_number(a), js.js_number(b)
    if op == "minus":
        return _num(js.round_like_js(a, b, x - y))
    if op == "mul":
        return _num(x * y)
    if op in ("div", "mod"):
        if not js.truthy(b):
            return None
        if op == "div":
            return _num(x / y if y else math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x))
        # JS %: NaN for an infinite dividend or a zero divisor (math.fmod raises there)
        return _num(math.fmod(x, y) if math.isfinite(x) and y else math.nan)
    if op == "power":
        try:
            result = x**y
        except (OverflowError, ZeroDivisionError):
            return math.inf
        return _num(result if isinstance(result, float) else math.nan)  # (-8) ^ 0.5 is NaN in JS, not complex
    raise ValueError(op)


def _num(value):
    if isinstance(value, float):
        if math.isnan(value):
            return None  # survey-core's NaN behaves like an empty value in every later check
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def evaluate(node, ctx: Context):
    """The value of a parsed expression in `ctx`."""
    tag = node[0]
    if tag == "const":
        return node[1]
    if tag == "var":
        found, value = ctx.lookup(node[1])
        return _correct(value) if found else None
    if tag == "array":
        return [evaluate(n, ctx) for n in node[1]]
    if tag == "func":
        fn = FUNCTIONS.get(node[1])
        if fn is None:
            return None
        if node[1] in ("sumInArray", "countInArray") and len(node[2]) > 2 and node[2][2][0] != "const":
            # survey-core passes a condition argument as expression text, not as its value
            params = [evaluate(n, ctx) for n in node[2][:2]] + [_unparse(node[2][2])]
        else:
            params = [evaluate(n, ctx) for n in node[2]]
        return fn(params, ctx)
    if tag == "unary":
        value = evaluate(node[2], ctx)
        if node[1] == "empty":
            return js.is_empty(value)
        if node[1] == "notempty":
            return not js.is_empty(value)
        return not js.truthy(value)
    op, left_node, right_node = node[1], node[2], node[3]
    left = evaluate(left_node, ctx)
    right = evaluate(right_node, ctx)
    if op == "and":
        return right if js.truthy(left) else left
    if op == "or":
        return left if js.truthy(left) else right
    if op in ("plus", "minus", "mul", "div", "mod", "power"):
        return _arith(op, left, right)
    if op == "equal":
        return _equal(left, right)
    if op == "notequal":
        return not _equal(left, right)
    if op == "less":
        return _cmp(left, right, "<")
    if op == "greater":
        return _cmp(left, right, ">")
    if op == "lessorequal":
        return _equal(left, right) or _cmp(left, right, "<")
    if op == "greaterorequal":
        return _equal(left, right) or _cmp(left, right, ">")
    if op == "contains":
        return _contains_core(left, right, True)
    if op == "notcontains":
        if not js.truthy(left) and not js.is_empty(right):
            return True
        return _contains_core(left, right, False)
    if op == "anyof":
        return _anyof(left, right)
    if op == "noneof":
        return not _anyof(left, right)
    if op == "allof":
        return _allof(left, right)
    raise ValueError(f"unknown operator {op}")


def _unparse(node) -> str:
    tag = node[0]
    if tag == "const":
        v = node[1]
        return f"'{v}'" if isinstance(v, str) else js.to_js_string(v)
    if tag == "var":
        return "{" + node[1] + "}"
    if tag == "array":
        return "[" + ", ".join(_unparse(n) for n in node[1]) + "]"
    if tag == "func":
        return node[1] + "(" + ", ".join(_unparse(n) for n in node[2]) + ")"
    if tag == "unary":
        return f"{node[1]} {_unparse(node[2])}" if node[1] == "negate" else f"{_unparse(node[2])} {node[1]}"
    return f"({_unparse(node[2])} {node[1]} {_unparse(node[3])})"


def run(expression: str, ctx: Context | dict):
    """Evaluate expression text (a value expression). Raises ExpressionSyntaxError."""
    if isinstance(ctx, dict):
        ctx = Context(js.from_json(ctx))
    return evaluate(parse(expression), ctx)


def condition(expression: str, ctx: Context | dict) -> bool:
    """Evaluate a condition the way survey-core does (`result == true`). Raises ExpressionSyntaxError."""
    return js.loose_true(run(expression, ctx))
