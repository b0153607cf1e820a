"""Imports go one way: the package's import graph, read from its source with ``ast``.

The layers, low to high (ARCHITECTURE.md): ``trace`` < ``models``, ``tasks`` < ``hypotheses``,
``zoo`` < ``analysis`` < ``widgets`` < the top-level API (``__init__``, ``_demo``).
``_validation`` holds the input checks every layer shares; it sits below them all and
imports nothing of the package.

Three rules, checked on every import statement (lazy ones inside functions and
``TYPE_CHECKING`` blocks included), for relative and absolute imports alike
(``from .. import zoo``, ``from rnn_widgets import analysis``, ``import rnn_widgets.trace``):

* **layering**: a module imports only from its own part of the package or from lower layers;
  two packages of one layer (``models`` and ``tasks``) are peers and import neither one
  another. A new part of the package must be given a layer in :data:`LAYERS`.
* **private modules**: ``pkg/_name.py`` is imported only by the modules of ``pkg`` (and of
  its subpackages); a neighbour imports what ``pkg`` exports.
* **private names**: a ``_name`` is used only in the module that defines it: never imported
  (``from ._dynamics import _helper``, also from a sibling module), never read as an attribute
  of an imported module (``_dynamics._helper``), and never called or read as an attribute of
  a class defined in another module (``Trace._adopt(...)``, ``model._core``,
  ``object.__setattr__(trace, "_ranges", ...)``). The last is found by name: an attribute
  ``obj._x`` whose name only classes of other modules define (and no class of this one).

Each violation reads ``file:line: what, and the rule``. What a neighbour needs gets a public
or package-level home.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import rnn_widgets

#: The rank of each top-level part of the package; "" is the package's own ``__init__``.
#: A part whose rank equals the top-level API's (``_demo``) belongs to the top-level API.
LAYERS: Mapping[str, int] = {
    "_validation": 0,
    "_figures": 0,  # bqplot charts from plain arrays; results' plot methods import it lazily
    "trace": 1,
    "models": 2,
    "tasks": 2,
    "hypotheses": 3,
    "zoo": 3,
    "analysis": 4,
    "widgets": 5,
    "_demo": 6,
    "": 6,
}
LAYER_ORDER = (
    "_validation, _figures < trace < models, tasks < hypotheses, zoo < analysis < widgets"
    " < the top-level API"
)
PACKAGE_ROOT = Path(rnn_widgets.__file__).parent
PRIVATE_NAME_RULE = "a private name is used only in its own module: give it a public home"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True)
class Module:
    """One source file: its dotted name, path and parsed tree."""

    name: str
    path: Path
    is_package: bool
    tree: ast.Module

    @property
    def package(self) -> str:
        """The package relative imports start from (the module itself for an ``__init__``)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    """One imported name of the package's own modules."""

    line: int
    target: str  # the module imported, or imported from
    name: str  # the name imported from ``target``; "" when a module itself is imported
    local: str  # the local name bound
    local_module: str  # the module the local name refers to; "" for a name from a module


def load_modules(root: Path, package: str) -> dict[str, Module]:
    """Every module of the package rooted at ``root`` (the folder holding ``__init__.py``)."""
    modules: dict[str, Module] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join([package, *parts])
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules[name] = Module(name, path, is_package, tree)
    return modules


