"""Sources are cited by name with their full reference, never by the number of a local copy.

Docstrings, docs pages, the READMEs, notebooks, tests, benchmarks and the zoo's metadata name
each source work in short form (an author and year, or the title of the one work whose copy
names no authors) and give its full reference in a References section of the same docstring,
page or notebook. A number that only means something inside this repository (the file names
of the papers' text copies, "paper" and a number) must not come back.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve()

# The short form a text cites a work by, and a piece of its full reference that the
# References section must hold (compared with whitespace collapsed and Markdown's * removed).
SOURCES = {
    "LSTMVis": (
        r"Strobelt et al\.",
        "Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis",
    ),
    "Deep Neural Inspection": (
        r"\bLin (?:&|and) Wu\b",
        "Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection",
    ),
    "line attractors": (
        r"Maheswaranathan et al\.",
        "Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D. (2019)",
    ),
    "response characterization": (
        r"Hasani et al\.",
        "Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019)",
    ),
    "hidden state dynamics": (
        r"Explaining RNN computations through hidden state dynamics",
        "Explaining RNN computations through hidden state dynamics",
    ),
    "fixed-point method": (
        r"\bSussillo (?:&|and) Barak\b",
        "Sussillo, D., & Barak, O. (2013). Opening the black box",
    ),
    "reference fixed-point finder": (
        r"\bGolub (?:&|and) Sussillo\b",
        "Golub, M. D., & Sussillo, D. (2018). FixedPointFinder",
    ),
    "minimal RNNs": (
        r"Feng et al\.",
        "Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs",
    ),
    "log-space scan": (
        r"\bHeinsen\b",
        "Heinsen, F. A. (2023). Efficient parallelization of a ubiquitous sequential",
    ),
}
# "paper" and a number, "papers" and the numbers of the local copies, and the copies' file
# names (the examples below are split so that the check does not find itself).
NUMBERED = re.compile(r"paper ?[0-9]{1,3}\b|papers? 00[0-4]|\b00[0-4]_[0-9a-f]{16}\b", re.I)
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".json"}


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _files(folder: str, suffixes: set[str]) -> list[Path]:
    return sorted(
        path
        for path in (REPO / folder).rglob("*")
        if path.is_file()
        and path.suffix in suffixes
        and path.resolve() != THIS
        and not {"__pycache__", "node_modules", "static", ".ipynb_checkpoints"} & set(path.parts)
    )


TEXT_FILES = [
    *_files("rnn_widgets", TEXT_SUFFIXES),
    *_files("docs", {".md"}),
    *_files("notebooks", {".ipynb"}),
    *_files("benchmarks", TEXT_SUFFIXES),
    *_files("tests", TEXT_SUFFIXES),
    REPO / "README.md",
]
PYTHON_FILES = [
    *_files("rnn_widgets", {".py"}),
    *_files("benchmarks", {".py"}),
    *_files("tests", {".py"}),
]
# docs/api.md is generated from the docstrings, which are checked one by one.
PAGES = [
    *(path for path in _files("docs", {".md"}) if path.name != "api.md"),
    *_files("notebooks", {".ipynb"}),
    REPO / "README.md",
    REPO / "benchmarks" / "README.md",
]


def _normal(text: str) -> str:
    return " ".join(text.replace("*", "").split())


def _missing_references(body: str, references: str) -> list[str]:
    """The works ``body`` cites in short form whose full reference ``references`` lacks."""
    held = _normal(references)
    return [
        name
        for name, (short, full) in SOURCES.items()
        if re.search(short, body) and _normal(full) not in held
    ]


def _docstring_parts(doc: str) -> tuple[str, str]:
    """A numpydoc docstring as (everything but its References section, that section)."""
    body: list[str] = []
    references: list[str] = []
    lines = inspect.cleandoc(doc).splitlines()
    in_references = False
    for index, line in enumerate(lines):
        underline = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if line.strip() and re.fullmatch(r"-{3,}", underline):
            in_references = line.strip() == "References"
        (references if in_references else body).append(line)
    return "\n".join(body), "\n".join(references)


def _docstrings(path: Path) -> list[tuple[str, str]]:
    """``(where, docstring)`` of the module and of every class and function in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in [tree, *ast.walk(tree)]:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                name = getattr(node, "name", "module")
                found.append((f"{_relative(path)}:{getattr(node, 'lineno', 1)} {name}", doc))
    return found


