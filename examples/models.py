"""Example model builders: small, real, deterministic, no network.

Each builder returns a built Keras model. litert-build calls them inside its
conversion worker, so importing Keras here is fine.
"""

from __future__ import annotations

import keras
import numpy as np

SEED = 1234


TRAIN_SPLIT = 1437  # the first 80% of the 1,797 digits train; the rest is held out for eval


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.data / 16.0).astype("float32"), digits.target.astype("int32")


def digits_classifier() -> keras.Model:
    """The digits MLP's architecture only: its trained weights come from models.yaml.

    ``source.weights: examples/weights/digits.weights.h5`` is loaded into this model by
    litert-build; ``python -m examples.train_digits`` trains it and writes that file.
    Training here would make the artifact's bytes follow the CPU that builds it (training
    numerics differ between instruction sets); shipped weights make them the same everywhere.
    """
    return keras.Sequential(
        [
            keras.Input((64,), name="pixels"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="digits",
    )


def digits_calibration() -> dict[str, np.ndarray]:
    """Representative inputs for int8 calibration: training images (samples on axis 0)."""
    x, _ = _digits()
    return {"pixels": x[:TRAIN_SPLIT]}


def digits_eval() -> dict[str, np.ndarray]:
    """Held-out labeled images for the accuracy check of every variant."""
    x, y = _digits()
    return {"pixels": x[TRAIN_SPLIT:], "label": y[TRAIN_SPLIT:]}


def listing_ranker() -> keras.Model:
    """A Functional model with dict inputs (declared in non-alphabetical order) and dict outputs."""
    keras.utils.set_random_seed(SEED)
    inputs = {
        "price": keras.Input((1,), name="price"),
        "category_id": keras.Input((1,), dtype="int32", name="category_id"),
        "text_features": keras.Input((16,), name="text_features"),
    }
    category = keras.layers.Flatten()(keras.layers.Embedding(10, 4)(inputs["category_id"]))
    x = keras.layers.Concatenate()([inputs["price"], category, inputs["text_features"]])
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = {
        "score": keras.layers.Dense(1, activation="sigmoid", name="score")(x),
        "segment": keras.layers.Dense(3, activation="softmax", name="segment")(x),
    }
    return keras.Model(inputs, outputs, name="listing_ranker")


@keras.saving.register_keras_serializable(package="examples")
class ResidualMLP(keras.Model):
    """A subclassed model: two residual dense blocks and a linear head."""

    def __init__(self, width: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.stem = keras.layers.Dense(width)
        self.blocks = [keras.layers.Dense(width, activation="gelu") for _ in range(2)]
        self.norm = keras.layers.LayerNormalization()
        self.head = keras.layers.Dense(4)

    def call(self, features):
        x = self.stem(features)
        for block in self.blocks:
            x = x + block(x)
        return self.head(self.norm(x))


def residual_mlp() -> keras.Model:
    keras.utils.set_random_seed(SEED)
    model = ResidualMLP(name="residual_mlp")
    model(np.zeros((1, 12), dtype="float32"))  # build: the input signature comes from this call
    return model
