"""The steps of a conversion, one module each, in the order :func:`litert_build.worker.main.build`
runs them; each takes the records of the steps before it (:mod:`litert_build.worker.intermediate`):

``load`` (the Keras model, its weights digest) ▸ ``signature`` (the artifact's inputs; KerasHub:
the registry, the preprocessor detached) ▸ ``trace`` (the serving function) ▸ ``save`` (its
SavedModel) — once per worker, for all the variants it builds — then, for every variant before
any conversion, ``calibrate`` (the calibration data) ▸ ``reference`` (the verification inputs and
Keras' outputs for them); then the Keras weights are released (unless a variant has ``eval:``
data) and per variant ▸ ``convert`` (the variant and float32, with TensorFlow's converter) ▸
``quantize`` (ai-edge-quantizer, ``kind: aeq`` only) ▸ ``check_ops`` (custom, Flex, float weights,
strict int8) ▸ ``verify`` (against Keras, in the stock interpreter) ▸ ``evaluate`` (the ``eval:``
data) ▸ ``describe`` (the signature manifest and runtime assets) ▸ ``write`` (atomic, manifest
last).

``aot`` holds the steps of :func:`litert_build.worker.main.build_aot`, which compiles a built
variant for an NPU target without loading the Keras model.
"""
