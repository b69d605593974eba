"""The restricted script engine: ordinary scripts work, the escape corpus is refused with a clear error."""

from __future__ import annotations

import pytest

from engine.workflow.errors import ScriptFailed, ScriptRefused
from engine.workflow.scripting import RestrictedEnvironment, check_source

ENV = RestrictedEnvironment()

# (source, mode, words the refusal must contain)
ESCAPES = [
    ("().__class__.__bases__[0].__subclasses__()", "eval", "__class__"),
    ("x.__class__", "eval", "__class__"),
    ("[].__class__.__mro__", "eval", "__class__"),
    ("__import__('os').system('id')", "eval", "__import__"),
    ("import os", "exec", "import"),
    ("from os import path", "exec", "import"),
    ("getattr(x, '__class__')", "eval", "getattr"),
    ("getattr(x, 'upper')", "eval", "getattr"),
    ("'{0.__class__}'.format(x)", "eval", "format"),
    ("'{0.__class__}' % x", "eval", "dunder"),
    ("'{0.upper}'.format(x)", "eval", "format"),
    ("'%(a)s'.format_map({'a': 1})", "eval", "format_map"),
    ("f'{x.__class__}'", "eval", "__class__"),
    ("(i for i in [1]).gi_frame.f_globals", "eval", "generator"),
    ("g = [1].__iter__", "exec", "__iter__"),
    ("def f():\n    yield 1\nz = f().gi_frame", "exec", "generator"),
    ("open('/etc/passwd').read()", "eval", "open"),
    ("eval('1+1')", "eval", "eval"),
    ("exec('x = 1')", "exec", "exec"),
    ("compile('1', 'f', 'eval')", "eval", "compile"),
    ("type(x)", "eval", "type"),
    ("type('A', (), {})", "eval", "type"),
    ("vars()", "eval", "vars"),
    ("globals()", "eval", "globals"),
    ("locals()", "eval", "locals"),
    ("dir(x)", "eval", "dir"),
    ("class A: pass", "exec", "class"),
    ("__builtins__", "eval", "__builtins__"),
    ("x['__class__']", "eval", "__class__"),
    ("lambda: 0", "exec", None),  # harmless; listed so the corpus shows lambdas stay usable
]


@pytest.mark.parametrize(("source", "mode", "words"), [e for e in ESCAPES if e[2]], ids=lambda v: str(v)[:30])
def test_escape_is_refused(source, mode, words):
    """Is each escape attempt refused before or while it runs, with a message naming what was refused?"""
    run = ENV.evaluate if mode == "eval" else ENV.execute
    with pytest.raises(ScriptRefused) as refused:
        run(source, {"x": "text"})
    assert words.lower() in refused.value.message.lower() or any(
        words.lower() in m.lower() for m in refused.value.details["script"]
    ), refused.value.message


def test_runtime_attribute_walk_on_helper_is_refused():
    """Is attribute access on anything but plain data refused at run time (a helper function's globals)?"""
    with pytest.raises(ScriptRefused) as refused:
        ENV.evaluate("now.func_globals", {})
    assert "function" in refused.value.message


def test_refusals_are_caught_at_deploy_time():
    """Does the deploy-time check refuse the same sources?"""
    for source, mode, words in ESCAPES:
        if words:
            with pytest.raises(ScriptRefused):
                check_source(source, mode)


def test_ordinary_scripts_work():
    """Do everyday scripts (data, comprehensions, loops, dict methods, helpers) still run?"""
    data = {"answers": {"a": 1, "b": 2}, "names": ["Ann", "Bob"], "start": "2026-01-10T10:00:00+00:00"}
    ENV.execute(
        "total = 0\n"
        "for k, v in sorted(answers.items()):\n"
        "    total += v\n"
        "upper = [n.upper() for n in names if n]\n"
        "later = add_duration(start, 'P1M')\n"
        "gap = days_between(start, later)\n"
        "count = len(names)\n"
        "first, second = names\n"
        "label = 'n=%d' % count\n",
        data,
    )
    assert data["total"] == 3 and data["upper"] == ["ANN", "BOB"]
    assert data["later"] == "2026-02-10T10:00:00+00:00" and data["gap"] == 31
    assert data["first"] == "Ann" and data["label"] == "n=2"
    assert ENV.evaluate("answers.get('a') == 1 and duration_seconds('PT1H') == 3600", data) is True


def test_script_errors_are_domain_errors():
    """Does an error inside a script surface as ScriptFailed with the reason?"""
    with pytest.raises(ScriptFailed) as failed:
        ENV.execute("x = 1 / 0", {})
    assert "ZeroDivisionError" in failed.value.message
    with pytest.raises(ScriptFailed):
        ENV.evaluate("missing_name + 1", {})


def test_deleted_variables_leave_task_data():
    """Does `del` in a script remove the variable from task data, and helpers never leak into it?"""
    data = {"a": 1, "b": 2}
    ENV.execute("del a\nc = b + 1", data)
    assert data == {"b": 2, "c": 3}
