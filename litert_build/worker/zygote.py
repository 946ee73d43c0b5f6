"""A warm start for conversion workers: a process that has imported TensorFlow and Keras once and
forks one child per task.

Importing TensorFlow and Keras takes ~7 s, most of a small model's task. The zygote pays it once
per build process; each task still runs in a process of its own (a fork of the zygote, which has
only imported modules, so every task starts from the same pristine state), whose memory is
returned when it exits and whose crash fails only its task.

Protocol, on the zygote's stdin/stdout, one JSON object per line: the build side sends
``{"spec": path, "result": path, "log": path, "cwd": path, "env": {...}}``; the zygote forks a
child that runs :func:`litert_build.worker.main.main` with its output in ``log``, waits for it and
answers ``{"returncode": n}`` (negative: killed by that signal, as :mod:`subprocess` says it). The
zygote exits when its stdin closes, and (Linux) both it and its children are killed when their
parent dies.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

PRELOAD = ("tensorflow", "keras", "numpy", "ai_edge_litert.interpreter", "keras_hub",
           "litert_build.worker.main")


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (Linux; elsewhere a no-op)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the child imports it again and reports what fails
            pass


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become the worker process the request describes, run, exit."""
    die_with_parent()
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    import tempfile

    tempfile.tempdir = None  # TMPDIR is this task's folder now
    sys.path[0] = request["cwd"]  # as `python -m` started in the project would have it
    from litert_build.worker.main import exit_now, main

    code = 1
    try:
        code = main([request["spec"], request["result"]])
    finally:
        exit_now(code)


def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def serve() -> None:
    """Answer requests until stdin closes."""
    die_with_parent()
    _preload()
    replies = sys.stdout
    print(json.dumps({"ready": True}), file=replies, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        replies.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _child(request)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": _returncode(status)}), file=replies, flush=True)


if __name__ == "__main__":
    serve()
