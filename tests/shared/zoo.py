"""Small Keras model builders and models.yaml snippets that several tests and benchmarks build.

A builder is Python source: a test writes a module of them into its project (``zoo.py``, made
by :func:`module`) and names them in models.yaml (``source: {builder: zoo:alpha}``). Each one
seeds Keras itself (or gets its weights from a file), so the same source gives the same
weights in any process.
"""

from __future__ import annotations

import textwrap

HEADER = "import os\n\nimport keras\nimport numpy as np\n"


def module(*builders: str) -> str:
    """The text of one builder module: the imports builders use, then ``builders``."""
    return HEADER + "".join("\n\n" + textwrap.dedent(b).strip() + "\n" for b in builders)


ALPHA = '''
def alpha():
    """4 -> 8 -> 3 ("y")."""
    keras.utils.set_random_seed(1)
    x = keras.Input((4,), name="x")
    return keras.Model(x, keras.layers.Dense(3, name="y")(keras.layers.Dense(8)(x)))
'''

BETA = '''
def beta():
    """6 -> 2, softmax ("p")."""
    keras.utils.set_random_seed(2)
    x = keras.Input((6,), name="features")
    return keras.Model(x, keras.layers.Dense(2, activation="softmax", name="p")(x))
'''

DENSE = '''
def dense():
    """4 -> 3 ("y"), unseeded: its weights come from a weights file or the caller's seed."""
    x = keras.Input((4,), name="x")
    return keras.Model(x, keras.layers.Dense(3, name="y")(x))
'''

WIDE = '''
def wide():
    """Weight-dominated: 64 -> 256 -> 256 -> 10, softmax ("probs"), about 84k weights."""
    keras.utils.set_random_seed(21)
    x = keras.Input((64,), name="x")
    h = keras.layers.Dense(256, activation="relu")(x)
    h = keras.layers.Dense(256, activation="relu")(h)
    return keras.Model(x, keras.layers.Dense(10, activation="softmax", name="probs")(h))
'''

ALPHA_BETA = module(ALPHA, BETA)

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

ALPHA_BETA_PROJECT = {"zoo.py": ALPHA_BETA, "models.yaml": ALPHA_BETA_MANIFEST}  # the files of a project
