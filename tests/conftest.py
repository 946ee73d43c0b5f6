"""Shared helpers: run litert-build (doit) in a project folder and read what it did."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    returncode: int
    output: str

    @property
    def executed(self) -> list[str]:
        """Tasks doit ran (".  name"), as opposed to up-to-date ones ("-- name")."""
        return re.findall(r"^\.  (convert:\S+)", self.output, flags=re.M)

    @property
    def converted(self) -> list[str]:
        """Tasks whose conversion worker ran (not reused or restored from the cache)."""
        return re.findall(r"^  (\S+): converted: ", self.output, flags=re.M)

    @property
    def restored(self) -> list[str]:
        return re.findall(r"^  (\S+): restored from cache ", self.output, flags=re.M)

    @property
    def up_to_date(self) -> list[str]:
        return re.findall(r"^-- (convert:\S+)", self.output, flags=re.M)


def run_build(project: Path, *args: str, env: dict[str, str | None] | None = None) -> Run:
    """`litert-build ARGS` in ``project`` (a folder holding models.yaml).

    Each project gets its own artifact cache (``<project>/.cache``) unless ``env`` says
    otherwise, so no test restores what another test built. A ``None`` in ``env``
    removes that variable.
    """
    full_env = dict(os.environ)
    full_env["LITERT_BUILD_CACHE"] = str(project / ".cache")
    for name, value in (env or {}).items():
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value
    proc = subprocess.run(
        [sys.executable, "-m", "litert_build.cli.main", *args],
        cwd=project, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return Run(proc.returncode, proc.stdout)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def example_project(tmp_path_factory) -> Path:
    """A copy of the repository's example (models.yaml + examples/), built once."""
    project = tmp_path_factory.mktemp("example")
    shutil.copy(REPO / "models.yaml", project / "models.yaml")
    shutil.copytree(REPO / "examples", project / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))
    first = run_build(project)
    assert first.returncode == 0, first.output
    project.joinpath("first_build.log").write_text(first.output)
    return project
