"""The generating model of ``citynet synth``: city sizes, years, the planted policy effect and distance decay.

Notation: cities ``i, j`` of the city set (``etl.cities.city_set()``, N cities), years ``t``,
``D_it`` the staggered low-carbon dummy (``etl.policies``), ``d_ij`` the haversine distance in km
from ``etl.cities.distance_matrix_km`` (the same numbers ``metrics`` puts in the dyad panel).

Green invention patents (the patents the default ``metrics`` filter keeps: invention, WIPO green,
application year, granted or not) are generated city-year by city-year:

1. Target: ``T_it = exp(a_i + g_t + β·D_it)`` with ``β`` = ``--policy-effect``.
   ``a_i = s_i + log κ`` where ``s_i`` is a city size score (tier, region, noise) and κ scales
   ``Σ_it T_it·(1 − c/2)`` to the expected number of green invention patents; ``g_t`` is a
   concave growth path with ``g_{t0} = 0``.
2. Two-city co-applications: for every pair ``i < j`` the count is
   ``C_ijt ~ Poisson(μ_ijt)``, ``μ_ijt = m_it·m_jt·d_ij^(−θ)`` with ``θ`` = ``--distance-decay``, and
   ``m_·t`` solves ``Σ_{j≠i} m_it·m_jt·d_ij^(−θ) = c·T_it`` for every i (symmetric matrix scaling,
   solved by the damped fixed point ``m ← sqrt(m · c·T / (K m))``). ``c`` = ``coapp_share``.
3. Single-city patents (one applicant, or several applicants of the same city):
   ``S_it ~ Poisson((1 − c)·T_it)``.

A co-application counts once for each of its two cities, so
``green_patents_it = S_it + Σ_j C_ijt`` and ``E[green_patents_it] = (1 − c)·T_it + c·T_it = T_it``:
a PPML of ``green_patents`` on ``low_carbon`` with city and year fixed effects estimates β exactly
(the model is the PPML model). The dyad-year ``collab_ijt = C_ijt`` has
``log E[collab_ijt] = log m_it + log m_jt − θ·log d_ij``: a PPML with origin-year and
destination-year fixed effects estimates ``−θ`` on ``log_distance``.

Everything else (non-green inventions, utility models, designs, foreign applicants' patents) is
drawn from ``E[n_it] ∝ exp(s_i + g_t)`` with no policy effect: the default filter removes it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from citynet.etl.cities import city_set, distance_matrix_km
from citynet.etl.policies import policy_dummies

VINTAGE_CAP = "2026-06-30"


@dataclass(frozen=True)
class SynthConfig:
    """Every knob of the generator; ``truth.json`` records all of them."""

    seed: int = 42
    n_patents: int = 100_000
    years: tuple[int, int] = (2006, 2020)
    policy_effect: float = 0.3
    distance_decay: float = 1.0
    coapp_share: float = 0.2  # c: expected share of a city's green patents that are two-city co-applications
    share_invention: float = 0.42
    share_utility: float = 0.43  # design: the rest
    green_share_invention: float = 0.10
    green_share_utility: float = 0.08
    foreign_share: float = 0.015  # of the non-planted patents: filed by foreign applicants only
    other_coapp_share: float = 0.06  # of the non-planted Chinese patents: a partner in another city
    local_coapp_share: float = 0.15  # a second applicant of the same city
    low_carbon_coding: str = "announce"
    county_units: str = "prefecture"
    duplicate_rate: float = 0.015
    bad_row_rate: float = 0.003
    transfer_rate: float = 0.06  # of granted Chinese patents
    encoding: str = "utf-8-sig"
    chunk_size: int = 200_000
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        a, b = self.years
        if not 2003 <= a <= b <= 2025:
            raise ValueError(f"years must satisfy 2003 ≤ A ≤ B ≤ 2025 (12-digit numbers since 2003), got {a}-{b}")
        if not 1_000 <= self.n_patents <= 10_000_000:
            raise ValueError(f"n_patents must be between 1,000 and 10,000,000, got {self.n_patents}")
        if not 0 < self.coapp_share < 0.5:
            raise ValueError("coapp_share must be in (0, 0.5)")
        for name, value in (("policy-effect", self.policy_effect), ("distance-decay", self.distance_decay)):
            # exp(β) and d^(−θ) scale Poisson means: beyond ±5 they overflow (nan, inf: numpy's "lam value too
            # large") or the collaboration calibration does not converge (θ = 100 ran for minutes)
            if not (math.isfinite(value) and -5 <= value <= 5):
                raise ValueError(f"--{name} {value} is outside -5 to 5 (a log-scale effect, an elasticity)")

    @property
    def year_list(self) -> list[int]:
        return list(range(self.years[0], self.years[1] + 1))

    @property
    def vintage(self) -> pd.Timestamp:
        """Date of the simulated export: grants and transfers after it are not in the data."""
        return min(pd.Timestamp(f"{self.years[1] + 2}-06-30"), pd.Timestamp(VINTAGE_CAP))

    def as_dict(self) -> dict:
        d = asdict(self)
        d["years"] = list(self.years)
        return d


TIER_BONUS = {"municipality": 2.2, "sub_provincial": 1.6, "provincial_capital": 1.1, "prefecture": 0.0}
REGION_BONUS = {"east": 0.7, "central": 0.1, "northeast": -0.1, "west": -0.4}


@dataclass
class CityParams:
    """Deterministic parameters of a run (from the seed): everything but the Poisson draws."""

    codes: np.ndarray  # N city codes
    years: np.ndarray  # T years
    size: np.ndarray  # s_i
    a: np.ndarray  # a_i = s_i + log κ
    g: np.ndarray  # g_t
    D: np.ndarray  # N×T low-carbon dummy
    carbon_trading: np.ndarray  # N×T
    T: np.ndarray  # N×T targets exp(a_i + g_t + β D_it)
    m: np.ndarray  # N×T scaling factors of the co-application intensity
    K: np.ndarray  # N×N d^(−θ), zero diagonal
    dist: np.ndarray  # N×N km
    other_weight: np.ndarray  # N×T exp(s_i + g_t), normalised per year


def growth_path(years: np.ndarray) -> np.ndarray:
    """``g_t = 0.17·(t − t0) − 0.004·(t − t0)²``: fast, slowing growth of Chinese patenting."""
    k = years - years[0]
    return 0.17 * k - 0.004 * k**2


def solve_scaling(T: np.ndarray, K: np.ndarray, c: float, tol: float = 1e-12, max_iter: int = 10_000) -> np.ndarray:
    """``m`` with ``m_i · Σ_j K_ij m_j = c·T_i`` (K symmetric, zero diagonal), per column of T."""
    m = np.sqrt(c * T / K.sum(axis=1, keepdims=True).clip(1e-300))
    target = c * T
    for _ in range(max_iter):
        km = K @ m
        m_new = np.sqrt(m * target / km)
        if np.max(np.abs(m_new * (K @ m_new) - target) / np.maximum(target, 1e-300)) < tol:
            return m_new
        m = m_new
    return m


def city_parameters(cfg: SynthConfig) -> CityParams:
    """City sizes, growth, policy dummies, targets T and the co-application scaling m."""
    rng = np.random.default_rng([cfg.seed, 1])
    cities = city_set().cities
    codes = cities["city_code"].to_numpy()
    years = np.asarray(cfg.year_list)
    size = (
        cities["tier"].map(TIER_BONUS).to_numpy(float)
        + cities["region"].map(REGION_BONUS).to_numpy(float)
        + rng.normal(0.0, 0.9, len(codes))
    )
    g = growth_path(years)
    pol = policy_dummies(codes, years, coding=cfg.low_carbon_coding, county_units=cfg.county_units)
    D = pol["low_carbon"].to_numpy().reshape(len(codes), len(years)).astype(float)
    ct = pol["carbon_trading"].to_numpy().reshape(len(codes), len(years)).astype(float)
    raw = np.exp(size[:, None] + g[None, :] + cfg.policy_effect * D)
    expected_green = cfg.n_patents * cfg.share_invention * cfg.green_share_invention
    kappa = expected_green / ((1 - cfg.coapp_share / 2) * raw.sum())
    a = size + np.log(kappa)
    T = np.exp(a[:, None] + g[None, :] + cfg.policy_effect * D)
    dist = distance_matrix_km(cities)
    with np.errstate(divide="ignore"):
        K = np.where(dist > 0, dist, np.inf) ** (-cfg.distance_decay)
    np.fill_diagonal(K, 0.0)
    m = solve_scaling(T, K, cfg.coapp_share)
    w = np.exp(size[:, None] + g[None, :])
    return CityParams(codes, years, size, a, g, D, ct, T, m, K, dist, w / w.sum(axis=0, keepdims=True))


@dataclass
class GreenDraws:
    """The planted green invention patents of one year: singles per city and two-city pairs."""

    year: int
    singles: np.ndarray  # N counts S_it
    pair_i: np.ndarray  # city indices (i < j) of pairs with C_ijt > 0
    pair_j: np.ndarray
    pair_n: np.ndarray  # C_ijt

    @property
    def total(self) -> int:
        return int(self.singles.sum() + self.pair_n.sum())


def draw_green(cfg: SynthConfig, p: CityParams) -> list[GreenDraws]:
    """Poisson draws of the planted part, one generator per year (seed, 2, year)."""
    n = len(p.codes)
    iu, ju = np.triu_indices(n, 1)
    out = []
    for k, year in enumerate(p.years):
        rng = np.random.default_rng([cfg.seed, 2, int(year)])
        singles = rng.poisson((1 - cfg.coapp_share) * p.T[:, k])
        mu = p.m[iu, k] * p.m[ju, k] * p.K[iu, ju]
        c = rng.poisson(mu)
        nz = c > 0
        out.append(GreenDraws(int(year), singles, iu[nz], ju[nz], c[nz]))
    return out


def other_counts(cfg: SynthConfig, p: CityParams, green_total: int) -> np.ndarray:
    """Number of non-planted patents per year: ``n_patents − green`` spread ∝ Σ_i exp(s_i + g_t)."""
    rng = np.random.default_rng([cfg.seed, 4])
    rest = max(cfg.n_patents - green_total, 0)
    w = np.exp(p.g) / np.exp(p.g).sum()
    return rng.multinomial(rest, w)


def true_panels(cfg: SynthConfig, p: CityParams | None = None, draws: list[GreenDraws] | None = None):
    """The true green city-year and dyad-year panels (before any noise or ETL).

    Returns ``(city_year, dyad_year)``: ``city_year`` has ``city_code, year, green_patents,
    collab_patents, expected, low_carbon``; ``dyad_year`` has ``city_a, city_b, year, collab,
    expected, distance_km`` for the pairs with ``collab > 0`` (the zeros of the full grid are implied).
    """
    p = p or city_parameters(cfg)
    draws = draws or draw_green(cfg, p)
    n = len(p.codes)
    rows, dyads = [], []
    for k, d in enumerate(draws):
        collab = np.bincount(d.pair_i, d.pair_n, n) + np.bincount(d.pair_j, d.pair_n, n)
        rows.append(
            pd.DataFrame(
                {
                    "city_code": p.codes,
                    "year": d.year,
                    "green_patents": (d.singles + collab).astype(np.int64),
                    "collab_patents": collab.astype(np.int64),
                    "expected": p.T[:, k],
                    "low_carbon": p.D[:, k].astype(np.int8),
                }
            )
        )
        dyads.append(
            pd.DataFrame(
                {
                    "city_a": p.codes[d.pair_i],
                    "city_b": p.codes[d.pair_j],
                    "year": d.year,
                    "collab": d.pair_n.astype(np.int64),
                    "expected": p.m[d.pair_i, k] * p.m[d.pair_j, k] * p.K[d.pair_i, d.pair_j],
                    "distance_km": p.dist[d.pair_i, d.pair_j],
                }
            )
        )
    return pd.concat(rows, ignore_index=True), pd.concat(dyads, ignore_index=True)
