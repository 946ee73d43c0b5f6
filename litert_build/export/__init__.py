"""The export engine: Keras model -> LiteRT flatbuffer. Imported by the worker only.

One job per module, in the order a conversion uses them:
``signature`` (what goes in), ``kerashub`` (the KerasHub registry: static signatures),
``kerashub_rewrites`` (graph rewrites while tracing), ``adapter`` (a tf.function with named
inputs and outputs), ``converter`` (TensorFlow's LiteRT converter), ``aeq``
(ai-edge-quantizer recipes), ``inventory`` (what the flatbuffer contains), ``compare``
(verification maths), ``kerashub_assets`` (the preprocessor's runtime assets), ``aot``
(NPU compilation and its check).
"""
