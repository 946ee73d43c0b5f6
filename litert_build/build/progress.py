"""Live progress of a conversion: the worker appends the name of each step it starts to a file
(:func:`litert_build.worker.runner.set_doing`); a thread of the convert action shows them with
the time since the task started. On a terminal one line refreshes in place; in a log each step
is a line of its own:

      digits:int8 ... tracing the serving function (4.2s)
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

POLL_SECONDS = 0.2


def say(line: str, stream=None) -> None:
    """Print one line in one write: on a cluster build doit's runner threads print at once, and
    ``print`` writes the text and its newline separately (lines would run into each other)."""
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


class ProgressWatcher:
    """Shows the steps written to ``path`` until :meth:`stop`."""

    def __init__(self, path: Path, where: str) -> None:
        self.path, self.where = path, where
        self.started = time.time()  # the worker stamps its steps with the wall clock
        self.shown = 0
        self.tty = sys.stdout.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="litert-build-progress", daemon=True)

    def __enter__(self) -> ProgressWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._show_new()
        if self.tty and self.shown:
            sys.stdout.write("\r\033[K")  # the result line replaces the refreshing one
            sys.stdout.flush()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._show_new()

    def _show_new(self) -> None:
        try:
            steps = self.path.read_text().splitlines()
        except OSError:
            return
        for entry in steps[self.shown:]:
            stamp, _, step = entry.partition("\t")
            try:
                elapsed = max(0.0, float(stamp) - self.started)
            except ValueError:
                continue
            line = f"  {self.where} ... {step} ({elapsed:.1f}s)"
            sys.stdout.write(f"\r\033[K{line}" if self.tty else line + "\n")
        if len(steps) > self.shown:
            self.shown = len(steps)
            sys.stdout.flush()
