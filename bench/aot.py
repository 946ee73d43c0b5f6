"""AOT compile for Intel OpenVINO (CPU device) vs the portable artifact, measured in one run.

    python bench/aot.py

Builds a weight-dominated MLP (64-256-256-10) as float32 and dynamic_range, compiles both
for intel_openvino/LNL with ``intel_openvino_graph_backends: cpu`` through litert-build,
then times, in one process: load and median single-thread invoke of the portable
artifact in the stock Interpreter, and of the compiled one with CompiledModel.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared.zoo import WIDE, module  # noqa: E402 - the tests' weight-dominated MLP

MANIFEST = '''
schema: 1
models:
  wide:
    version: "1"
    source: {builder: zoo:wide}
    variants:
      float32: {}
      dynamic_range: {}
      npu: {kind: aot, base: float32, targets: [intel_openvino/LNL],
            backend_options: {intel_openvino_graph_backends: cpu}}
      npu_dr: {kind: aot, base: dynamic_range, targets: [intel_openvino/LNL],
               backend_options: {intel_openvino_graph_backends: cpu}}
'''

RUNS = 500


def timed_runs(call) -> float:
    for _ in range(20):
        call()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    from litert_build.export.aot import compiled_model

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "zoo.py").write_text(module(WIDE))
        (project / "models.yaml").write_text(MANIFEST)
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "litert_build.cli.main", "--no-cache"], cwd=project,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        total = time.perf_counter() - start
        print(f"build of 4 artifacts: {total:.1f} s")
        for line in out.splitlines():
            if line.startswith("  wide:"):
                print(line.strip())
        folder = project / "artifacts/wide/1"
        x = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)
        print(f"\n| artifact | bytes | runtime | load ms | invoke µs (median of {RUNS}, 1 thread) |")
        print("|---|---|---|---|---|")
        pairs = (("float32", "npu.intel_openvino_LNL"), ("dynamic_range", "npu_dr.intel_openvino_LNL"))
        for base, compiled in pairs:
            data = (folder / f"wide.{base}.tflite").read_bytes()
            t = time.perf_counter()
            it = Interpreter(model_content=data, num_threads=1)
            it.allocate_tensors()
            load = (time.perf_counter() - t) * 1000
            inp = it.get_input_details()[0]["index"]

            def run_interpreter(it=it, inp=inp):
                it.set_tensor(inp, x)
                it.invoke()

            print(f"| wide.{base} | {len(data):,} | Interpreter (XNNPACK) | {load:.1f} | "
                  f"{timed_runs(run_interpreter):.0f} |")
            cdata = (folder / f"wide.{compiled}.tflite").read_bytes()
            meta = json.loads((folder / f"wide.{compiled}.json").read_text())
            t = time.perf_counter()
            model = compiled_model(cdata, {"intel_openvino_graph_backends": "cpu"})
            ins = {"x": model.create_input_buffer_by_name("serving_default", "x")}
            outs = {"probs": model.create_output_buffer_by_name("serving_default", "probs")}
            load = (time.perf_counter() - t) * 1000

            def run_compiled(model=model, ins=ins, outs=outs):
                ins["x"].write(x)
                model.run_by_name("serving_default", ins, outs)

            err = max(o["max_abs_error"] for o in meta["verification"]["outputs"].values())
            offload = meta["aot"]["offload"]
            print(f"| wide.{compiled} | {len(cdata):,} | CompiledModel (OpenVINO CPU) | {load:.1f} | "
                  f"{timed_runs(run_compiled):.0f} | max abs error vs base {err:.2g}, "
                  f"{offload['ops_offloaded']}/{offload['ops_total']} ops offloaded |")


if __name__ == "__main__":
    main()
