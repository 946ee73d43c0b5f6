"""Small Keras model builders and models.yaml snippets that several tests build.

A builder is Python source: a test writes it into its project as a module (``zoo.py``) and
names its functions in models.yaml (``source: {builder: zoo:alpha}``). Each function seeds
Keras itself, so the same source gives the same weights in any process.
"""

from __future__ import annotations

# Two tiny Functional models: alpha 4 -> 8 -> 3 ("y"), beta 6 -> 2 softmax ("p").
ALPHA_BETA = '''
import keras


def alpha():
    keras.utils.set_random_seed(1)
    x = keras.Input((4,), name="x")
    return keras.Model(x, keras.layers.Dense(3, name="y")(keras.layers.Dense(8)(x)))


def beta():
    keras.utils.set_random_seed(2)
    x = keras.Input((6,), name="features")
    return keras.Model(x, keras.layers.Dense(2, activation="softmax", name="p")(x))
'''

ALPHA_BETA_MANIFEST = '''
schema: 1
models:
  alpha:
    version: "1"
    source: {builder: zoo:alpha}
  beta:
    version: "2"
    source: {builder: zoo:beta}
'''
