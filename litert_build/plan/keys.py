"""Content hashing with xxh3_128: files, settings, and doit's file checker.

doit decides whether a ``file_dep`` changed through a *checker*. Ours stores
``(mtime, size, xxh3_128)`` per file, like doit's MD5 checker, so a file whose
timestamp did not move is not read at all, and a file that was only touched
(same bytes, new mtime) is hashed but not considered changed. File digests come
from the persistent stat cache (:mod:`litert_build.store.statcache`), so the plan and
the checker of every task share one read of each file, in this run and later ones.
"""

from __future__ import annotations

import json
import os
from typing import Any

import xxhash
from doit.dependency import FileChangedChecker

from litert_build.store.statcache import stat_cache

STATE_DIR = ".litert-build"  # doit's database, the stat cache, locks and temp files


def file_digest(path: str | os.PathLike[str], algorithm: str = "xxh3_128") -> str:
    """Hex digest of a file's bytes (``xxh3_128`` or ``sha256``), through the stat cache."""
    return stat_cache(STATE_DIR).digest(path, algorithm)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no whitespace, so equal settings hash equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def settings_digest(value: Any) -> str:
    return xxhash.xxh3_128_hexdigest(canonical_json(value).encode())


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
