"""Names that come from files become paths only through here, and never leave their folder.

models.yaml, a cache entry written by another machine, an archive's ``index.json`` and a
signature manifest restored from a shared cache all carry names that litert-build turns
into paths. Each is untrusted: it must be relative, have no ``..`` segment, and resolve
(symlinks included) inside the folder it is meant for.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A name that would escape its folder (absolute, ``..``, or a symlink pointing out)."""


def check_name(name: str) -> str:
    """``name`` itself if it is a plain relative path (``a/b.txt``); else :class:`UnsafePath`."""
    if not isinstance(name, str) or not name or "\x00" in name or "\\" in name:
        raise UnsafePath(f"{name!r} is not a plain relative path")
    pure = PurePosixPath(name)
    if pure.is_absolute() or name.startswith("~"):
        raise UnsafePath(f"{name!r} is absolute")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise UnsafePath(f"{name!r} has a '..', '.' or empty segment")
    return name


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, checked: the name is plain and the path (symlinks resolved) stays
    inside ``folder``. Raises :class:`UnsafePath` otherwise."""
    check_name(name)
    base = Path(os.path.realpath(folder))
    path = Path(os.path.realpath(base / name))
    if path != base and base not in path.parents:
        raise UnsafePath(f"{name!r} resolves to {path}, outside {base}")
    return folder / name


def within(folder: Path, path: Path) -> bool:
    """True when ``path`` (symlinks resolved) is ``folder`` or inside it."""
    base = Path(os.path.realpath(folder))
    real = Path(os.path.realpath(path))
    return real == base or base in real.parents
