"""Spatial econometrics for city panels: weights, Moran's I, LM/LR tests, spatial Durbin panel models and
LeSage–Pace effects (see the docstrings of :mod:`.weights`, :mod:`.moran`, :mod:`.sdm`)."""

from .moran import moran_by_year, moran_global, moran_local, moran_local_year, moran_scatter
from .panel import UnbalancedPanelError, align_panel
from .sdm import (
    SDMResult,
    effects_dense,
    fit_sar,
    fit_sdm,
    fit_sem,
    lesage_pace_effects,
    lm_tests,
    lm_tests_arrays,
    lr_time_effects,
    simulate_effects,
)
from .weights import (
    SpatialWeights,
    city_means,
    economic_distance,
    from_matrix,
    gdp_nested,
    inverse_distance,
    inverse_squared_distance,
    knn,
)

__all__ = [
    "SDMResult", "SpatialWeights", "UnbalancedPanelError", "align_panel", "city_means", "economic_distance",
    "effects_dense", "fit_sar", "fit_sdm", "fit_sem", "from_matrix", "gdp_nested", "inverse_distance",
    "inverse_squared_distance", "knn", "lesage_pace_effects", "lm_tests", "lm_tests_arrays", "lr_time_effects", "moran_by_year",
    "moran_global", "moran_local", "moran_local_year", "moran_scatter", "simulate_effects",
]
