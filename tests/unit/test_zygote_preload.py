"""Whether the build's warm zygote preloads KerasHub (build/workers.py ``uses_keras_hub``): only
when some model of the run may need it; a worker that needs it anyway imports it itself."""

from __future__ import annotations

import json
import zipfile

from litert_build.build.workers import uses_keras_hub


def _spec(root, source, files=()):
    return {"root": str(root), "source": source, "input_hashes": {**{f: "h" for f in files}, "settings": "s"}}


def test_plain_keras_builders_and_files_need_no_keras_hub(tmp_path):
    (tmp_path / "zoo.py").write_text("import keras\n\ndef alpha():\n    return keras.Sequential()\n")
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
        archive.writestr("config.json", json.dumps({"module": "keras.src.models.functional"}))
    specs = [_spec(tmp_path, {"builder": "zoo:alpha"}, ["zoo.py"]),
             _spec(tmp_path, {"keras": "m.keras"}, ["m.keras"])]
    assert uses_keras_hub(specs) is False


def test_presets_hub_builders_hub_files_and_unknowns_need_it(tmp_path):
    (tmp_path / "hub.py").write_text("import keras_hub\n")
    with zipfile.ZipFile(tmp_path / "hub.keras", "w") as archive:
        archive.writestr("config.json", json.dumps({"module": "keras_hub.src.models.bert"}))
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    assert uses_keras_hub([_spec(tmp_path, {"preset": "presets/bert"})])
    assert uses_keras_hub([_spec(tmp_path, {"builder": "hub:tiny"}, ["hub.py"])])
    assert uses_keras_hub([_spec(tmp_path, {"keras": "hub.keras"}, ["hub.keras"])])
    assert uses_keras_hub([_spec(tmp_path, {"keras": "model.h5"}, [])])  # not looked into
    assert uses_keras_hub([_spec(tmp_path, {"keras": "broken.keras"}, ["broken.keras"])])  # cannot tell
    assert uses_keras_hub(None)  # outside a run (verify, export)
