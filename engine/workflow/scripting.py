"""The restricted script engine for BPMN script tasks, conditions, timer and parameter expressions.

SpiffWorkflow's own TaskDataEnvironment is `eval`/`exec` with ordinary
builtins: a BPMN author could reach the interpreter through dunder walks.
Here every script is compiled with RestrictedPython (which refuses `_`-names
and `import` at compile time), runs with a short list of builtins, and every
attribute access goes through `_guarded_getattr`, which only allows public
attributes of plain data types (so generator frames, code objects, bound
method internals and `str.format` tricks are out of reach).

Scripts, and expressions that could compute something large (a call, arithmetic),
run in a child process bounded in time and memory (engine.workflow.sandbox);
plain conditions on task data run here.

Raises ScriptRefused (not allowed) or ScriptFailed (raised while running, or out of
time or memory).
"""

from __future__ import annotations

import ast
import datetime as _dt
import operator
from functools import lru_cache
from typing import Literal

from RestrictedPython import compile_restricted
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
)
from RestrictedPython.PrintCollector import PrintCollector
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.workflow import helpers, sandbox
from engine.workflow.errors import ScriptFailed, ScriptInterrupted, ScriptRefused

# How a source is compiled: a script (statements) or an expression.
Mode = Literal["exec", "eval"]

# Types whose public attributes (mostly methods like dict.get, str.upper) scripts may use.
_ATTRIBUTE_SAFE_TYPES = (
    str,
    int,
    float,
    bool,
    type(None),
    list,
    tuple,
    dict,
    set,
    frozenset,
    _dt.date,
    _dt.datetime,
    _dt.timedelta,
    helpers.Namespace,
)
# Attributes that hand out something unsafe even on an allowed type.
_ATTRIBUTE_DENIED = frozenset({"format", "format_map", "mro", "fromkeys", "maketrans"})
_NODE_DENIED = {
    ast.Import: "import is not allowed",
    ast.ImportFrom: "import is not allowed",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.AsyncFunctionDef: "async code is not allowed",
    ast.Await: "async code is not allowed",
    ast.Yield: "generators are not allowed",
    ast.YieldFrom: "generators are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed (use a list comprehension)",
}
_NAMES_DENIED = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "globals",
        "locals",
        "vars",
        "dir",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "type",
        "input",
        "breakpoint",
        "memoryview",
        "object",
        "super",
        "help",
        "exit",
        "quit",
    }
)


def _guarded_getattr(obj, name, default=None):
    if name.startswith("_"):
        raise ScriptRefused(f"attribute {name!r} is not allowed", details={"script": [f"attribute {name}"]})
    if not isinstance(obj, _ATTRIBUTE_SAFE_TYPES) or name in _ATTRIBUTE_DENIED:
        raise ScriptRefused(
            f"attribute {name!r} of {type(obj).__name__} is not allowed",
            details={"script": [f"attribute {name} of {type(obj).__name__}"]},
        )
    return getattr(obj, name, default)


def _guarded_getitem(obj, key):
    if isinstance(key, str) and key.startswith("__"):
        raise ScriptRefused(f"item {key!r} is not allowed", details={"script": [f"item {key}"]})
    return obj[key]


def _inplacevar(op, target, value):
    ops = {
        "+=": operator.iadd,
        "-=": operator.isub,
        "*=": operator.imul,
        "/=": operator.itruediv,
        "//=": operator.ifloordiv,
        "%=": operator.imod,
        "**=": operator.ipow,
        "|=": operator.ior,
        "&=": operator.iand,
    }
    if op not in ops:
        raise ScriptRefused(f"operator {op} is not allowed", details={"script": [op]})
    return ops[op](target, value)


def _safe_builtins() -> dict:
    import builtins

    names = [
        "abs",
        "all",
        "any",
        "bool",
        "dict",
        "divmod",
        "enumerate",
        "filter",
        "float",
        "int",
        "isinstance",
        "len",
        "list",
        "map",
        "max",
        "min",
        "range",
        "reversed",
        "round",
        "set",
        "sorted",
        "str",
        "sum",
        "tuple",
        "zip",
        "frozenset",
        "chr",
        "ord",
        "Exception",
        "ValueError",
        "KeyError",
        "TypeError",
        "IndexError",
        "ZeroDivisionError",
    ]
    safe = {n: getattr(builtins, n) for n in names}
    safe.update({"None": None, "True": True, "False": False})
    return safe


_BUILTINS = _safe_builtins()
_HELPERS = helpers.script_globals()
_GUARDS = {
    "_getattr_": _guarded_getattr,
    "_getitem_": _guarded_getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_print_": PrintCollector,
    "_apply_": lambda f, *a, **kw: f(*a, **kw),
}


def _refuse(message: str):
    raise ScriptRefused(message, details={"script": [message]})


