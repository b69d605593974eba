"""JavaScript-flavoured value helpers, because survey-core (the browser's verdict) computes in JS.

Each helper mirrors one survey-core `Helpers`/`OperandMaker` rule so that the
server reaches the same verdict as the browser on the same answers.
"""

from __future__ import annotations

import math
import re

_NUMERIC = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


MAX_SAFE = 2**53


def _huge(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE


def _has_huge_int(value) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif _huge(v):
            return True
    return False


def _convert(value):
    if isinstance(value, dict):
        return {k: _convert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if _huge(value):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value


def from_json(value: dict) -> dict:
    """A copy of answers as JSON.parse gives them to survey-core: integers past 2**53 become doubles
    (+-Infinity past the double range). Python keeps huge JSON integers exact; float() of one raises."""
    return _convert(value) if _has_huge_int(value) else dict(value)


def is_empty(value) -> bool:
    """survey-core Helpers.isValueEmpty: None, "", [], or an object whose values are all empty."""
    if isinstance(value, list):
        return len(value) == 0
    if isinstance(value, dict):
        return all(is_empty(v) for v in value.values())
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return isinstance(value, float) and math.isnan(value)
    return not value


def to_number(value) -> float | None:
    """survey-core Helpers.getNumber: a number, a numeric string (one "," as decimal point) or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return None if (isinstance(value, float) and not math.isfinite(value)) else value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.startswith("0x"):
        try:
            return int(text, 16) if len(text) <= 32 else None
        except ValueError:
            return None
    if len(text) > 15 and text.isdigit():
        return None
    if text.count(",") == 1:
        text = text.replace(",", ".")
    if not _NUMERIC.match(text):
        return None
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def is_number(value) -> bool:
    return to_number(value) is not None


def js_number(value) -> float:
    """JS Number(value) for comparison operators (NaN when not convertible)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    if isinstance(value, list):
        if not value:
            return 0.0
        if len(value) == 1:
            return js_number(value[0]) if not isinstance(value[0], list) else js_number(value[0])
    return math.nan


def truthy(value) -> bool:
    """JS truthiness."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def loose_true(value) -> bool:
    """JS `value == true`: how survey-core turns a condition's result into a boolean."""
    if value is True:
        return True
    if value is None or value is False or isinstance(value, dict):
        return False
    return js_number(value) == 1.0


def _count_decimals(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value).is_integer():
        return 0
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def round_like_js(a, b, result):
    """survey-core correctAfterPlusMinis: round away binary noise (0.1 + 0.2 == 0.3)."""
    digits = max(_count_decimals(a), _count_decimals(b))
    if digits > 0 and isinstance(result, float):
        result = float(f"{result:.{digits}f}")
    return result


def js_length(text: str) -> int:
    """JS `text.length`: UTF-16 code units (an emoji counts 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def to_js_string(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if v is None else to_js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def values_equal(x, y, *, ignore_order: bool = False) -> bool:
    """survey-core Helpers.checkIfValuesEqual with the default comparator (case-insensitive, trimmed)."""
    if x is y or (type(x) is type(y) and not isinstance(x, (list, dict, str)) and x == y):
        return True
    if isinstance(x, list) and not x and y is None or isinstance(y, list) and not y and x is None:
        return True
    if x is None and y == "" or y is None and x == "":
        return True
    if isinstance(x, str) and isinstance(y, str):
        return x.strip().lower() == y.strip().lower()
    nx, ny = _convertible(x), _convertible(y)
    if nx is not None and ny is not None and nx == ny:
        return True
    if is_empty(x) != is_empty(y):
        return False
    if isinstance(x, bool) and isinstance(y, str):
        return ("true" if x else "false") == y.lower()
    if isinstance(y, bool) and isinstance(x, str):
        return ("true" if y else "false") == x.lower()
    x_obj, y_obj = isinstance(x, (list, dict)), isinstance(y, (list, dict))
    if not x_obj and not y_obj:
        return _loose_eq(x, y)
    if not x_obj or not y_obj:
        return False
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return False
        if ignore_order:
            try:
                x, y = sorted(x, key=_sort_key), sorted(y, key=_sort_key)
            except TypeError:
                pass
        return all(values_equal(a, b, ignore_order=ignore_order) for a, b in zip(x, y, strict=True))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(values_equal(x[k], y[k], ignore_order=ignore_order) for k in x)
    return False


def _sort_key(v):
    return to_js_string(v)  # JS Array.prototype.sort() compares string forms


def _convertible(value):
    """A number when survey-core's isConvertibleToNumber holds (JS !isNaN(value))."""
    if value is None or isinstance(value, list | dict):
        return None
    n = js_number(value)
    return None if math.isnan(n) else n


def _loose_eq(x, y) -> bool:
    """JS `x == y` for primitives."""
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, str) and isinstance(y, str):
        return x == y
    return js_number(x) == js_number(y)


def compare(left, right, op: str) -> bool:
    """JS `<`/`>` between primitives: strings compare as strings, otherwise as numbers."""
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        left, right = _primitive(left), _primitive(right)
    if isinstance(left, str) and isinstance(right, str):
        return left < right if op == "<" else left > right
    a, b = js_number(left), js_number(right)
    if math.isnan(a) or math.isnan(b):
        return False
    return a < b if op == "<" else a > b


def _primitive(value):
    return to_js_string(value) if isinstance(value, list | dict) else value
