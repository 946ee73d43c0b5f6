"""models.yaml validation: every error names the file, model, variant and field (no TensorFlow)."""

from __future__ import annotations

import textwrap

import jsonschema
import pytest
from shared.project import REPO, write

from litert_build.config.models_yaml import load_manifest, schema
from litert_build.errors import ManifestError
from litert_build.plan.specs import make_plan

GOOD_MODULE = "import keras\n\ndef build():\n    return None\n"


def plan_for(tmp_path, text):
    write(tmp_path / "mods.py", GOOD_MODULE)
    (tmp_path / "m.keras").write_bytes(b"not really a model")
    write(tmp_path / "models.yaml", text)
    return make_plan(tmp_path / "models.yaml")


ONE_MODEL = 'models:\n  m:\n    version: "1"\n    source: {builder: mods:build}\n'


def plan_of_m(tmp_path, fields, top=""):
    """The plan of a models.yaml with one model, m (version "1", built by mods:build), that has
    ``fields`` besides, and the ``top``-level fields."""
    body = textwrap.indent(textwrap.dedent(fields).strip("\n"), "    ")
    return plan_for(tmp_path, "schema: 1\n" + textwrap.dedent(top).lstrip() + ONE_MODEL + body + "\n")


def errors(plan):
    return {spec.task_name: spec.error for spec in plan.specs if spec.error}


def test_example_manifest_is_valid():
    plan = make_plan(REPO / "models.yaml")
    assert [s.task_name for s in plan.specs] == [
        "digits:float32", "digits:dynamic_range", "digits:float16", "digits:int8",
        "digits:int8_uint8", "digits:int16x8", "listing_ranker:float32", "residual_mlp:float32"]
    assert not errors(plan)
    jsonschema.Draft202012Validator.check_schema(schema())


def test_unknown_field_suggests_the_right_one(tmp_path):
    plan = plan_for(tmp_path, """
        schema: 1
        models:
          good: {version: "1", source: {builder: mods:build}}
          typo: {vesion: "1", version: "1", source: {builder: mods:build}}
    """)
    errs = errors(plan)
    assert "good:float32" not in errs
    msg = errs["typo:float32"]
    assert "models.yaml" in msg and "model 'typo'" in msg and "field 'vesion'" in msg
    assert "Did you mean 'version'?" in msg


def test_wrong_type_and_missing_field(tmp_path):
    plan = plan_for(tmp_path, """
        schema: 1
        models:
          num: {version: 1.0, source: {builder: mods:build}}
          nosrc: {version: "1"}
    """)
    errs = errors(plan)
    assert "field 'version'" in errs["num:float32"] and "must be of type string" in errs["num:float32"]
    assert "field 'source'" in errs["nosrc:float32"] and "required" in errs["nosrc:float32"]


def test_missing_file_bad_builder_and_module(tmp_path):
    plan = plan_for(tmp_path, """
        schema: 1
        models:
          gone: {version: "1", source: {keras: nowhere/model.keras}}
          badref: {version: "1", source: {builder: "mods.build"}}
          nomod: {version: "1", source: {builder: "no_such_module:build"}}
          both: {version: "1", source: {builder: "mods:build", keras: m.keras}}
          globless: {version: "1", source: {builder: "mods:build", deps: ["data/*.npz"]}}
          wrongext: {version: "1", source: {keras: mods.py}}
    """)
    errs = errors(plan)
    assert "field 'source.keras'" in errs["gone:float32"] and "not found" in errs["gone:float32"]
    assert "field 'source.builder'" in errs["badref:float32"]
    assert "package.module:function" in errs["badref:float32"]
    assert "module 'no_such_module' not found" in errs["nomod:float32"]
    assert "exactly one of" in errs["both:float32"]
    assert "glob 'data/*.npz' matches no file" in errs["globless:float32"]
    assert "not a Keras model file" in errs["wrongext:float32"]


def test_duplicate_model_names(tmp_path):
    plan = plan_for(tmp_path, """
        schema: 1
        models:
          twin: {version: "1", source: {builder: mods:build}}
          other: {version: "1", source: {builder: mods:build}}
          twin: {version: "2", source: {builder: mods:build}}
    """)
    errs = errors(plan)
    assert "model 'twin'" in errs["twin:float32"] and "lines [3, 5]" in errs["twin:float32"]
    assert "other:float32" not in errs


def test_unknown_variant_kind_only_fails_that_variant(tmp_path):
    plan = plan_of_m(tmp_path, """
        variants:
          float32: {}
          tiny: {kind: int3}
          nokind: {}
    """)
    errs = errors(plan)
    assert "m:float32" not in errs
    assert "variant 'tiny'" in errs["m:tiny"] and "field 'kind'" in errs["m:tiny"]
    assert "Allowed: float32" in errs["m:tiny"]
    assert "variant 'nokind'" in errs["m:nokind"] and "Add kind" in errs["m:nokind"]


