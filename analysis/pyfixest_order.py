"""Fixed effects in the order the formula gives them, whatever the hash seed.

pyfixest 0.60 collects a formula's fixed effects in a ``set`` (``formula/utils.py:
_encode_fixed_effects``), so their order — and the order of the alternating projections that absorb
them — follows Python's string-hash seed, which changes with every process. The converged estimates
then differ in their last one or two digits from run to run (``feols("y ~ x | city_code + year")`` on
a fixed panel: 0.2140554505959605 for five hash seeds, …607 for three). ``pin`` replaces that function
with one that keeps the formula's order (first occurrence of each term) and is otherwise the same;
it does nothing when pyfixest no longer uses a set there.
"""

from __future__ import annotations

import inspect
import re

_PINNED = False


def pin() -> None:
    """Make pyfixest keep the formula's order of fixed effects (module docstring); idempotent."""
    global _PINNED
    if _PINNED:
        return
    import pandas as pd
    from pyfixest.estimation.formula import model_matrix, utils

    original = utils._encode_fixed_effects
    if "set(re.split" not in inspect.getsource(original):
        _PINNED = True
        return

    def _encode_fixed_effects(fixed_effects: str, data: pd.DataFrame) -> str:
        fes = list(dict.fromkeys(re.split(r"\s*\+\s*", fixed_effects)))
        for fixed_effect in fes:
            if "^" not in fixed_effect:
                continue
            parts = fixed_effect.split("^")
            data[fixed_effect.replace("^", "_")] = (
                data[parts[0]].astype(pd.StringDtype())
                .str.cat(data[parts[1:]].astype(pd.StringDtype()), sep="^", na_rep=None)
            )
        encoded = (f"__fixed_effect__({fe.replace('^', '_')})" for fe in fes)
        return f"{' + '.join(encoded)} - 1"

    utils._encode_fixed_effects = _encode_fixed_effects
    model_matrix._encode_fixed_effects = _encode_fixed_effects
    _PINNED = True
