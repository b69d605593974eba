"""The layers are enforced by a tool: import-linter's contracts in pyproject.toml ([tool.importlinter])."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# Templates, scripts and assets hold no imports: the copy of the tree is the Python packages only.
NOT_PYTHON = shutil.ignore_patterns("__pycache__", "templates", "static", "scripts", "node_modules", "*.json")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    # The tree under `cwd` is the one analysed (PYTHONPATH comes before the editable install's finder).
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_layer_contracts_hold():
    """Do engine, web and workers import only downward, and engine neither Flask nor Dramatiq?"""
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers import only downward KEPT" in result.stdout
    assert "engine/ imports neither Flask nor Dramatiq, nor the adapters that do KEPT" in result.stdout
    assert "No import cycles among the use cases, nor in the workflow glue KEPT" in result.stdout


def _copy_tree(to: Path) -> None:
    for package in ("engine", "web", "workers"):
        shutil.copytree(ROOT / package, to / package, ignore=NOT_PYTHON)
    shutil.copy(ROOT / "pyproject.toml", to / "pyproject.toml")


def test_a_workflow_module_importing_services_breaks_the_contract(tmp_path):
    """Does the contract fail when a module of engine/workflow imports engine.services, even inside a
    function (where the cycle used to hide)?"""
    _copy_tree(tmp_path)
    (tmp_path / "engine" / "workflow" / "upward.py").write_text(
        "def form_title(key):\n"
        "    from engine.services.forms.forms import get_form\n\n"
        "    return get_form(key).title\n"
    )

    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "Layers import only downward BROKEN" in result.stdout
    assert "engine.workflow.upward -> engine.services.forms.forms" in result.stdout


def test_a_cycle_among_the_use_cases_breaks_the_contract(tmp_path):
    """Does the contract fail when a use-case package imports one that imports it (forms <-> intake)?"""
    _copy_tree(tmp_path)
    forms = tmp_path / "engine" / "services" / "forms" / "forms.py"
    forms.write_text(
        forms.read_text() + "\n\ndef _shipped():\n    from engine.services.intake import intake_setup\n\n"
        "    return intake_setup\n"
    )

    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "No import cycles among the use cases, nor in the workflow glue BROKEN" in result.stdout
    assert "Layers import only downward KEPT" in result.stdout


def test_every_use_case_package_is_checked_for_cycles_inside():
    """Is every package of engine/services an ancestor of the acyclic contract, so that a cycle between two
    modules of one package (billing <-> invoice_locks, say) is caught too, not only cycles between packages?"""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "acyclic_siblings")
    packages = {
        f"engine.services.{p.parent.name}" for p in (ROOT / "engine" / "services").glob("*/__init__.py")
    }
    assert packages - set(contract["ancestors"]) == set()
