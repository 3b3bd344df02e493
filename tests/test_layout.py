"""The code's layout keeps its promises: ops by family, modules talk through public names,
and no package attribute shadows a module."""

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import minigrad
from minigrad.ops import FAMILIES, OPS

PACKAGE = Path(minigrad.__file__).parent


def test_every_built_in_op_lives_in_its_family_module():
    built_in = [op for op in OPS.values() if op.__module__.startswith("minigrad.ops.")]
    assert len(built_in) >= 33
    for op in built_in:
        assert op.family in FAMILIES, op
        assert op.__module__ == f"minigrad.ops.{op.family}", op


def test_no_package_attribute_shadows_a_module():
    for module in pkgutil.iter_modules([str(PACKAGE)]):
        if module.name.startswith("_"):
            continue
        imported = importlib.import_module(f"minigrad.{module.name}")
        assert getattr(minigrad, module.name, imported) is imported, module.name


def test_no_module_imports_a_private_name_from_another():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minigrad"):
                offenders += [
                    f"{path.name}: {alias.name}" for alias in node.names if alias.name[0] == "_"
                ]
    assert offenders == []


def test_the_library_never_imports_torch():
    """torch is a test-only dependency (the test-torch extra). A fresh interpreter, since
    the differential tests load torch into this one."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import minigrad\n"
        "names = [m.name for m in pkgutil.walk_packages(minigrad.__path__, 'minigrad.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "torch = sorted(m for m in sys.modules if m.split('.')[0] == 'torch')\n"
        "print(json.dumps({'file': minigrad.__file__, 'modules': names, 'torch': torch}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    imported = json.loads(run.stdout)
    assert imported["file"] == minigrad.__file__  # this checkout, not another installed copy
    assert "minigrad.viz.graph" in imported["modules"]
    assert imported["torch"] == [], f"importing minigrad loads {imported['torch']}"
