"""The unit tier: in-process tests, no conversion worker, no ``litert-build`` build.

Every test runs in its own temporary folder, so what the code under test writes relative to
the working folder (the stat cache of :func:`~litert_build.plan.specs.make_plan` goes to
``./.litert-build/``) lands there, never in the checkout.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
