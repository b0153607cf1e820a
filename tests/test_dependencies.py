"""What the package imports is what pyproject.toml declares.

A module-level import needs a core dependency; an import inside a function (optional data sets)
needs at least an extra. ``tests/test_install.py`` proves the same at run time in a fresh
virtual environment; this test names the missing declaration at once.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "rnn_widgets"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _canonical(re.match(r"[A-Za-z0-9_.-]+", requirement.strip()).group(0))


def declared() -> tuple[set[str], set[str]]:
    """The core dependencies and those of every extra, as canonical distribution names."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    extras = {
        _requirement_name(r)
        for requirements in project["optional-dependencies"].values()
        for r in requirements
    }
    return core, extras


def third_party_imports(source: str) -> dict[str, bool]:
    """Top-level module names imported by ``source`` mapped to "imported at module level"."""
    tree = ast.parse(source)
    module_level = {id(node) for node in tree.body}
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "rnn_widgets" or top == "__future__":
                continue
            found[top] = found.get(top, False) or id(node) in module_level
    return found


@functools.cache
def _module_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distributions(module: str) -> set[str]:
    return {_canonical(d) for d in _module_distributions().get(module, [])}


def test_every_import_of_the_package_is_declared():
    core, extras = declared()
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for module, at_module_level in third_party_imports(path.read_text()).items():
            needed = core if at_module_level else core | extras
            if not _distributions(module) & needed:
                where = "module level" if at_module_level else "a function"
                missing.append(f"{path.relative_to(REPO)}: {module} (imported at {where})")
    assert not missing, "declare these in pyproject.toml:\n" + "\n".join(missing)


def test_the_scan_sees_module_level_and_lazy_imports():
    source = "import numpy as np\nfrom scipy import linalg\ndef f():\n    import pandas\n"
    assert third_party_imports(source) == {"numpy": True, "scipy": True, "pandas": False}


def test_pandas_is_a_core_dependency():
    # CellScores.to_pandas and Explorer.table return DataFrames: not an optional feature.
    core, _ = declared()
    assert "pandas" in core
