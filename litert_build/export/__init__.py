"""The export engine: Keras model -> LiteRT flatbuffer. Imported by the worker only.

One job per module, in the order a conversion uses them:
``signature`` (what goes in), ``adapter`` (a tf.function with named inputs and
outputs), ``converter`` (TensorFlow's LiteRT converter), ``inventory`` (what the
flatbuffer contains).
"""
