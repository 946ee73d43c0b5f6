"""Size, error, accuracy and build time of every variant kind, measured in one run.

    python bench/variants.py

Builds the repository's example (digits: an MLP with 6.6k weights, scored on 360 held-out
digits) and a weight-dominated MLP (64-256-256-10, 84k weights, calibrated on 100 seeded
samples) with every variant kind, including ai-edge-quantizer int8/int4 recipes (kind: aeq),
then prints one table row per artifact from the JSON
manifests. Ratios are against the float32 conversion of the same model in the same run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from shared.zoo import WIDE, module  # noqa: E402 - the tests' weight-dominated MLP

WIDE_MODEL = {
    "version": "1",
    "source": {"builder": "bench_wide:wide"},
    "calibration": {"npz": "calib.npz", "samples": 100},
    "variants": {
        "float32": {}, "dynamic_range": {}, "float16": {}, "int8": {}, "int16x8": {},
        "aeq_wi8": {"kind": "aeq", "recipe": "weight_only_wi8_afp32"},
        "aeq_wi4": {"kind": "aeq", "recipe": "weight_only_wi4_afp32"},
        "aeq_dyn4_b32": {"kind": "aeq", "recipe": "dynamic_wi4b32_afp32"},
    },
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(REPO / "examples", project / "examples",
                        ignore=shutil.ignore_patterns("__pycache__"))
        manifest = yaml.safe_load((REPO / "models.yaml").read_text())
        manifest["models"]["wide"] = WIDE_MODEL
        manifest.pop("bundles", None)
        (project / "models.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        (project / "bench_wide.py").write_text(module(WIDE))
        rng = np.random.default_rng(0)
        np.savez(project / "calib.npz", x=rng.standard_normal((120, 64)).astype("float32"))
        proc = subprocess.run([sys.executable, "-m", "litert_build.cli.main", "--no-cache"], cwd=project,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stdout)
        seconds = {f"{m}:{v}": float(t) for m, v, t in
                   re.findall(r"^  (\w+):(\w+): .* in ([\d.]+)s$", proc.stdout, flags=re.M)}
        print(f"{'artifact':24} {'bytes':>8} {'ratio':>6} {'max abs err':>11} {'mean abs err':>12} "
              f"{'accuracy (float)':>17} {'float ops':>10} {'build s':>7}")
        for path in sorted(project.glob("artifacts/*/*/*.json")):
            if path.name.endswith(".intoto.json"):
                continue  # provenance statements
            meta = json.loads(path.read_text())
            if meta["model"] not in ("digits", "wide"):
                continue
            name = f"{meta['model']}:{meta['variant']}"
            outs = meta["verification"]["outputs"].values()
            max_err = max(o["max_abs_error"] for o in outs)
            mean_err = max(o["mean_abs_error"] for o in outs)
            ev = meta.get("eval")
            acc = f"{ev['variant']:.4f} ({ev['keras_float']:.4f})" if ev else "-"
            q = meta["quantization"]
            print(f"{name:24} {meta['artifact']['size']:>8} {q['size_ratio_vs_float32']:>6.3f} "
                  f"{max_err:>11.2e} {mean_err:>12.2e} {acc:>17} {len(q['float_ops']):>10} "
                  f"{seconds.get(name, float('nan')):>7.1f}")


if __name__ == "__main__":
    main()
