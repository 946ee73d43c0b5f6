"""Fixtures of the end-to-end tier: builds through ``litert-build`` (doit) in subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared.project import copy_example, run_build


@pytest.fixture(scope="session")
def example_project(tmp_path_factory) -> Path:
    """A copy of the repository's example (models.yaml + examples/), built once."""
    project = copy_example(tmp_path_factory.mktemp("example"))
    first = run_build(project)
    assert first.returncode == 0, first.output
    project.joinpath("first_build.log").write_text(first.output)
    return project
