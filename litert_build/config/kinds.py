"""Variant kinds: one record per kind, the single place that says what a kind accepts and needs.

Each :class:`Kind` names its own fields (their types and defaults are declared with the other
settings, in :mod:`litert_build.config.settings`), whether it needs calibration
data, its default verification gate (and the absolute gate a user selects by giving
``atol``/``rtol``), and whether its large weights must end up quantized. models.yaml
validation, variant resolution and the README's tables read these records; the JSON Schema's
``kind`` enum is generated from :data:`KINDS`.

The SQNR gates were calibrated by ``bench/quant_gates.py`` on a zoo of small models. Worst SQNR
seen: float16 66.4 dB, dynamic_range 37.2, int8 27.7, int16x8 42.1, ai-edge-quantizer int4
weights 17.6 and int8 weights 42.1; the test suite's MLP with an embedding input adds
ai-edge-quantizer static int8 at 16.3 dB and blockwise int4 at 19.0 dB. Each gate sits at least
~4 dB below the worst seen (most ~10 dB); a broken artifact scores near 0 dB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERIFY_COMMON: dict[str, Any] = {"samples": 8, "seed": 0, "int_range": [0, 10]}

# Named recipes of ai-edge-quantizer 0.10 (ai_edge_quantizer.recipe.<name>), for kind: aeq.
AEQ_RECIPES = (
    "weight_only_wi8_afp32", "weight_only_wi4_afp32",
    "dynamic_wi8_afp32", "dynamic_wi4_afp32", "dynamic_legacy_wi8_afp32",
    "dynamic_wi8c_afp32", "dynamic_wi4c_afp32", "dynamic_wi2c_afp32",
    "dynamic_wi8b32_afp32", "dynamic_wi4b32_afp32", "dynamic_wi2b32_afp32",
    "dynamic_wi8b64_afp32", "dynamic_wi4b64_afp32", "dynamic_wi2b64_afp32",
    "dynamic_wi8c_hr_afp32", "dynamic_wi4c_hr_afp32", "dynamic_wi2c_hr_afp32",
    "static_wi8_ai8", "static_wi8_ai16",
)
# AOT targets per vendor (ai_edge_litert.aot.vendors.<vendor>.target.SocModel in ai-edge-litert
# 2.3), listed here so that reading models.yaml never imports ai_edge_litert.
AOT_TARGETS = {
    "intel_openvino": ("LNL", "PTL"),
    "qualcomm": ("SA8255", "SA8295", "SM8350", "SM8450", "SM8475", "SM8550", "SM8650", "SM8750",
                 "SM8845", "SM8850"),
    "mediatek": ("MT6853", "MT6877", "MT6878", "MT6879", "MT6886", "MT6893", "MT6895", "MT6897",
                 "MT6983", "MT6985", "MT6989", "MT6991", "MT8171", "MT8188", "MT8189", "MT6993"),
    "google_tensor": ("Tensor_G3", "Tensor_G4", "Tensor_G5", "Tensor_G6"),
    "samsung": ("E9965",),
}


@dataclass(frozen=True)
class ConverterSettings:
    """How TensorFlow's LiteRT converter is set for a kind (applied by
    :func:`litert_build.export.converter.convert_saved_model`)."""

    optimize: bool = False  # optimizations = [Optimize.DEFAULT]
    float16_weights: bool = False  # target_spec.supported_types = [float16]
    calibrate: bool = False  # representative_dataset: the variant's calibration samples
    int16_activations: bool = False  # only the 16x8 op set: an op without a 16x8 kernel fails
    io_types: bool = False  # inference input/output types from the variant's ``io``


@dataclass(frozen=True)
class Kind:
    """What one variant kind is, accepts and needs, and how its artifact is made: ``pipeline``
    ``convert`` (TensorFlow's converter, set by ``converter``), ``quantize`` (float32, then an
    ai-edge-quantizer recipe) or ``compile`` (another variant's artifact, compiled per target)."""

    name: str
    summary: str
    min_sqnr_db: float  # the SQNR gate (default gate of the quantized kinds; opt-in for others)
    absolute_verify: dict[str, Any]  # the absolute gate (atol/rtol)
    relative_default: bool = True  # SQNR is the default gate (else the absolute one)
    fields: tuple[str, ...] = ()  # fields only this kind takes (types, defaults: config.settings)
    calibration: str = "unused"  # "required", "optional" (a recipe may use it) or "unused"
    quantized_weights: bool = False  # large weights must not stay float32 (post-conversion check)
    pipeline: str = "convert"
    converter: ConverterSettings = ConverterSettings()

    def verify_defaults(self) -> dict[str, Any]:
        if self.relative_default:
            return {**VERIFY_COMMON, "metric": "sqnr", "min_sqnr_db": self.min_sqnr_db}
        return {**VERIFY_COMMON, **self.absolute_verify}


def _absolute(metric: str, atol: float, rtol: float) -> dict[str, Any]:
    return {"metric": metric, "atol": atol, "rtol": rtol}


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("float32", "nothing: the reference conversion", 60.0, _absolute("allclose", 1e-4, 1e-4),
         relative_default=False),
    Kind("dynamic_range", "int8 weights; activations stay float and are quantized on the fly", 25.0,
         _absolute("mean_abs", 1e-3, 0.05), quantized_weights=True,
         converter=ConverterSettings(optimize=True)),
    Kind("float16", "float16 weights, dequantized at load time", 50.0,
         _absolute("allclose", 1e-3, 1e-2), quantized_weights=True,
         converter=ConverterSettings(optimize=True, float16_weights=True)),
    Kind("int8", "int8 weights and activations, calibrated", 12.0, _absolute("mean_abs", 1e-2, 0.1),
         fields=("io", "strict"), calibration="required", quantized_weights=True,
         converter=ConverterSettings(optimize=True, calibrate=True, io_types=True)),
    Kind("int16x8", "int16 activations, int8 weights, calibrated", 30.0,
         _absolute("mean_abs", 5e-3, 0.05), calibration="required", quantized_weights=True,
         converter=ConverterSettings(optimize=True, calibrate=True, int16_activations=True)),
    Kind("aeq", "an ai-edge-quantizer recipe applied to the float32 artifact", 8.0,
         _absolute("mean_abs", 1e-2, 0.1), fields=("recipe", "expect_quantized"),
         calibration="optional", pipeline="quantize"),
    # Compared with the base variant, run by another runtime (e.g. OpenVINO) on the same inputs.
    Kind("aot", "the base variant compiled ahead of time for NPU targets", 30.0,
         _absolute("mean_abs", 5e-3, 0.05), relative_default=False,
         fields=("base", "targets", "backend_options"), pipeline="compile"),
    # A CausalLM traced through its KV cache: prefill/decode signatures, packaged as .litertlm;
    # verified by greedy generation against KerasHub (export/llm/), not on random tensors.
    Kind("llm", "a CausalLM with prefill/decode signatures and a KV cache, packaged as .litertlm",
         0.0, {}, relative_default=False, fields=("prefill", "kv_cache", "recipe", "weight_dtype"),
         pipeline="llm"),
)}
AEQ_MIN_SQNR_DB = {"wi2": 3.0}  # recipes with 2-bit weights: coarser still


