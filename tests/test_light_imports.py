"""Importing the package, listing tasks and an up-to-date build never import TensorFlow/Keras."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

CHECK = """
import sys
from litert_build.cli.main import main
import litert_build, litert_build.plan.specs, litert_build.build.tasks, litert_build.config.models_yaml
rc = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax', 'ai_edge_litert'))
print('HEAVY', heavy)
sys.exit(rc)
"""


def run_check(cwd, *args):
    proc = subprocess.run([sys.executable, "-c", CHECK, *args], cwd=cwd, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc.returncode, proc.stdout


def test_list_imports_no_tensorflow():
    rc, out = run_check(REPO, "list", "--all")
    assert rc == 0, out
    assert "convert:digits:float32" in out
    assert "HEAVY []" in out

