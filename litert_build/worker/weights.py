"""A digest of a Keras model's weights as built: what the signature manifest's
``weights_sha256`` records, so that ``litert-build verify`` can tell a builder that made other
weights from a conversion that made other bytes.

Imports nothing heavy at module import time; :func:`weights_sha256` runs in the worker.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

DIGEST_VERSION = 1  # part of the hashed bytes: a change of layout changes every digest


def weights_sha256(model: Any) -> str:
    """sha256 over every weight variable of ``model`` (``model.weights``: trainable and not,
    no optimizer, metric or seed state), in the model's own tracking order: for each, its
    position, name, dtype and shape as a JSON header, then its raw little-endian C-order bytes,
    both length-prefixed.

    The name is the variable's own (``kernel``), not its path (``digits/dense_2/kernel``): Keras
    numbers unnamed layers per process, so the same weights built twice in one process would
    otherwise get two digests. The position in the tracking order says which layer it is."""
    import numpy as np

    digest = hashlib.sha256(f"litert-build weights v{DIGEST_VERSION}\n".encode())
    for position, variable in enumerate(model.weights):
        array = np.asarray(_to_numpy(variable))
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        header = json.dumps([position, _name(variable), str(getattr(variable, "dtype", array.dtype)),
                             [int(d) for d in array.shape], array.dtype.str]).encode()
        data = np.ascontiguousarray(array).tobytes()
        digest.update(struct.pack("<Q", len(header)) + header)
        digest.update(struct.pack("<Q", len(data)))
        digest.update(data)
    return digest.hexdigest()


def _name(variable: Any) -> str:
    """``kernel``: Keras 3's short name (a TensorFlow variable's ``dense/kernel:0`` loses its scope)."""
    name = str(getattr(variable, "name", "") or "")
    return name.rsplit("/", 1)[-1].split(":", 1)[0]


def _to_numpy(variable: Any):
    import keras

    tensor = keras.ops.convert_to_tensor(variable)
    if hasattr(tensor, "numpy"):  # TensorFlow: numpy 2 warns on its tensors' __array__
        return tensor.numpy()
    return keras.ops.convert_to_numpy(tensor)


def weight_bytes(model: Any) -> int:
    """How many bytes ``model``'s weights hold."""
    total = 0
    for variable in model.weights:
        count = 1
        for d in variable.shape:
            count *= int(d)
        total += count * _itemsize(variable)
    return total


def _itemsize(variable: Any) -> int:
    import numpy as np

    try:
        return np.dtype(str(variable.dtype)).itemsize
    except TypeError:
        return 4  # bfloat16 and other non-NumPy types: an upper bound is enough here


def release_weights(model: Any, only: set[int] | None = None) -> None:
    """Free the memory of ``model``'s weights in place (each variable's value becomes a scalar),
    or of those whose ``id`` is in ``only``. The model cannot be called afterwards: the worker
    does this once the reference outputs are computed and the SavedModel the converter reads is
    written (or the weights' data is on disk, :func:`restore_weights`), so that the converter
    does not run beside a second copy of the weights (issue 16)."""
    import tensorflow as tf

    from litert_build.worker.allocator import give_back

    for variable in model.weights:
        if only is not None and id(variable) not in only:
            continue
        handle = _handle(variable)
        if handle is not None:
            tf.raw_ops.AssignVariableOp(resource=handle, value=tf.zeros([], variable._value.dtype),
                                        validate_shape=False)
    give_back()


def restore_weights(variables: list, standins: dict) -> None:
    """Give the released variables with a stand-in (``{id(variable): StandIn}``) their values
    back from the files :func:`litert_build.export.standin.dump_weights` wrote."""
    import numpy as np
    import tensorflow as tf

    for variable in variables:
        standin = standins.get(id(variable))
        handle = _handle(variable)
        if standin is None or handle is None:
            continue
        tf.raw_ops.AssignVariableOp(resource=handle, value=tf.constant(np.load(standin.path)),
                                    validate_shape=False)


def _handle(variable: Any):
    """The TensorFlow resource handle behind a Keras variable (None if it has none)."""
    return getattr(getattr(variable, "_value", None), "handle", None)