# kind: llm verifies greedy generation: the share of the K generated tokens whose top-1 the
# artifact reproduces, fed the Keras sequence (1.0 = the same greedy tokens), and the logit error.
LLM_VERIFY: dict[str, Any] = {"seed": 0, "tokens": 16, "prompt_tokens": 12, "metric": "tokens"}
LLM_MIN_AGREEMENT = {"float": 1.0, "recipe": 0.75}


def kind_names() -> tuple[str, ...]:
    return tuple(KINDS)


def needs_calibration(kind: str, recipe: str | None = None) -> bool:
    """Calibrated kinds, and ai-edge-quantizer recipes that quantize activations (static_*)."""
    static_recipe = kind == "aeq" and str(recipe or "").startswith("static_")
    return KINDS[kind].calibration == "required" or static_recipe


def min_sqnr_db(kind: str, recipe: str | None = None) -> float:
    """The default SQNR gate of a kind (of an ai-edge-quantizer recipe, by its weight width)."""
    if kind == "aeq" and recipe:
        for width, value in AEQ_MIN_SQNR_DB.items():
            if width in str(recipe):
                return value
    return KINDS[kind].min_sqnr_db


def default_gate(kind: str, given: dict[str, Any], recipe: str | None = None) -> dict[str, Any]:
    """The gate a variant's verify block starts from, given what the user wrote in it.

    Giving ``atol``/``rtol`` without a metric, or an absolute metric, selects the kind's
    absolute gate; ``metric: sqnr`` (or a kind whose default is SQNR) its ``min_sqnr_db``.
    """
    if kind == "llm":
        return {**LLM_VERIFY, "min_token_agreement": LLM_MIN_AGREEMENT["recipe" if recipe else "float"]}
    record = KINDS[kind]
    metric = given.get("metric")
    absolute = metric not in (None, "sqnr") or (metric is None and ("atol" in given or "rtol" in given))
    if metric == "sqnr" or (record.relative_default and not absolute):
        return {**VERIFY_COMMON, "metric": "sqnr", "min_sqnr_db": min_sqnr_db(kind, recipe)}
    return {**VERIFY_COMMON, **record.absolute_verify}
