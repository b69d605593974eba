"""The SurveyJS expression functions the server supports, with survey-core's semantics.

Dates are naive `datetime`s at local midnight, as survey-core's `createDate`
produces in the browser (tests run Node in the same timezone as Python).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from engine.forms.jsvalues import compare, is_empty, is_number, round_like_js, to_number, truthy


def to_date(value) -> datetime | None:
    """survey-core createDate for the values a form can hold: Date, ISO date or datetime text."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value:
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed.replace(tzinfo=None)
    return None


def _flatten(params, out):
    if params is None:
        return out
    if isinstance(params, list):
        for p in params:
            _flatten(p, out)
    else:
        out.append(to_number(params) if is_number(params) else params)
    return out


def f_sum(params, ctx):
    total = 0
    for v in _flatten(params, []):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            total = round_like_js(total, v, total + v)
    return total


def f_count(params, ctx):
    return len(_flatten(params, []))


def f_avg(params, ctx):
    items = _flatten(params, [])
    return f_sum(params, ctx) / len(items) if items else 0


def _js_less(a, b) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a < b
    return compare(a, b, "<")


def _minmax(params, is_min: bool):
    """survey-core min_max: JS `<`/`>` over the flattened values (mixed types compare, never raise)."""
    result = None
    for v in _flatten(params, []):
        if result is None:
            result = v
        if _js_less(v, result) if is_min else _js_less(result, v):
            result = v
    return result


def _js_float(value) -> float:
    """A JS number from a Python one: ints beyond float range are +-Infinity, as JSON.parse gives."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _pow10(precision) -> float:
    """JS Math.pow(10, precision) without building a huge int first (10 ** 10**7 took seconds)."""
    precision = _js_float(precision)
    if math.isnan(precision):
        return math.nan
    if precision > 400 or precision < -400:  # beyond doubles both ways
        return math.inf if precision > 0 else 0.0
    try:
        return float(10 ** int(precision)) if precision.is_integer() else 10.0**precision
    except OverflowError:
        return math.inf


def _js_div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


def f_round(params, ctx):
    items = _flatten(params, [])
    if items and is_number(items[0]):
        precision = items[1] if len(items) > 1 and items[1] else 0
        if not is_number(precision):
            return None  # survey-core returns NaN, which every later check treats as empty
        p = _pow10(to_number(precision))
        # survey-core multiplies by (1 + EPSILON) and uses Math.round (half up)
        n = _js_float(to_number(items[0])) * p * (1 + 2.220446049250313e-16)
        rounded = math.floor(n + 0.5) if math.isfinite(n) else n
        result = _js_div(rounded, p)
        return None if math.isnan(result) else result
    return None


def f_iif(params, ctx):
    if len(params) < 2:
        return None
    return params[1] if truthy(params[0]) else (params[2] if len(params) > 2 else None)


def _diff_months(d1, d2, unit):
    a = to_date(d1)
    b = to_date(d2) if d2 is not None else datetime.now()
    if a is None or b is None:
        return None
    if unit == "days":
        return abs((b - a).days) if d2 is not None else None
    months = (b.year - a.year) * 12 + b.month - a.month
    if b.day < a.day:
        months -= 1
    return months if unit == "months" else int(months / 12)


def f_age(params, ctx):
    if not params or not params[0]:
        return None
    return _diff_months(params[0], None, (params[1] if len(params) > 1 else "") or "years")


def f_date_diff(params, ctx):
    if len(params) < 2 or not params[0] or not params[1]:
        return None
    unit = (params[2] if len(params) > 2 else "") or "days"
    a, b = to_date(params[0]), to_date(params[1])
    if a is None or b is None:
        return None
    if unit == "days":
        return math.ceil(abs((b - a).total_seconds()) / 86400)
    if unit in ("hours", "minutes", "seconds"):
        size = {"hours": 3600, "minutes": 60, "seconds": 1}[unit]
        return math.ceil(abs((b - a).total_seconds()) / size)
    return _diff_months(a, b, unit)


def f_date_add(params, ctx):
    if len(params) < 2 or not params[0] or not params[1]:
        return None
    d = to_date(params[0])
    n = to_number(params[1]) or 0
    unit = (params[2] if len(params) > 2 else "") or "days"
    if d is None:
        return None
    try:
        if unit in ("days", "hours", "minutes", "seconds"):
            return d + timedelta(**{unit: n})
        months = d.month - 1 + int(n) * (12 if unit == "years" else 1)
        # JS setMonth/setFullYear roll an overflowing day into the next month (Jan 31 + 1 month = Mar 3)
        first = d.replace(year=d.year + months // 12, month=months % 12 + 1, day=1)
        return first + timedelta(days=d.day - 1)
    except (OverflowError, ValueError):
        return None  # past year 9999 (or an infinite count): JS gives an Invalid Date, compared as false


def f_today(params, ctx):
    now = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    if len(params) == 1 and is_number(params[0]):
        try:
            now += timedelta(days=to_number(params[0]))
        except (OverflowError, ValueError):
            return None  # beyond year 9999: JS gives an Invalid Date, compared as false
    return now


def f_current_date(params, ctx):
    return datetime.now()


def f_get_date(params, ctx):
    return to_date(params[0]) if params and params[0] else None


def f_year(params, ctx):
    d = to_date(params[0]) if params else datetime.now()
    return d.year if d else None


def f_current_year(params, ctx):
    return datetime.now().year


def _in_array(params, ctx, *, count: bool):
    from engine.forms.evaluator import condition  # imported here: the evaluator imports this module

    if len(params) < 2 or not params[0] or not isinstance(params[1], str):
        return 0
    data = params[0]
    items = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
    name = params[1]
    where = params[2] if len(params) > 2 and isinstance(params[2], str) else None
    total = 0
    for item in items:
        if not isinstance(item, dict) or is_empty(item.get(name)):
            continue
        if where and not condition(where, item):
            continue
        if count:
            total += 1
        else:
            value = to_number(item[name]) if isinstance(item[name], str) else item[name]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total = round_like_js(total, value, total + value)
    return total


def f_sum_in_array(params, ctx):
    return _in_array(params, ctx, count=False)


def f_count_in_array(params, ctx):
    return _in_array(params, ctx, count=True)


def f_is_container_ready(params, ctx):
    """Whether a panel/page/dynamic panel has no errors; needs the validator's help (ctx.container_ready)."""
    if not params or not params[0] or ctx is None or ctx.container_ready is None:
        return False
    return ctx.container_ready(params[0])


FUNCTIONS = {
    "sum": f_sum,
    "count": f_count,
    "avg": f_avg,
    "min": lambda p, c: _minmax(p, True),
    "max": lambda p, c: _minmax(p, False),
    "round": f_round,
    "iif": f_iif,
    "age": f_age,
    "dateDiff": f_date_diff,
    "dateAdd": f_date_add,
    "today": f_today,
    "currentDate": f_current_date,
    "getDate": f_get_date,
    "year": f_year,
    "getYear": f_year,
    "currentYear": f_current_year,
    "sumInArray": f_sum_in_array,
    "countInArray": f_count_in_array,
    "isContainerReady": f_is_container_ready,
}