@lru_cache(maxsize=2048)
def compile_script(source: str, mode: Mode):
    """Compile once per distinct source text. Raises ScriptRefused with the reason."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        _refuse(f"syntax error: {exc.msg} (line {exc.lineno})")
    for node in ast.walk(tree):
        for kind, why in _NODE_DENIED.items():
            if isinstance(node, kind):
                _refuse(why)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NAMES_DENIED:
            _refuse(f"{node.func.id}() is not allowed")
        if isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTE_DENIED:
            _refuse(f"attribute {node.attr!r} is not allowed")
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
            and node.slice.value.startswith("__")
        ):
            _refuse(f"item {node.slice.value!r} is not allowed")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "__" in node.value
            and ("{" in node.value or "%" in node.value)
        ):
            _refuse("format strings naming dunder attributes are not allowed")
    result = compile_restricted(source, filename="<script>", mode=mode)
    if isinstance(result, tuple) or getattr(result, "errors", None):  # older API shape
        errors = getattr(result, "errors", result[1] if isinstance(result, tuple) else [])
        _refuse("; ".join(errors))
    return result


def check_source(source: str, mode: Mode = "exec") -> None:
    """Deploy-time check of a script or expression. Raises ScriptRefused."""
    try:
        compile_script(source, mode)
    except SyntaxError as exc:  # RestrictedPython reports its refusals as SyntaxError
        _refuse(str(exc))


def _compile(source: str, mode: Mode):
    try:
        return compile_script(source, mode)
    except SyntaxError as exc:
        _refuse(str(exc))


# Expression nodes that cannot compute anything larger or slower than the task data they read:
# names, constants, lookups, comparisons, and/or/not. Such expressions (most gateway conditions)
# run in this process; anything else (a call, arithmetic, a comprehension, an f-string) runs in
# the bounded child process of engine.workflow.sandbox.
_BOUNDED_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Compare,
    ast.cmpop,
    ast.BoolOp,
    ast.boolop,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Subscript,
    ast.Attribute,
    ast.IfExp,
)


@lru_cache(maxsize=2048)
def runs_inline(expression: str) -> bool:
    """Whether `expression` is bounded by the data it reads (so needs no sandbox)."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return False
    return all(
        isinstance(node, _BOUNDED_NODES)
        or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd))
        for node in ast.walk(tree)
    )


def _globals(context: dict, external_context: dict | None) -> dict:
    scope = {"__builtins__": _BUILTINS, **_GUARDS, **_HELPERS}
    scope.update(external_context or {})
    scope.update(context)
    return scope


def evaluate_here(expression: str, context: dict, external_context: dict | None = None):
    """Evaluate in this process, under the guards but unbounded: for bounded expressions and the sandbox."""
    code = _compile(expression, "eval")
    return _run(lambda: eval(code, _globals(context, external_context)))  # noqa: S307 - restricted code


def execute_here(script: str, context: dict, external_context: dict | None = None) -> None:
    """Run a script in this process (the sandbox child), updating `context` as the script left it."""
    code = _compile(script, "exec")
    scope = _globals(context, external_context)
    before = set(scope)
    _run(lambda: exec(code, scope))  # noqa: S102 - restricted code
    fixed = {"__builtins__", *_GUARDS, *_HELPERS, *(external_context or {})}
    for key in list(context):
        if key not in scope:
            del context[key]
    for key, value in scope.items():
        if key in fixed or key.startswith("_") or callable(value) or isinstance(value, helpers.Namespace):
            continue
        if key in context or key not in before or context.get(key) is not value:
            context[key] = value


def _run(fn):
    try:
        return fn()
    except (ScriptRefused, MemoryError):
        raise
    except Exception as exc:  # any error inside user code becomes a domain error
        raise ScriptFailed(f"{type(exc).__name__}: {exc}", details={"script": [str(exc)]}) from exc


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions and runs scripts against task data, under the guards above, bounded in
    time and memory (engine.workflow.sandbox)."""

    def __init__(self):
        super().__init__(_HELPERS)

    def evaluate(self, expression, context, external_context=None):
        _compile(expression, "eval")  # refusals without a round trip
        if runs_inline(expression):
            return evaluate_here(expression, context, external_context)
        return sandbox.run("eval", expression, context, external_context)

    def execute(self, script, context, external_context=None):
        _compile(script, "exec")
        left = sandbox.run("exec", script, context, external_context)
        # The script ran on a copy: task data becomes what it left (same keys, same order).
        context.clear()
        context.update(left)
        return True

    def call_service(self, context, **kwargs):
        # Service tasks go through the outbox (engine.workflow.specs), never inline.
        raise ScriptRefused("service tasks are performed by workers, not scripts")


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine on the restricted environment; service calls are refused."""

    def __init__(self):
        super().__init__(environment=RestrictedEnvironment())

    def validate(self, expression):
        check_source(expression, "eval")

    def call_service(self, task, **kwargs):
        # The base class's error path raises NameError in 3.2.0; ours never calls out.
        raise WorkflowTaskException("service tasks run through the outbox", task=task)


_ENGINE: RestrictedScriptEngine | None = None


def script_engine() -> RestrictedScriptEngine:
    """The process-wide engine (stateless, so one is enough)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = RestrictedScriptEngine()
    return _ENGINE


def unwrap(exc: BaseException) -> BaseException | None:
    """The domain error inside a SpiffWorkflow exception, if there is one.

    Otherwise the exception where the search stopped (ten links deep), or None
    when the chain ran out first.
    """
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, ScriptRefused | ScriptFailed | ScriptInterrupted):
            return current
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
        seen += 1
    return current
