"""Issue 16, memory: the lean conversion path gives the stock converter's bytes, a large model's
worker stays within a bound of its weights, and an artifact in the buffer-offset layout loads and
verifies."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from shared.hub import BUILDERS, families_manifest
from shared.project import copy_example, load_json, manifest_of, run_build, run_python, write_project

STOCK = {"LITERT_BUILD_STOCK_CONVERTER": "1", "LITERT_BUILD_CACHE": "off"}


def artifact_digests(project: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((project / "artifacts").rglob("*.tflite"))}


def scales(tflite: Path) -> list[bytes]:
    """Every tensor's quantization scales (float32 bytes), sorted."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(tflite.read_bytes(), 0)
    found = []
    for g in range(model.SubgraphsLength()):
        for t in range(model.Subgraphs(g).TensorsLength()):
            quantization = model.Subgraphs(g).Tensors(t).Quantization()
            if quantization is not None and quantization.ScaleLength():
                found.append(quantization.ScaleAsNumpy().astype("<f4").tobytes())
    return sorted(found)


def weight_digests(tflite: Path) -> list[str]:
    """The sha256 of every tensor buffer of 1 KB or more, sorted: the weights, whatever the
    layout (inline or buffer offsets) and the order the converter gave them."""
    from tensorflow.lite.python import schema_py_generated as schema

    data = tflite.read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    used = {model.Subgraphs(g).Tensors(t).Buffer() for g in range(model.SubgraphsLength())
            for t in range(model.Subgraphs(g).TensorsLength())}
    digests = []
    for index in sorted(used):
        buffer = model.Buffers(index)
        if buffer.Offset() > 1:
            chunk = data[buffer.Offset(): buffer.Offset() + buffer.Size()]
        else:
            chunk = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
        if len(chunk) >= 1024:
            digests.append(hashlib.sha256(chunk).hexdigest())
    return sorted(digests)


def test_example_bytes_equal_the_stock_converter(example_project, tmp_path):
    """Every artifact of the example (float32, dynamic_range, float16, int8, int16x8, aeq), built
    by TensorFlow's own from_saved_model().convert(), is byte for byte what the lean path made."""
    stock = copy_example(tmp_path / "stock")
    run = run_build(stock, env=STOCK)
    assert run.returncode == 0, run.output
    ours = artifact_digests(example_project)
    assert len(ours) >= 6
    assert artifact_digests(stock) == ours


def test_kerashub_bytes_equal_the_stock_converter(tmp_path):
    """A KerasHub causal LM (tiny Gemma from its constructor, masks computed at run time): same bytes
    from the stock converter and the lean path (the example's test covers every quantized kind)."""
    manifest = re.sub(r"(    source: .*\n)", r"\1    variants: {float32: {}}\n",
                      families_manifest(["gemma"]))
    ours = write_project(tmp_path / "ours", {"models.yaml": manifest})
    shutil.copy(BUILDERS, ours / "hub_families.py")
    stock = tmp_path / "stock"
    shutil.copytree(ours, stock)
    for project, env in ((ours, {"LITERT_BUILD_CACHE": "off"}), (stock, STOCK)):
        run = run_build(project, env=env)
        assert run.returncode == 0, run.output
    digests = artifact_digests(ours)
    assert set(digests) == {"gemma.float32.tflite"}
    assert artifact_digests(stock) == digests


BIG_MODEL = """
import sys, keras
keras.utils.set_random_seed(0)
x = keras.Input((2048,), name="x")
h = x
for _ in range(12):  # 12 x 2048 x 2048 float32: 192 MiB of kernels
    h = keras.layers.Dense(2048, activation="relu")(h)
keras.Model(x, keras.layers.Dense(4, name="y")(h)).save("big.keras")
"""


def test_large_model_worker_peak_stays_within_4x_its_weights(tmp_path):
    """A ~200 MB float32 model (saved .keras): the worker's peak growth above its start (a warm
    worker starts with TensorFlow imported) stays under 4x the weight bytes, with 10% for noise.
    Measured: 6.35x before issue 16's lean path, 3.7x after (TensorFlow's C++ converter alone
    holds about 2.85x; issue 16's 3x goal needs stand-in weights, not done yet). Keeping the Keras
    weights alive during conversion, or any other extra copy, fails this."""
    project = write_project(tmp_path / "big", {"models.yaml": """schema: 1
models:
  big: {version: "1", source: {keras: big.keras}, variants: {float32: {}}}
"""})
    run_python(project, BIG_MODEL)
    run = run_build(project, env={"LITERT_BUILD_CACHE": "off"})
    assert run.returncode == 0, run.output
    record = load_json(project / ".litert-build/builds/big.float32.json")
    weights = 12 * 2048 * 2048 * 4
    assert record["peak_rss"] > weights  # measured: the worker held the weights at least once
    assert record["peak_rss"] <= 4.0 * 1.10 * weights, record["peak_rss"] / weights
    meta = manifest_of(project, "big")
    assert meta["artifact"]["layout"] == "inline"
    assert meta["verification"]["status"] == "passed"


