"""Upstream ``model.export(format="litert")`` vs litert-build, per KerasHub family, in one run.

    python bench/kerashub.py [family ...]

For every tiny family in tests/shared/hub_families.py: export it with Keras' own LiteRT export
and build it with litert-build (sequence length 16, the registry's image/audio sizes),
each in a fresh process, and report whether the artifact runs in the stock
``ai_edge_litert`` interpreter, whether all its input shapes are static, the wall time,
the peak RSS of the exporting processes and the artifact size.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from shared.hub import BUILDERS, FAMILIES, families_manifest  # noqa: E402

UPSTREAM = """
import os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
sys.path.insert(0, ".")
import hub_families
model = getattr(hub_families, sys.argv[1])()
model.export(sys.argv[2], format="litert", verbose=False)
"""

# Runs a command and prints the peak RSS (KiB) of it and everything it waited for.
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

PROBE = """
import json, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
data = open(sys.argv[1], "rb").read()
report = {"size": len(data), "static": None, "runs": False, "error": None}
try:
    it = Interpreter(model_content=data)
    runner = it.get_signature_runner()
    details = runner.get_input_details()
    report["static"] = all(-1 not in d["shape_signature"] for d in details.values())
    rng = np.random.default_rng(0)
    feed = {}
    for name, d in details.items():
        shape = [16 if s == -1 else int(s) for s in d["shape_signature"]]
        if np.issubdtype(d["dtype"], np.floating):
            feed[name] = rng.standard_normal(shape).astype(d["dtype"])
        elif d["dtype"] == np.bool_:
            feed[name] = np.ones(shape, dtype=bool)
        else:
            feed[name] = np.ones(shape, dtype=d["dtype"])
    runner(**feed)
    report["runs"] = True
except Exception as exc:
    report["error"] = str(exc).splitlines()[0][:80]
print(json.dumps(report))
"""


def measure(cwd: Path, *command: str) -> tuple[int, float, int]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], cwd=cwd, text=True,
                         stdout=subprocess.PIPE).stdout.split()
    return int(out[0]), time.perf_counter() - start, int(out[1])


def probe(path: Path) -> dict:
    if not path.is_file():
        return {"size": 0, "static": None, "runs": False, "error": "no artifact"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    names = sys.argv[1:] or list(FAMILIES)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copy(BUILDERS, project / "hub_families.py")
        (project / "models.yaml").write_text(families_manifest(names))
        (project / "upstream.py").write_text(UPSTREAM)
        for name in names:
            up_path = project / f"{name}.upstream.tflite"
            code_up, t_up, rss_up = measure(project, sys.executable, "upstream.py", name, str(up_path))
            code_lb, t_lb, rss_lb = measure(project, sys.executable, "-m", "litert_build.cli.main",
                                            "--no-cache", f"convert:{name}:float32")
            ours = project / "artifacts" / name / "1" / f"{name}.float32.tflite"
            rows.append((name, probe(up_path), t_up, rss_up, probe(ours), t_lb, rss_lb))
    print("| family | upstream: runs in stock runtime | static shapes | time s | peak RSS MB | size KB "
          "| litert-build: runs | static | time s | peak RSS MB | size KB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, up, t_up, rss_up, lb, t_lb, rss_lb in rows:
        def runs(r):
            if r["runs"]:
                return "yes"
            return "no: needs Flex ops" if "Select TensorFlow op" in (r["error"] or "") else (
                f"no ({r['error']})")
        print(f"| {name} | {runs(up)} | {up['static']} | {t_up:.1f} | {rss_up / 1024:.0f} | "
              f"{up['size'] / 1024:.0f} | {runs(lb)} | {lb['static']} | {t_lb:.1f} | "
              f"{rss_lb / 1024:.0f} | {lb['size'] / 1024:.0f} |")


if __name__ == "__main__":
    main()
