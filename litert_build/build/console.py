"""doit reporter: a line per task as it starts, elapsed times, and a summary at the end.

    .  convert:digits:float32                 (start; doit's own format)
      digits:float32: converted: ... in 5.7s  (finish; printed by the task's action)
    ...
    litert-build: 3 converted, 2 from cache, 1 reused, 4 up to date, 1 failed, 1 bundle in 21.4s
"""

from __future__ import annotations

import os
import time

from doit.reporter import ConsoleReporter

from litert_build.build.events import EventLog
from litert_build.build.sessions import run_specs, start_run


class BuildReporter(ConsoleReporter):
    desc = "litert-build: doit's console output plus a summary of conversions"

    def __init__(self, outstream, options):
        super().__init__(outstream, options)
        self.started = time.monotonic()
        self.counts = {"converted": 0, "restored": 0, "reused": 0, "up to date": 0, "failed": 0,
                       "bundles": 0, "reports": 0}
        self.ran = False
        self.events = EventLog()
        self.failed: dict[str, str] = {}  # model:variant -> message, for the report

    def initialize(self, tasks, selected_tasks):
        super().initialize(tasks, selected_tasks)
        start_run(tasks, selected_tasks)  # which variants of a model one worker may build together
        start_executor()

    def execute_task(self, task):
        if task.actions and task.name[0] != "_":
            self.ran = True
        super().execute_task(task)

    def add_success(self, task):
        super().add_success(task)
        values = task.values or {}
        outcome = values.get("outcome")
        if outcome in self.counts:
            self.counts[outcome] += 1
        elif task.name.startswith("bundle:"):
            self.counts["bundles"] += 1
        elif task.name == "report":
            self.counts["reports"] += 1
        if task.actions:
            seconds = {"seconds": values["seconds"]} if "seconds" in values else {}
            self.events.emit(task, outcome or "written", **seconds)

    def add_failure(self, task, fail):
        if task.name[0] != "_" and ":" in task.name:
            self.counts["failed"] += 1
        if task.name.startswith("convert:"):
            self.failed[task.name.split(":", 1)[1]] = fail.get_msg().strip()
        self.events.emit(task, "failed", message=fail.get_msg().strip())
        super().add_failure(task, fail)

    def skip_uptodate(self, task):
        if task.name.startswith("convert:"):
            self.counts["up to date"] += 1
        self.events.emit(task, "up to date")
        super().skip_uptodate(task)

    def complete_run(self):
        super().complete_run()
        if self.failed and not self.counts["reports"]:  # doit skipped the report task
            from litert_build.build.tasks import report_after_failures

            report_after_failures(self.failed)
            self.counts["reports"] += 1
        c = self.counts
        parts = [f"{c['converted']} converted", f"{c['restored']} from cache"]
        if c["reused"]:
            parts.append(f"{c['reused']} reused")
        parts += [f"{c['up to date']} up to date", f"{c['failed']} failed"]
        if c["bundles"]:
            parts.append(f"{c['bundles']} bundle{'s' if c['bundles'] > 1 else ''} written")
        if c["reports"]:
            parts.append("report written")
        if self.ran or c["up to date"] or c["failed"]:
            self.write(f"litert-build: {', '.join(parts)} in {time.monotonic() - self.started:.1f}s\n")


def start_executor() -> None:
    """Connect to the run's Dask scheduler, if it has one, before any task runs: one clear error
    (doit's runtime error, exit status 2) when it cannot be reached."""
    from doit.exceptions import InvalidTask

    from litert_build.build.cluster.connect import ClusterUnavailable, reset, scheduler_address, start
    from litert_build.build.convert_action import NO_CACHE_ENV

    reset()
    if not run_specs():  # nothing to convert in this run: no need for the cluster
        return
    from litert_build.build.tasks import current_manifest

    try:
        manifest = current_manifest()
    except Exception:  # noqa: BLE001 - its tasks say what is wrong with it
        return
    address = scheduler_address(manifest.scheduler)
    if address is None:
        return
    try:
        start(address, manifest.cache if not os.environ.get(NO_CACHE_ENV) else None)
    except ClusterUnavailable as exc:
        raise InvalidTask(f"litert-build: {exc}") from None
