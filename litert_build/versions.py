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


def installed(packages) -> dict[str, str]:
    """package -> its installed version, or "not installed"."""
    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


@cache
def tool_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "litert-build": __version__, **installed(PACKAGES)}


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
    return installed(("ai-edge-litert", *AOT_PACKAGES.get(vendor, ())))


LLM_PACKAGES = ("litert-lm-builder", "litert-lm-api", "sentencepiece", "tokenizers")


@cache
def llm_versions() -> dict[str, str]:
    """What a ``kind: llm`` artifact also depends on: the .litertlm writer, the engine that runs it
    in verification, and the tokenizer libraries its tokenizer section is made with."""
    return installed(LLM_PACKAGES)
