"""Train the example's digits classifier and write its weights, the file models.yaml ships.

    python -m examples.train_digits            # from the repository root

Trains ``examples.models.digits_classifier`` (64-64-32-10 MLP) on the first 1,437 of
scikit-learn's bundled 8x8 digits (seeded, unshuffled, 15 epochs of Adam at 1e-2) and writes
``examples/weights/digits.weights.h5`` (about 30 KB, weights only, no optimizer state). It prints
the accuracy on the 360 held-out digits.

Run it only to change the model: the build never trains. Training numerics follow the CPU (its
instruction set, oneDNN or not), so the weights this writes on another machine may differ in
the last bits; the committed file is what makes the example's artifacts byte-identical on every
machine. Commit the new file with the change that needed it (its bytes are in the cache key).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

WEIGHTS = Path(__file__).resolve().parent / "weights" / "digits.weights.h5"


def train(out: Path = WEIGHTS) -> float:
    """Train, write ``out`` and return the held-out accuracy."""
    import keras
    import numpy as np

    from examples.models import SEED, TRAIN_SPLIT, _digits, digits_classifier

    keras.utils.set_random_seed(SEED)
    x, y = _digits()
    model = digits_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x[:TRAIN_SPLIT], y[:TRAIN_SPLIT], epochs=15, batch_size=64, shuffle=False, verbose=0)

    # Save from a fresh, uncompiled copy: the file holds the layers' weights and nothing else.
    clean = digits_classifier()
    clean.set_weights(model.get_weights())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.weights.h5")
    clean.save_weights(tmp)
    os.replace(tmp, out)

    probabilities = keras.ops.convert_to_numpy(clean(x[TRAIN_SPLIT:]))
    return float(np.mean(probabilities.argmax(axis=1) == y[TRAIN_SPLIT:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS, help=f"default: {WEIGHTS}")
    args = parser.parse_args(argv)
    accuracy = train(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes); "
          f"held-out accuracy {accuracy:.4f} on 360 digits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
