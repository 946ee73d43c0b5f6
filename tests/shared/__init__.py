"""What both test tiers (tests/unit, tests/e2e) and the benchmarks (bench/) share.

``tests/`` is on ``sys.path`` (pyproject.toml, ``[tool.pytest.ini_options] pythonpath``; the
benchmarks insert it themselves), so this package imports as ``shared``:

* :mod:`shared.project`: write a test project, run ``litert-build`` in it, read what it wrote;
* :mod:`shared.zoo`: the small Keras model builders and models.yaml snippets of several tests;
* :mod:`shared.bundles`: hand-made release bundles (no TensorFlow) for publish and verify tests;
* :mod:`shared.tiny_tflite`: a real one-op LiteRT model written without TensorFlow;
* :mod:`shared.hub`: the tiny KerasHub families (``hub_families.py`` is copied into projects).
"""