def imports_of(module: Module, modules: Mapping[str, Module]) -> Iterator[Import]:
    """Every import of the package's own modules, lazy ones inside functions included."""
    root = module.name.split(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == root:
                    if alias.asname:
                        yield Import(node.lineno, alias.name, "", alias.asname, alias.name)
                    else:  # ``import pkg.sub`` binds ``pkg``
                        yield Import(node.lineno, alias.name, "", root, root)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != root:
                continue
            for alias in node.names:
                local = alias.asname or alias.name
                submodule = f"{source}.{alias.name}"
                if submodule in modules:  # ``from pkg import sub``: the submodule itself
                    yield Import(node.lineno, submodule, "", local, submodule)
                else:
                    yield Import(node.lineno, source, alias.name, local, "")


def class_private_names(module: Module) -> set[str]:
    """Private attribute names the classes of a module define (methods, fields, ``self._x``)."""
    names: set[str] = set()
    for cls in (n for n in ast.walk(module.tree) if isinstance(n, ast.ClassDef)):
        for node in ast.walk(cls):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and _private(target.id):
                        names.add(target.id)
                    elif _is_self_attribute(target) and _private(target.attr):
                        names.add(target.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _private(node.value) and node.value.isidentifier():
                    names.add(node.value)  # __slots__, object.__setattr__(self, "_x", ...)
    return names


def _is_self_attribute(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def _part(name: str, package: str, layers: Mapping[str, int]) -> tuple[str, int | None]:
    """The top-level part of the package a module belongs to, and its rank."""
    parts = name.split(".")
    top = parts[1] if len(parts) > 1 and parts[0] == package else ""
    rank = layers.get(top)
    if rank is not None and rank == layers.get(""):
        top = ""  # a module beside ``__init__`` in its layer is part of the top-level API
    return (top or "the top-level API"), rank


def _owner(target: str) -> str | None:
    """The package a private module belongs to, or None if no part of the name is private."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if _private(part):
            return ".".join(parts[:i])
    return None


def find_violations(
    root: Path, package: str, layers: Mapping[str, int], *, order: str = LAYER_ORDER
) -> list[str]:
    """Every import and use of a name that breaks a rule, as ``file:line: what; the rule``.

    Parameters
    ----------
    root : Path
        The folder holding the package's ``__init__.py``.
    package : str
        The package's import name.
    layers : Mapping[str, int]
        The rank of each top-level subpackage or module (``""``: the package's ``__init__``).
    order : str
        How the layers read, quoted in the messages.

    Returns
    -------
    list of str
        Sorted by file and line.

    """
    modules = load_modules(root, package)
    owned = {name: class_private_names(module) for name, module in modules.items()}
    problems: set[str] = set()
    for module in modules.values():
        where = module.path.relative_to(root.parent).as_posix()
        part, rank = _part(module.name, package, layers)
        if rank is None:
            problems.add(
                f"{where}:1: {module.name} belongs to no layer; every part of the package has "
                f"a layer ({order}): add it to LAYERS in tests/test_layers.py"
            )
            continue
        imports = list(imports_of(module, modules))
        for found in imports:
            place = f"{where}:{found.line}"
            problems.update(_import_problems(found, place, module, part, rank, layers, order))
        aliases = {found.local: found.local_module for found in imports if found.local_module}
        others: dict[str, list[str]] = {}
        for name, attributes in owned.items():
            for attribute in attributes - owned[module.name] if name != module.name else ():
                others.setdefault(attribute, []).append(name)
        problems.update(_attribute_problems(module.tree, where, aliases, others))
    return sorted(problems, key=_by_place)


def _import_problems(
    found: Import,
    place: str,
    module: Module,
    part: str,
    rank: int,
    layers: Mapping[str, int],
    order: str,
) -> Iterator[str]:
    package = module.name.split(".")[0]
    target_part, target_rank = _part(found.target, package, layers)
    if target_part != part and target_rank is not None and target_rank >= rank:
        way = "up a layer" if target_rank > rank else "sideways to a peer of its layer"
        yield (
            f"{place}: {part} imports {found.target} ({target_part}), {way}; "
            f"imports go one way, low to high: {order}"
        )
    owner = _owner(found.target)
    if owner is not None and not (module.package + ".").startswith(owner + "."):
        yield (
            f"{place}: imports the private module {found.target} from outside {owner}; a "
            f"private module is imported only by its own package: import what {owner} "
            "exports, or give the name a public home there"
        )
    if found.name and _private(found.name):
        yield f"{place}: imports the private name {found.name} from {found.target}; " + (
            PRIVATE_NAME_RULE
        )


def _attribute_problems(
    tree: ast.Module, where: str, aliases: Mapping[str, str], others: Mapping[str, list[str]]
) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            value = node.value
            if isinstance(value, ast.Name) and value.id in aliases:
                yield (
                    f"{where}:{node.lineno}: uses the private name {value.id}.{node.attr} of "
                    f"{aliases[value.id]}; {PRIVATE_NAME_RULE}"
                )
            elif node.attr in others and not (
                isinstance(value, ast.Name) and value.id in ("self", "cls")
            ):
                owners = ", ".join(others[node.attr])
                yield (
                    f"{where}:{node.lineno}: uses the private attribute {node.attr} of a class "
                    f"of {owners}; {PRIVATE_NAME_RULE}"
                )
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", ""))
            in ("__setattr__", "setattr", "getattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and not (isinstance(node.args[0], ast.Name) and node.args[0].id == "self")
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in others
        ):
            owners = ", ".join(others[node.args[1].value])
            yield (
                f"{where}:{node.lineno}: reaches the private attribute {node.args[1].value} of "
                f"a class of {owners} by name; {PRIVATE_NAME_RULE}"
            )


def _by_place(problem: str) -> tuple[str, int, str]:
    path, line, rest = problem.split(":", 2)
    return path, int(line), rest


# ---------------------------------------------------------------------------------- the package


def test_the_package_imports_go_one_way_and_use_no_private_names_of_neighbours() -> None:
    problems = find_violations(PACKAGE_ROOT, "rnn_widgets", LAYERS)
    assert not problems, "\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------- the checker


def _plant(root: Path, files: Mapping[str, str]) -> Path:
    for relative, source in files.items():
        path = root / "planted" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root / "planted"


PLANTED_LAYERS = {"_shared": 0, "low": 1, "high": 2, "": 3}


def test_a_clean_planted_package_has_no_violations(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "__init__.py": "from . import high, low\n",
            "_shared.py": "def check(x):\n    return x\n",
            "low/__init__.py": "from ._core import Thing, make\n",
            "low/_core.py": (
                "from .._shared import check\n\n"
                "class Thing:\n"
                "    def _adopt(self):\n"
                "        return self._slot\n\n"
                "def make():\n"
                "    return Thing()._adopt()\n"
            ),
            "high/__init__.py": "from ..low import Thing\nfrom . import _impl\n",
            "high/_impl.py": (
                "import planted.low\nfrom planted import low\nfrom ..low import make\n"
            ),
        },
    )
    assert find_violations(root, "planted", PLANTED_LAYERS, order="low < high") == []


def test_the_checker_reports_each_planted_violation_with_its_place_and_rule(
    tmp_path: Path,
) -> None:
    root = _plant(
        tmp_path,
        {
            "__init__.py": "from . import high, low\n",
            "low/__init__.py": "from ._core import Thing, _helper\n",
            "low/_core.py": (
                "class Thing:\n"
                "    def _adopt(self):\n"
                "        return self\n\n"
                "def _helper():\n"
                "    return 1\n"
            ),
            "low/_other.py": (
                "def lazy():\n"
                "    from ..high import run  # upward, hidden in a function\n"
                "    return run\n"
            ),
            "high/__init__.py": "from ._impl import run\n",
            "high/_impl.py": (
                "from ..low._core import Thing\n"
                "from ..low import _helper\n"
                "from ..low import _core\n\n"
                "def run(thing):\n"
                "    _core._helper()\n"
                "    return thing._adopt()\n"
            ),
        },
    )
    rule = "a private name is used only in its own module: give it a public home"
    assert find_violations(root, "planted", PLANTED_LAYERS, order="low < high") == [
        "planted/high/_impl.py:1: imports the private module planted.low._core from outside "
        "planted.low; a private module is imported only by its own package: import what "
        "planted.low exports, or give the name a public home there",
        f"planted/high/_impl.py:2: imports the private name _helper from planted.low; {rule}",
        "planted/high/_impl.py:3: imports the private module planted.low._core from outside "
        "planted.low; a private module is imported only by its own package: import what "
        "planted.low exports, or give the name a public home there",
        f"planted/high/_impl.py:6: uses the private name _core._helper of planted.low._core; "
        f"{rule}",
        "planted/high/_impl.py:7: uses the private attribute _adopt of a class of "
        f"planted.low._core; {rule}",
        "planted/low/__init__.py:1: imports the private name _helper from planted.low._core; "
        f"{rule}",
        "planted/low/_other.py:2: low imports planted.high (high), up a layer; imports go one "
        "way, low to high: low < high",
    ]


def test_absolute_imports_and_private_attributes_set_by_name_are_found(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": (
                "import planted.high\n"
                "from planted import high as h\n\n"
                "def f(trace):\n"
                "    object.__setattr__(trace, '_ranges', {})\n"
            ),
            "high/__init__.py": (
                "class Trace:\n    __slots__ = ('_ranges',)\n\nimport planted._private_top\n"
            ),
            "_private_top.py": "",
        },
    )
    layers = {"low": 1, "high": 2, "_private_top": 3, "": 3}
    assert find_violations(root, "planted", layers, order="low < high") == [
        "planted/high/__init__.py:4: high imports planted._private_top (the top-level API), up "
        "a layer; imports go one way, low to high: low < high",
        "planted/low/__init__.py:1: low imports planted.high (high), up a layer; imports go "
        "one way, low to high: low < high",
        "planted/low/__init__.py:2: low imports planted.high (high), up a layer; imports go "
        "one way, low to high: low < high",
        "planted/low/__init__.py:5: reaches the private attribute _ranges of a class of "
        "planted.high by name; a private name is used only in its own module: give it a "
        "public home",
    ]


def test_a_module_outside_every_layer_is_reported(tmp_path: Path) -> None:
    root = _plant(tmp_path, {"__init__.py": "", "stray/__init__.py": ""})
    assert find_violations(root, "planted", PLANTED_LAYERS, order="low < high") == [
        "planted/stray/__init__.py:1: planted.stray belongs to no layer; every part of the "
        "package has a layer (low < high): add it to LAYERS in tests/test_layers.py"
    ]


def test_peers_of_one_layer_import_neither_one_another(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {"__init__.py": "", "left/__init__.py": "from ..right import x\n", "right/__init__.py": ""},
    )
    layers = {"left": 1, "right": 1, "": 2}
    assert find_violations(root, "planted", layers, order="left, right") == [
        "planted/left/__init__.py:1: left imports planted.right (right), sideways to a peer of "
        "its layer; imports go one way, low to high: left, right"
    ]
