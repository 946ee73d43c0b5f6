"""The unit tier (``pytest tests/unit``, well under a minute): no conversion worker and no build.

Tests call the code in this process; the only child processes are short commands that build
nothing: ``litert-build publish``, ``bundle verify`` and ``list`` on hand-made inputs, ruff
and import-linter. Every test runs in its own temporary folder, so what the code under test
writes relative to the working folder (the stat cache of
:func:`~litert_build.plan.specs.make_plan` goes to ``./.litert-build/``) lands there, not in
the checkout.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
