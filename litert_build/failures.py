"""Unexpected exceptions become one message for the user and a log file for the bug report.

Every :class:`~litert_build.errors.LiteRTBuildError` already says what is wrong and what
to do. Anything else is a bug (ours, or a library's we did not anticipate): the user sees
what was being done, the model/variant and the exception on one line, never a Python
stack; the stack goes to ``.litert-build/logs/`` and the message says where. A full disk
is not a bug: it is said as "no space left on device" with the path.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import sqlite3
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litert_build.errors import LiteRTBuildError


def says_disk_full(text: str) -> bool:
    """Whether a message (an exception's, a child process's output) reports a full disk."""
    return "No space left on device" in text or "[Errno 28]" in text


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
        return True
    if says_disk_full(str(exc)):  # e.g. TensorFlow's errors, which are not OSErrors
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_disk_full(cause)


def disk_full_message(exc: BaseException, doing: str) -> str:
    found: BaseException | None = exc
    path = None
    while found is not None and path is None:
        path = getattr(found, "filename", None)
        found = found.__cause__ or found.__context__
    if path is None:  # doit's database errors name their file in the text
        match = re.search(r"file(?:\(s\))? in '([^']+)'", str(exc))
        path = match.group(1) if match else None
    where = f" writing {path}" if path else ""
    return (f"no space left on device{where} (while {doing}). Free some space and run again: "
            "nothing partial was left at a target path.")


def write_log(folder: Path, name: str, text: str) -> Path | None:
    """Save ``text`` as ``<folder>/<name>-<time>-<pid>.log``; None if impossible."""
    path = folder / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError:
        return None
    return path


def describe(exc: BaseException, doing: str, log_dir: Path, log_name: str) -> str:
    """One message for an exception that escaped while ``doing`` something."""
    if isinstance(exc, LiteRTBuildError):
        return str(exc)
    if is_disk_full(exc):
        return disk_full_message(exc, doing)
    text = "".join(traceback.format_exception(exc))
    log = write_log(log_dir, log_name, f"while {doing}:\n{text}")
    try:
        shown = log.relative_to(Path.cwd()) if log else None
    except ValueError:
        shown = log
    where = f"; the full traceback is in {shown}" if shown else ""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"internal error while {doing}: {type(exc).__name__}: {first_line[:500]}. This is a bug "
            f"in litert-build or a library it uses; please report it{where}.")


def guarded(doing: str, log_name: str | Callable[..., str], log_dir: Callable[..., Path]):
    """Decorate a doit action: an unexpected exception becomes a ``TaskFailed`` message.

    ``log_name`` (or a function of the action's arguments giving it) names the log file;
    ``log_dir`` gives the folder for the traceback from the arguments (the project's
    :func:`litert_build.plan.layout.log_dir`).
    """

    def wrap(action: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(action)
        def run(*args: Any, **kwargs: Any) -> Any:
            from doit.exceptions import TaskFailed

            try:
                return action(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - this is the place that reports them
                name = log_name(*args, **kwargs) if callable(log_name) else log_name
                folder = log_dir(*args, **kwargs)
                what = doing.format(name=name)
                return TaskFailed(f"{name}: {describe(exc, what, folder, name)}")

        return run

    return wrap
