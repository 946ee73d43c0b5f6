"""The settings of models.yaml as typed records: the one place that says which fields exist,
their types, defaults and meaning.

``schema.json`` (what editors and :mod:`litert_build.config.models_yaml` validate against) is
generated from these classes by :mod:`litert_build.config.schema_gen`; a test fails when the
committed file is stale. models.yaml is checked against that schema first (so every error is
located and worded the same way), then parsed into these records; code after the config layer
reads attributes, never string keys.

A record remembers which fields were given: :meth:`Settings.to_json` returns exactly those
(``exclude_unset``), so the resolved settings hash and are written into manifests as the plain
dicts they were resolved from, and a default declared here never silently enters a build key.
A default that depends on the variant's kind is declared ``None`` and resolved by
:mod:`litert_build.config.kinds`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from litert_build.config.kinds import KINDS

# ------------------------------------------------------------------------------ value types

MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
VARIANT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"
FUNCTION_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
TENSOR_NAME_PATTERN = r"^[A-Za-z0-9.][A-Za-z0-9_.\-/]*$"
AOT_TARGET_PATTERN = r"^[a-z_]+/[A-Za-z0-9_]+$"

ModelName = Annotated[str, StringConstraints(pattern=MODEL_NAME_PATTERN)]
VariantName = Annotated[str, StringConstraints(pattern=VARIANT_NAME_PATTERN)]
Version = Annotated[str, StringConstraints(pattern=VERSION_PATTERN)]
Function = Annotated[str, StringConstraints(pattern=FUNCTION_PATTERN)]
TensorName = Annotated[str, StringConstraints(pattern=TENSOR_NAME_PATTERN)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Positive = Annotated[int, Field(ge=1)]
# An int stays an int (1 and 1.0 are different settings to the cache key): a union, not float.
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
NonNegative = Annotated[int | float, Field(ge=0), WithJsonSchema({"type": "number", "minimum": 0})]
Fraction = Annotated[int | float, Field(ge=0, le=1),
                     WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})]

KindName = Literal[tuple(KINDS)]  # type: ignore[valid-type]
Metric = Literal["allclose", "mean_abs", "max_abs", "sqnr", "tokens"]
EvalMetric = Literal["accuracy", "top5", "mse"]
TensorDtype = Literal["float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool"]
BundleFormat = Literal["tar.gz", "zip"]
IoType = Literal["float", "int8", "uint8"]


class Settings(BaseModel):
    """A block of models.yaml: unknown fields are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def given(self, *names: str) -> list[str]:
        """Which of ``names`` models.yaml set (an unset field reads as its default)."""
        return [name for name in names if name in self.model_fields_set]

    def to_json(self) -> dict[str, Any]:
        """The fields that were given, as plain JSON data (what is hashed and recorded)."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


# ----------------------------------------------------------------------------------- blocks


class Source(Settings):
    """Where the model comes from: exactly one of keras, builder or preset."""

    keras: str = Field(None, description="Path to a .keras or .h5 file, relative to models.yaml.")
    builder: Function = Field(
        None, description="package.module:function returning a built Keras model.")
    weights: str = Field(None, description="A .weights.h5 file loaded into the builder's model.")
    deps: list[str] = Field(
        default_factory=list, description="Globs of extra files whose content counts in the build hash.")
    preset: str = Field(
        None, description="A local KerasHub preset folder (made with save_to_preset), relative to "
        "models.yaml.")
    task: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = Field(
        None, description="KerasHub task class to load the preset as (e.g. CausalLM, GPT2CausalLM); "
        "default: the class the preset's task.json names.")


class Tensor(Settings):
    """One input of an explicit signature."""

    name: TensorName = Field(description="A LiteRT tensor name: starts with a letter, digit or '.', "
                             "then letters, digits, '_', '.', '-', '/'.")
    shape: list[Positive | None] = Field(description="Dimensions; null is a dynamic one.")
    dtype: TensorDtype = Field("float32", description="Element type.")


def _option(default: bool, description: str) -> Any:
    return Field(default, description=f"{description} (TensorFlow's default: {str(default).lower()}).")


class ConverterOptions(Settings):
    """Settings of TensorFlow's LiteRT converter. Quantization settings belong to variant kinds."""

    allow_custom_ops: bool = _option(False, "Keep ops with no LiteRT kernel as custom ops")
    experimental_new_converter: bool = _option(True, "Use the MLIR converter")
    experimental_enable_resource_variables: bool = _option(True, "Convert resource variables")
    experimental_lower_tensor_list_ops: bool = _option(True, "Lower TensorList ops to builtins")
    experimental_default_to_single_batch_in_tensor_list_ops: bool = _option(
        False, "Assume batch 1 in TensorList ops")
    experimental_unfold_large_splat_constant: bool = _option(
        False, "Unfold large constants filled with one value")
    experimental_enable_dynamic_update_slice: bool = _option(
        False, "Emit DYNAMIC_UPDATE_SLICE for in-place slice updates")
    experimental_preserve_assert_op: bool = _option(False, "Keep Assert ops")
    experimental_disable_fuse_mul_and_fc: bool = _option(
        False, "Do not fuse a multiplication into a fully connected op")
    experimental_use_buffer_offset: bool = _option(
        False, "Store buffers by offset (files past 2 GB)")
    unfold_batchmatmul: bool = _option(False, "Unfold BatchMatMul into FullyConnected ops")
    legalize_custom_tensor_list_ops: bool = _option(False, "Legalize custom TensorList ops")
    exclude_conversion_metadata: bool = _option(False, "Leave the conversion metadata out")


