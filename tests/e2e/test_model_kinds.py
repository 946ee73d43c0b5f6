"""End to end on a project of model kinds and failure cases, built in one doit run.

Covers: .keras (Functional, list inputs and list outputs), .h5, builder + weights,
dict adapter weight sharing, Flex ops (refused by default, allowed by the flag),
an unbuilt subclassed model, a verification failure, a missing source file, an
unknown converter option; failing tasks leave no file and the others still build.
"""

from __future__ import annotations

import pytest
from shared.project import artifact, load_json, manifest_of, run_build, run_python, write_project
from shared.zoo import DENSE, module

from litert_build.export.inventory import op_inventory

BUILDERS = module(DENSE, '''
def _trunk(seed):
    keras.utils.set_random_seed(seed)
    return [keras.layers.Dense(256, activation="relu", name="h1"),
            keras.layers.Dense(8, name="head")]


def dict_model():
    h1, head = _trunk(3)
    inputs = {"b_second": keras.Input((40,), name="b_second"),
              "a_first": keras.Input((24,), name="a_first")}
    x = keras.layers.Concatenate()([inputs["b_second"], inputs["a_first"]])
    return keras.Model(inputs, head(h1(x)))


def list_model():
    h1, head = _trunk(3)
    inputs = [keras.Input((40,), name="b_second"), keras.Input((24,), name="a_first")]
    x = keras.layers.Concatenate()(inputs)
    return keras.Model(inputs, head(h1(x)))


class Inverse(keras.layers.Layer):
    def call(self, x):
        return keras.ops.linalg.inv(x)


def flex_model():
    x = keras.Input((3, 3), name="matrix")
    return keras.Model(x, Inverse()(x))


class Unbuilt(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(x)


def unbuilt_model():
    return Unbuilt()


def gelu_model():
    keras.utils.set_random_seed(5)
    x = keras.Input((16,), name="x")
    y = keras.layers.Dense(64, activation="gelu")(x)
    return keras.Model(x, keras.layers.Dense(4)(y))


def crashing_model():
    import os
    import signal

    os.kill(os.getpid(), signal.SIGSEGV)  # a converter crash, as far as the build can tell

''')

MANIFEST = '''
schema: 1
models:
  functional_list: {version: "1", source: {keras: saved/functional_list.keras}}
  functional_h5: {version: "1", source: {keras: saved/functional.h5}}
  dict_model: {version: "1", source: {builder: kinds:dict_model}}
  list_model: {version: "1", source: {builder: kinds:list_model}}
  weighted: {version: "1", source: {builder: kinds:dense, weights: saved/weighted.weights.h5}}
  flex_default: {version: "1", source: {builder: kinds:flex_model}}
  flex_allowed: {version: "1", source: {builder: kinds:flex_model}, allow_flex_ops: true}
  unbuilt: {version: "1", source: {builder: kinds:unbuilt_model}}
  too_strict: {version: "1", source: {builder: kinds:gelu_model}, verify: {atol: 0.0, rtol: 0.0}}
  missing_file: {version: "1", source: {keras: saved/nope.keras}}
  lambda_default: {version: "1", source: {keras: saved/lambda.keras}}
  lambda_trusted: {version: "1", source: {keras: saved/lambda.keras}, safe_mode: false}
  explicit_io:
    version: "1"
    source: {builder: kinds:unbuilt_model}
    inputs: [{name: feats, shape: [1, 7], dtype: float32}]
    outputs: [logits]
  dynamic_batch: {version: "1", source: {keras: saved/functional.h5}, batch_size: null}
  crash: {version: "1", source: {builder: kinds:crashing_model}}
  bad_option: {version: "1", source: {builder: kinds:gelu_model}, converter_options: {allow_custom_op: true}}
'''

SAVE = '''
import keras
from kinds import dense

keras.utils.set_random_seed(11)
a = keras.Input((6,), name="left")
b = keras.Input((2,), name="right")
x = keras.layers.Concatenate()([a, b])
out1 = keras.layers.Dense(3, name="logits")(x)
out2 = keras.layers.Dense(1, name="value")(x)
keras.Model([a, b], [out1, out2]).save("saved/functional_list.keras")
s = keras.Sequential([keras.Input((5,), name="signal"), keras.layers.Dense(2, name="pred")])
s.save("saved/functional.h5")
keras.Sequential([keras.Input((3,), name="v"), keras.layers.Lambda(lambda t: t * 2.0)]).save(
    "saved/lambda.keras")
dense().save_weights("saved/weighted.weights.h5")
'''

OK = ["functional_list", "functional_h5", "dict_model", "list_model", "weighted", "flex_allowed",
      "lambda_trusted", "explicit_io", "dynamic_batch"]
FAILING = ["flex_default", "unbuilt", "too_strict", "missing_file", "bad_option", "lambda_default",
           "crash"]


@pytest.fixture(scope="module")
def kinds_project(tmp_path_factory):
    project = write_project(tmp_path_factory.mktemp("kinds"), {"kinds.py": BUILDERS, "models.yaml": MANIFEST})
    (project / "saved").mkdir()
    run_python(project, SAVE)
    return project, run_build(project)


