"""The records that pass from one step of the worker to the next (see
:mod:`litert_build.worker.steps`), in the order the steps make them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from litert_build.export.adapter import ServingFunction
    from litert_build.export.inventory import OpInventory
    from litert_build.export.kerashub import HubSignature
    from litert_build.export.signature import InputHints, InputSignature


@dataclass
class LoadedModel:
    """``load``: the Keras model as built or loaded (KerasHub: ``signature`` detaches its
    preprocessor)."""

    model: Any  # keras.Model
    weights_sha256: str  # of the model as loaded, before any export step
    from_hub: bool  # a KerasHub task or backbone


@dataclass(frozen=True)
class ModelInputs:
    """``signature``: the artifact's inputs."""

    signature: InputSignature
    hub: HubSignature | None  # the KerasHub registry's static signature, unless inputs: are given
    preprocessor: Any  # the KerasHub preprocessor detached from the model (shipped as assets), or None

    @property
    def hints(self) -> InputHints | None:
        """What valid verification inputs look like (KerasHub registry only)."""
        return self.hub.hints if self.hub else None


@dataclass(frozen=True)
class Traced:
    """``trace``: the serving function the converter sees and verification calls."""

    serving: ServingFunction
    rewrites: list[str]  # graph rewrites active while tracing (KerasHub), as the manifest lists them


@dataclass
class Saved:
    """``save``: the traced model as a temporary SavedModel, converted once per variant; the
    float32 conversion, made once for all the variants built from it."""

    folder: str | None  # the usual SavedModel; None until usual_folder() when it is deferred
    finite: bool = False  # no float constant or weight is infinite (export/infinities.py)
    float32: bytes | None = None
    float32_size: int | None = None  # a float32 conversion's size, when only that was needed
    standin_folder: str | None = None  # the SavedModel traced with stand-in weights, if any
    standins: dict = field(default_factory=dict)  # id(variable) -> export.standin.StandIn
    scratch: Path | None = None  # where the stand-ins' data and assembled artifacts go
    write_usual: Callable[[], str] | None = None  # writes the deferred usual SavedModel (once)

    def usual_folder(self) -> str:
        """The usual SavedModel, written now if it was deferred (every variant converts from
        stand-ins, and one fell back)."""
        if self.folder is None:
            self.folder = self.write_usual()
        return self.folder


@dataclass(frozen=True)
class Calibration:
    """``calibrate``: the variant's calibration samples and the held-out rest."""

    representative: list[dict[str, np.ndarray]]  # by input name: what the converter calibrates on
    held_out: list[list[np.ndarray]]  # in signature order: verification inputs
    record: dict[str, Any]  # the manifest's quantization.calibration


@dataclass(frozen=True)
class Reference:
    """``reference``: the verification inputs and the Keras model's outputs for them, computed
    before any conversion (the model's weights may be released afterwards)."""

    inputs: list[list[np.ndarray]]  # samples, each in signature order
    origin: str  # the manifest's verification.inputs: "random", "held-out calibration", ...
    outputs: list[dict[str, np.ndarray]]  # Keras' outputs per sample, by output name


@dataclass(frozen=True)
class Converted:
    """``convert`` (and ``quantize``, for ``kind: aeq``): the variant's flatbuffer."""

    flatbuffer: bytes  # the artifact
    float32_size: int  # bytes of the model's float32 artifact (the manifest's size ratio)
    float32: bytes | None = None  # the float32 conversion (kind aeq quantizes it), if made
    aeq: dict[str, Any] | None = None  # quantization.ai_edge_quantizer: what the recipe quantized
    stand_ins: int = 0  # weights written after conversion (export/standin.py), 0: the converter's
    stand_in_fallback: str | None = None  # why stand-ins were prepared but not used, if so


@dataclass(frozen=True)
class CheckedOps:
    """``check_ops``: what the flatbuffer's operators are, once they passed the checks."""

    inventory: OpInventory
    float_ops: dict[str, int]  # ops that compute in floating point, with counts


@dataclass(frozen=True)
class Described:
    """``describe``: everything ``write`` puts on disk."""

    flatbuffer: bytes
    manifest: dict[str, Any]  # the signature manifest
    assets: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes, in <model>.assets/


# ------------------------------------------------------------- kind: aot (steps/aot.py)


@dataclass(frozen=True)
class BaseArtifact:
    """``read_base``: the built variant an AOT target compiles."""

    path: Path
    flatbuffer: bytes
    manifest: dict[str, Any]  # its signature manifest


@dataclass(frozen=True)
class Compiled:
    """``compile_target``: the base compiled for one NPU target."""

    vendor: str
    soc: str
    flatbuffer: bytes
    inventory: OpInventory
    offload: dict[str, Any]  # ops offloaded to the NPU, from the compiler's report
