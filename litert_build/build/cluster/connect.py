"""The Dask client of this process, and the check made before a cluster build starts.

The scheduler comes from ``--scheduler`` (which sets ``LITERT_BUILD_SCHEDULER``), else
models.yaml's ``executor: {scheduler: ...}``; ``off`` builds here. :func:`start` connects before
doit runs any task (an unreachable scheduler is one clear error, not a failure per task), says
how many workers there are, which of them run other tool versions, and where the dashboard is.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from litert_build.build.progress import say
from litert_build.errors import LiteRTBuildError
from litert_build.versions import tool_versions

SCHEDULER_ENV = "LITERT_BUILD_SCHEDULER"
OFF_VALUES = ("off", "none", "local", "")
CONNECT_SECONDS = 10
TOPIC = "litert-build"  # the remote task's "running on" events

_ACTIVE: dict[str, Any] = {"address": None}
_CLIENTS: dict[tuple[int, str], Any] = {}
_MINE: set[str] = set()  # tokens of the tasks this process submitted (whose events it prints)
_LOCK = threading.Lock()


class ClusterUnavailable(LiteRTBuildError):
    """The scheduler cannot be reached, or a cluster build cannot work as configured."""


def scheduler_address(manifest_value: str | None) -> str | None:
    """``LITERT_BUILD_SCHEDULER`` (``--scheduler``) > models.yaml's ``executor.scheduler``;
    None: build on this machine."""
    value = os.environ.get(SCHEDULER_ENV)
    if value is None:
        value = manifest_value
    if value is None or value.strip().lower() in OFF_VALUES:
        return None
    return value.strip()


def active() -> str | None:
    """The scheduler this run builds on (set by :func:`start`), None when it builds here."""
    return _ACTIVE["address"]


def reset() -> None:
    """A new run builds here until :func:`start` says otherwise (the API runs several builds in
    one process)."""
    _ACTIVE["address"] = None


def start(address: str, cache: str | None) -> None:
    """Connect before anything runs: raise :class:`ClusterUnavailable` with what to do, else
    print the cluster's workers and dashboard and make it this run's executor."""
    if not cache:
        raise ClusterUnavailable(
            f"building on the Dask cluster at {address} needs the artifact cache (inputs and "
            "outputs travel through it), but it is off. Set cache: in models.yaml (or "
            "LITERT_BUILD_CACHE) to storage every machine reaches (s3://..., gs://..., a shared "
            "folder), or build here with --scheduler off.")
    client = get_client(address)
    info = client.scheduler_info(n_workers=-1)
    workers = info.get("workers", {})
    try:
        dashboard = client.dashboard_link
    except Exception:  # no dashboard service (bokeh missing on the scheduler)
        dashboard = None
    line = f"litert-build: building on the Dask cluster at {address}: {len(workers)} worker(s)"
    say(line + (f", dashboard {dashboard}" if dashboard else ""))
    if not workers:
        say("litert-build: warning: the cluster has no workers yet: conversions wait for one", sys.stderr)
    else:
        for worker, theirs in sorted(_worker_tools(client).items()):
            if theirs != tool_versions():
                say(f"litert-build: warning: {worker} runs other tool versions and will refuse "
                    f"conversions: {version_difference(tool_versions(), theirs)}", sys.stderr)
        blind = _workers_without_the_store(client, cache)
        if blind and len(blind) == len(workers):
            raise ClusterUnavailable(
                f"no worker of the Dask cluster at {address} can read the artifact cache {cache} "
                f"({next(iter(blind.values()))}). Inputs and outputs travel through it: set cache: "
                "(or LITERT_BUILD_CACHE) to storage every machine reaches (s3://..., gs://..., a "
                "folder mounted at the same path everywhere), or build here with --scheduler off.")
        for worker, why in sorted(blind.items()):
            say(f"litert-build: warning: {worker} cannot read the artifact cache {cache} ({why}): "
                "the conversions it gets will fail", sys.stderr)
    _ACTIVE["address"] = address


def get_client(address: str):
    """This process's client of ``address`` (doit's runner threads share it; a forked runner
    process makes its own)."""
    key = (os.getpid(), address)
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is None or client.status not in ("running", "connecting", "newly-created"):
            client = _connect(address)
            client.subscribe_topic(TOPIC, _announce)
            _CLIENTS[key] = client
    return client


def submitted(token: str) -> None:
    """Print the "running on" events of this task (not those of other clients' tasks)."""
    _MINE.add(token)


def _announce(event) -> None:
    _, message = event
    if isinstance(message, dict) and message.get("token") in _MINE:
        say(f"  {message.get('task')}: running on {message.get('worker')}")


def _connect(address: str):
    _refused_fast(address)
    try:
        from distributed import Client
    except ImportError:
        raise ClusterUnavailable(
            f"--scheduler {address}: the 'distributed' package is not installed. Install it with "
            "pip install 'litert-build[cluster]' (here and on every Dask worker).") from None
    try:
        return Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(
            f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no answer'}). Start one (dask scheduler), "
            "check the address and that this machine can reach its port, or build here with "
            "--scheduler off.") from None


def _refused_fast(address: str) -> None:
    """A ``tcp://`` or ``tls://`` scheduler whose port refuses connections, said at once (Dask's
    client keeps retrying until its timeout)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
        return
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_SECONDS).close()
    except ConnectionRefusedError:
        raise ClusterUnavailable(
            f"cannot reach the Dask scheduler at {address}: nothing listens on port {parts.port} of "
            f"{parts.hostname}. Start one (dask scheduler), check the address, or build here with "
            "--scheduler off.") from None
    except OSError:
        return  # unresolvable, unroutable, timed out: Dask's own attempt says it


def _worker_tools(client) -> dict[str, dict[str, str]]:
    try:
        return client.run(_tools_here)
    except Exception:  # a worker left meanwhile: its tasks will say it
        return {}


def _tools_here() -> dict[str, str]:
    return tool_versions()


def _workers_without_the_store(client, cache: str) -> dict[str, str]:
    """Workers that cannot read a file written to the store just now, with why: a cache folder
    that is local to this machine, credentials a worker lacks."""
    import uuid

    from litert_build.store.artifact_cache import ArtifactCache
    from litert_build.store.remote import put_bytes, remove

    store = ArtifactCache(cache)
    token = uuid.uuid4().hex
    probe = f"{store.inputs_dir()}/probe-{token}"
    store.fs.makedirs(probe.rsplit("/", 1)[0], exist_ok=True)
    put_bytes(store.fs, probe, token.encode())
    try:
        answers = client.run(_read_probe, cache, probe, token, on_error="return")
    finally:
        remove(store.fs, probe)
    return {worker: (answer if isinstance(answer, str) else f"{type(answer).__name__}: {answer}")
            for worker, answer in answers.items() if answer is not None}


def _read_probe(cache: str, path: str, expected: str) -> str | None:
    """On a worker: None if it reads ``expected`` at ``path`` in the store, else why not."""
    from litert_build.store.artifact_cache import ArtifactCache

    try:
        found = ArtifactCache(cache).fs.cat_file(path)
    except FileNotFoundError:
        return "the file written here is not there"
    except Exception as exc:  # noqa: BLE001 - any reason is the answer
        return f"{type(exc).__name__}: {exc}"
    return None if found == expected.encode() else "it holds other bytes"


def version_difference(ours: dict[str, str], theirs: dict[str, str]) -> str:
    """``keras 3.15.0 here, 3.14.0 there; ...``: every tool whose version differs."""
    names = sorted(set(ours) | set(theirs))
    return "; ".join(f"{name} {ours.get(name, 'not installed')} here, "
                     f"{theirs.get(name, 'not installed')} there"
                     for name in names if ours.get(name) != theirs.get(name))
