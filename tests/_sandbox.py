"""A PATH with some programs missing or replaced, for proving the set-up steps where a fresh
machine lacks what this one has.

``sandbox_path(folder, hide=..., stand_ins=...)`` fills ``folder`` with links to every program
on the real PATH except the hidden ones, adds executable stand-ins (shell scripts), and
returns the folder to use as the whole PATH.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path


def sandbox_path(
    folder: Path,
    hide: Iterable[str] = (),
    stand_ins: Mapping[str, str] | None = None,
) -> Path:
    """A bin folder: the real PATH's programs minus ``hide``, plus ``stand_ins`` (name: script)."""
    hidden = set(hide) | set(stand_ins or {})
    folder.mkdir(parents=True, exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            target = folder / entry.name
            if entry.name in hidden or target.exists() or target.is_symlink():
                continue
            if entry.is_file() and os.access(entry, os.X_OK):
                target.symlink_to(entry)
    for name, script in (stand_ins or {}).items():
        write_script(folder / name, script)
    return folder


def write_script(path: Path, body: str) -> Path:
    """An executable bash script at ``path`` running ``body``."""
    path.write_text("#!/bin/bash\n" + body.strip() + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def recording_apt_get(log: Path, installs: Mapping[str, tuple[str, str]] | None = None) -> str:
    """A stand-in ``apt-get`` that appends its arguments, one call a line, to ``log``.

    ``installs`` maps a Debian package to the program it provides and a stand-in script for
    it: ``apt-get install PACKAGE`` writes that program beside itself, so a probe run after the
    install finds it, as it would after the real one.
    """
    lines = [f'echo "$*" >> {_quote(str(log))}', 'here="$(dirname "$0")"']
    for package, (program, script) in (installs or {}).items():
        lines += [
            f'if [ "$1" = install ] && [[ " $* " == *" {package} "* ]]; then',
            f"  printf '%s\\n' '#!/bin/bash' {_quote(script)} > \"$here/{program}\"",
            f'  chmod +x "$here/{program}"',
            "fi",
        ]
    return "\n".join(lines)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
