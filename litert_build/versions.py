"""Versions of the tools that shape an artifact, read from package metadata (no imports).

They go into every signature manifest and provenance statement, and into the
artifact-cache key: a new TensorFlow, Keras or LiteRT can give different bytes.
"""

from __future__ import annotations

import platform
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from litert_build import __version__

PACKAGES = ("tensorflow", "keras", "keras-hub", "ai-edge-litert", "ai-edge-quantizer")


@cache
def tool_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "litert-build": __version__}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


AOT_PACKAGES = {
    "intel_openvino": ("openvino", "ai-edge-litert-sdk-intel"),
    "qualcomm": ("ai-edge-litert-sdk-qualcomm",),
    "mediatek": ("ai-edge-litert-sdk-mediatek",),
    "google_tensor": ("ai-edge-litert-sdk-google-tensor",),
    "samsung": ("ai-edge-litert-sdk-samsung",),
}


@cache
def aot_versions(vendor: str) -> dict[str, str]:
    """ai-edge-litert and the vendor's compiler / SDK packages: an AOT artifact depends on them."""
    found = {}
    for package in ("ai-edge-litert", *AOT_PACKAGES.get(vendor, ())):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


LLM_PACKAGES = ("litert-lm-builder", "litert-lm-api", "sentencepiece", "tokenizers")


@cache
def llm_versions() -> dict[str, str]:
    """What a ``kind: llm`` artifact also depends on: the .litertlm writer, the engine that runs it
    in verification, and the tokenizer libraries its tokenizer section is made with."""
    found = {}
    for package in LLM_PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found