def test_unknown_converter_option(tmp_path):
    plan = plan_of_m(tmp_path, """
        converter_options: {experimental_lower_tensor_list: true}
    """)
    msg = errors(plan)["m:float32"]
    assert "field 'converter_options.experimental_lower_tensor_list'" in msg
    assert "Did you mean 'experimental_lower_tensor_list_ops'?" in msg


def test_defaults_merge_and_variant_overrides(tmp_path):
    plan = plan_of_m(tmp_path, """
        verify: {seed: 9}
        variants:
          float32: {verify: {atol: 0.5}}
    """, top="""
        defaults:
          verify: {samples: 3, atol: 0.01}
          allow_flex_ops: true
    """)
    (spec,) = plan.specs
    assert spec.settings.to_json()["verify"] == {
        "samples": 3, "seed": 9, "atol": 0.5, "rtol": 1e-4, "int_range": [0, 10],
        "metric": "allclose"}
    assert spec.settings.to_json()["allow_flex_ops"] is True
    assert spec.tflite == "artifacts/m/1/m.float32.tflite"
    assert set(spec.input_hashes) == {"mods.py", "settings"}


def test_settings_change_changes_only_that_hash(tmp_path):
    base = """
        schema: 1
        models:
          a: {version: "1", source: {builder: mods:build}}
          b: {version: "1", source: {builder: mods:build}, verify: {samples: %d}}
    """
    first = {s.model: s.settings_hash for s in plan_for(tmp_path, base % 4).specs}
    second = {s.model: s.settings_hash for s in plan_for(tmp_path, base % 5).specs}
    assert first["a"] == second["a"] and first["b"] != second["b"]


@pytest.mark.parametrize("text, field", [
    ("schema: 2\nmodels: {}\n", "schema"),
    ("schema: 1\nmodel: {}\nmodels: {}\n", "model"),
    ("schema: 1\nmodels: [a, b]\n", "models"),
    ("schema: 1\ndefaults: {batchsize: 2}\nmodels: {}\n", "defaults.batchsize"),
    ("schema: 1\nmodels: {a: [}\n", None),
])
def test_file_level_errors(tmp_path, text, field):
    (tmp_path / "models.yaml").write_text(text)
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path / "models.yaml")
    assert "models.yaml" in str(info.value)
    if field:
        assert info.value.field == field, str(info.value)


def test_calibrated_kind_without_data_is_a_manifest_error(tmp_path):
    plan = plan_of_m(tmp_path, """
        variants:
          float32: {}
          int8: {}
          fp16: {kind: float16, io: uint8}
          i16: {kind: int16x8, calibration: {npz: missing.npz}}
    """)
    errs = errors(plan)
    assert "m:float32" not in errs
    assert "variant 'int8', field 'calibration'" in errs["m:int8"]
    assert "never calibrates on random data" in errs["m:int8"]
    assert "variant 'fp16', field 'io'" in errs["m:fp16"] and "applies to kind int8" in errs["m:fp16"]
    assert "variant 'i16'" in errs["m:i16"] and "missing.npz' not found" in errs["m:i16"]


def test_calibration_counts_only_in_calibrated_variants(tmp_path):
    import numpy as np

    np.savez(tmp_path / "c.npz", x=np.zeros((3, 2)))
    plan = plan_of_m(tmp_path, "calibration: {npz: c.npz}\nvariants: {float32: {}, float16: {}, int8: {}}")
    first = {s.variant: s for s in plan.specs}
    assert "c.npz" in first["int8"].deps and "c.npz" not in first["float32"].deps
    assert "calibration" not in first["float16"].settings.to_json()
    assert first["int8"].settings.to_json()["calibration"] == {"npz": "c.npz", "samples": 100, "seed": 0}


def located_lines(plan):
    """Every distinct located problem of a plan (specs and bundles), in the order first seen."""
    found = []
    for error in [s.error for s in plan.specs] + [b.error for b in plan.bundles]:
        for line in (error or "").splitlines():
            line = line.strip()
            if line.startswith("models.yaml:") and line not in found:
                found.append(line)
    return found


FOUR_TYPOS = """
    schema: 1
    models:
      alpha:
        version: "1"
        source: {builder: mods:build}
        variants:
          float32: {}
          half: {kind: float61}
      beta:
        vesion: "1"
        version: "1"
        source: {builder: mods:build}
      gamma:
        version: "1"
        source: {builder: mods:build}
        verify: {atol: .nan}
    bundles:
      app:
        version: "1"
        include: [alpha:float32, betta]
"""