class Verify(Settings):
    """How an artifact is compared with Keras on seeded random inputs."""

    samples: Positive = Field(8, description="Seeded random inputs to compare on.")
    seed: int = Field(0, description="Seed of the verification inputs.")
    atol: NonNegative = Field(
        None, description="Absolute tolerance (default per kind, see README). Setting it on a "
        "quantized kind selects that kind's absolute gate instead of SQNR.")
    rtol: NonNegative = Field(None, description="Relative tolerance (default per kind, see README).")
    int_range: Annotated[list[int], Field(min_length=2, max_length=2)] = Field(
        default_factory=lambda: [0, 10],
        description="[low, high) for random integer inputs such as token ids.")
    metric: Metric = Field(
        None, description="allclose: every element within atol + rtol*|keras|; mean_abs / max_abs: "
        "mean / max |error| <= atol + rtol * mean / max |keras|; sqnr: 10 log10(sum keras^2 / sum "
        "error^2) >= min_sqnr_db; tokens (kind llm): greedy generation against KerasHub. Default "
        "per kind: sqnr for the quantized kinds, tokens for llm, else allclose.")
    min_sqnr_db: Number = Field(
        None, description="Minimum signal-to-quantization-noise ratio in dB against the float Keras "
        "output, for metric sqnr (default per kind, see README).")
    tokens: Positive = Field(
        None, description="kind llm: greedy tokens generated and compared with KerasHub (16).")
    prompt_tokens: Positive = Field(
        None, description="kind llm: length of the seeded prompt, in tokens (12).")
    min_token_agreement: Fraction = Field(
        None, description="kind llm (metric tokens): the share of the generated tokens whose greedy "
        "choice the artifact must reproduce, fed KerasHub's sequence (1.0: the same tokens; default "
        "1.0, 0.75 with a quantization recipe).")


class Calibration(Settings):
    """Representative inputs for int8/int16x8: exactly one of npz or builder."""

    npz: str = Field(
        None, description="A .npz file with one array per input name; first axis = samples.")
    builder: Function = Field(
        None, description="package.module:function returning a dict of arrays or an iterable of "
        "input dicts.")
    samples: Positive = Field(100, description="How many samples calibrate; the rest verify.")
    seed: int = Field(0, description="Seed of the sample selection.")


class Eval(Settings):
    """Labeled evaluation of the float Keras model and the variant on the same data."""

    npz: str = Field(
        None, description="A .npz file with one array per input name plus the labels array.")
    builder: Function = Field(
        None, description="package.module:function returning a dict of arrays (inputs and labels).")
    labels: str = Field(description="Key of the labels array.")
    metric: EvalMetric = Field("accuracy", description="What is measured on the labels.")
    output: str = Field(None, description="Output to evaluate (default: the only output).")
    samples: Positive = Field(None, description="Evaluate on the first N samples (default: all).")
    max_drop: NonNegative = Field(
        None, description="Fail the variant when its metric is worse than float Keras by more than "
        "this (default: no limit, the drop is only reported).")


ImageSize = Positive | Annotated[list[Positive], Field(min_length=2, max_length=2)]
Dynamic = Literal["dynamic"]  # a dimension left dynamic in the artifact


class Prompts(Settings):
    """How many prompts of each kind a promptable segmenter (KerasHub SAM) takes per image."""

    points: Positive = Field(1, description="Point prompts (and as many point labels).")
    boxes: Positive = Field(1, description="Box prompts.")
    masks: Positive = Field(1, description="Mask prompts.")


