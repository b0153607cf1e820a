"""The code in docs/byom.md and the README's own-model example runs as written.

Each document's ```python blocks run in order in one namespace, as a reader would paste them
into a notebook. In the README only the blocks right after a ``<!-- tested -->`` marker run
(the others show the shipped models and are covered by the notebooks).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)
TESTED_FENCE = re.compile(r"^<!-- tested -->\n+```python\n(.*?)^```$", re.M | re.S)


def python_blocks(markdown: str, marked_only: bool = False) -> list[str]:
    return (TESTED_FENCE if marked_only else FENCE).findall(markdown)


def run_blocks(blocks: list[str], name: str) -> dict:
    namespace: dict = {"__name__": f"doc_{name}"}
    for index, block in enumerate(blocks):
        code = compile(block, f"<{name} block {index + 1}>", "exec")
        exec(code, namespace)  # the document's own code, as a reader runs it
    return namespace


def test_extraction_finds_blocks_in_order():
    text = "a\n```python\nx = 1\n```\n<!-- tested -->\n```python\ny = x\n```\n```bash\nls\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = x\n"]
    assert python_blocks(text, marked_only=True) == ["y = x\n"]


def test_byom_guide_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks((REPO / "docs" / "byom.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 6, "the guide covers torch modules, a custom cell and foreign states"
    namespace = run_blocks(blocks, "byom")
    # What the guide claims, checked on the objects it built.
    assert namespace["trace"].kinds(layer=1) == ("h", "c", "i", "f", "g", "o")
    assert namespace["runs"].kinds() == ("h", "z")
    assert namespace["points"].counts()["stable"] == 3
    assert int(namespace["scores"].ranking("depth")[0]) == 0


def test_readme_own_model_example_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks((REPO / "README.md").read_text(encoding="utf-8"), marked_only=True)
    assert blocks, "README.md has a <!-- tested --> example with your own torch model"
    assert all(len(block.strip().splitlines()) <= 12 for block in blocks), "a short example"
    run_blocks(blocks, "readme")