def test_failures_do_not_stop_other_models(kinds_project):
    project, result = kinds_project
    assert result.returncode != 0
    for model in OK:
        tflite, manifest = artifact(project, model)
        assert tflite.is_file() and manifest.is_file(), (model, result.output)
    for model in FAILING:
        tflite, manifest = artifact(project, model)
        assert not tflite.exists() and not manifest.exists(), model
        assert f"convert:{model}:float32" in result.output


def test_list_inputs_and_list_outputs_are_named(kinds_project):
    project, _ = kinds_project
    sig = manifest_of(project, "functional_list")["signatures"]["serving_default"]
    assert [i["name"] for i in sig["inputs"]] == ["left", "right"]
    assert [o["name"] for o in sig["outputs"]] == ["logits", "value"]
    assert [o["shape"] for o in sig["outputs"]] == [[1, 3], [1, 1]]
    h5 = manifest_of(project, "functional_h5")["signatures"]["serving_default"]
    assert [i["name"] for i in h5["inputs"]] == ["signal"]


def test_dict_adapter_shares_weights(kinds_project):
    project, _ = kinds_project
    dict_meta = manifest_of(project, "dict_model")
    list_meta = manifest_of(project, "list_model")
    names = [i["name"] for i in dict_meta["signatures"]["serving_default"]["inputs"]]
    assert names == ["b_second", "a_first"]  # declared order, not alphabetical
    dict_size, list_size = dict_meta["artifact"]["size"], list_meta["artifact"]["size"]
    params = (64 * 256 + 256) + (256 * 8 + 8)
    assert dict_size > params * 4  # the weights are in the file ...
    assert abs(dict_size - list_size) / list_size < 0.01  # ... once, like the plain model


def test_weights_file_is_loaded(kinds_project):
    project, _ = kinds_project
    meta = manifest_of(project, "weighted")
    assert meta["verification"]["status"] == "passed"
    assert "saved/weighted.weights.h5" in meta["inputs_xxh3"]


def test_flex_ops_refused_by_default_and_recorded_with_flag(kinds_project):
    project, result = kinds_project
    assert "FlexMatrixInverse" in result.output
    assert "allow_flex_ops: true" in result.output
    tflite, manifest = artifact(project, "flex_allowed")
    meta = load_json(manifest)
    assert meta["flex_ops"] == ["FlexMatrixInverse"]
    assert meta["runtime"] == "flex"
    assert meta["verification"]["status"] == "skipped"
    assert "FlexMatrixInverse" in op_inventory(tflite.read_bytes()).flex


def test_error_messages_name_model_and_fix(kinds_project):
    _, result = kinds_project
    out = result.output
    assert "model 'unbuilt' has not been built" in out and "inputs:" in out
    assert "too_strict:float32: the artifact disagrees with the Keras model" in out
    assert "max abs error" in out
    assert "model 'missing_file', field 'source.keras': file 'saved/nope.keras' not found" in out
    assert "model 'bad_option', field 'converter_options.allow_custom_op'" in out
    assert "Did you mean 'allow_custom_ops'?" in out


def test_flag_fixes_the_failure_on_next_run(kinds_project):
    project, _ = kinds_project
    manifest = project / "models.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace(
        'flex_default: {version: "1", source: {builder: kinds:flex_model}}',
        'flex_default: {version: "1", source: {builder: kinds:flex_model}, allow_flex_ops: true}'))
    again = run_build(project, "convert:flex_default:float32", "convert:dict_model:float32")
    assert again.returncode == 0, again.output
    assert again.executed == ["convert:flex_default:float32"]
    assert artifact(project, "flex_default")[0].is_file()


def test_safe_mode_refuses_lambdas_unless_trusted(kinds_project):
    project, result = kinds_project
    assert "lambda_default:float32: could not load the model from saved/lambda.keras" in result.output
    assert "set 'safe_mode: false'" in result.output
    assert manifest_of(project, "lambda_trusted")["verification"]["status"] == "passed"


def test_explicit_inputs_and_output_names(kinds_project):
    project, _ = kinds_project
    meta = manifest_of(project, "explicit_io")
    sig = meta["signatures"]["serving_default"]
    assert [(i["name"], i["shape"]) for i in sig["inputs"]] == [("feats", [1, 7])]
    assert [o["name"] for o in sig["outputs"]] == ["logits"]
    assert (meta["input_signature_origin"], meta["output_names_origin"]) == ("manifest", "manifest")


def test_batch_size_null_keeps_batch_dynamic(kinds_project):
    project, _ = kinds_project
    (inp,) = manifest_of(project, "dynamic_batch")["signatures"]["serving_default"]["inputs"]
    assert inp["shape_signature"] == [-1, 5]
    static = manifest_of(project, "functional_h5")["signatures"]["serving_default"]["inputs"]
    assert static[0]["shape_signature"] == [1, 5]


def test_worker_crash_fails_only_its_task(kinds_project):
    _, result = kinds_project
    assert "crash:float32: the conversion worker exited with code -11 and no result" in result.output
