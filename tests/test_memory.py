"""citynet.memory: freed pages in the middle of the C library's heap go back to the kernel."""

import ctypes
import sys

import pytest

from citynet.memory import _malloc_trim, return_freed_memory


def _resident_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


@pytest.mark.skipif(not sys.platform.startswith("linux") or _malloc_trim() is None,
                    reason="glibc's malloc_trim is Linux-only")
def test_pages_freed_below_a_live_block_are_returned():
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    # 64 MB in 4 KB blocks (below the size the allocator maps on its own), touched so they are resident,
    # then one block kept above them: freeing the rest cannot shrink the heap from its top
    blocks = []
    for _ in range(16_384):
        p = libc.malloc(4096)
        libc.memset(p, 1, 4096)
        blocks.append(p)
    keep = libc.malloc(4096)
    libc.memset(keep, 1, 4096)
    try:
        for p in blocks:
            libc.free(p)
        before = _resident_kb()
        assert return_freed_memory() is True
        after = _resident_kb()
        assert before - after >= 32 * 1024, (before, after)
    finally:
        libc.free(keep)
