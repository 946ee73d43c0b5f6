"""Calibration and evaluation arrays, loaded and checked in the worker: names, shapes and dtypes
against the model's input signature, every value finite, every message naming the file."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from litert_build.config.settings import Calibration, Eval
from litert_build.errors import ManifestError
from litert_build.worker.imports import import_from_project


def source_label(block: Calibration | Eval, what: str) -> str:
    """How messages name a data block: ``calibration file 'data/c.npz'`` or its builder."""
    if block.npz is not None:
        return f"{what} file '{block.npz}'"
    return f"{what} builder '{block.builder}'"


def load_arrays(root: Path, block: Calibration | Eval, what: str) -> dict[str, np.ndarray]:
    """Load a data block as {name: array with samples on the first axis}, every value finite."""
    import numpy as np

    label = source_label(block, what)
    if block.npz is not None:
        try:
            with np.load(root / block.npz, allow_pickle=False) as data:
                arrays = {key: np.asarray(data[key]) for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # not an npz, pickled objects
            raise ManifestError(f"{label} cannot be read as a .npz of arrays: {exc}.",
                                field=f"{what}.npz") from None
    else:
        arrays = _from_builder(root, block, what, label)
    check_finite(arrays, label, what)
    return arrays


def _from_builder(root: Path, block: Calibration | Eval, what: str, label: str) -> dict[str, np.ndarray]:
    import numpy as np

    func = import_from_project(root, block.builder, f"{what}.builder")
    try:
        result = func()
    except Exception as exc:
        raise ManifestError(f"{label} raised {type(exc).__name__}: {exc}", field=f"{what}.builder") from exc
    if isinstance(result, dict):
        return {str(k): np.asarray(v) for k, v in result.items()}
    rows = list(result)
    if not rows or not all(isinstance(r, dict) for r in rows):
        raise ManifestError(
            f"{label} must return a dict of arrays or an iterable of input dicts.",
            field=f"{what}.builder",
        )
    return {key: np.stack([np.asarray(r[key]) for r in rows]) for key in rows[0]}


def check_finite(arrays: dict[str, np.ndarray], label: str, what: str) -> None:
    """NaN or Inf in calibration or eval data is an error naming the array and first bad sample:
    calibrating on it gives a model that is float in all but name, evaluating on it proves nothing."""
    import numpy as np

    for key in sorted(arrays):
        array = arrays[key]
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.integer):
            continue
        bad = ~np.isfinite(array)
        if not bad.any():
            continue
        rows = np.flatnonzero(bad.reshape(len(array), -1).any(axis=1)) if array.ndim else [0]
        first = int(rows[0])
        value = array.reshape(len(array), -1)[first][bad.reshape(len(array), -1)[first]][0] \
            if array.ndim else array.item()
        total = len(array) if array.ndim else 1
        raise ManifestError(
            f"{label}, array '{key}': sample {first} holds {value} ({len(rows)} of {total} samples "
            "have NaN or Inf). Clean the data: non-finite values cannot calibrate or check a model.",
            field=what,
        )


def check_against_signature(
    arrays: dict[str, np.ndarray], tensors, what: str, extra_keys: tuple[str, ...] = (),
    label: str | None = None,
) -> int:
    """Check names, shapes and dtypes of sample arrays against the input signature.

    Each input's array has the samples on its first axis, and one sample has the
    input's shape without its batch dimension: input [1, 64] -> array [N, 64].
    Returns N. Floats may be given in any float precision and integers in any integer
    type (they are cast); a float given for an integer input or the reverse is an error.
    An array keyed by a Keras-generated name of an input (``keras_tensor_3``, ``input_layer``) is
    re-keyed, in ``arrays``, to the input's name. ``label`` names the data's file or builder in
    every message.
    """
    label = label or f"the {what} data"
    for t in tensors:  # an input renamed from a Keras-generated name: its own names are keys too
        own = [alias for alias in getattr(t, "aliases", ()) if alias in arrays]
        if t.name not in arrays and own:
            arrays[t.name] = arrays.pop(own[0])
    _check_names(arrays, [t.name for t in tensors], what, extra_keys, label)
    counts = set()
    for t in tensors:
        _check_array(arrays[t.name], t, what, label)
        counts.add(arrays[t.name].shape[0])
    if len(counts) != 1:
        raise ManifestError(
            f"{label}: the arrays have different sample counts: "
            f"{ {t.name: int(arrays[t.name].shape[0]) for t in tensors} }.",
            field=what,
        )
    return counts.pop()


def _check_names(arrays: dict[str, np.ndarray], names: list[str], what: str,
                 extra_keys: tuple[str, ...], label: str) -> None:
    """One array per input, and no other arrays than ``extra_keys`` (e.g. the labels)."""
    missing = [n for n in names if n not in arrays]
    unknown = [k for k in arrays if k not in names and k not in extra_keys]
    if missing or unknown:
        raise ManifestError(
            f"{label} has arrays {sorted(arrays)}; the model's inputs are {names}"
            + (f" (missing: {missing})" if missing else "")
            + (f" (not inputs: {unknown})" if unknown else "") + ".",
            field=what,
        )


def _check_array(array: np.ndarray, t, what: str, label: str) -> None:
    """Samples of the input's shape (batch first, any count) and of its kind of dtype."""
    import numpy as np

    expected = ("N",) + tuple("?" if d is None else d for d in t.shape[1:])
    shape_ok = array.ndim == len(t.shape) and all(
        want is None or want == got for want, got in zip(t.shape[1:], array.shape[1:], strict=False)
    )
    if not shape_ok:
        raise ManifestError(
            f"{label}, array '{t.name}': expected samples of shape {list(expected)} (the input is "
            f"{list(t.shape)}, batch first), got an array of shape {list(array.shape)}.",
            field=what,
        )
    want_float = np.issubdtype(np.dtype(t.dtype), np.floating)
    got_float = np.issubdtype(array.dtype, np.floating)
    got_int = np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_
    if (want_float and not got_float) or (not want_float and not got_int):
        raise ManifestError(
            f"{label}, array '{t.name}': expected dtype {t.dtype}, got {array.dtype}.", field=what
        )


def samples(arrays: dict[str, np.ndarray], tensors, indices) -> list[list[np.ndarray]]:
    """One list of batch-1 input arrays (signature order, signature dtype) per index."""
    return [
        [arrays[t.name][i : i + 1].astype(t.dtype) for t in tensors] for i in indices
    ]
