"""Plan -> doit tasks: one ``convert:<model>:<variant>`` task per build spec.

Tasks are plain dicts (doit's own style). Their action (:mod:`litert_build.build.convert_action`)
reuses, restores from cache or spawns the conversion worker; nothing here imports
TensorFlow or Keras.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from litert_build.build.checker import XXH3Checker
from litert_build.build.cluster.connect import scheduler_address
from litert_build.build.console import BuildReporter
from litert_build.build.convert_action import NO_CACHE_ENV, convert_step
from litert_build.build.sessions import interleaved
from litert_build.config.cache_location import CACHE_ENV
from litert_build.config.kinds import KINDS
from litert_build.config.models_yaml import load_manifest
from litert_build.errors import ManifestError
from litert_build.failures import guarded
from litert_build.plan.keys import settings_digest
from litert_build.plan.layout import (
    STATE_DIR,
    assets_dir,
    build_record_path,
    litertlm_path,
    log_dir,
    targets,
)
from litert_build.plan.specs import make_plan, manifest_path
from litert_build.release.bundle import build_bundle
from litert_build.store.files import remove_quietly, remove_tree

LATENCY_RUNS = 50  # invocations per artifact timed by the report


def doit_config(state_dir: str | os.PathLike[str] = STATE_DIR, check_manifest: bool = True,
                create_state: bool = True) -> dict[str, Any]:
    """doit settings for litert-build: xxh3 checker, sqlite state, keep going on failure.

    With ``check_manifest``, a models.yaml that cannot be read as a whole (missing, not
    YAML, wrong ``schema``, ...) ends the process here with its located message and exit
    status 1, whatever doit command was asked for (``doit help`` does not load tasks).
    Without ``create_state`` (commands that keep no doit state: help, publish, ...) the state
    folder is not created.
    """
    if check_manifest:
        exit_on_manifest_error()
    if create_state:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
    threads = {}
    if check_manifest and scheduler_address(current_manifest().scheduler):
        threads = {"par_type": "thread"}  # -n N: N threads waiting on the cluster, one client
    return {
        **threads,
        "default_tasks": ["convert", "bundle", "report"],
        "dep_file": str(Path(state_dir) / "doit.sqlite3"),
        "backend": "sqlite3",
        "check_file_uptodate": XXH3Checker,
        "continue": True,
        "verbosity": 2,
        "reporter": BuildReporter,
    }


def exit_on_manifest_error() -> None:
    """Print a file-level models.yaml problem (located) and exit 1; return if the file is fine.

    The file read here is the one :func:`current_plan` plans from later, in the task generators
    (no file is hashed yet: on a nearly full disk doit's own database must come first)."""
    try:
        current_manifest()
    except ManifestError as exc:
        print(f"litert-build: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


class settings_changed(config_changed):  # noqa: N801 - used like doit's config_changed
    """doit ``uptodate`` check on the settings hash, named so ``doit info`` says what it is."""

    def __init__(self, digest: str, where: str):
        super().__init__(digest)
        self.where = where

    def __repr__(self) -> str:
        return (f"settings of {self.where} in models.yaml (or the version of litert-build, "
                "tensorflow, keras, keras-hub or ai-edge-litert) changed")


def _path_for_doit(root: Path, rel: str) -> str:
    """Paths relative to the working directory when the project is there, else absolute."""
    path = root / rel
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _fail(message: str):
    def action():
        return TaskFailed(message)

    return action


def task_convert():
    """Convert, verify and write one LiteRT artifact per model/variant in models.yaml."""
    try:
        plan = current_plan()
    except ManifestError as exc:
        yield {
            "name": manifest_path().name,
            "doc": "models.yaml could not be read",
            "actions": [_fail(str(exc))],
            "uptodate": [False],
        }
        return
    for spec in interleaved(plan.specs):  # so that -n N starts N models, not N variants of one
        if spec.error is not None:
            yield {
                "name": spec.task_name,
                "doc": "invalid manifest entry",
                "actions": [_fail(spec.error)],
                "uptodate": [False],
            }
            continue
        root = Path(spec.root)
        spec_json = spec.to_json()
        targets_abs = list(targets(spec_json))  # .tflite, .json, .intoto.json
        if KINDS[spec.kind].pipeline == "llm":
            targets_abs.append(litertlm_path(targets_abs[0]))
        assets = assets_dir(root / spec.tflite, spec.model)  # KerasHub runtime assets
        yield {
            "name": spec.task_name,
            "doc": f"{spec.kind} -> {spec.tflite}",
            "actions": [(convert_step, [spec_json])],
            "meta": {"spec": spec_json},  # for the run's sessions (build/sessions.py)
            "file_dep": [_path_for_doit(root, rel) for rel in spec.deps + spec.after],
            "targets": [_path_for_doit(root, str(path)) for path in targets_abs],
            "uptodate": [settings_changed(spec.settings_hash, spec.task_name)],
            "clean": [(remove_quietly, targets_abs), (remove_tree, [assets])],
        }


_MEMO: dict[tuple, Any] = {}


def _run_key(what: str) -> tuple:
    """What a memoized manifest or plan depends on: the manifest's path, size and mtime and the
    environment that shapes a plan, so an in-process caller that edits models.yaml or switches
    projects gets a fresh one."""
    path = manifest_path().resolve()
    try:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        stamp = None
    return (what, str(path), stamp, os.environ.get(CACHE_ENV), os.environ.get(NO_CACHE_ENV))


def _memoized(what: str, make):
    key = _run_key(what)
    if key not in _MEMO:
        for old in [k for k in _MEMO if k[0] == what]:
            del _MEMO[old]
        _MEMO[key] = make()  # a ManifestError propagates, uncached
    return _MEMO[key]


def current_manifest():
    """models.yaml of this run, read and validated once."""
    return _memoized("manifest", lambda: load_manifest(manifest_path()))


def current_plan():
    """The plan of this run, made once (from :func:`current_manifest`) for the three task
    generators (convert, bundle, report)."""
    return _memoized("plan", lambda: make_plan(manifest=current_manifest()))


def _no_task(name: str) -> dict[str, Any]:
    """A task that does nothing: ``report`` is a default task, so it must exist even when
    there is nothing to report (else doit answers 'Invalid parameter' and hides the real
    problem, which the failing convert task shows)."""
    return {"actions": [], "doc": f"nothing to {name}: see the convert tasks", "uptodate": [True]}


def task_bundle():
    """Pack built artifacts into the deterministic release bundles named in models.yaml."""
    try:
        plan = current_plan()
    except ManifestError:
        return  # task_convert reports it
    for bundle in plan.bundles:
        if bundle.error is not None:
            yield {"name": bundle.name, "doc": "invalid bundle", "actions": [_fail(bundle.error)],
                   "uptodate": [False]}
            continue
        root = Path(bundle.root)
        deps = []
        for member in bundle.members:
            spec_targets = targets({"root": bundle.root, **member})
            deps += [_path_for_doit(root, str(path)) for path in spec_targets]
        deps += [_path_for_doit(root, rel) for rel in bundle.files]
        archive = root / bundle.archive
        yield {
            "name": bundle.name,
            "doc": f"{len(bundle.members)} artifacts -> {bundle.archive}",
            "actions": [(build_bundle, [bundle.to_json()])],
            "file_dep": deps,  # the convert tasks' targets: doit runs those tasks first
            "targets": [_path_for_doit(root, bundle.archive)],
            "uptodate": [settings_changed(bundle.settings_hash, f"bundle {bundle.name}")],
            "clean": [(remove_quietly, [archive])],
        }


REPORT_FILES = ("report.html", "report.md", "report.json")
BASELINE_ENV = "LITERT_BUILD_REPORT_BASELINE"  # --baseline: another build's report.json


def task_report():
    """Write artifacts/report.html and report.md: size, error, accuracy, latency, changes."""
    try:
        plan = current_plan()
    except ManifestError:
        return _no_task("report")  # task_convert reports it
    specs = [s for s in plan.specs if s.error is None]
    if not specs:
        return _no_task("report")
    root, artifacts_dir = plan.root, plan.artifacts_dir
    spec = _report_spec(plan)
    return {
        "actions": [(run_report, [spec])],
        "file_dep": [_path_for_doit(root, s.manifest) for s in specs],
        "targets": [_path_for_doit(root, str(artifacts_dir / name)) for name in REPORT_FILES],
        "uptodate": [settings_changed(settings_digest(spec), "the report")],
        "clean": [(remove_quietly, [artifacts_dir / name for name in REPORT_FILES])],
        "verbosity": 2,
    }


def _report_spec(plan) -> dict[str, Any]:
    members = [{"task": s.task_name, "tflite": s.tflite, "manifest": s.manifest,
                "record": build_record_path(plan.root, s.model, s.variant).relative_to(plan.root).as_posix()}
               for s in plan.specs if s.error is None]
    return {"root": str(plan.root), "folder": str(plan.artifacts_dir), "members": members,
            "runs": LATENCY_RUNS, "baseline": os.environ.get(BASELINE_ENV)}


def report_after_failures(failures: dict[str, str]) -> None:
    """Called by the reporter when tasks failed (doit then skips the report task, which depends
    on their files): write the report anyway, with a "Failed" section naming each failure."""
    try:
        plan = current_plan()
    except ManifestError:
        return
    spec = _report_spec(plan)
    spec["failures"] = failures
    result = run_report(spec)
    if result is not None:
        print(f"litert-build: {result.get_msg().strip()}", file=sys.stderr)


@guarded("writing the report", "report", lambda spec: log_dir(Path(spec["root"])))
def run_report(spec):
    """doit action: the report is measured and drawn in a child process (LiteRT, matplotlib)."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="litert-build-report-") as tmp:
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text(json.dumps(spec))
        proc = subprocess.run([sys.executable, "-m", "litert_build.report.build_report", str(spec_file)],
                              cwd=spec["root"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace")
    if proc.returncode != 0:
        return TaskFailed(f"report: failed:\n{proc.stdout[-3000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  report: {summary['rows']} artifacts, {summary['changes']} changes -> "
          f"{spec['folder']}/report.html, report.md", flush=True)
    return None
