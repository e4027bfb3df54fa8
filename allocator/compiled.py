"""Numba compilation shared by the GAP solver's hot loops (its tabu walk and knapsack bound)."""

from __future__ import annotations

from collections.abc import Callable

from numba import njit


def compiled(signature: str | None = None) -> Callable[[Callable], Callable]:
    """Numba's `njit`, releasing the GIL, its machine code cached on disk for the next process:
    where `NUMBA_CACHE_DIR` says, else beside the module, else in the user's cache directory.
    Where none of them is writable (a read-only install run by a user without a home), Numba
    refuses to cache at import; then each process compiles afresh (about 3.5 s for the walk)
    rather than fail."""

    def compile_(function: Callable) -> Callable:
        try:
            return njit(signature, cache=True, nogil=True)(function)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return njit(signature, nogil=True)(function)

    return compile_
