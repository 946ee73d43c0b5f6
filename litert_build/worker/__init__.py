"""The conversion worker (a child process, the only place that imports TensorFlow/Keras): load,
convert, verify, write.

* ``main``: the entry point (``python -m litert_build.worker.main SPEC.json RESULT.json``) and the
  step sequences ``build`` (one model: ``build_shared`` once, ``build_variant`` per variant) and
  ``build_aot``;
* ``steps/``: one module per step; ``runner``: the step decorator and what the worker is doing;
  ``job``: the spec, typed; ``intermediate``: the records passed from step to step;
* what the steps use: ``load`` (sources -> Keras model), ``data`` (calibration and eval arrays and
  their checks), ``verify`` (the stock interpreter against Keras), ``evaluate`` (labeled
  metrics), ``weights`` (the weights digest), ``imports`` (project functions).
"""
