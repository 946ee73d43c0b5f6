"""AOT compilation of a built variant for one NPU target, with ``ai_edge_litert.aot``.

The vendor plugins of ai-edge-litert need vendor SDKs that are not on PyPI: their
``ai-edge-litert-sdk-*`` packages download them at install time and install *empty*
where that fails. The plugin then fails deep inside a subprocess, so the SDK is checked
here first (:func:`check_sdk`) and a target without one fails with the package to
install. A compiled model must contain a dispatch op: a pass-through copy of the input
is never accepted as compiled.

Only Intel OpenVINO works from PyPI packages alone (``openvino`` of the exact version
its plugin links against), and it can compile for the CPU device
(``backend_options: {intel_openvino_graph_backends: cpu}``): that is the path tested
here, run with LiteRT's ``CompiledModel`` (the plain ``Interpreter`` cannot run dispatch
ops).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litert_build.errors import ConversionError

if TYPE_CHECKING:
    from litert_build.config.settings import Verify

# vendor -> (SDK Python module or None, what to install). Intel needs the openvino wheel
# its plugin was linked against (libopenvino.so.2631 in ai-edge-litert 2.3).
SDKS: dict[str, tuple[str | None, str]] = {
    "intel_openvino": (None, "openvino==2026.3.1"),
    "qualcomm": ("ai_edge_litert_sdk_qualcomm", "ai-edge-litert-sdk-qualcomm==2.3.*"),
    "mediatek": ("ai_edge_litert_sdk_mediatek", "ai-edge-litert-sdk-mediatek==2.3.*"),
    "google_tensor": ("ai_edge_litert_sdk_google_tensor", "ai-edge-litert-sdk-google-tensor==2.3.*"),
    "samsung": ("ai_edge_litert_sdk_samsung", "ai-edge-litert-sdk-samsung==2.3.*"),
}
OPENVINO_VERSION = "2026.3.1"
DISPATCH_OP = "DISPATCH_OP"


def check_sdk(vendor: str) -> None:
    """Fail before compiling when the vendor's SDK is missing or empty."""
    module, install = SDKS[vendor]
    if vendor == "intel_openvino":
        from litert_build.versions import aot_versions

        installed = aot_versions(vendor)["openvino"]
        if installed != OPENVINO_VERSION:
            raise ConversionError(
                f"target {vendor}: the Intel OpenVINO compiler plugin of ai-edge-litert 2.3 needs the "
                f"openvino package {OPENVINO_VERSION} (found: {installed}). pip install '{install}'.")
        return
    if vendor == "google_tensor" and os.environ.get("GOOGLE_TENSOR_COMPILER_LIB"):
        return
    if importlib.util.find_spec(module) is None:
        raise ConversionError(
            f"target {vendor}: its SDK is not installed. pip install '{install}' on a machine that "
            f"can download the vendor SDK (the package fetches it at install time), then build again.")
    sdk = importlib.import_module(module)
    try:
        libs = sdk.path_to_sdk_libs()
    except Exception as exc:  # some take arguments or raise when the download failed
        libs, why = None, f" ({type(exc).__name__}: {exc})"
    else:
        why = ""
    folder = Path(str(libs)) if libs else None
    if folder is None or not folder.is_dir() or not any(folder.rglob("*.so*")):
        raise ConversionError(
            f"target {vendor}: the SDK package {module} is installed but holds no SDK libraries"
            f"{why} (its download failed at install time). Reinstall '{install}' where the vendor's "
            "download site is reachable.")


def _target(vendor: str, soc: str):
    module = importlib.import_module(f"ai_edge_litert.aot.vendors.{vendor}.target")
    return module.Target(soc_model=module.SocModel(soc))


def compile_for_target(base: Path, vendor: str, soc: str, options: dict[str, Any]) -> tuple[bytes, str]:
    """(compiled flatbuffer, compilation report) of ``base`` for ``vendor/soc``."""
    from ai_edge_litert.aot import aot_compile as aot_lib
    from ai_edge_litert.aot.core import aot_types

    check_sdk(vendor)
    config = aot_types.CompilationConfig(_target(vendor, soc), **options)
    with tempfile.TemporaryDirectory(prefix="litert-build-aot-") as out:
        try:
            result = aot_lib.aot_compile(str(base), output_dir=out, config=config, keep_going=True)
        except (NotImplementedError, ValueError, RuntimeError) as exc:
            raise ConversionError(f"target {vendor}/{soc}: compilation failed: {exc}") from exc
        if result.failed_backends:
            _, error = result.failed_backends[0]
            raise ConversionError(f"target {vendor}/{soc}: the compiler plugin failed: "
                                  f"{_plugin_log(str(error))}")
        if not result.models_with_backend:
            raise ConversionError(f"target {vendor}/{soc}: the compiler produced no model.")
        _, model = result.models_with_backend[0]
        data = model.model_bytes if model.in_memory else Path(model.path).read_bytes()
        report = str(model.partition_stats) if model.partition_stats is not None else ""
    return data, report