class VariantScoped(Settings):
    """Settings given on a model (or in defaults) and per variant; resolved per variant, so
    e.g. calibration data only counts in the hash of the variants that use it."""

    converter_options: ConverterOptions = Field(
        default_factory=ConverterOptions, description="Settings of TensorFlow's LiteRT converter.")
    verify: Verify = Field(None, description="Verification against Keras (defaults per kind).")
    allow_flex_ops: bool = Field(
        False, description="Allow Select TF (Flex) ops: a graph that needs them fails to build "
        "unless this is true.")
    calibration: Calibration = Field(None, description="Calibration data (int8, int16x8, static "
                                     "ai-edge-quantizer recipes).")
    eval: Eval = Field(None, description="Labeled evaluation (default: none).")
    sequence_length: Positive | Dynamic = Field(
        None, description="KerasHub text models: static sequence length (beats the preprocessor's; "
        "128 when neither is known), or 'dynamic' for a dynamic length dimension (verified at two "
        "lengths; an error where it would need Flex ops).")
    image_size: ImageSize | Dynamic = Field(
        None, description="KerasHub image models: [height, width] (or one int for square), beats the "
        "preprocessor's image size; or 'dynamic' for dynamic height and width (verified at two sizes).")
    audio_length: Positive = Field(
        None, description="KerasHub audio models: static number of audio samples of the encoder input "
        "(16000, one second at 16 kHz, when not given).")
    fold_masks: bool = Field(
        False, description="KerasHub: let the converter fold attention masks and position biases into "
        "constants (faster to run, but they grow with the square of the length). Default: computed at "
        "run time.")
    prompts: Prompts = Field(
        None, description="KerasHub SAM: prompt counts, the static size of the points/labels, boxes "
        "and masks inputs (1 each when not given).")


class VariantSettings(VariantScoped):
    """One variant. Fields of one kind only (``io``, ``recipe``, ``targets``...) are errors on
    other kinds (:data:`litert_build.config.kinds.KINDS` says which kind owns which field)."""

    kind: KindName = Field(
        None, description="What the variant is. Defaults to the variant's name when that is a kind.")
    io: IoType = Field("float", description="int8 only: type of the artifact's inputs and outputs.")
    strict: bool = Field(False, description="int8 only: fail when any op stays float.")
    recipe: NonEmpty | None = Field(
        None, description="aeq and llm: an ai-edge-quantizer recipe name (weight_only_wi4_afp32, "
        "dynamic_wi8_afp32, static_wi8_ai8, ...) or the path of a recipe JSON file, relative to "
        "models.yaml (llm: weight-only and dynamic recipes; optional).")
    prefill: Annotated[list[Positive], Field(min_length=1)] = Field(
        None, description="llm only: prompt chunk lengths, one prefill signature each (prefill_<n>); "
        "default [128], at most kv_cache.")
    kv_cache: Annotated[int, Field(ge=1, le=131072)] = Field(
        None, description="llm only: KV-cache length: the most tokens (prompt + generated) one "
        "conversation holds (default 1024, at most 131072).")
    weight_dtype: Literal["float32", "float16"] = Field(
        None, description="llm only: how the artifact stores its float weights (default float32; "
        "not with a recipe).")
    expect_quantized: Fraction | None = Field(
        None, description="aeq only: fail when less than this fraction of the float weight bytes "
        "was quantized (null: no check).")
    base: NonEmpty | None = Field(
        None, description="aot only: the variant of this model whose .tflite is compiled.")
    targets: Annotated[list[Annotated[str, StringConstraints(pattern=AOT_TARGET_PATTERN)]],
                       Field(min_length=1)] | None = Field(
        None, description="aot only: vendor/soc targets, e.g. intel_openvino/LNL, qualcomm/SM8650; "
        "one artifact each.")
    backend_options: dict[str, str | bool | Number] = Field(
        default_factory=dict, description="aot only: options passed to the vendor's compiler plugin, "
        "e.g. {intel_openvino_graph_backends: cpu}.")


class ModelOnly(Settings):
    """Settings of a model as a whole (not resolved per variant)."""

    description: str = Field(None, description="Free text for people; not used.")
    version: Version = Field(
        None, description="Model version, used in the artifact path. Quote it in YAML: "
        "version: \"1.0\".")
    source: Source = Field(None, description="Where the model comes from.")
    safe_mode: bool = Field(
        True, description="Load .keras files with Keras safe_mode. Set false only for files you "
        "trust that contain lambdas.")
    inputs: Annotated[list[Tensor], Field(min_length=1)] = Field(
        None, description="Explicit input signature; overrides inference (default: inferred).")
    outputs: Annotated[list[TensorName], Field(min_length=1)] = Field(
        None, description="Names for the model's outputs, in the order the model returns them "
        "(default: the model's own).")
    batch_size: Positive | None = Field(
        1, description="Static batch size that replaces an inferred dynamic batch dimension; null "
        "keeps it dynamic.")
    stand_ins: Literal["auto", "always", "never"] = Field(
        "auto", description="Convert float32, float16 and dynamic_range variants from stand-in "
        "weights and write the real weights afterwards (less memory and time; the artifact uses "
        "buffer offsets). auto: for models with 256 MiB of float32 weights or more.")


