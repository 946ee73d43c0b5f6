"""Temporary files and folders: one naming scheme, so any run can tell whose they are.

A file is written as ``.<name>.<pid>.<random>.tmp`` beside its target and moved into place; a
conversion worker works in ``.litert-build/tmp/<pid>-<random>/``. When the process named by
``<pid>`` is gone, the next run removes what it left (:func:`clean_stale_temps`).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from litert_build.processes import pid_alive

STAGED_FILE = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]{8}\.tmp$")  # .<name>.<pid>.<random>.tmp
TEMP_FOLDER = re.compile(r"^(\d+)-[A-Za-z0-9_]+$")  # <pid>-<random>, under .litert-build/tmp


def staged_name(name: str) -> str:
    """The temporary name of ``name`` while it is being written: ``.<name>.<pid>.<random>.tmp``."""
    return f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


def temp_folder_prefix() -> str:
    """Prefix of a worker's temporary folder (``tempfile.mkdtemp(prefix=...)`` adds the rest)."""
    return f"{os.getpid()}-"


def clean_stale_temps(folder: Path, pattern: re.Pattern[str] = STAGED_FILE) -> int:
    """Remove the temp files (or folders) in ``folder`` whose owning process is gone."""
    removed = 0
    try:
        children = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for child in children:
        match = pattern.match(child.name)
        if match is None or pid_alive(int(match.group(1))):
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
        removed += 1
    return removed
