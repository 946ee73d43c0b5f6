"""Headless Chromium for the report's browser tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REQUIRE_BROWSER_ENV = "LITERT_BUILD_REQUIRE_BROWSER"  # set by .ci/run: a missing browser fails

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    """Debian's chromium. Without it the browser tests are skipped (and say so in pytest's summary)
    on a developer's machine, and fail in CI, which installs it and sets LITERT_BUILD_REQUIRE_BROWSER=1."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = ("the browser tests need Debian's chromium: apt-get install -y chromium "
                   "(.ci/run installs it)")
        if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def rendered_dom(page: Path, profile: Path) -> str:
    """The DOM of ``page`` after its scripts ran, as headless Chromium serializes it."""
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
