"""The hashes that key a build: file digests (xxh3_128 or sha256) and settings digests.

File digests come from the persistent stat cache (:mod:`litert_build.store.statcache`), so
the plan and doit's file checker (:mod:`litert_build.build.checker`) share one read of each
file, in this run and later ones.
"""

from __future__ import annotations

import json
import os
from typing import Any

import xxhash

from litert_build.plan.layout import STATE_DIR
from litert_build.store.statcache import stat_cache


def file_digest(path: str | os.PathLike[str], algorithm: str = "xxh3_128") -> str:
    """Hex digest of a file's bytes (``xxh3_128`` or ``sha256``), through the stat cache."""
    return stat_cache(STATE_DIR).digest(path, algorithm)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no whitespace, so equal settings hash equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def settings_digest(value: Any) -> str:
    return xxhash.xxh3_128_hexdigest(canonical_json(value).encode())
