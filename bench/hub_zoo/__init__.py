"""Tiny seeded KerasHub models for ``bench/hub_sweep.py``: one builder per task class (and per
backbone used bare) that keras-hub ships, built from constructors, no network.

Each builder is registered with :func:`entry` under its function name, with the family and the
class it builds, so the sweep can name both even when the build fails. The modules are copied into
the sweep's project as the package ``hub_zoo`` (``source: {builder: hub_zoo.text:bert_masked_lm}``).
"""

from __future__ import annotations

from collections.abc import Callable

ZOO: dict[str, tuple[str, str, str]] = {}  # builder target -> (family, class name, note)


def entry(family: str, task_class: str, note: str = "") -> Callable[[Callable], Callable]:
    """Register a builder: ``family`` as the README's table names it (``"BERT"``), the KerasHub
    class it returns, and a note for the table (what was left at its default, why a setting)."""

    def register(builder: Callable) -> Callable:
        module = builder.__module__.rsplit(".", 1)[-1]
        ZOO[f"hub_zoo.{module}:{builder.__name__}"] = (family, task_class, note)
        return builder

    return register


def seed(value: int = 0) -> None:
    import keras

    keras.utils.set_random_seed(value)