def test_four_typos_are_reported_in_one_load_each_at_its_line(tmp_path):
    plan = plan_for(tmp_path, FOUR_TYPOS)
    lines = located_lines(plan)
    assert [line.split(" ", 1)[0] for line in lines] == [
        "models.yaml:8:14:", "models.yaml:10:5:", "models.yaml:16:14:", "models.yaml:20:30:"]
    assert lines[0].startswith("models.yaml:8:14: model 'alpha', variant 'half', field 'kind': "
                               "'float61' is not allowed.")
    assert lines[1].startswith("models.yaml:10:5: model 'beta', field 'vesion': unknown field 'vesion'. "
                               "Did you mean 'version'?")
    assert lines[2] == ("models.yaml:16:14: model 'gamma', field 'verify.atol': must be a finite number, "
                        "got nan.")
    assert lines[3].startswith("models.yaml:20:30: bundle 'app', field 'include[1]': 'betta' matches no "
                               "model:variant of this manifest")
    assert lines == sorted(lines, key=lambda line: int(line.split(":")[1]))
    assert [s.task_name for s in plan.specs if not s.error] == ["alpha:float32"]


def test_a_model_error_does_not_hide_its_variants_errors(tmp_path):
    plan = plan_of_m(tmp_path, """
        verify: {samples: 0}
        variants:
          float32: {}
          fp16: {kind: float16, io: uint8}
          int8: {}
          npu: {kind: aot, base: float32, targets: [nope/X, intel_openvino/LNL, qualcomm/SM0]}
    """)
    errs = errors(plan)
    model_line = "  models.yaml:6:14: model 'm', field 'verify.samples': 0 is less than the minimum of 1"
    assert errs["m:float32"] == model_line.strip()  # one problem: no header
    fp16 = errs["m:fp16"].splitlines()
    assert fp16[0] == "models.yaml, model 'm': 2 problems:"
    assert fp16[1] == model_line
    assert fp16[2].startswith("  models.yaml:9:29: model 'm', variant 'fp16', field 'io': 'io' applies to "
                              "kind int8, not to 'float16'.")
    int8 = errs["m:int8"].splitlines()
    assert int8[2].startswith("  models.yaml:10:7: model 'm', variant 'int8', field 'calibration': kind "
                              "'int8' needs calibration data")
    npu = errs["m:npu"].splitlines()
    assert npu[0] == "models.yaml, model 'm': 3 problems:"
    assert npu[2].startswith("  models.yaml:11:49: model 'm', variant 'npu', field 'targets[0]': unknown "
                             "AOT vendor 'nope'")
    assert npu[3].startswith("  models.yaml:11:77: model 'm', variant 'npu', field 'targets[2]': unknown "
                             "qualcomm SoC 'SM0'")


def test_a_variant_reports_every_kind_level_problem(tmp_path):
    plan = plan_of_m(tmp_path, """
        variants:
          npu: {kind: aot, targets: [nope/X], io: uint8}
    """)
    lines = errors(plan)["m:npu"].splitlines()
    assert lines[0] == "models.yaml, model 'm', variant 'npu': 3 problems:"
    assert [line.split(": ", 2)[1] for line in lines[1:]] == [
        "model 'm', variant 'npu', field 'base'", "model 'm', variant 'npu', field 'targets[0]'",
        "model 'm', variant 'npu', field 'io'"]
    assert [line.split(" ", 3)[2] for line in lines[1:]] == [
        "models.yaml:7:7:", "models.yaml:7:34:", "models.yaml:7:43:"]


def test_positions_of_list_items_and_missing_fields(tmp_path):
    plan = plan_of_m(tmp_path, """
        inputs:
          - {name: x, shape: [1, 4], dtype: float32}
          - name: y
            shape: [1, 2]
            dtype: float99
    """)
    msg = errors(plan)["m:float32"]
    assert msg.startswith("models.yaml:10:9: model 'm', field 'inputs[1].dtype': 'float99' is not allowed.")
    manifest = load_manifest(tmp_path / "models.yaml")
    assert manifest.positions[("models", "m", "inputs", "0")] == (7, 9)
    assert manifest.positions[("models", "m", "inputs", "0", "name")] == (7, 10)
    assert manifest.positions[("models", "m", "inputs", "1", "name")] == (8, 9)
    assert manifest.positions[("models", "m", "inputs", "0", "shape", "1")] == (7, 30)
    write(tmp_path / "models.yaml", "schema: 1\n" + ONE_MODEL + "    inputs:\n      - {shape: [1]}\n")
    msg = errors(make_plan(tmp_path / "models.yaml"))["m:float32"]
    # a missing field is placed at the nearest enclosing key it would go in: the list item
    assert msg.startswith("models.yaml:7:9: model 'm', field 'inputs[0].name': is required but missing.")


