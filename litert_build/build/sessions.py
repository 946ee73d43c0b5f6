"""One worker for all of a model's out-of-date variants: a *session*.

Every variant stays its own doit task (``convert:<model>:<variant>``: its own targets,
up-to-date check, cache entry, provenance and failure). What changes is who converts it: the
first of a model's tasks that must convert (the *leader*) also claims the model's other
variants that

* doit runs in this invocation (the tasks selected and what they depend on, recorded by
  :func:`start_run` before any task runs),
* share the leader's source and everything that shapes the traced model (:func:`trace_key`),
* are neither built in place nor in the artifact cache, and whose task lock is free;

and one worker loads, traces and saves the model once and builds them all
(:func:`litert_build.worker.main.build`). For each claimed sibling the leader leaves a *note*
with the worker's result; when doit then runs the sibling's task it finds its files built from
its inputs and the note from this run, and finishes like any converted task (cache entry,
provenance, "converted"), or fails with the worker's message for it. A sibling the worker has
no result for (a shared step failed, the worker crashed) is converted by its own task, alone.

doit runs independent tasks in plan order, which :func:`interleaved` makes round-robin over
models, so that ``-n N`` starts N different models rather than N variants of one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from litert_build.config.kinds import KINDS
from litert_build.plan.layout import session_note_path
from litert_build.store.files import atomic_write_bytes, dumps_manifest, remove_quietly

# Settings that shape the traced model (with the source): variants that agree on them can be
# converted from one SavedModel.
TRACE_FIELDS = ("safe_mode", "inputs", "outputs", "batch_size", "converter_options",
                "sequence_length", "image_size", "audio_length", "prompts", "fold_masks")
SESSIONS_ENV = "LITERT_BUILD_SESSIONS"  # 0: every variant in a worker of its own

_RUN: dict[str, Any] = {"id": None, "specs": [], "owner": None}


def start_run(tasks: dict[str, Any], selected: Iterable[str] | None) -> None:
    """Record this invocation's convert specs: those of the selected tasks and of every task
    they depend on. Called by the reporter before doit runs any task (and before it forks its
    ``-n`` processes, which inherit the record)."""
    closure: set[str] = set()
    pending = list(selected or [])
    while pending:
        name = pending.pop()
        if name in closure or name not in tasks:
            continue
        closure.add(name)
        pending += list(tasks[name].task_dep) + list(tasks[name].setup_tasks)
    specs = [task.meta["spec"] for name, task in tasks.items()
             if name in closure and task.meta and "spec" in task.meta]
    _RUN.update(id=f"{os.getpid()}-{time.time_ns()}", specs=specs, owner=os.getpid())


def run_id() -> str | None:
    """This run's id (None outside a run)."""
    return _RUN["id"]


def run_specs() -> list[dict[str, Any]] | None:
    """The convert specs of this run (None outside a run)."""
    return _RUN["specs"] if _RUN["id"] is not None else None


def build_owner() -> int:
    """The build's main process (doit's, which outlives its ``-n`` runner processes): this
    process outside a run."""
    return _RUN["owner"] or os.getpid()


def enabled() -> bool:
    return os.environ.get(SESSIONS_ENV, "1") != "0" and _RUN["id"] is not None


def trace_key(spec: dict[str, Any]) -> str | None:
    """What must be equal for two variants to be built from one trace; None for a variant that
    is not converted from the Keras model's serving function (``kind: aot`` compiles its base
    artifact; ``kind: llm`` traces the model through its KV cache, alone)."""
    settings = spec["settings"]
    if KINDS[settings["kind"]].pipeline in ("compile", "llm"):
        return None
    shaping = {name: settings.get(name) for name in TRACE_FIELDS}
    return json.dumps([spec["model"], spec.get("source"), shaping], sort_keys=True)


def siblings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The other variants of the spec's model that this run converts and that one trace serves,
    in plan order."""
    key = trace_key(spec)
    if key is None or not enabled():
        return []
    return [other for other in _RUN["specs"]
            if other["variant"] != spec["variant"] and other["model"] == spec["model"]
            and trace_key(other) == key]


def interleaved(specs: list) -> list:
    """The specs round-robin over models (first variants of every model, then second ones...),
    each model's variants in their order."""
    by_model: dict[str, list] = {}
    for spec in specs:
        by_model.setdefault(spec.model, []).append(spec)
    rounds = max((len(variants) for variants in by_model.values()), default=0)
    return [variants[i] for i in range(rounds) for variants in by_model.values() if i < len(variants)]


def leave_note(spec: dict[str, Any], leader: str, result: dict[str, Any]) -> None:
    """The worker's result for a sibling, for its task to finish with."""
    note = {"run": _RUN["id"], "build_key": spec["cache_key"], "leader": leader, "result": result}
    atomic_write_bytes(_note_path(spec), dumps_manifest(note))


def take_note(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The note a leader left for this spec in this run (removed as it is read), or None."""
    path = _note_path(spec)
    try:
        note = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    remove_quietly(path)
    if not isinstance(note, dict):
        return None
    if (note.get("run"), note.get("build_key")) != (_RUN["id"], spec["cache_key"]):
        return None  # another run's, or another build's
    result = note.get("result")
    return note if isinstance(result, dict) and isinstance(note.get("leader"), str) else None


def mark_ran(spec: dict[str, Any]) -> None:
    """Record that the spec's task ran in this run (whatever its outcome): no leader claims it
    afterwards (a failed variant is not built again as somebody's sibling)."""
    path = _note_path(spec).with_suffix(".ran")
    try:
        atomic_write_bytes(path, str(_RUN["id"]).encode())
    except OSError:
        pass  # then a later leader may build it again: slower, not wrong


def ran(spec: dict[str, Any]) -> bool:
    """True when the spec's task already ran in this run."""
    try:
        return _note_path(spec).with_suffix(".ran").read_text() == str(_RUN["id"])
    except OSError:
        return False


def _note_path(spec: dict[str, Any]) -> Path:
    return session_note_path(Path(spec["root"]), spec["model"], spec["variant"])
