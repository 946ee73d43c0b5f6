"""The worker's step runner: a conversion is a sequence of named steps (see
:mod:`litert_build.worker.steps`), and the name of the step running is what the message of an
unexpected failure says the worker was doing ("internal error while converting: ...").

Imports nothing heavy: ``main`` reads :func:`doing` after any exception, even a failed import.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_DOING = ["starting the conversion worker"]
_VARIANT = [""]  # the variant a multi-variant worker is on (shown in the progress lines)
_STAMPS: list[tuple[float, str]] = []  # (monotonic time, step) for every step started
PROGRESS_ENV = "LITERT_BUILD_PROGRESS"


def doing() -> str:
    """What the worker is doing now (the running step, or the last one that ran)."""
    return _DOING[0]


def set_doing(what: str) -> None:
    """Say what the worker is doing now: for the message of an unexpected failure, and as a line
    in the progress file the build side shows live (LITERT_BUILD_PROGRESS, when set)."""
    _DOING[0] = what
    _STAMPS.append((time.monotonic(), what))
    progress = os.environ.get(PROGRESS_ENV)
    if progress:
        shown = f"{what} ({_VARIANT[0]})" if _VARIANT[0] else what
        try:
            with open(progress, "a") as fh:
                fh.write(f"{time.time():.3f}\t{shown}\n")
        except OSError:
            pass  # progress is a courtesy; a full disk is reported by the step that writes


def set_variant(variant: str) -> None:
    """Name the variant the next steps are for, in the progress lines of a worker that builds
    several variants of one model ("" for a worker building one)."""
    _VARIANT[0] = variant


def stamp_count() -> int:
    """A bookmark for :func:`timings`: the number of steps started so far."""
    return len(_STAMPS)


def timings(since: int = 0) -> dict[str, float]:
    """Seconds spent in each step started since the bookmark ``since`` (the last one runs until
    now), for the build record's per-step breakdown."""
    stamps = _STAMPS[since:] + [(time.monotonic(), "")]
    spent: dict[str, float] = {}
    for (start, what), (end, _) in zip(stamps, stamps[1:], strict=False):
        spent[what] = round(spent.get(what, 0.0) + end - start, 3)
    return spent


def step(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a function as a step of the worker: while it runs, the worker is ``what``
    (``"loading the model"``), and ``what`` stays the answer of :func:`doing` until the next
    step starts."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            set_doing(what)
            return func(*args, **kwargs)

        return run

    return decorate
