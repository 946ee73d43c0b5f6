"""The Python API: what the CLI does, callable from a script or a notebook, with typed results.

    import litert_build.api as lb

    result = lb.build("path/to/models.yaml", parallel=2)
    result.ok, [e["task"] for e in result.failed]
    for task in lb.status("path/to/models.yaml"):
        print(task.task, task.state, task.reasons)
    lb.export("model.keras", "out", variants=["float32", "int8"], calibration="calib.npz")

Each call runs the same code as the command line in this process (conversions still run in their
own worker processes: TensorFlow is not imported here), then restores the working folder and
the environment it changed. Outcomes come from the run's events (see
:mod:`litert_build.build.events`), not from console text.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litert_build.build.status import TaskStatus


@dataclass
class BuildResult:
    """What one run did: its exit code, one event per task (task, outcome, seconds, artifact,
    verification or failure message) and the console output."""

    returncode: int
    events: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["outcome"] == "failed"]

    def outcome(self, task: str) -> str | None:
        """``converted``, ``restored``, ``up to date``, ``failed``, ... of ``convert:m:v`` etc."""
        return next((e["outcome"] for e in self.events if e["task"] == task), None)


@contextlib.contextmanager
def _restored() -> Iterator[None]:
    """Undo what the CLI does to the process: the working folder and environment variables."""
    cwd, env = os.getcwd(), dict(os.environ)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)


def _run(args: list[str]) -> BuildResult:
    from litert_build.cli.main import main

    with tempfile.TemporaryDirectory(prefix="litert-build-api-") as tmp, _restored():
        events = Path(tmp) / "events.jsonl"
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["--events", str(events), *args])
        lines = events.read_text().splitlines() if events.is_file() else []
        return BuildResult(code, [json.loads(line) for line in lines], out.getvalue())


def build(manifest: str | os.PathLike[str] = "models.yaml", targets: Sequence[str] = (),
          parallel: int = 1, cache: bool = True, scheduler: str | None = None) -> BuildResult:
    """Build what is out of date in ``manifest`` (``targets``: doit task names such as
    ``convert:digits:int8`` or ``bundle:mobile``; default: everything); ``scheduler``: a Dask
    scheduler's address to convert on (as ``--scheduler``; ``"off"``: here)."""
    args = ["--manifest", str(Path(manifest).resolve()), "-n", str(parallel), *targets]
    if scheduler is not None:
        args += ["--scheduler", scheduler]
    return _run(args + ([] if cache else ["--no-cache"]))


def status(manifest: str | os.PathLike[str] = "models.yaml",
           patterns: Sequence[str] = ()) -> list[TaskStatus]:
    """Every task matching ``patterns`` (``model`` or ``model:variant``, globs) and why it would
    be built; raises :class:`litert_build.errors.ManifestError` for a file that cannot be read."""
    from litert_build.build.status import statuses
    from litert_build.plan.specs import make_plan

    with _restored():
        path = Path(manifest).resolve()
        os.chdir(path.parent)
        return statuses(make_plan(path).specs, list(patterns))


def export(source: str | os.PathLike[str], output: str | os.PathLike[str],
           variants: Sequence[str] = ("float32",), task: str = "", calibration: str = "",
           name: str = "", version: str = "1") -> BuildResult:
    """Convert one model (a .keras/.h5 file, ``module:function`` or a KerasHub preset folder) into
    ``output``, as ``litert-build export`` does."""
    args = ["export", str(source), "-o", str(output), "--model-version", version]
    args += [part for kind in variants for part in ("--variant", kind)]
    for option, value in (("--task", task), ("--calibration", calibration), ("--name", name)):
        if value:
            args += [option, str(value)]
    return _run(args)