def test_several_file_level_problems_in_one_error_sorted_by_line(tmp_path):
    write(tmp_path / "models.yaml", """
        artifacts: ../outside
        schema: 2
        models: {}
        report: true
    """)
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path / "models.yaml")
    lines = str(info.value).splitlines()
    assert lines[0] == "models.yaml: 3 problems:"
    assert lines[1].startswith("  models.yaml:1:1: field 'artifacts': '../outside' is outside the folder")
    assert lines[2] == "  models.yaml:2:1: field 'schema': must be 1, got 2."
    assert lines[3].startswith("  models.yaml:4:1: field 'report': unknown field 'report'.")


@pytest.mark.parametrize("text, where", [
    ("schema: 1\nmodels:\n  m: {version: '1', source: {builder: 'a:b'}\n", "models.yaml:3:6: "),  # unclosed {
    ("schema: 1\nmodels: {}\nbad: 'x\n", "models.yaml:3:6: "),  # the quote that is never closed
    ("schema: 1\nmodels: {}\n\tx: 1\n", "models.yaml:3:1: "),  # a tab where YAML wants spaces
])
def test_yaml_syntax_errors_are_located(tmp_path, text, where):
    (tmp_path / "models.yaml").write_text(text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "models.yaml")
    assert str(caught.value).startswith(where) and "is not valid YAML" in str(caught.value), str(caught.value)


def test_llm_variants_resolve_their_defaults_and_report_each_problem(tmp_path):
    plan = plan_of_m(tmp_path, """
        variants:
          chat: {kind: llm}
          long: {kind: llm, prefill: [32, 128], kv_cache: 512, verify: {tokens: 8}}
          q4: {kind: llm, prefill: [16], kv_cache: 64, recipe: dynamic_wi4b32_afp32}
          bad: {kind: llm, prefill: [128, 128, 256], kv_cache: 200, recipe: static_wi8_ai8,
               weight_dtype: float16}
          typo: {kind: llm, recipe: dynamic_wi4b32}
          fp: {kind: float32, kv_cache: 64}
          sq: {kind: llm, verify: {metric: sqnr}}
          tk: {kind: float16, verify: {metric: tokens}}
    """)
    specs = {s.variant: s for s in plan.specs}
    chat = specs["chat"].settings
    assert (chat.prefill, chat.kv_cache, chat.weight_dtype, chat.recipe) == ([128], 1024, "float32", None)
    assert chat.verify.metric == "tokens" and chat.verify.tokens == 16
    assert chat.verify.min_token_agreement == 1.0
    assert specs["long"].settings.verify.tokens == 8 and specs["long"].settings.prefill == [32, 128]
    assert specs["q4"].settings.verify.min_token_agreement == 0.75
    assert specs["chat"].cache_key != specs["long"].cache_key
    errs = errors(plan)
    assert set(errs) == {"m:bad", "m:typo", "m:fp", "m:sq", "m:tk"}
    assert "field 'verify.metric'" in errs["m:sq"] and "its metric is 'tokens'" in errs["m:sq"]
    assert "field 'verify.metric'" in errs["m:tk"] and "kind 'float16' compares outputs" in errs["m:tk"]
    bad = errs["m:bad"]
    assert "4 problems" in bad
    assert "field 'prefill'" in bad and "[256] exceed kv_cache 200" in bad and "length twice" in bad
    assert "field 'recipe'" in bad and "does not take" in bad
    assert "field 'weight_dtype'" in bad
    assert "unknown ai-edge-quantizer recipe 'dynamic_wi4b32'" in errs["m:typo"]
    assert "'kv_cache' applies to kind llm, not to 'float32'" in errs["m:fp"]


def test_llm_keys_include_the_litertlm_tools(tmp_path, monkeypatch):
    from litert_build import versions

    plan = plan_of_m(tmp_path, "variants: {chat: {kind: llm}, float32: {}}")
    before = {s.variant: s.cache_key for s in plan.specs}
    versions.llm_versions.cache_clear()
    monkeypatch.setattr(versions, "LLM_PACKAGES", ("litert-lm-builder", "pytest"))
    try:
        after = {s.variant: s.cache_key for s in plan_of_m(tmp_path, "variants: {chat: {kind: llm}, "
                                                           "float32: {}}").specs}
    finally:
        versions.llm_versions.cache_clear()
    assert after["float32"] == before["float32"] and after["chat"] != before["chat"]
