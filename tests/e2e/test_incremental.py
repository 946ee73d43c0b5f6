"""Only what changed is rebuilt: weights edits, manifest edits, and doit clean."""

from __future__ import annotations

from shared.project import run_build, run_python, write_project
from shared.zoo import DENSE, module

MANIFEST = '''
schema: 1
models:
  alpha:
    version: "1"
    source: {builder: zoo:dense, weights: w/alpha.weights.h5}
  beta:
    version: "1"
    source: {builder: zoo:dense, weights: w/beta.weights.h5}
'''


def save_weights(project, seeds: dict[str, int]) -> None:
    """``w/<name>.weights.h5`` for each name, seeded (one Python process for all)."""
    run_python(project, f"""
        import keras
        from zoo import dense
        for name, seed in {seeds!r}.items():
            keras.utils.set_random_seed(seed)
            dense().save_weights(f"w/{{name}}.weights.h5")
    """)


def test_only_changed_model_rebuilds_and_clean_removes(tmp_path):
    project = write_project(tmp_path, {"zoo.py": module(DENSE), "models.yaml": MANIFEST})
    (project / "w").mkdir()
    save_weights(project, {"alpha": 1, "beta": 2, "alpha_next": 3})

    first = run_build(project)
    assert first.returncode == 0, first.output
    assert sorted(first.executed) == ["convert:alpha:float32", "convert:beta:float32"]

    (project / "w/alpha_next.weights.h5").replace(project / "w/alpha.weights.h5")  # new bytes for alpha only
    second = run_build(project)
    assert second.returncode == 0, second.output
    assert second.executed == ["convert:alpha:float32"]

    info_before = run_build(project, "info", "convert:beta:float32")
    assert "up-to-date" in info_before.output

    # A settings change rebuilds that model only, and `info` says why first.
    text = (project / "models.yaml").read_text()
    (project / "models.yaml").write_text(text.replace(
        "source: {builder: zoo:dense, weights: w/beta.weights.h5}",
        "source: {builder: zoo:dense, weights: w/beta.weights.h5}\n    verify: {samples: 3}"))
    info = run_build(project, "info", "convert:beta:float32")
    assert "status     : run" in info.output, info.output
    assert "settings of beta:float32 in models.yaml" in info.output
    third = run_build(project)
    assert third.executed == ["convert:beta:float32"], third.output

    clean = run_build(project, "clean")
    assert clean.returncode == 0, clean.output
    assert not list((project / "artifacts").rglob("*.tflite"))
