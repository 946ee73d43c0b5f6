"""The Python API (litert_build.api): the CLI's build, status and export as calls with typed
results, in the caller's process without importing TensorFlow there."""

from __future__ import annotations

import json
import subprocess
import sys

from shared.project import cli_env, write_project
from shared.zoo import ALPHA_BETA_PROJECT

SCRIPT = """
import json, os, sys
import litert_build.api as lb

manifest = sys.argv[1]
first = lb.build(manifest)
second = lb.build(manifest)
states = [(s.task, s.state) for s in lb.status(manifest, ["alpha"])]
exported = lb.export("zoo:beta", "out", variants=["float32", "float16"])
print(json.dumps({
    "first": [first.returncode, {e["task"]: e["outcome"] for e in first.events}],
    "second": [second.ok, second.outcome("convert:alpha:float32")],
    "states": states,
    "export": [exported.ok, sorted(e["task"] for e in exported.events)],
    "verified": first.events[0]["verification"]["status"],
    "cwd_kept": os.getcwd() == sys.argv[2],
    "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")),
}))
"""


def test_build_status_and_export_from_python(tmp_path):
    project = write_project(tmp_path / "p", ALPHA_BETA_PROJECT)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(project / "models.yaml"), str(project)],
                          cwd=project, capture_output=True, text=True, env=cli_env(project))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["first"] == [0, {"convert:alpha:float32": "converted", "convert:beta:float32": "converted",
                                   "report": "written"}]
    assert result["second"] == [True, "up to date"]
    assert result["states"] == [["convert:alpha:float32", "up to date"]]
    assert result["export"] == [True, ["convert:beta:float16", "convert:beta:float32"]]
    assert result["verified"] == "passed" and result["cwd_kept"] is True
    assert result["heavy"] == []
    assert (project / "out/artifacts/beta/1/beta.float16.tflite").is_file()