def test_buffer_offset_layout_loads_and_verifies(tmp_path):
    """A small model forced into the layout the converter uses past 2 GB (buffers after the
    flatbuffer, by offset): the manifest says so, it verified, and the stock interpreter runs it
    from the file and from memory with the same outputs as the inline layout."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    project = write_project(tmp_path / "offsets", {"models.yaml": """schema: 1
models:
  small:
    version: "1"
    source: {keras: small.keras}
    variants:
      float32: {}
      offsets: {kind: float32, converter_options: {experimental_use_buffer_offset: true}}
"""})
    run_python(project, """
import keras
keras.utils.set_random_seed(0)
x = keras.Input((64,), name="x")
h = keras.layers.Dense(256, activation="relu")(x)
keras.Model(x, keras.layers.Dense(8, name="y")(h)).save("small.keras")
""")
    run = run_build(project, env={"LITERT_BUILD_CACHE": "off"})
    assert run.returncode == 0, run.output
    inline, offsets = manifest_of(project, "small"), manifest_of(project, "small", "offsets")
    assert inline["artifact"]["layout"] == "inline"
    assert offsets["artifact"]["layout"] == "buffer_offsets"
    assert offsets["verification"]["status"] == "passed"
    folder = project / "artifacts/small/1"
    sample = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)
    outputs = []
    for path, content in ((folder / "small.float32.tflite", None), (folder / "small.offsets.tflite", None),
                          (None, (folder / "small.offsets.tflite").read_bytes())):
        interpreter = (Interpreter(model_path=str(path)) if path else Interpreter(model_content=content))
        outputs.append(interpreter.get_signature_runner("serving_default")(x=sample)["y"])
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])


STANDIN_MODEL_ENTRY = """  %s:
    version: "1"
    source: {keras: mlp.keras}
    stand_ins: %s
    variants: {%s}
"""
STANDIN_MODEL = """
import keras
keras.utils.set_random_seed(0)
x = keras.Input((300,), name="x")
h = keras.layers.Dense(256, activation="relu")(x)
h = keras.layers.Dense(256, activation="relu")(h)  # square kernel: transposed all the same
keras.Model(x, keras.layers.Dense(8, name="y")(h)).save("mlp.keras")
"""


def interpreter_outputs(tflite: Path, feeds: dict) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(tflite)).get_signature_runner("serving_default")(**feeds)


def test_standin_weights_give_the_same_model_numerically(tmp_path):
    """``stand_ins: always``: float32, float16 and dynamic_range are converted from splat
    stand-ins and their real weights written afterwards; each verifies, holds exactly the weights
    the usual conversion holds (float16: cast the same way; dynamic_range: quantized the same way,
    the same scales) and computes exactly what it computes, and is byte-identical when built
    again."""
    import numpy as np

    every = "float32: {}, float16: {}, dynamic_range: {}"
    models = {"usual": ("never", every), "standins": ("always", every), "again": ("always", every),
              "nofloat32": ("always", "float16: {}")}  # one project, one run: the same model file
    manifest = "schema: 1\nmodels:\n" + "".join(STANDIN_MODEL_ENTRY % (name, setting, variants)
                                                 for name, (setting, variants) in models.items())
    project = write_project(tmp_path, {"models.yaml": manifest})
    run_python(project, STANDIN_MODEL)
    run = run_build(project, env={"LITERT_BUILD_CACHE": "off"})
    assert run.returncode == 0, run.output
    assert "stand-in weights not used" not in run.output, run.output

    def artifact(name: str, kind: str) -> Path:
        return project / f"artifacts/{name}/1/{name}.{kind}.tflite"

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert len(list((project / "artifacts/nofloat32").rglob("*.tflite"))) == 1
    feeds = {"x": np.random.default_rng(1).standard_normal((1, 300)).astype(np.float32)}
    for kind in ("float32", "float16", "dynamic_range"):
        assert digest(artifact("again", kind)) == digest(artifact("standins", kind))  # deterministic
        usual, standins = (manifest_of(project, name, kind) for name in ("usual", "standins"))
        assert usual["stand_in_weights"] is None and usual["artifact"]["layout"] == "inline"
        assert standins["stand_in_weights"] == 2 and standins["artifact"]["layout"] == "buffer_offsets"
        assert standins["verification"]["status"] == "passed"
        assert weight_digests(artifact("standins", kind)) == weight_digests(artifact("usual", kind))
        assert scales(artifact("standins", kind)) == scales(artifact("usual", kind))
        got, want = (interpreter_outputs(artifact(name, kind), feeds) for name in ("standins", "usual"))
        np.testing.assert_array_equal(got["y"], want["y"])
    # float32_size: the float32 stand-in artifact's (built beside it) or, without one, estimated
    # from a float32 conversion whose splats stay FILL ops: within a few hundred bytes
    usual_size = manifest_of(project, "usual")["artifact"]["size"]
    for name, kind in (("standins", "dynamic_range"), ("nofloat32", "float16")):
        size = manifest_of(project, name, kind)["quantization"]["float32_size"]
        assert abs(size - usual_size) < 0.005 * usual_size, (name, size, usual_size)
    assert manifest_of(project, "nofloat32", "float16")["stand_in_weights"] == 2


KINDS = ("float32", "float16", "dynamic_range")  # the kinds converted from stand-ins
GEMMA_BUILDER = """
import keras, keras_hub