def _plugin_log(error: str) -> str:
    """The plugin's own error log, which the exception only points to."""
    match = re.search(r"See (\S+\.error)", error)
    if match and Path(match.group(1)).is_file():
        text = Path(match.group(1)).read_text(errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        return f"{error.strip()} Log: " + " | ".join(lines[-8:])[:2000]
    return error.strip()[:2000]


def offload_summary(report: str) -> dict[str, Any]:
    """'Subgraph 0 fully compiled: 3 / 3 ops offloaded to 1 partitions.' -> numbers."""
    found = re.findall(r"(\d+)\s*/\s*(\d+) ops offloaded to (\d+) partitions?", report)
    offloaded = sum(int(a) for a, _, _ in found)
    total = sum(int(b) for _, b, _ in found)
    return {"ops_offloaded": offloaded, "ops_total": total, "ops_on_cpu": total - offloaded,
            "partitions": sum(int(c) for _, _, c in found), "report": report.strip()}


def compiled_model(compiled: bytes, options: dict[str, Any]):
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator
    from ai_edge_litert.options import (
        CpuOptions,
        IntelOpenVinoGraphBackend,
        IntelOpenVinoOptions,
        Options,
    )

    device = str(options.get("intel_openvino_graph_backends", "npu")).lower()
    backend = {"cpu": IntelOpenVinoGraphBackend.CPU, "gpu": IntelOpenVinoGraphBackend.GPU}.get(
        device, IntelOpenVinoGraphBackend.NPU)
    return CompiledModel.from_buffer(compiled, options=Options(
        hardware_accelerators=HardwareAccelerator.NPU, cpu_options=CpuOptions(num_threads=1),
        intel_openvino_options=IntelOpenVinoOptions(graph_backend=backend)))


def verify_against_base(compiled: bytes, base: bytes, options: dict[str, Any],
                        verify: Verify) -> dict[str, Any]:
    """Run the compiled model with ``CompiledModel`` and the base variant in the stock
    interpreter on the same seeded inputs; compare every output with ``verify``'s metric."""
    from ai_edge_litert.interpreter import Interpreter

    from litert_build.errors import VerificationError

    from .compare import SIGNATURE_KEY

    interpreter = Interpreter(model_content=base)
    runner = interpreter.get_signature_runner(SIGNATURE_KEY)
    try:
        model = compiled_model(compiled, options)
    except Exception as exc:
        raise VerificationError(f"the compiled artifact does not load with CompiledModel: {exc}") from exc
    got, want = _run_both(runner, model, verify)
    report = {"status": "passed", "runtime": "ai_edge_litert.compiled_model.CompiledModel",
              "reference": "the base variant in ai_edge_litert.interpreter",
              "samples": verify.samples, "seed": verify.seed, "metric": verify.metric,
              **{k: getattr(verify, k) for k in verify.given("atol", "rtol", "min_sqnr_db")},
              "outputs": {}}
    failures = _compare(got, want, verify, report["outputs"])
    if failures:
        raise VerificationError("the compiled artifact disagrees with its base variant: "
                                + "; ".join(failures))
    return report


def _run_both(runner, model, verify: Verify) -> tuple[dict[str, list], dict[str, list]]:
    """(the compiled model's outputs, the base's) by name, per sample, on seeded inputs: floats
    ~ N(0, 1), integers uniform in ``int_range``."""
    import numpy as np

    from .compare import SIGNATURE_KEY

    outputs = model.get_output_tensor_details(SIGNATURE_KEY)
    rng = np.random.default_rng(verify.seed)
    low, high = verify.int_range
    got: dict[str, list] = {}
    want: dict[str, list] = {}
    for _ in range(verify.samples):
        feed = {}
        for name, detail in runner.get_input_details().items():
            dtype = np.dtype(detail["dtype"])
            shape = detail["shape"]
            feed[name] = (rng.standard_normal(shape) if np.issubdtype(dtype, np.floating)
                          else rng.integers(low, high, size=shape)).astype(dtype)
        expected = runner(**feed)
        ins = {n: model.create_input_buffer_by_name(SIGNATURE_KEY, n) for n in feed}
        outs = {n: model.create_output_buffer_by_name(SIGNATURE_KEY, n) for n in outputs}
        for name, array in feed.items():
            ins[name].write(array)
        model.run_by_name(SIGNATURE_KEY, ins, outs)
        for name, buffer in outs.items():
            reference = np.asarray(expected[name])
            got.setdefault(name, []).append(
                np.asarray(buffer.read(reference.size, reference.dtype)).reshape(reference.shape))
            want.setdefault(name, []).append(reference)
    return got, want


def _compare(got: dict[str, list], want: dict[str, list], verify: Verify,
             records: dict[str, Any]) -> list[str]:
    """Why outputs fail ``verify``'s metric (empty: all pass); each checked output's errors go
    into ``records``."""
    import numpy as np

    from .compare import check_metric, non_finite_problem

    failures = []
    for name in sorted(got):
        a = np.concatenate(got[name]).astype(np.float64)
        b = np.concatenate(want[name]).astype(np.float64)
        problem = non_finite_problem(name, a, b)
        if problem:
            failures.append(problem)
            continue
        ok, value = check_metric(verify.metric, a, b, verify.atol or 0.0, verify.rtol or 0.0,
                                 verify.min_sqnr_db)
        diff = np.abs(a - b)
        records[name] = {"max_abs_error": float(diff.max(initial=0.0)),
                         "mean_abs_error": float(diff.mean()) if diff.size else 0.0}
        if not ok:
            failures.append(f"{name}: {verify.metric} {value:.3g} over the bound")
    return failures
