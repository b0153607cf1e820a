"""docs/api.md is generated from the docstrings, current, complete, and its links resolve."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "docs" / "api.md"
REGENERATE = "run `python docs/build_api.py` and commit docs/api.md"


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_api", REPO / "docs" / "build_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


build_api = _load_builder()


def _github_anchors(markdown: str) -> Counter[str]:
    """Every heading's anchor as GitHub makes it: a repeated slug gets -1, -2, ..."""
    anchors: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not re.match(r"#{1,6} ", line):
            continue
        slug = build_api.slug(line)
        anchors[slug if not seen[slug] else f"{slug}-{seen[slug]}"] += 1
        seen[slug] += 1
    return anchors


def test_committed_reference_is_current(tmp_path: Path):
    generated = tmp_path / "api.md"
    build_api.main([str(generated)])
    committed = COMMITTED.read_text(encoding="utf-8")
    assert generated.read_text(encoding="utf-8") == committed, f"docs/api.md is stale: {REGENERATE}"


def test_reference_holds_nothing_of_this_machine():
    committed = COMMITTED.read_text(encoding="utf-8")
    assert str(REPO) not in committed
    assert not re.search(r" at 0x[0-9a-f]+", committed), "memory addresses change every run"


@pytest.mark.parametrize("entry", build_api.public_entries(), ids=lambda entry: entry.qualified)
def test_every_public_name_is_documented(entry):
    assert build_api.docstring_of(entry).strip(), (
        f"{entry.qualified} has no docstring (a constant: no `#:` comment above its assignment)"
    )


def test_every_public_name_has_a_section():
    headings = set(re.findall(r"^### (\S+) \(", COMMITTED.read_text(encoding="utf-8"), re.M))
    missing = [e.qualified for e in build_api.public_entries() if e.qualified not in headings]
    assert not missing, f"not in docs/api.md: {missing}; {REGENERATE}"


def test_every_internal_link_has_exactly_one_target():
    markdown = COMMITTED.read_text(encoding="utf-8")
    anchors = _github_anchors(markdown)
    targets = set(re.findall(r"\]\(#([^)]+)\)", markdown))
    assert targets, "the reference has a table of contents"
    assert not [t for t in targets if anchors[t] != 1], "links without exactly one heading"


def test_constants_are_documented_by_their_source_comment():
    module = importlib.import_module("rnn_widgets.trace")
    comment = build_api.constant_comment(module, "KNOWN_KINDS")
    assert comment == (
        "State kinds with a fixed meaning: hidden state, LSTM cell state and gates, GRU gates."
    )
    assert build_api.constant_comment(module, "no_such_constant") == ""


DOCSTRING = """Add two numbers.

Longer text with ``code`` and :class:`~rnn_widgets.Trace`.

Parameters
----------
a, b : int
    The numbers,
    on two lines.
**kwargs
    Ignored.

Returns
-------
int
    The sum.

Examples
--------
>>> add(1, 2)
3
"""


def test_numpy_docstring_renders_as_markdown():
    assert build_api.render_docstring(DOCSTRING) == [
        "Add two numbers.",
        "",
        "Longer text with `code` and `rnn_widgets.Trace`.",
        "",
        "**Parameters**",
        "",
        "- `a, b` : *int* — The numbers, on two lines.",
        "- `**kwargs` — Ignored.",
        "",
        "**Returns**",
        "",
        "- *int* — The sum.",
        "",
        "**Examples**",
        "",
        "```python",
        ">>> add(1, 2)",
        "3",
        "```",
    ]


def test_signatures_show_annotations_as_written_without_self():
    class Example:
        def method(self, layer: int = 0, *, kind: str = "h") -> list[str]:
            """A method."""
            return []

    assert (
        build_api.signature_of(Example.method, drop_first=True)
        == "(layer: int = 0, *, kind: str = 'h') -> list[str]"
    )