def gemma():
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.GemmaBackbone(
        vocabulary_size=512, num_layers=2, num_query_heads=4, num_key_value_heads=1, hidden_dim=128,
        intermediate_dim=256, head_dim=32)  # every kernel >= 64 KB: all of them stand in
    return keras_hub.models.GemmaCausalLM(backbone, preprocessor=None)
"""


def test_standin_weights_on_a_kerashub_causal_lm(tmp_path):
    """Gemma (EinsumDense attention kernels [128, 4, 32] and [4, 32, 128], gated FFN, tied
    embedding used by GATHER and by the output projection) with stand-ins, float32, float16 and
    dynamic_range (the embedding then quantized twice: per tensor for GATHER, per channel for the
    projection): every large weight mapped back (the same weights and scales as the usual
    conversion's), verified against Keras, and the same outputs as the usual conversion."""
    import numpy as np

    entry = """  gemma_%s:
    version: "1"
    source: {builder: "gemma_builder:gemma"}
    sequence_length: 16
    stand_ins: %s
    variants: {float32: {}, float16: {}, dynamic_range: {}}
"""
    manifest = "schema: 1\nmodels:\n" + entry % ("never", "never") + entry % ("always", "always")
    feeds = {"token_ids": np.arange(16, dtype=np.int32).reshape(1, 16) * 7 % 512,
             "padding_mask": np.ones((1, 16), dtype=np.int32)}
    project = write_project(tmp_path, {"models.yaml": manifest, "gemma_builder.py": GEMMA_BUILDER})
    run = run_build(project, env={"LITERT_BUILD_CACHE": "off"})
    assert run.returncode == 0, run.output
    assert "stand-in weights not used" not in run.output, run.output
    artifacts: dict[tuple[str, str], Path] = {}
    for setting in ("never", "always"):
        for kind in KINDS:
            meta = manifest_of(project, f"gemma_{setting}", kind)
            assert meta["verification"]["status"] == "passed"
            # per layer q, o, gate, up, down (k and v, one head, are under 64 KB), and the embedding
            assert meta["stand_in_weights"] == (2 * 5 + 1 if setting == "always" else None)
            artifacts[setting, kind] = project / f"artifacts/gemma_{setting}/1/gemma_{setting}.{kind}.tflite"
    for kind in KINDS:
        usual, standins = artifacts["never", kind], artifacts["always", kind]
        assert weight_digests(standins) == weight_digests(usual)
        assert scales(standins) == scales(usual)
        np.testing.assert_allclose(interpreter_outputs(standins, feeds)["logits"],
                                   interpreter_outputs(usual, feeds)["logits"], rtol=0, atol=1e-6)


FOLDED_BUILDER = """
import keras


class Doubled(keras.layers.Layer):
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 128), initializer="glorot_uniform")

    def call(self, x):
        return keras.ops.matmul(x, self.kernel * 2.0)  # the converter folds kernel * 2


def model():
    keras.utils.set_random_seed(0)
    x = keras.Input((256,), name="x")
    return keras.Model(x, keras.layers.Dense(4, name="y")(Doubled()(x)))
"""


def test_a_weight_the_converter_folds_falls_back_to_the_usual_conversion(tmp_path):
    """A 128 KB kernel multiplied by a constant inside the graph: the converter folds the product,
    so no buffer holds the stand-in's value. The variant converts as usual, verified, and says so
    on the console and in its manifest."""
    manifest = """schema: 1
models:
  folded:
    version: "1"
    source: {builder: "folded_builder:model"}
    stand_ins: always
    variants: {float32: {}, dynamic_range: {}}
"""
    project = write_project(tmp_path, {"models.yaml": manifest, "folded_builder.py": FOLDED_BUILDER})
    run = run_build(project, env={"LITERT_BUILD_CACHE": "off"})
    assert run.returncode == 0, run.output
    for kind in ("float32", "dynamic_range"):
        meta = manifest_of(project, "folded", kind)
        assert meta["verification"]["status"] == "passed"
        assert meta["stand_in_weights"] is None and meta["artifact"]["layout"] == "inline"
        assert "could not be mapped back" in meta["stand_in_fallback"], meta["stand_in_fallback"]
        assert re.search(rf"folded:{kind}: converted: .*stand-in weights not used: the converted model could "
                         r"not be mapped back \(1 stand-in weight\(s\) not found", run.output), run.output
