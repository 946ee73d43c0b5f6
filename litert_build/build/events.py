"""``--events FILE``: one JSON line per task outcome, for pipelines that should not parse the
console. Written by the run's reporter (:mod:`litert_build.build.console`), in doit's main
process whatever ``-n``; the file is started afresh by each run.

    {"task": "convert:digits:int8", "outcome": "converted", "seconds": 2.31,
     "artifact": {"file": "digits.int8.tflite", "size": 23456, "sha256": "..."},
     "verification": {"status": "passed", "metric": "sqnr", "max_abs_error": 0.01, "min_sqnr_db": 31.2}}

Outcomes: ``converted``, ``restored`` (from the artifact cache), ``reused`` (built by another
run), ``up to date``, ``failed`` (with ``message``), ``written`` (a bundle or the report).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from litert_build.records import max_abs_error, worst_sqnr_db

EVENTS_ENV = "LITERT_BUILD_EVENTS"


class EventLog:
    """Appends events to the file named by LITERT_BUILD_EVENTS (nothing when unset)."""

    def __init__(self) -> None:
        name = os.environ.get(EVENTS_ENV)
        self.path = Path(name) if name else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("")

    def emit(self, task: Any, outcome: str, **extra: Any) -> None:
        named = ":" in task.name or task.name == "report"  # not doit's group tasks
        if self.path is None or task.name.startswith("_") or not named:
            return
        event = {"task": task.name, "outcome": outcome, **extra, **_described(task)}
        with self.path.open("a") as fh:
            fh.write(json.dumps(event, sort_keys=True) + "\n")


def _described(task: Any) -> dict[str, Any]:
    """What the task's targets say: the artifact and its verification (convert tasks), or the
    written file's size (bundles, report)."""
    manifests = [t for t in task.targets if t.endswith(".json") and not t.endswith(".intoto.json")]
    if task.name.startswith("convert:") and manifests:
        try:
            meta = json.loads(Path(manifests[0]).read_text())
        except (OSError, ValueError):
            return {}
        verification = meta.get("verification") or {}
        return {"artifact": meta.get("artifact"),
                "verification": {"status": verification.get("status"),
                                 "metric": verification.get("metric"),
                                 "max_abs_error": max_abs_error(verification),
                                 "min_sqnr_db": worst_sqnr_db(verification)}}
    files = [Path(t) for t in task.targets if Path(t).is_file()]
    return {"files": {f.name: f.stat().st_size for f in files}} if files else {}
