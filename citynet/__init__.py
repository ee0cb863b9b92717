"""citynet: networks of Chinese cities from patent records, and the panels and regressions built on them."""

import os as _os
import sys as _sys

__version__ = "0.1.0"

# Reproducible digits: a multi-threaded BLAS may split a reduction (X'X, a least-squares solve) over a
# number of threads that depends on the machine and the moment, and the last digits of a coefficient with
# it. citynet's linear algebra runs on one BLAS thread (DuckDB, Arrow, networkit and pyfixest's demeaning keep
# their own threads). Set before numpy loads; a program that imported numpy first keeps its own setting.
if "numpy" not in _sys.modules:
    for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        _os.environ[_var] = "1"

# Arrow's allocator (mimalloc) returns freed pages to the system after 10 ms by default, so a batch-by-batch
# ingest faulted fresh pages in for every batch (about a third of its CPU time was the kernel's). Keep them
# 5 s: the same peak memory, reused. Set before pyarrow loads; worker processes inherit it.
if "pyarrow" not in _sys.modules:
    _os.environ.setdefault("MIMALLOC_PURGE_DELAY", "5000")
