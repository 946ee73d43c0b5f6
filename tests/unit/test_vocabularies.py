"""The allowed values of models.yaml live in code once; schema.json and the README agree with it."""

from __future__ import annotations

import json
from pathlib import Path

from litert_build.config.kinds import (
    AEQ_RECIPES,
    KINDS,
    LLM_VERIFY,
    default_gate,
    min_sqnr_db,
    needs_calibration,
)
from litert_build.export.compare import METRICS
from litert_build.export.converter import CONVERTER_OPTIONS
from litert_build.release.archive import FORMATS

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "litert_build" / "config" / "schema.json").read_text())
README = (REPO / "README.md").read_text()


def test_schema_kind_enum_is_the_kind_registry():
    assert SCHEMA["$defs"]["VariantSettings"]["properties"]["kind"]["enum"] == list(KINDS)


def test_schema_converter_options_are_the_converters():
    assert sorted(SCHEMA["$defs"]["ConverterOptions"]["properties"]) == sorted(CONVERTER_OPTIONS)


def test_schema_bundle_formats_are_the_archive_formats():
    assert SCHEMA["$defs"]["BundleSettings"]["properties"]["format"]["enum"] == list(FORMATS)


def test_kind_only_fields_are_in_the_schema():
    variant_fields = SCHEMA["$defs"]["VariantSettings"]["properties"]
    for kind in KINDS.values():
        assert set(kind.fields) <= set(variant_fields), kind.name


def test_readme_documents_every_kind_and_converter_option():
    for name in KINDS:
        assert f"| `{name}` |" in README, name
    for option in CONVERTER_OPTIONS:
        assert f"`{option}`" in README, option


def test_default_gates():
    assert default_gate("float32", {})["metric"] == "allclose"
    assert default_gate("int8", {}) == {"samples": 8, "seed": 0, "int_range": [0, 10], "metric": "sqnr",
                                        "min_sqnr_db": 12.0}
    assert default_gate("int8", {"atol": 0.5})["metric"] == "mean_abs"  # the user's numbers keep meaning
    assert default_gate("float32", {"metric": "sqnr"})["min_sqnr_db"] == 60.0
    assert min_sqnr_db("aeq", "dynamic_wi2c_afp32") == 3.0 < min_sqnr_db("aeq", "weight_only_wi4_afp32")
    assert needs_calibration("int8") and needs_calibration("aeq", "static_wi8_ai8")
    assert not needs_calibration("aeq", "weight_only_wi8_afp32") and not needs_calibration("float16")
    assert all(recipe.endswith(("afp32", "ai8", "ai16")) for recipe in AEQ_RECIPES)


def test_schema_verify_metrics_are_the_comparisons():
    # and kind llm's greedy-generation gate
    assert SCHEMA["$defs"]["Verify"]["properties"]["metric"]["enum"] == [*METRICS, LLM_VERIFY["metric"]]


def test_each_kind_record_says_how_its_artifact_is_made():
    for kind in KINDS.values():
        assert kind.pipeline in ("convert", "quantize", "compile", "llm"), kind.name
        settings = kind.converter
        assert settings.calibrate == (kind.calibration == "required"), kind.name
        assert settings.optimize == (kind.pipeline == "convert" and kind.quantized_weights), kind.name
        assert not (settings.io_types and "io" not in kind.fields), kind.name
    assert [k for k, v in KINDS.items() if v.pipeline != "convert"] == ["aeq", "aot", "llm"]
