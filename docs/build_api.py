"""Generate docs/api.md, the API reference, from the package's docstrings.

Run ``python docs/build_api.py`` after changing a public name or its docstring;
``tests/test_api_docs.py`` fails while the committed file differs from what this writes.

The reference walks ``rnn_widgets.__all__`` and then the ``__all__`` of the subpackages in
:data:`MODULES`. Each object is documented once, where it first appears; a re-export points
back to it. Classes list their public methods and properties (those defined in rnn_widgets,
not inherited from ipywidgets or the standard library). Constants are documented by their
``#:`` comment in the source, as Sphinx reads them. numpy-style sections (Parameters,
Returns, Raises, Attributes, Examples, ...) become bold headings with definition lists; a
References section's ``.. [1]`` entries become a list, and a ``[1]_`` citation reads ``[1]``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from types import ModuleType
from typing import Any

MODULES: tuple[str, ...] = (
    "rnn_widgets",
    "rnn_widgets.analysis",
    "rnn_widgets.hypotheses",
    "rnn_widgets.models",
    "rnn_widgets.trace",
    "rnn_widgets.tasks",
    "rnn_widgets.zoo",
)
OUTPUT = Path(__file__).resolve().parent / "api.md"

# Section titles of numpy-style docstrings, and whether their entries are "name : type" items.
_ITEM_SECTIONS = {
    "Parameters",
    "Other Parameters",
    "Attributes",
    "Returns",
    "Yields",
    "Raises",
    "Warns",
    "Warnings",
    "See Also",
    "Methods",
}
_TYPE_SECTIONS = {"Returns", "Yields", "Raises", "Warns"}
_TEXT_SECTIONS = {"Notes", "References", "Examples"}
_SECTIONS = _ITEM_SECTIONS | _TEXT_SECTIONS
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|obj|exc):`~?([^`]+)`")
_CITATION = re.compile(r"\[([\w-]+)\]_")  # a numpydoc citation, ``[1]_``
_REFERENCE = re.compile(r"\.\. \[([\w-]+)\]\s*(.*)")  # a References entry, ``.. [1] ...``
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


@dataclass(frozen=True)
class Entry:
    """One documented public name.

    Attributes
    ----------
    module : str
        The module whose ``__all__`` exports it.
    name : str
        The exported name.
    obj : object
        The exported object.
    """

    module: str
    name: str
    obj: Any

    @property
    def qualified(self) -> str:
        """The dotted name, e.g. ``rnn_widgets.analysis.match``."""
        return f"{self.module}.{self.name}"


def public_entries(module_names: tuple[str, ...] = MODULES) -> list[Entry]:
    """Every name in the ``__all__`` of each module, in order, dunder names left out.

    Parameters
    ----------
    module_names : tuple of str
        Importable module names, each with an ``__all__``.

    Returns
    -------
    list of Entry
        One entry per exported name and module.
    """
    entries = []
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not (name.startswith("__") and name.endswith("__")):
                entries.append(Entry(module_name, name, getattr(module, name)))
    return entries


def docstring_of(entry: Entry) -> str:
    """The documentation of one public name: its docstring, or a constant's ``#:`` comment.

    Parameters
    ----------
    entry : Entry
        The public name.

    Returns
    -------
    str
        The cleaned documentation; empty when there is none.
    """
    obj = entry.obj
    if inspect.ismodule(obj) or inspect.isclass(obj) or callable(obj):
        return inspect.cleandoc(obj.__doc__ or "")
    return constant_comment(importlib.import_module(entry.module), entry.name)


def constant_comment(module: ModuleType, name: str) -> str:
    """The ``#:`` comment above the module-level assignment of ``name`` in ``module``'s package.

    A comment documents the block of assignments right below it (no blank line between them),
    as in ``#: Mean and standard deviation`` above ``MEAN = ...`` and ``STD = ...``.

    Parameters
    ----------
    module : ModuleType
        The module (or package) that exports the constant.
    name : str
        The constant's name.

    Returns
    -------
    str
        The comment's text without the ``#:`` markers; empty when none is found.
    """
    for path in _source_files(module):
        lines = path.read_text(encoding="utf-8").splitlines()
        assignments = [
            node
            for node in ast.parse("\n".join(lines)).body
            if isinstance(node, (ast.Assign, ast.AnnAssign))
        ]
        for index, node in enumerate(assignments):
            if name in _assigned_names(node):
                while index > 0 and assignments[index - 1].end_lineno == node.lineno - 1:
                    index -= 1  # the first of a block of adjacent assignments holds the comment
                    node = assignments[index]
                return _comment_above(lines, node.lineno)
    return ""


def _assigned_names(node: ast.Assign | ast.AnnAssign) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {target.id for target in targets if isinstance(target, ast.Name)}


def _comment_above(lines: list[str], lineno: int) -> str:
    comment: list[str] = []
    row = lineno - 2
    while row >= 0 and lines[row].lstrip().startswith("#:"):
        comment.insert(0, lines[row].lstrip()[2:].strip())
        row -= 1
    return " ".join(comment)


def _source_files(module: ModuleType) -> list[Path]:
    file = Path(module.__file__ or "")
    if file.name == "__init__.py":
        return sorted(file.parent.rglob("*.py"))
    return [file]


class _Annotation(str):
    """A string annotation shown as written, without the quotes ``repr`` would add."""

    def __repr__(self) -> str:
        return str(self)


def signature_of(obj: Any, drop_first: bool = False) -> str | None:
    """The call signature as written in the source, without memory addresses.

    Parameters
    ----------
    obj : callable
        A class, function or method.
    drop_first : bool
        Leave out the first parameter (``self`` or ``cls`` of a method's function).

    Returns
    -------
    str or None
        ``"(a: int, b: str = 'x') -> bool"``; None when Python cannot tell the signature.
    """
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())[1 if drop_first else 0 :]
    signature = signature.replace(
        parameters=[
            p.replace(annotation=_unquoted(p.annotation), default=_portable(p.default))
            for p in parameters
        ],
        return_annotation=_unquoted(signature.return_annotation),
    )
    return _ADDRESS.sub("", str(signature))


def _portable(default: Any) -> Any:
    """A path default inside the package, shown without this machine's install folder."""
    if isinstance(default, PurePath):
        package = Path(importlib.import_module("rnn_widgets").__file__ or "").parent
        if Path(default).is_relative_to(package):
            return _Annotation(f"Path('.../rnn_widgets/{Path(default).relative_to(package)}')")
    return default


def _unquoted(annotation: Any) -> Any:
    return _Annotation(annotation) if isinstance(annotation, str) else annotation


def inline(text: str) -> str:
    """Turn reStructuredText inline markup into Markdown (double backticks, roles, citations)."""
    text = _ROLE.sub(r"`\1`", text)
    text = _CITATION.sub(r"[\1]", text)
    return text.replace("``", "`")


def split_sections(doc: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """A numpy-style docstring as its free text and its titled sections, in order.

    Parameters
    ----------
    doc : str
        A cleaned docstring.

    Returns
    -------
    tuple of (list of str, list of (str, list of str))
        The lines before the first section, then each section's title and lines.
    """
    lines = doc.splitlines()
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip() in _SECTIONS and set(underline.strip()) == {"-"}:
            sections.append((line.strip(), []))
            index += 2
            continue
        (sections[-1][1] if sections else head).append(line)
        index += 1
    return head, sections


def render_text(lines: list[str]) -> list[str]:
    """Free text: paragraphs and lists pass through, ``::`` blocks become code blocks."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.rstrip().endswith("::"):
            out.append(inline(line.rstrip()[:-1].rstrip(":") + ":"))
            block, index = _indented_block(lines, index + 1)
            out += ["", "```python", *block, "```", ""]
            continue
        out.append(inline(line))
        index += 1
    return out


def _indented_block(lines: list[str], index: int) -> tuple[list[str], int]:
    while index < len(lines) and not lines[index].strip():
        index += 1
    block = []
    while index < len(lines) and (not lines[index].strip() or lines[index].startswith(" ")):
        block.append(lines[index])
        index += 1
    while block and not block[-1].strip():
        block.pop()
    indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
    return [b[indent:] for b in block], index


def render_items(lines: list[str], types_only: bool = False) -> list[str]:
    """``name : type`` items with indented descriptions, as a Markdown list.

    Parameters
    ----------
    lines : list of str
        The section's lines.
    types_only : bool
        An item without `` : `` is a type (Returns, Raises), not a name.

    Returns
    -------
    list of str
        One ``- name : *type* — description`` line per item.
    """
    out: list[str] = []
    for term, description in _items(lines):
        name, _, kind = term.partition(" : ")
        label = f"*{inline(name.strip())}*" if types_only and not kind else f"`{name.strip()}`"
        if kind:
            label += f" : *{inline(kind.strip())}*"
        text = " ".join(inline(d.strip()) for d in description if d.strip())
        out.append(f"- {label}" + (f" — {text}" if text else ""))
    return out


def _items(lines: list[str]) -> Iterator[tuple[str, list[str]]]:
    term: str | None = None
    description: list[str] = []
    for line in lines:
        if line.strip() and not line.startswith(" "):
            if term is not None:
                yield term, description
            term, description = line.strip(), []
        elif term is not None:
            description.append(line)
    if term is not None:
        yield term, description


def render_examples(lines: list[str]) -> list[str]:
    """Doctest lines as a Python code block; prose between them as text."""
    out: list[str] = []
    code: list[str] = []
    for line in [*lines, ""]:
        is_code = line.startswith((">>>", "...")) or (code and line.strip())
        if is_code:
            code.append(line)
            continue
        if code:
            out += ["```python", *code, "```"]
            code = []
        out.append(inline(line))
    return out


def render_references(lines: list[str]) -> list[str]:
    """``.. [1] Author (year). Title ...`` entries as a Markdown list, one item per entry.

    An entry's continuation lines (indented under it) join its item; other text passes through.

    Parameters
    ----------
    lines : list of str
        The References section's lines.

    Returns
    -------
    list of str
        One ``- [1] Author (year). Title ...`` line per entry.
    """
    out: list[str] = []
    for line in lines:
        entry = _REFERENCE.match(line.strip())
        if entry:
            out.append(f"- [{entry.group(1)}] {inline(entry.group(2))}".rstrip())
        elif line.strip() and out and out[-1].startswith("- [") and line.startswith(" "):
            out[-1] += f" {inline(line.strip())}"
        elif line.strip():
            out.append(inline(line))
    return out


def render_docstring(doc: str) -> list[str]:
    """A numpy-style docstring as Markdown lines.

    Parameters
    ----------
    doc : str
        A cleaned docstring.

    Returns
    -------
    list of str
        Markdown lines: the text, then one bold heading and its body per section.
    """
    head, sections = split_sections(doc)
    out = _trimmed(render_text(head))
    for title, lines in sections:
        out += ["", f"**{title}**", ""]
        if title == "Examples":
            out += _trimmed(render_examples(lines))
        elif title == "References":
            out += render_references(lines)
        elif title in _ITEM_SECTIONS:
            out += render_items(lines, types_only=title in _TYPE_SECTIONS)
        else:
            out += _trimmed(render_text(lines))
    return out


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def slug(text: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[^\w\- ]", "", text.lstrip("#").strip().lower())
    return text.replace(" ", "-")


def kind_of(obj: Any) -> str:
    """``module``, ``class``, ``function`` or ``constant``."""
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    return "function" if callable(obj) else "constant"


def heading(entry: Entry) -> str:
    """An entry's Markdown heading; the kind keeps ``Automaton`` and ``automaton`` apart."""
    return f"### {entry.qualified} ({kind_of(entry.obj)})"


def class_members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties that rnn_widgets classes in ``cls``'s MRO define.

    Parameters
    ----------
    cls : type
        A public class.

    Returns
    -------
    list of (str, object)
        Name and member (function, staticmethod, classmethod or property), by name.
    """
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("rnn_widgets"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(member, (staticmethod, classmethod, property)) or inspect.isfunction(
                member
            ):
                members[name] = member
    return sorted(members.items())


def render_member(cls_name: str, name: str, member: Any) -> list[str]:
    """One method or property: a heading with its signature, then its docstring."""
    if isinstance(member, property):
        title = f"#### `{cls_name}.{name}` (property)"
        doc = inspect.cleandoc(member.__doc__ or "")
    else:
        function = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
        signature = signature_of(function, drop_first=not isinstance(member, staticmethod))
        prefix = "classmethod " if isinstance(member, classmethod) else ""
        title = f"#### {prefix}`{cls_name}.{name}{signature or '()'}`"
        doc = inspect.cleandoc(function.__doc__ or "")
    return ["", title, "", *(render_docstring(doc) if doc else ["*(no docstring)*"])]


def render_entry(entry: Entry) -> list[str]:
    """One public name: heading, signature, docstring, and a class's members."""
    kind = kind_of(entry.obj)
    out = ["", heading(entry), ""]
    signature = signature_of(entry.obj) if kind in ("class", "function") else None
    if signature is not None:
        out += ["```python", f"{entry.name}{signature}", "```", ""]
    elif kind == "constant":
        type_name = "Path" if isinstance(entry.obj, Path) else type(entry.obj).__name__
        out += [f"*constant* (`{type_name}`)", ""]
    out += render_docstring(docstring_of(entry))
    if kind == "module":
        out += ["", f"Documented below under [{entry.obj.__name__}](#{slug(entry.obj.__name__)})."]
    if kind == "class":
        for name, member in class_members(entry.obj):
            out += render_member(entry.name, name, member)
    return out


def render(module_names: tuple[str, ...] = MODULES) -> str:
    """The whole API reference as Markdown.

    Parameters
    ----------
    module_names : tuple of str
        The modules whose ``__all__`` is documented, in order.

    Returns
    -------
    str
        The Markdown text of docs/api.md, ending with a newline.
    """
    entries = public_entries(module_names)
    first: dict[int, Entry] = {}
    for entry in entries:
        if kind_of(entry.obj) != "module":
            first.setdefault(id(entry.obj), entry)
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python docs/build_api.py`; do not edit by hand.",
        "Each object is documented where it first appears; re-exports link back to it.",
        "",
        "## Contents",
        "",
    ]
    lines += _contents(entries, module_names, first)
    for module_name in module_names:
        module = importlib.import_module(module_name)
        lines += ["", f"## {module_name}", "", *render_text(_summary(module))]
        for entry in (e for e in entries if e.module == module_name):
            home = first.get(id(entry.obj), entry)
            if home is entry or kind_of(entry.obj) == "module":
                lines += render_entry(entry)
            else:
                lines += ["", heading(entry), ""]
                lines.append(f"The same object as [{home.qualified}](#{slug(heading(home))}).")
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _summary(module: ModuleType) -> list[str]:
    doc = inspect.cleandoc(module.__doc__ or "")
    return doc.split("\n\n", 1)[0].splitlines()


def _contents(
    entries: list[Entry], module_names: tuple[str, ...], first: dict[int, Entry]
) -> list[str]:
    lines = []
    for module_name in module_names:
        lines.append(f"- [{module_name}](#{slug(module_name)})")
        for entry in (e for e in entries if e.module == module_name):
            if kind_of(entry.obj) == "module" or first.get(id(entry.obj)) is entry:
                lines.append(f"  - [{entry.name}](#{slug(heading(entry))})")
    return lines


def main(argv: list[str]) -> int:
    """Write the reference to ``argv[0]`` (default: docs/api.md next to this script)."""
    path = Path(argv[0]) if argv else OUTPUT
    text = render()
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
