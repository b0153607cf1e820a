"""The package installs as a user installs it, in fresh virtual environments.

- A plain ``pip install .`` (no extras) imports every module: an import that only this
  development environment satisfies fails here.
- The wheel that ``python -m build`` makes (``./run test`` builds it into ``$RNNW_DIST``) installs
  on a PATH without Node or npm and runs the README's own-model example headless: the built
  front end ships inside it.

Each environment first takes the CPU torch wheel this machine has (as the README says to do
first), then only what the package declares.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from ._sandbox import sandbox_path
from .test_byom_doc import python_blocks

REPO = Path(__file__).resolve().parent.parent
VIEWS = ["select_view", "match_view", "state_space_view", "relevance_bars", "response_view"]

pytestmark = pytest.mark.slow

IMPORT_EVERY_MODULE = """
import importlib, pkgutil, rnn_widgets
names = [m.name for m in pkgutil.walk_packages(rnn_widgets.__path__, "rnn_widgets.")
         if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(len(names), rnn_widgets.__file__)
"""


def _torch_pin() -> str:
    import torch

    return f"torch=={torch.__version__.split('+')[0]}"


def fresh_environment(folder: Path, path: str | None = None) -> tuple[Path, dict[str, str]]:
    """A new virtual environment holding only the CPU torch wheel; its python and environ."""
    venv.create(folder, with_pip=True)
    env = {**os.environ, "PATH": path or os.environ["PATH"], "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    python = folder / "bin" / "python"
    pip_install(python, env, _torch_pin())
    return python, env


def pip_install(python: Path, env: dict[str, str], *targets: str, cwd: Path = REPO) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--retries", "0", *targets],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"pip install {' '.join(targets)} failed:\n{result.stderr}"


def run_python(python: Path, env: dict[str, str], code: str, cwd: Path) -> str:
    result = subprocess.run(
        [str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel of ``./run test`` (``$RNNW_DIST``), or built here by ``python -m
    build``."""
    given = os.environ.get("RNNW_DIST")
    if given:
        folder = (REPO / given).resolve()
        assert list(folder.glob("*.whl")), f"no wheel in {folder}: run './run package'"
        return folder
    folder = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(folder), str(REPO)],
        check=True,
        capture_output=True,
    )
    return folder


def test_plain_pip_install_imports_every_module(tmp_path: Path):
    python, env = fresh_environment(tmp_path / "env")
    pip_install(python, env, ".")
    count, location = run_python(python, env, IMPORT_EVERY_MODULE, tmp_path).split()
    modules = [p for p in (REPO / "rnn_widgets").rglob("*.py") if p.name != "__main__.py"]
    assert int(count) == len(modules) - 1  # every module but the package's own __init__
    assert str(tmp_path / "env") in location, "imported from the source tree, not the install"


def test_the_wheel_installs_without_node_and_runs_the_readme_example(tmp_path: Path, dist: Path):
    (wheel,) = dist.glob("rnn_widgets-*.whl")
    no_node = sandbox_path(tmp_path / "bin", {"node", "npm", "npx", "nodejs"})
    python, env = fresh_environment(tmp_path / "env", path=str(no_node))
    pip_install(python, env, str(wheel), cwd=tmp_path)

    blocks = python_blocks((REPO / "README.md").read_text(encoding="utf-8"), marked_only=True)
    example = "\n".join(blocks)
    check = (
        "\nimport pathlib, rnn_widgets\n"
        "assert type(view).__name__ == 'SelectView' and list(view.selection.cells) == [3, 17]\n"
        "static = pathlib.Path(rnn_widgets.__file__).parent / 'static'\n"
        f"print(min((static / f'{{v}}.js').stat().st_size for v in {VIEWS!r}))\n"
        "print(rnn_widgets.__file__)\n"
    )
    smallest, location = run_python(python, env, example + check, tmp_path).split()
    assert int(smallest) > 1000, "a view's bundle is missing or empty in the wheel"
    assert str(tmp_path / "env") in location


def test_the_sdist_ships_the_built_front_end_and_no_build_folders(dist: Path):
    (sdist,) = dist.glob("rnn_widgets-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert all(any(n.endswith(f"rnn_widgets/static/{v}.js") for n in names) for v in VIEWS)
    assert not [n for n in names if "node_modules" in n or "/.venv/" in n]
    (wheel,) = dist.glob("rnn_widgets-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert not [n for n in archive.namelist() if n.startswith(("tests/", "js/"))]
