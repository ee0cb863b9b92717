"""The names a model formula calls as functions, which a covariate column must not take.

pyfixest evaluates a formula's terms with formulaic: its transforms, ``np``, and pyfixest's ``i``. A panel
column of such a name shadows the function in *every* formula (``log(x)`` fails with "'Series' object is not
callable"), so ``etl.covariates.formula_name`` gives a covariate header that is one of them a trailing ``_``
(``log`` → ``log_``), as it does a Python keyword. The list lives here, in a module without imports, so that the
etl layer owns it without importing the analysis layer, and ``analysis.formula`` reads it;
tests/test_covariate_names.py checks it against the installed formulaic and pyfixest. citynet's own ``L``,
``F`` and ``ln1p`` are rewritten in the formula's text before pyfixest sees it, so a column of that name
collides with nothing and keeps its name; so do pyfixest's words read in the text (``sw``, ``csw``, ``ref``).
"""

FORMULA_FUNCTIONS = frozenset({
    "C", "Diff", "Helmert", "I", "Poly", "Q", "Sum", "Treatment", "bs", "cc", "center", "contr", "cr", "cs", "exp",
    "exp10", "exp2", "hashed", "lag", "log", "log10", "log2", "np", "poly", "scale", "standardize",  # formulaic
    "i",  # pyfixest: fixest's i()
})
