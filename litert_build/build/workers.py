"""Start the conversion worker in a child process and collect its result.

A child process frees TensorFlow's memory after every model, and a converter crash fails only
that model's tasks. Workers are forks of the build's warm zygote (:class:`Zygote`), or a fresh
``python`` each when it is off. The child gets its own temporary folder under the state
folder (``.litert-build/tmp/<pid>-<random>``, also its ``TMPDIR``, so TensorFlow's
temporary SavedModels land there too); folders and staged files left by killed runs are
removed by :func:`clean_stale_temps`. On Linux a worker is killed when its parent (the zygote,
or the runner process) dies and the zygote exits when the build's main process is gone, so a
``kill -9`` of ``doit`` does not leave a worker writing behind its back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from litert_build.build.progress import ProgressWatcher
from litert_build.build.sessions import build_owner, run_id, run_specs
from litert_build.failures import says_disk_full
from litert_build.plan.layout import state_dir, temp_root
from litert_build.processes import die_with_parent, pid_alive
from litert_build.store.files import atomic_write_bytes
from litert_build.store.temps import temp_folder_prefix

WORKER_LOG_TAIL = 40  # lines of worker output shown when it fails unexpectedly
ZYGOTE_ENV = "LITERT_BUILD_ZYGOTE"
PER_TASK_ENV = ("TMPDIR", "LITERT_BUILD_PROGRESS")  # differ per task: not a reason to restart
NO_KERAS_HUB = "--no-keras-hub"  # worker/zygote.py's option (the build side does not import the worker)


def worker_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND="tensorflow",  # models saved under JAX or torch convert through TF
        TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        PYTHONHASHSEED="0",
        TMPDIR=str(tmp),
        LITERT_BUILD_PROGRESS=str(tmp / "progress"),  # the steps it starts (build/progress.py)
    )
    return env


def run_worker(spec_json: dict[str, Any]) -> tuple[dict[str, Any] | None, subprocess.CompletedProcess]:
    """Run the conversion worker on one spec: (its result or None, the finished process)."""
    results, proc = run_session([spec_json])
    return results[0], proc


Result = dict[str, Any] | None  # a worker's result for one spec; None when it has none


def run_session(specs: list[dict[str, Any]]) -> tuple[list[Result], subprocess.CompletedProcess]:
    """Run the conversion worker on the specs of one model (one load and trace for all of them),
    in a child of the warm zygote (or, when that is off or cannot start, in a fresh
    ``python -m litert_build.worker.main``): (a result or None per spec, the finished process with
    its output). The first result also has ``worker``: seconds from asking for the process to its
    code running (``start``) and from its last step to its exit being seen (``exit``); and
    ``peak_rss``: the bytes the worker added to its resident set at its peak."""
    first = specs[0]
    root = Path(first["root"])
    parent = temp_root(root)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temp_folder_prefix(), dir=parent))
    try:
        spec_file, result_file = tmp / "spec.json", tmp / "result.json"
        spec_file.write_text(json.dumps({"specs": specs}))
        args = [str(spec_file), str(result_file)]
        where = f"{first['model']}:{first['variant']}"
        if len(specs) > 1:
            where += f" (+{', '.join(spec['variant'] for spec in specs[1:])})"
        asked = time.time()
        with ProgressWatcher(tmp / "progress", where):
            proc = _zygote_run(root, tmp, args) if zygote_enabled() else None
            if proc is None:
                proc = subprocess.run(
                    [sys.executable, "-m", "litert_build.worker.main", *args],
                    cwd=root, env=worker_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    text=True, errors="replace",
                    preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
                )
        results = _read_results(result_file, len(specs), asked, time.time())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results, proc


def _read_results(path: Path, count: int, asked: float, seen: float) -> list[Result]:
    """The worker's result per spec; None for each it has none for (killed, crashed, disk full,
    or a shared step failed and only the first spec has one). The first gets the worker's
    timings (``asked``: when the build asked for it; ``seen``: when its exit was seen) and peak."""
    try:
        outcome = json.loads(path.read_text())
        results = [entry if isinstance(entry, dict) else None for entry in outcome["results"]][:count]
        timing = {"start": round(float(outcome["started"]) - asked, 3),
                  "exit": round(seen - float(outcome["finished"]), 3)}
    except (OSError, ValueError, KeyError, TypeError):  # no result, or a partial one
        return [None] * count
    if results and results[0] is not None:
        results[0]["worker"] = timing
        if isinstance(outcome.get("peak_rss"), int):
            results[0]["peak_rss"] = outcome["peak_rss"]  # bytes the worker added at its peak
    return results + [None] * (count - len(results))


def zygote_enabled() -> bool:
    """Warm workers need fork (Linux, macOS); LITERT_BUILD_ZYGOTE=0 turns them off."""
    return hasattr(os, "fork") and os.environ.get(ZYGOTE_ENV, "1") != "0"


def _zygote_run(root: Path, tmp: Path, args: list[str]) -> subprocess.CompletedProcess | None:
    """One worker forked by the zygote; None when no zygote can be had (run it cold instead)."""
    env = worker_env(tmp)
    log = tmp / "worker.log"
    request = {"spec": args[0], "result": args[1], "log": str(log), "cwd": str(root), "env": env}
    for _ in range(2):  # a zygote found dead is replaced once
        address = _ZYGOTE.address(root, env)
        if address is None:
            return None
        reply = _ask(address, request)
        if reply is not None:
            break
        if _ZYGOTE.forget(address):  # it died with our worker in it (OOM killer, ...)
            reply = {"returncode": -9, "output": ""}
            break
    else:
        return None
    return subprocess.CompletedProcess(["litert-build worker", *args], reply["returncode"], reply["output"])


def _ask(address: str, request: dict[str, Any]) -> dict[str, Any] | None:
    """Send one request to the zygote at ``address``; its reply when the worker has exited, or
    None if the zygote could not be reached or died meanwhile."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(address)
            connection.sendall((json.dumps(request) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = connection.recv(1 << 16)
                if not chunk:
                    return None
                data += chunk
        reply = json.loads(data)
        return {"returncode": int(reply["returncode"]), "output": str(reply.get("output", ""))}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _env_digest(env: dict[str, str]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(sorted(env.items())).encode()).hexdigest()


class Zygote:
    """The build side of :mod:`litert_build.worker.zygote`: one per build, shared by doit's
    runner processes. The first that needs a worker starts it (under a file lock, so two runners
    do not both import TensorFlow) and registers its socket in ``.litert-build/zygote.json``;
    the others of the same build (same main process, same environment: TensorFlow reads some of
    it when imported) use that one. It is replaced if it died or the environment changed, and it
    exits when the build's main process is gone."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._address: str | None = None
        self._key: tuple = ()
        self._lock = threading.Lock()

    def address(self, root: Path, task_env: dict[str, str]) -> str | None:
        """The socket of a live zygote for this environment, started if need be; None if none can
        be started."""
        env = {k: v for k, v in task_env.items() if k not in PER_TASK_ENV}
        watch = build_owner()
        key = (watch, _env_digest(env), _run_uses_keras_hub())
        with self._lock:
            if self._address and self._key == key and (self._proc is None or self._proc.poll() is None):
                return self._address
            self._stop()
            from filelock import FileLock

            registry = state_dir(root) / "zygote.json"
            registry.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(registry.with_suffix(".lock")):
                shared = _registered(registry, key)
                if shared is not None:
                    self._address, self._key = shared, key
                    return shared
                self._start(root, env, watch, key[2])
                if self._address is not None:
                    self._key = key
                    _register(registry, {"socket": self._address, "pid": self._proc.pid,
                                         "watch": watch, "env": key[1], "keras_hub": key[2]})
            return self._address

    def forget(self, address: str) -> bool:
        """After a request to ``address`` got no reply: True if that zygote is dead (its worker
        died with it), so the task has failed; False if it could not be reached at all."""
        with self._lock:
            if self._address != address:
                return False
            dead = self._proc is not None and self._proc.poll() is not None
            self._address = None
            return dead

    def _stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc, self._address = None, None

    def _start(self, root: Path, env: dict[str, str], watch: int, keras_hub: bool) -> None:
        args = [str(watch)] + ([] if keras_hub else [NO_KERAS_HUB])
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "litert_build.worker.zygote", *args], cwd=root, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
        except OSError:
            return
        try:
            ready = json.loads(proc.stdout.readline())
            address = str(ready["socket"]) if ready.get("ready") else None
        except (ValueError, KeyError, TypeError, AttributeError):
            address = None
        if address is None:
            proc.kill()
            proc.wait()
            return
        self._proc, self._address = proc, address


_KERAS_HUB_BY_RUN: dict[str | None, bool] = {}


def _run_uses_keras_hub() -> bool:
    """:func:`uses_keras_hub` for this run's specs, worked out once per run."""
    run = run_id()
    if run not in _KERAS_HUB_BY_RUN:
        _KERAS_HUB_BY_RUN[run] = uses_keras_hub(run_specs())
    return _KERAS_HUB_BY_RUN[run]


def uses_keras_hub(specs: list[dict[str, Any]] | None) -> bool:
    """Whether a worker of this build may import KerasHub: a preset source, a ``.keras`` file whose
    config names it, an ``.h5`` model (not looked into), or a project Python file that mentions
    ``keras_hub``. Outside a run (None): assume so."""
    import zipfile

    if specs is None:
        return True
    for spec in specs:
        source, root = spec.get("source") or {}, Path(spec["root"])
        if "preset" in source or str(source.get("keras", "")).endswith(".h5"):
            return True
        files = list(spec.get("input_hashes", {})) + ([source["keras"]] if "keras" in source else [])
        for name in files:
            path = root / name
            try:
                if path.suffix == ".py" and "keras_hub" in path.read_text(errors="replace"):
                    return True
                if path.suffix == ".keras":
                    with zipfile.ZipFile(path) as archive:
                        if b"keras_hub" in archive.read("config.json"):
                            return True
            except (OSError, KeyError, zipfile.BadZipFile):
                return True  # cannot tell: preload it
    return False


def _register(registry: Path, entry: dict[str, Any]) -> None:
    """Tell the build's other runner processes where the zygote is (on a full disk they start
    their own)."""
    try:
        atomic_write_bytes(registry, json.dumps(entry).encode())
    except OSError:
        pass


def _registered(registry: Path, key: tuple) -> str | None:
    """The socket of the zygote another runner process of this build registered, if it is for
    this environment and alive."""
    try:
        entry = json.loads(registry.read_text())
        if (entry["watch"], entry["env"], entry["keras_hub"]) != key:
            return None
        return str(entry["socket"]) if pid_alive(int(entry["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


_ZYGOTE = Zygote()


def failure_message(spec_json: dict[str, Any], result, proc) -> str:
    where = f"{spec_json['model']}:{spec_json['variant']}"
    if result is not None and result.get("error"):
        return f"{where}: {result['error']}"
    if says_disk_full(proc.stdout):
        return (f"{where}: no space left on device (the conversion worker could not write its files "
                f"under {spec_json['root']}). Free some space and run again: nothing partial was left "
                "at a target path.")
    tail = "\n".join(proc.stdout.splitlines()[-WORKER_LOG_TAIL:])
    return (f"{where}: the conversion worker exited with code {proc.returncode} and no result. "
            f"Last output:\n{tail}")
