"""A warm start for conversion workers: a process that has imported TensorFlow and Keras once and
forks one child per task.

Importing TensorFlow and Keras takes ~7 s, most of a small model's task. The zygote pays it once
per build process; each task still runs in a process of its own (a fork of the zygote, which has
only imported modules, so every task starts from the same pristine state), whose memory is
returned when it exits and whose crash fails only its task.

Protocol, on the zygote's stdin/stdout, one JSON object per line: the build side sends
``{"spec": path, "result": path, "log": path, "cwd": path, "env": {...}}``; the zygote forks a
child that runs :func:`litert_build.worker.main.main`, waits for it and answers
``{"returncode": n, "output": "..."}`` (negative: killed by that signal, as :mod:`subprocess` says
it; the output was kept in memory, or in ``log`` where there is no memfd). The
zygote exits when its stdin closes, and (Linux) both it and its children are killed when their
parent dies.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

OUTPUT_TAIL = 256 * 1024  # bytes of a worker's output sent back (the build shows its last lines)
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


def _child(request: dict[str, Any], log: int) -> None:
    """In the forked child: become the worker process the request describes (output to ``log``),
    run, exit."""
    die_with_parent()
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


def _output_file(request: dict[str, Any]) -> int:
    """Where the child's output goes: a file in memory (Linux), so that a full disk does not
    also swallow the message that says so; else the request's log file."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("litert-build-worker-output")
    return os.open(request["log"], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)


def _read_tail(fd: int) -> str:
    size = os.lseek(fd, 0, os.SEEK_END)
    os.lseek(fd, max(0, size - OUTPUT_TAIL), os.SEEK_SET)
    data = b""
    while chunk := os.read(fd, 1 << 16):
        data += chunk
    return data.decode(errors="replace")


def serve() -> None:
    """Answer requests until stdin closes."""
    die_with_parent()
    _preload()
    replies = sys.stdout
    print(json.dumps({"ready": True}), file=replies, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        replies.flush()
        log = _output_file(request)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _child(request, log)
        _, status = os.waitpid(pid, 0)
        output = _read_tail(log)
        os.close(log)
        print(json.dumps({"returncode": _returncode(status), "output": output}), file=replies, flush=True)


if __name__ == "__main__":
    serve()