def _page_parts(path: Path) -> tuple[str, str]:
    """A Markdown page or a notebook as (everything but its References section, that section).

    The References section runs from a ``References`` heading to the next heading of the same
    or a higher level (headings inside fenced code blocks and notebook code cells do not count).
    """
    code = ""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        markdown = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        code = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] != "markdown")
    else:
        markdown = path.read_text(encoding="utf-8")
    body: list[str] = []
    references: list[str] = []
    level = None
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if heading and heading.group(2) == "References":
            level = len(heading.group(1))
        elif heading and level is not None and len(heading.group(1)) <= level:
            level = None
        (references if level is not None else body).append(line)
    return "\n".join(body) + "\n" + code, "\n".join(references)


@pytest.mark.parametrize("path", TEXT_FILES, ids=_relative)
def test_no_source_is_cited_by_the_number_of_its_local_copy(path: Path):
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [f"{n}: {line.strip()}" for n, line in enumerate(lines, 1) if NUMBERED.search(line)]
    assert not found, (
        f"{_relative(path)} cites a paper by its local number; name it (author and year, or "
        f"its title) and give its full reference in a References section: {found}"
    )


@pytest.mark.parametrize("path", PYTHON_FILES, ids=_relative)
def test_a_docstring_that_cites_a_source_gives_its_full_reference(path: Path):
    problems = []
    for where, doc in _docstrings(path):
        body, references = _docstring_parts(doc)
        missing = _missing_references(body, references)
        if missing:
            problems.append(f"{where}: no full reference in its References section for {missing}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", PYTHON_FILES, ids=_relative)
def test_a_docstring_cites_exactly_the_entries_of_its_references(path: Path):
    problems = []
    for where, doc in _docstrings(path):
        body, references = _docstring_parts(doc)
        cited = set(re.findall(r"\[([\w-]+)\]_", body))
        listed = re.findall(r"^\s*\.\. \[([\w-]+)\]", references, re.M)
        if cited != set(listed) or len(listed) != len(set(listed)):
            problems.append(f"{where}: cites {sorted(cited)}, its References list {listed}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", PAGES, ids=_relative)
def test_a_page_that_cites_a_source_gives_its_full_reference(path: Path):
    body, references = _page_parts(path)
    missing = _missing_references(body, references)
    assert not missing, (
        f"{_relative(path)} cites {missing} but its References section (a `## References` "
        "heading, at the end) lacks their full references"
    )


def test_the_api_reference_renders_citations_as_markdown():
    api = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert "- [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018)." in api
    assert not re.search(r"\.\. \[[\w-]+\]|\[[\w-]+\]_", api), (
        "reStructuredText citations in docs/api.md; docs/build_api.py should render them"
    )


def test_the_checks_find_a_numbered_citation_and_a_missing_reference():
    assert NUMBERED.search("as in Paper " + "003's Fig. 8")
    assert NUMBERED.search("papers " + "001 and 003")
    assert NUMBERED.search("from 002_" + "b1b9f38552cf9d44.txt")
    assert not NUMBERED.search("LSTMVis (Strobelt et al. 2018), section 6.1")
    body, references = _docstring_parts("""Select cells, as Strobelt et al. (2018) [1]_ do.

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural
       Inspection. Columbia University Computer Science Technical Report 003-17.
    """)
    assert _missing_references(body, references) == ["LSTMVis"]
