"""A test project: write its files, run ``litert-build`` (doit) in it, read what it did."""

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

REPO = Path(__file__).resolve().parents[2]


def _lines(pattern: str, doc: str) -> property:
    """A property of a :class:`Run`: the first group of every output line ``pattern`` matches."""
    return property(lambda run: re.findall(pattern, run.output, flags=re.M), doc=doc)


@dataclass
class Run:
    returncode: int
    output: str

    executed = _lines(r"^\.  (convert:\S+)", 'Tasks doit ran (".  name"), as opposed to up-to-date ones.')
    converted = _lines(r"^  (\S+): converted: ", "Tasks a conversion worker built (not reused or restored).")
    restored = _lines(r"^  (\S+): restored from cache ", "Tasks restored from the artifact cache.")
    up_to_date = _lines(r"^-- (convert:\S+)", 'Tasks doit found up to date ("-- name").')


def cli_env(project: Path, env: dict[str, str | None] | None = None) -> dict[str, str]:
    """The environment of a ``litert-build`` run in ``project``.

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
    return full_env


def start_cli(project: Path, *args: str, env: dict[str, str | None] | None = None,
              **popen) -> subprocess.Popen:
    """``litert-build ARGS`` started in ``project`` (output: stdout and stderr as one text)."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True, **popen}
    return subprocess.Popen([sys.executable, "-m", "litert_build.cli.main", *args],
                            cwd=project, env=cli_env(project, env), **options)


def run_build(project: Path, *args: str, env: dict[str, str | None] | None = None) -> Run:
    """`litert-build ARGS` in ``project`` (a folder holding models.yaml), to the end."""
    proc = start_cli(project, *args, env=env)
    output, _ = proc.communicate()
    return Run(proc.returncode, output)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def write_project(folder: Path, files: dict[str, str]) -> Path:
    """``folder`` with ``files`` (relative path -> text, dedented) written into it."""
    for rel, text in files.items():
        write(folder / rel, text)
    return folder


def build_project(folder: Path, files: dict[str, str], env: dict[str, str | None] | None = None
                  ) -> tuple[Path, Run]:
    """``folder`` with ``files`` written into it, then built once: (folder, the run)."""
    return folder, run_build(write_project(folder, files), env=env)


def run_python(project: Path, code: str, *args: str, backend: str = "tensorflow") -> None:
    """Run ``code`` (e.g. a script that saves a model) in a fresh Python in ``project``, with
    the project folder importable and Keras on ``backend``; fail the test if it fails."""
    script = "import sys\nsys.path.insert(0, '.')\n" + textwrap.dedent(code)
    subprocess.run([sys.executable, "-c", script, *args], cwd=project, check=True,
                   env={**os.environ, "KERAS_BACKEND": backend})


def copy_example(folder: Path) -> Path:
    """``folder`` holding a copy of the repository's example: models.yaml and examples/."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "models.yaml", folder / "models.yaml")
    shutil.copytree(REPO / "examples", folder / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


def artifact(project: Path, model: str, variant: str = "float32", version: str = "1") -> tuple[Path, Path]:
    """(artifact, signature manifest) of one model/variant built in ``project``."""
    folder = project / "artifacts" / model / version
    return folder / f"{model}.{variant}.tflite", folder / f"{model}.{variant}.json"


def manifest_of(project: Path, model: str, variant: str = "float32", version: str = "1") -> dict:
    """The signature manifest of one model/variant built in ``project``."""
    return load_json(artifact(project, model, variant, version)[1])


HEAVY_IMPORTS_CHECK = """
import sys
from litert_build.cli.main import main
import litert_build, litert_build.plan.specs, litert_build.build.tasks, litert_build.config.models_yaml
rc = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax', 'ai_edge_litert'))
print('HEAVY', heavy)
sys.exit(rc)
"""


def run_listing_heavy_imports(cwd: Path, *args: str) -> tuple[int, str]:
    """(exit code, output) of ``litert-build ARGS`` run in a fresh Python in ``cwd``; the last
    line, ``HEAVY [...]``, lists the TensorFlow/Keras/JAX/LiteRT modules it imported."""
    proc = subprocess.run([sys.executable, "-c", HEAVY_IMPORTS_CHECK, *args], cwd=cwd, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc.returncode, proc.stdout
