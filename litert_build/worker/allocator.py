"""The C allocator of the worker process (glibc): large models ask it to hand freed memory back.

TensorFlow's converter allocates and frees many buffers of a weight's size. glibc serves those
below its mmap threshold (dynamic, at most 32 MB) from heaps that keep freed pages, so a model made
of many 4 MB weights ends its conversion holding pages it no longer uses, and the next copy comes
on top (measured for issue 16 on a 400 MB stack of 1024x1024 Dense layers: 3.50 GiB peak by
default, 2.46 GiB with a 4 MB threshold; conversion about 20% slower). So the threshold is fixed at
4 MB only for models whose inputs reach :data:`LARGE_MODEL_BYTES`, where memory is what limits;
small models keep glibc's faster default.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

LARGE_MODEL_BYTES = 100 * 2**20
MMAP_THRESHOLD = 4 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, <malloc.h>


@functools.cache
def _libc():
    """glibc, or None (another C library: nothing to tune)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def for_model(input_bytes: int) -> bool:
    """Fix the mmap threshold (and trim freed heap tops) for a model of ``input_bytes``; whether
    it did."""
    libc = _libc()
    if libc is None or input_bytes < LARGE_MODEL_BYTES:
        return False
    libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    libc.mallopt(_M_TRIM_THRESHOLD, MMAP_THRESHOLD)
    return True


def give_back() -> None:
    """Return the heaps' free pages to the system (``malloc_trim``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
