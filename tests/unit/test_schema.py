"""The committed JSON Schema (litert_build/config/schema.json), on its own: what editors see.

It is a valid Draft 2020-12 schema, it is the one the package loads, it accepts the example
models.yaml and every documented field, and it rejects bad snippets at the right place. (How
litert-build words these errors: test_manifest.py.)"""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from shared.project import REPO

from litert_build.config import schema_gen
from litert_build.config.models_yaml import schema
from litert_build.config.settings import Verify

SCHEMA_FILE = REPO / "litert_build" / "config" / "schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    committed = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(committed)
    return jsonschema.Draft202012Validator(committed)


def test_the_package_loads_the_committed_file():
    assert schema() == json.loads(SCHEMA_FILE.read_text())


def test_the_committed_file_is_generated_from_the_settings_classes():
    """Run `python -m litert_build.config.schema_gen --write` after changing config/settings.py."""
    assert SCHEMA_FILE.read_text() == schema_gen.text()


def _properties(schema: dict) -> list[tuple[str, str, dict, bool]]:
    blocks = [("models.yaml", schema)] + list(schema["$defs"].items())
    return [(block, name, prop, name in sub.get("required", ()))
            for block, sub in blocks for name, prop in sub["properties"].items()]


def test_every_field_has_a_description_and_every_optional_one_a_default():
    fields = _properties(schema())
    assert len(fields) > 90  # every block of models.yaml, not an empty walk
    assert [(b, n) for b, n, prop, _ in fields if not prop.get("description")] == []
    assert [(b, n) for b, n, prop, required in fields if not required and "default" not in prop] == []


def test_documented_defaults_are_the_ones_the_settings_use():
    defs = schema()["$defs"]
    assert defs["Verify"]["properties"]["samples"]["default"] == Verify().samples == 8
    assert defs["ModelSettings"]["properties"]["variants"]["default"] == {"float32": {}}
    assert defs["ModelSettings"]["properties"]["batch_size"]["default"] == 1
    assert defs["BundleSettings"]["properties"]["format"]["default"] == "tar.gz"


def test_the_example_manifest_validates(validator):
    example = yaml.safe_load((REPO / "models.yaml").read_text())
    assert list(validator.iter_errors(example)) == []
    assert set(example["models"]) == {"digits", "listing_ranker", "residual_mlp"}  # not an empty file


EVERY_FIELD = """
schema: 1
artifacts: out
cache: false
defaults: {verify: {samples: 4}, allow_flex_ops: false}
models:
  full:
    description: every model field once
    version: "1.0.0+build.1"
    source: {builder: pkg.mods:build, weights: w.weights.h5, deps: ["data/*.npz"]}
    safe_mode: false
    inputs: [{name: pixels, shape: [null, 64], dtype: float32}, {name: ids, shape: [1, 4], dtype: int32}]
    outputs: [probabilities, aux/score]
    batch_size: null
    allow_flex_ops: true
    converter_options: {allow_custom_ops: true, experimental_lower_tensor_list_ops: false}
    verify: {samples: 8, seed: 0, metric: allclose, atol: 1.0e-4, rtol: 1.0e-4, int_range: [0, 10]}
    calibration: {npz: data/calib.npz, samples: 200, seed: 1}
    eval: {builder: mods:eval_data, labels: label, metric: top5, max_drop: 0.02}
    variants:
      float32: {}
      plain:
      mobile_int8: {kind: int8, io: uint8, strict: true}
      w4: {kind: aeq, recipe: weight_only_wi4_afp32, expect_quantized: 0.9}
      npu: {kind: aot, base: float32, targets: [qualcomm/SM8650],
            backend_options: {intel_openvino_graph_backends: cpu}}
      loose: {kind: float16, verify: {metric: sqnr, min_sqnr_db: 40}}
  saved: {version: "2", source: {keras: models/m.keras}}
  chat: {version: "0.1", source: {preset: presets/tiny, task: CausalLM}, sequence_length: 256}
  vision: {version: "1", source: {preset: presets/v}, image_size: [320, 320], audio_length: 16000}
bundles:
  mobile: {version: "1.0.0", format: zip, include: ["full:*int8*", saved], files: [README.md]}
"""


def test_every_documented_field_validates(validator):
    errors = [(list(e.absolute_path), e.message) for e in validator.iter_errors(yaml.safe_load(EVERY_FIELD))]
    assert errors == []


MODEL = 'schema: 1\nmodels: {m: {version: "1", source: {builder: "mods:build"}%s}}\n'
M = ["models", "m"]
BAD = [  # (snippet, the path of the error, the keyword that fails there)
    ("schema: 2\nmodels: {}\n", ["schema"], "const"),
    ("schema: 1\n", [], "required"),  # no models
    ("schema: 1\nmodels: {}\nreport: true\n", [], "additionalProperties"),
    ('schema: 1\nmodels: {m: {source: {builder: "mods:build"}}}\n', M, "required"),  # no version
    ('schema: 1\nmodels: {m: {version: 1.0, source: {builder: "mods:build"}}}\n', M + ["version"], "type"),
    ('schema: 1\nmodels: {m: {version: "../1", source: {builder: "mods:build"}}}\n', M + ["version"],
     "pattern"),
    ('schema: 1\nmodels: {"../x": {version: "1", source: {builder: "mods:build"}}}\n', ["models"],
     "pattern"),  # a model name (propertyNames)
    ('schema: 1\nmodels: {m: {version: "1", source: {builder: "mods.build"}}}\n', M + ["source", "builder"],
     "pattern"),
    ('schema: 1\nmodels: {m: {version: "1", source: {url: "https://x"}}}\n', M + ["source"],
     "additionalProperties"),
    (MODEL % ", variants: {v: {kind: int3}}", M + ["variants", "v", "kind"], "enum"),
    (MODEL % ', variants: {"../v": {kind: float32}}', M + ["variants"], "pattern"),
    (MODEL % ", variants: {q: {kind: int8, io: int4}}", M + ["variants", "q", "io"], "enum"),
    (MODEL % ", converter_options: {optimize_harder: true}", M + ["converter_options"],
     "additionalProperties"),
    (MODEL % ", verify: {metric: median}", M + ["verify", "metric"], "enum"),
    (MODEL % ", verify: {samples: 0}", M + ["verify", "samples"], "minimum"),
    (MODEL % ", batch_size: 0", M + ["batch_size"], "minimum"),
    (MODEL % ', inputs: [{name: "a b", shape: [1, 2]}]', M + ["inputs", 0, "name"], "pattern"),
    (MODEL % "" + "bundles: {b: {version: '1', format: rar, include: [m]}}\n", ["bundles", "b", "format"],
     "enum"),
]


@pytest.mark.parametrize("snippet, path, keyword", BAD,
                         ids=[".".join(map(str, path)) + f"-{keyword}" for _, path, keyword in BAD])
def test_bad_snippets_are_rejected_where_they_are_wrong(validator, snippet, path, keyword):
    errors = list(validator.iter_errors(yaml.safe_load(snippet)))
    assert len(errors) == 1, [e.message for e in errors]
    best = jsonschema.exceptions.best_match(errors)  # into anyOf (a variant may be null)
    assert (list(best.absolute_path), best.validator) == (path, keyword), best.message
