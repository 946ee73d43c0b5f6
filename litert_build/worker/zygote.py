"""A warm start for conversion workers: a process that has imported TensorFlow and Keras once and
forks one child per request.

Importing TensorFlow and Keras takes ~7 s, most of a small model's task. The zygote pays it once
per build; each worker still runs in a process of its own (a fork of the zygote, which has only
imported modules, so every worker starts from the same pristine state), whose memory is
returned when it exits and whose crash fails only its tasks. One zygote serves all of doit's
``-n N`` runner processes at once: the pool of warm workers is its children.

Protocol: the zygote listens on a Unix socket in a private (0700) folder and prints
``{"ready": true, "socket": path}`` on stdout. A client connects and sends one JSON line,
``{"spec": path, "result": path, "log": path, "cwd": path, "env": {...}}``; the zygote forks a
child that runs :func:`litert_build.worker.main.main` and, when it has exited, answers on that
connection ``{"returncode": n, "output": "..."}`` (negative: killed by that signal, as
:mod:`subprocess` says it; the output was kept in memory, or in ``log`` where there is no memfd).
Requests are served concurrently. The zygote exits, killing its children, when the process it
watches (``python -m litert_build.worker.zygote WATCH_PID [--no-keras-hub]``: the build's main
process, which outlives doit's runner processes) is gone; its children are killed when it dies
(Linux). KerasHub is preloaded unless the build side knows no model needs it (a worker that does
imports it itself).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from litert_build.processes import die_with_parent, pid_alive

OUTPUT_TAIL = 256 * 1024  # bytes of a worker's output sent back (the build shows its last lines)
PRELOAD = ("tensorflow", "keras", "numpy", "ai_edge_litert.interpreter", "keras_hub",
           "litert_build.worker.main")
NO_KERAS_HUB = "--no-keras-hub"  # no model of the build uses KerasHub: save its import (~1.2 s)


def _preload(keras_hub: bool = True) -> None:
    import importlib

    for name in PRELOAD if keras_hub else [n for n in PRELOAD if n != "keras_hub"]:
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


def serve(watch: int, keras_hub: bool = True) -> None:
    """Answer requests until process ``watch`` is gone (single-threaded: a selector over the
    listening socket and the connections; finished children are reaped between events)."""
    import selectors
    import socket
    import tempfile

    _preload(keras_hub)
    folder = tempfile.mkdtemp(prefix="litert-build-zygote-", dir="/tmp" if os.path.isdir("/tmp") else None)
    path = os.path.join(folder, "socket")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    children: dict[int, tuple[socket.socket, int]] = {}  # pid -> (its client's connection, output fd)
    pending: dict[socket.socket, bytes] = {}  # connections whose request line is incomplete
    print(json.dumps({"ready": True, "socket": path}), flush=True)
    try:
        while pid_alive(watch):
            for key, _ in selector.select(timeout=0.05):
                if key.data == "accept":
                    connection, _ = listener.accept()
                    pending[connection] = b""
                    selector.register(connection, selectors.EVENT_READ, "request")
                else:
                    _read_request(key.fileobj, pending, selector, children)
            _reap(children)
    finally:
        for pid in children:
            _kill_quietly(pid)
        listener.close()
        for name in (path, folder):
            try:
                os.rmdir(name) if name == folder else os.unlink(name)
            except OSError:
                pass


def _read_request(connection, pending, selector, children) -> None:
    """Read from a client; at the end of its line, fork its worker."""
    try:
        chunk = connection.recv(1 << 16)
    except OSError:
        chunk = b""
    if not chunk:  # the client went away before asking
        selector.unregister(connection)
        pending.pop(connection, None)
        connection.close()
        return
    data = pending[connection] + chunk
    if b"\n" not in data:
        pending[connection] = data
        return
    selector.unregister(connection)
    del pending[connection]
    request = json.loads(data.split(b"\n", 1)[0])
    sys.stdout.flush()
    log = _output_file(request)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        connection.close()
        _child(request, log)
    children[pid] = (connection, log)


def _reap(children) -> None:
    """Answer the clients of the children that have exited."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid not in children:
            continue
        connection, log = children.pop(pid)
        output = _read_tail(log)
        os.close(log)
        reply = json.dumps({"returncode": _returncode(status), "output": output}) + "\n"
        try:
            connection.sendall(reply.encode())
        except OSError:
            pass  # the client died: nobody to tell
        connection.close()


def _kill_quietly(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


if __name__ == "__main__":
    serve(int(sys.argv[1]), keras_hub=NO_KERAS_HUB not in sys.argv[2:])
