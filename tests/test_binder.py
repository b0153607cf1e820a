"""binder/ installs in a fresh virtual environment and opens the quickstart.

Binder itself cannot be reached from here, so this does what repo2docker does with our files:
a clean copy of the repository (tracked files only, no built bundle, no node_modules),
``pip install -r binder/requirements.txt`` from its root, then ``binder/postBuild``. The
package's build hook must build and ship the front end on the way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .conftest import skip_or_fail_missing

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [name for name in listed if (REPO / name).is_file()]


def _fresh_copy(target: Path) -> Path:
    for name in _repository_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, destination)
    assert not (target / "rnn_widgets" / "static" / "select_view.js").exists()
    return target


def test_binder_files_install_in_a_fresh_environment(tmp_path: Path):
    if shutil.which("npm") is None:
        skip_or_fail_missing("the package's build hook needs npm: run './run node'")
    repo = _fresh_copy(tmp_path / "repo")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--retries", "0"]
    # The machines here have the CPU torch wheel on disk; Binder gets it from the CPU index.
    subprocess.run([*pip, f"torch=={_torch_version()}"], check=True, cwd=repo)
    subprocess.run([*pip, "-r", "binder/requirements.txt"], check=True, cwd=repo)

    probe = (
        "import pathlib, rnn_widgets, jupyterlab;"
        "static = pathlib.Path(rnn_widgets.__file__).parent / 'static';"
        "from rnn_widgets import zoo, tasks;"
        "[zoo.load(name) for name in zoo.names()];"
        "tasks.sentiment(4); tasks.co2('test');"
        "print((static / 'select_view.js').stat().st_size, rnn_widgets.__file__)"
    )
    out = subprocess.run(
        [str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout.split()
    assert int(out[0]) > 1000, "the installed package lacks a real front-end bundle"
    assert "site-packages" in out[1], "the package was not installed from the wheel"

    home = tmp_path / "home"
    home.mkdir()
    subprocess.run(
        ["bash", "binder/postBuild"], check=True, cwd=repo, env={**os.environ, "HOME": str(home)}
    )
    config = (home / ".jupyter" / "jupyter_server_config.py").read_text()
    assert "/lab/tree/notebooks/00_quickstart.ipynb" in config
    assert (repo / "notebooks" / "00_quickstart.ipynb").is_file()


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def test_binder_runtime_matches_the_supported_pythons():
    runtime = (REPO / "binder" / "runtime.txt").read_text().strip()
    major, minor = (int(v) for v in runtime.removeprefix("python-").split("."))
    assert (major, minor) >= (3, 10)
    assert sys.version_info >= (3, 10)
