"""doit's file checker for litert-build: ``(mtime, size, xxh3_128)`` instead of doit's md5.

A file whose timestamp did not move is not read at all; a file that was only touched (same
bytes, new mtime) is hashed (through the stat cache, once for every task) but not changed.
"""

from __future__ import annotations

import os

from doit.dependency import FileChangedChecker

from litert_build.plan.keys import file_digest


class XXH3Checker(FileChangedChecker):
    """doit file checker: (mtime, size, xxh3_128) instead of doit's md5."""

    def check_modified(self, file_path, file_stat, state):  # noqa: D401 - doit's API
        if not isinstance(state, (list, tuple)) or len(state) != 3:
            return True  # state written by another checker: treat as changed
        mtime, size, digest = state
        if file_stat.st_mtime == mtime:
            return False
        if file_stat.st_size != size:
            return True
        return digest != file_digest(file_path)

    def get_state(self, dep, current_state):
        mtime = os.path.getmtime(dep)
        if current_state and isinstance(current_state, (list, tuple)) and current_state[0] == mtime:
            return None
        return mtime, os.path.getsize(dep), file_digest(dep)