DEFAULT_VARIANTS: dict[str, dict[str, Any]] = {"float32": {}}


class ModelDefaults(ModelOnly, VariantScoped):
    """Every model field, none required: what ``defaults:`` may set."""

    variants: dict[VariantName, VariantSettings | None] = Field(
        default_factory=lambda: dict(DEFAULT_VARIANTS),
        description="Variant name -> settings (empty: the kind named like the variant).")


class ModelSettings(ModelDefaults):
    """One model: its version and source are required."""

    version: Version = Field(description=ModelOnly.model_fields["version"].description)
    source: Source = Field(description=ModelOnly.model_fields["source"].description)


class BundleSettings(Settings):
    """A release bundle: a deterministic archive of built artifacts (doit task bundle:<name>)."""

    version: Version = Field(
        description="The bundle's version (a string: quote it). The archive is "
        "artifacts/bundles/<name>-<version>.<format>.")
    format: BundleFormat = Field("tar.gz", description="Archive format.")
    include: Annotated[list[NonEmpty], Field(min_length=1)] = Field(
        description="Which artifacts go in: 'model' (every variant) or 'model:variant'; globs "
        "allowed ('digits:int8*', '*:float32').")
    files: list[NonEmpty] = Field(
        default_factory=list, description="Extra files (README, LICENSE), relative to models.yaml; "
        "they go in at the top of the bundle.")


class Executor(Settings):
    """Where conversions run: here (the default), or on a Dask cluster."""

    scheduler: NonEmpty | None = Field(
        None, description="Address of a Dask scheduler (tcp://host:8786): each conversion runs on "
        "one of its workers, inputs and outputs travel through the artifact cache, which must then "
        "be storage every machine reaches (s3://, gs://, a shared folder). --scheduler and "
        "LITERT_BUILD_SCHEDULER override it; 'off' there builds here.")


class ModelsFile(Settings):
    """Lists Keras models and the LiteRT variants litert-build converts, verifies and versions."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(
        alias="schema", description="Version of this file format. Must be 1.")
    artifacts: str = Field(
        "artifacts", description="Folder (relative to models.yaml) where artifacts are written.")
    cache: str | bool = Field(
        None, description="Artifact cache: a folder (relative to models.yaml) or an fsspec URL "
        "(file://, s3://, gs://, ...); false turns it off. Default (null): $XDG_CACHE_HOME/"
        "litert-build (~/.cache/litert-build). LITERT_BUILD_CACHE overrides it.")
    executor: Executor = Field(
        None, description="Where conversions run (default: on this machine).")
    defaults: ModelDefaults = Field(
        None, description="Settings merged into every model (the model's own settings win).")
    models: dict[ModelName, ModelSettings] = Field(
        description="Model name -> model. Names appear in task names and artifact paths.")
    bundles: dict[ModelName, BundleSettings] = Field(
        default_factory=dict, description="Bundle name -> release bundle.")


# ------------------------------------------------------------------- resolved, per artifact


class BuildSettings(ModelOnly, VariantSettings):
    """Everything one artifact is built from: the model's own settings and the variant's, resolved
    (kind, defaults and verification gate filled in). Hashed into the build key, written into the
    signature manifest, handed to the worker; for an AOT target also the base artifact it
    compiles."""

    kind: KindName = Field(description="The variant's kind, resolved.")
    target: str | None = Field(None, description="aot: the one vendor/soc this artifact is for.")
    base_key: str | None = Field(None, description="aot: the base artifact's build key.")
    base_tflite: str | None = Field(None, description="aot: the base artifact, project-relative.")
    base_manifest: str | None = Field(None, description="aot: its signature manifest.")
    compiler_versions: dict[str, str] | None = Field(
        None, description="aot: versions of the vendor's compiler packages.")

    def key_json(self) -> dict[str, Any]:
        """The settings that shape the artifact: what is hashed into its build key and recorded
        in its manifest (:data:`NOT_IN_KEY` left out, so editing them rebuilds nothing)."""
        return {k: v for k, v in self.to_json().items() if k not in NOT_IN_KEY}


NOT_IN_KEY = frozenset({"description"})  # documentation only


VARIANT_SCOPED: tuple[str, ...] = tuple(VariantScoped.model_fields)
