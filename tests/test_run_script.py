"""Every set-up step of ``./run`` installs its thing where the thing is missing.

This machine has Chromium, Node and a working ``python3 -m venv``; a fresh one may have none of
them, and a probe that succeeds for the wrong reason (a shell function named like the program)
would then skip the install. Each step runs here on a PATH without the program and with a
stand-in ``apt-get`` that records what it was asked for; ``id`` is replaced to be root or not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ._sandbox import recording_apt_get, sandbox_path, write_script

REPO = Path(__file__).resolve().parent.parent
ROOT_ID = 'if [ "$1" = -u ]; then echo 0; else echo uid=0; fi'
USER_ID = 'if [ "$1" = -u ]; then echo 1000; else echo uid=1000; fi'
NODE_20 = 'if [ "$1" = -p ]; then echo 20; else echo v20.0.0; fi'


def run_step(
    step: str,
    bin_dir: Path,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``./run STEP`` with ``bin_dir`` as the whole PATH."""
    return subprocess.run(
        [str(bin_dir / "bash"), str(REPO / "run"), step],
        env={"HOME": os.environ.get("HOME", "/root"), "PATH": str(bin_dir), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_browser_step_installs_chromium_when_it_is_missing(tmp_path: Path):
    log = tmp_path / "apt.log"
    apt = recording_apt_get(log, {"chromium": ("chromium", "echo Chromium 1")})
    bin_dir = sandbox_path(tmp_path / "bin", {"chromium"}, {"apt-get": apt, "id": ROOT_ID})
    result = run_step("browser", bin_dir)
    assert result.returncode == 0, result.stderr
    assert any(re.fullmatch(r"install -y -qq chromium", line) for line in calls(log)), calls(log)
    assert (bin_dir / "chromium").exists()


def test_browser_step_installs_nothing_when_chromium_is_there(tmp_path: Path):
    log = tmp_path / "apt.log"
    bin_dir = sandbox_path(
        tmp_path / "bin",
        {"chromium"},
        {"apt-get": recording_apt_get(log), "id": ROOT_ID, "chromium": "echo Chromium 1"},
    )
    result = run_step("browser", bin_dir)
    assert result.returncode == 0, result.stderr
    assert calls(log) == []


def test_browser_step_says_the_command_when_not_root(tmp_path: Path):
    log = tmp_path / "apt.log"
    bin_dir = sandbox_path(
        tmp_path / "bin", {"chromium"}, {"apt-get": recording_apt_get(log), "id": USER_ID}
    )
    result = run_step("browser", bin_dir)
    assert result.returncode == 0
    assert calls(log) == []
    assert "sudo apt-get install -y chromium" in result.stdout


def test_node_step_installs_node_and_npm_when_they_are_missing(tmp_path: Path):
    log = tmp_path / "apt.log"
    apt = recording_apt_get(log, {"nodejs": ("node", NODE_20), "npm": ("npm", "exit 0")})
    bin_dir = sandbox_path(
        tmp_path / "bin", {"node", "npm", "npx"}, {"apt-get": apt, "id": ROOT_ID}
    )
    result = run_step("node", bin_dir)
    assert result.returncode == 0, result.stderr
    assert "install -y -qq nodejs npm" in calls(log)


def test_node_step_refuses_a_node_too_old_for_the_front_end(tmp_path: Path):
    log = tmp_path / "apt.log"
    old_node = 'if [ "$1" = -p ]; then echo 18; else echo v18.19.0; fi'
    bin_dir = sandbox_path(
        tmp_path / "bin",
        {"node", "npm"},
        {"apt-get": recording_apt_get(log), "id": ROOT_ID, "node": old_node, "npm": "exit 0"},
    )
    result = run_step("node", bin_dir)
    assert result.returncode != 0
    assert "Node v18.19.0 is too old" in result.stderr
    assert "install -y -qq nodejs npm" in calls(log), "it first tried Debian's package"


def test_node_step_says_the_command_when_not_root(tmp_path: Path):
    log = tmp_path / "apt.log"
    bin_dir = sandbox_path(
        tmp_path / "bin", {"node", "npm", "npx"}, {"apt-get": recording_apt_get(log), "id": USER_ID}
    )
    result = run_step("node", bin_dir)
    assert result.returncode != 0
    assert calls(log) == []
    assert "sudo apt-get install -y nodejs npm" in result.stderr


def test_venv_step_installs_python3_venv_when_venv_cannot_bootstrap_pip(tmp_path: Path):
    # Debian's python3 without python3-venv fails `python3 -m venv` (no ensurepip).
    log = tmp_path / "apt.log"
    real_python = subprocess.run(
        ["bash", "-c", "type -P python3"], capture_output=True, text=True, check=True
    ).stdout.strip()
    python3 = f"""
if [ "$1" = -m ] && [ "$2" = venv ] && ! grep -q python3-venv {log} 2>/dev/null; then
  echo "ensurepip is not available" >&2; exit 1
fi
exec {real_python} "$@"
"""
    bin_dir = sandbox_path(
        tmp_path / "bin",
        {"python3"},
        {"apt-get": recording_apt_get(log), "id": ROOT_ID, "python3": python3},
    )
    venv = tmp_path / "env"
    result = run_step("venv", bin_dir, {"RNNW_VENV": str(venv)})
    assert result.returncode == 0, result.stderr
    assert "install -y -qq python3-venv" in calls(log)
    assert (venv / "bin" / "python").exists()


@pytest.mark.parametrize("name", ["chromium", "node", "npm", "apt-get", "python3"])
def test_run_defines_no_function_that_hides_a_program_it_probes(name: str):
    script = (REPO / "run").read_text()
    assert not re.search(rf"^\s*(function\s+)?{re.escape(name)}\s*\(\)", script, re.M)


def test_sandbox_really_hides_programs(tmp_path: Path):
    bin_dir = sandbox_path(tmp_path / "bin", {"chromium", "node"})
    write_script(tmp_path / "probe.sh", "type -P chromium node || echo none")
    out = subprocess.run(
        [str(bin_dir / "bash"), str(tmp_path / "probe.sh")],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert out.strip() == "none"


def _pytest_browser(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(E2E_CHROMIUM=str(REPO / "no-such-chromium"), **extra_env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_run_without_chromium_ends_by_saying_how_many_browser_tests_it_skipped():
    result = _pytest_browser({}, "tests/browser")
    assert result.returncode == 0, result.stdout[-2000:]
    skipped = int(re.search(r"(\d+) skipped in", result.stdout).group(1))
    last = result.stdout.strip().splitlines()[-1]
    assert skipped > 20
    expected = rf"{skipped} tests were skipped: Chromium not found .*'\./run browser'.*"
    assert re.fullmatch(expected, last)


def test_in_ci_a_missing_chromium_fails_the_browser_tests():
    first = "tests/browser/test_standalone_html.py"
    result = _pytest_browser({"CI": "true"}, first)
    assert result.returncode == 1
    assert "Chromium not found" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]
