"""Streaming writer of ``citynet synth``: patents, transfers, covariates, truth.

Patents are generated year by year. A year's skeleton (one row per patent: stream, first and
second city, kind, application day, serial) is a handful of small integer arrays; the text of the
export is assembled chunk by chunk (``chunk_size`` rows, NumPy/pandas vectorised) and appended
to ``raw/patents.csv``, so memory is bounded by the largest chunk plus the applicant population.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from citynet.csvfile import write_csv
from citynet.etl.cities import city_set
from citynet.synth import vocab
from citynet.synth.applicants import KIND_INDIVIDUAL, KIND_NAMES, Population, Sampler, build_population
from citynet.synth.appno import bodies, check_digits
from citynet.synth.model import (
    CityParams,
    SynthConfig,
    city_parameters,
    draw_green,
    other_counts,
    true_panels,
)

log = logging.getLogger("citynet.synth")

PATENT_HEADERS = [
    "申请号", "申请日", "公开（公告）号", "公开（公告）日", "授权公告日", "名称", "申请人", "申请人地址", "国省代码",
    "发明人", "主分类号", "分类号", "CPC分类号", "专利类型", "法律状态", "引证专利",
]  # fmt: skip
TRANSFER_HEADERS = ["申请号", "转让人", "受让人", "生效日", "受让人地址"]
KIND_INV, KIND_UTIL, KIND_DESIGN = 0, 1, 2
STREAM_GREEN, STREAM_PAIR, STREAM_OTHER = 0, 1, 2
PUB_BASE = {KIND_INV: 101_000_000, KIND_UTIL: 201_000_000, KIND_DESIGN: 301_000_000}
PUB_SUFFIX = {KIND_UTIL: "U", KIND_DESIGN: "S"}
BAD_SERIAL_BASE = 9_500_000
EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class Counters:
    rows_written: int = 0
    patents: int = 0
    duplicates: int = 0
    bad_rows: dict[str, int] = field(default_factory=dict)
    transfers: int = 0
    transfer_rows: int = 0
    transfer_duplicates: int = 0
    transfer_bad_rows: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    green_invention: int = 0
    green_any: int = 0
    granted: int = 0
    citations_corpus: int = 0
    citations_foreign: int = 0


class DateText:
    """Date → text in the three export formats (``20150312``, ``2015-03-12``, ``2015.03.12``), by lookup."""

    def __init__(self, first: str, last: str):
        self.d0 = int((np.datetime64(first, "D") - EPOCH).astype(int))
        days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
        iso = days.astype(str).astype(object)
        self.table = np.stack([np.array([s.replace("-", "") for s in iso], dtype=object), iso,
                               np.array([s.replace("-", ".") for s in iso], dtype=object)])  # fmt: skip

    def __call__(self, day: np.ndarray, fmt: np.ndarray) -> np.ndarray:
        return self.table[fmt, day - self.d0]


def _join(parts: list[np.ndarray], seps: np.ndarray | str) -> np.ndarray:
    """Join object arrays element-wise, skipping empty strings."""
    out = parts[0].copy()
    for p in parts[1:]:
        has = p != ""
        out[has] = out[has] + (seps[has] if isinstance(seps, np.ndarray) else seps) + p[has]
    return out


def _pick(rng: np.random.Generator, pool, n: int, p=None) -> np.ndarray:
    arr = np.empty(len(pool), dtype=object)
    arr[:] = list(pool)
    return arr[rng.choice(len(pool), n, p=p)]


class _CsvAppender:
    """Appends frames to a CSV: pyarrow's writer for UTF-8 (quoting only where needed), pandas otherwise."""

    def __init__(self, path: Path, headers: list[str], encoding: str):
        self.headers, self.encoding = headers, encoding
        self.arrow = encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8")
        self.fh = open(path, "wb") if self.arrow else open(path, "w", encoding=encoding, newline="")  # noqa: SIM115
        if self.arrow:
            bom = "\ufeff" if encoding.lower() == "utf-8-sig" else ""
            self.fh.write((bom + ",".join(headers) + "\n").encode("utf-8"))
        else:
            pd.DataFrame(columns=headers).to_csv(self.fh, index=False)

    def write(self, frame: pd.DataFrame) -> None:
        if not len(frame):
            return
        if self.arrow:
            import pyarrow as pa
            import pyarrow.csv as pacsv

            table = pa.Table.from_pandas(frame[self.headers].astype(str), preserve_index=False)
            opts = pacsv.WriteOptions(include_header=False, quoting_style="needed")
            pacsv.write_csv(table, self.fh, opts)
        else:
            frame[self.headers].to_csv(self.fh, index=False, header=False)

    def __enter__(self) -> _CsvAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()


class Generator:
    """One run of the generator; ``run()`` writes everything under ``out``."""

    def __init__(self, cfg: SynthConfig, out: Path, progress: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.out = Path(out)
        self.progress = progress or (lambda msg: None)
        self.p: CityParams = city_parameters(cfg)
        self.draws = draw_green(cfg, self.p)
        green_total = sum(d.total for d in self.draws)
        self.n_other = other_counts(cfg, self.p, green_total)
        slots = self.p.T.sum(axis=1) + (self.p.other_weight * self.n_other[None, :]).sum(axis=1)
        self.pop: Population = build_population(cfg.n_patents, slots, cfg.seed)
        pop, n_city = self.pop, len(self.p.codes)
        ids = np.arange(len(pop))
        chinese = pop.city >= 0
        self.org = Sampler(ids[chinese & (pop.kind != KIND_INDIVIDUAL)], pop.city, pop.weight, n_city)
        self.ind = Sampler(ids[chinese & (pop.kind == KIND_INDIVIDUAL)], pop.city, pop.weight, n_city)
        foreign = ids[~chinese]
        self.foreign = Sampler(foreign, np.where(chinese, 1, 0), pop.weight, 1)
        self.used = np.zeros(len(pop), dtype=bool)
        # gravity for non-planted partners and transfers: P(j | i) ∝ exp(s_j)·d_ij^(−1)
        with np.errstate(divide="ignore"):
            grav = np.exp(self.p.size)[None, :] / np.where(self.p.dist > 0, self.p.dist, np.inf)
        self.grav_cum = np.cumsum(grav / grav.sum(axis=1, keepdims=True), axis=1)
        v = cfg.vintage
        self.dates = DateText(f"{cfg.years[0] - 1}-01-01", f"{v.year + 1}-12-31")
        self.vintage_day = int((np.datetime64(v.date(), "D") - EPOCH).astype(int))
        self.pub_next = dict(PUB_BASE)
        self.pub_ranges: dict[int, dict[int, tuple[int, int]]] = {}
        self.c = Counters()
        g, gw, ng, ngw = vocab.symbol_pools()
        self.green_pool, self.green_w, self.plain_pool, self.plain_w = g, gw, ng, ngw

    # ------------------------------------------------------------------ skeleton of a year
    def _skeleton(self, k: int, rng: np.random.Generator) -> pd.DataFrame:
        cfg, p, d = self.cfg, self.p, self.draws[k]
        n_city = len(p.codes)
        year = int(p.years[k])
        c1 = [np.repeat(np.arange(n_city), d.singles)]
        c2 = [np.full(int(d.singles.sum()), -1)]
        st = [np.full(int(d.singles.sum()), STREAM_GREEN)]
        pi, pj = np.repeat(d.pair_i, d.pair_n), np.repeat(d.pair_j, d.pair_n)
        swap = rng.random(len(pi)) < 0.5
        c1.append(np.where(swap, pj, pi))
        c2.append(np.where(swap, pi, pj))
        st.append(np.full(len(pi), STREAM_PAIR))
        n_o = int(self.n_other[k])
        oc = rng.choice(n_city, n_o, p=p.other_weight[:, k])
        foreign = rng.random(n_o) < cfg.foreign_share
        oc[foreign] = -1
        partner = np.full(n_o, -1)
        has_p = ~foreign & (rng.random(n_o) < cfg.other_coapp_share)
        partner[has_p] = self._gravity(rng, oc[has_p])
        c1.append(oc)
        c2.append(partner)
        st.append(np.full(n_o, STREAM_OTHER))
        sk = pd.DataFrame({"city1": np.concatenate(c1), "city2": np.concatenate(c2), "stream": np.concatenate(st)})
        sk = sk.astype({"city1": np.int32, "city2": np.int32, "stream": np.int8})
        n = len(sk)
        gi = cfg.share_invention * cfg.green_share_invention
        q_inv = cfg.share_invention * (1 - cfg.green_share_invention) / (1 - gi)
        q_util = cfg.share_utility / (1 - gi)
        kind = rng.choice(3, n, p=[q_inv, q_util, 1 - q_inv - q_util]).astype(np.int8)
        kind[sk["stream"].to_numpy() != STREAM_OTHER] = KIND_INV
        kind[(sk["city1"].to_numpy() < 0) & (rng.random(n) < 0.8)] = KIND_INV  # foreign filers: mostly inventions
        sk["kind"] = kind
        green = sk["stream"].to_numpy() != STREAM_OTHER
        green |= (kind == KIND_UTIL) & (rng.random(n) < cfg.green_share_utility)
        green |= (sk["city1"].to_numpy() < 0) & (kind == KIND_INV) & (rng.random(n) < 0.1)  # foreign: no city
        sk["green"] = green
        first = int((np.datetime64(f"{year}-01-01", "D") - EPOCH).astype(int))
        ndays = 366 if year % 4 == 0 else 365
        sk["day"] = (first + rng.integers(0, ndays, n)).astype(np.int32)
        sk = sk.sort_values("day", kind="stable").reset_index(drop=True)
        tdig = np.array([1, 2, 3], dtype=np.int8)[sk["kind"].to_numpy()]
        tdig[(sk["kind"].to_numpy() == KIND_INV) & (sk["city1"].to_numpy() < 0) & (rng.random(n) < 0.5)] = 8  # PCT
        sk["type_digit"] = tdig
        serial = np.zeros(n, dtype=np.int64)
        for t in (1, 2, 3, 8):
            m = tdig == t
            cnt = int(m.sum())
            if cnt:
                gaps = rng.integers(1, 4, cnt) if cnt * 3 < 9_000_000 else np.ones(cnt, dtype=np.int64)
                serial[m] = int(rng.integers(10_000, 60_000)) + np.cumsum(gaps)
        sk["serial"] = serial
        # publication numbers in filing order, one series per kind
        pub = np.zeros(n, dtype=np.int64)
        self.pub_ranges[year] = {}
        for kd in (KIND_INV, KIND_UTIL, KIND_DESIGN):
            m = sk["kind"].to_numpy() == kd
            cnt = int(m.sum())
            pub[m] = self.pub_next[kd] + np.arange(cnt)
            self.pub_ranges[year][kd] = (self.pub_next[kd], cnt)
            self.pub_next[kd] += cnt
        sk["pub"] = pub
        return sk

    def _gravity(self, rng: np.random.Generator, origin: np.ndarray) -> np.ndarray:
        out = np.empty(len(origin), dtype=np.int64)
        for s in range(0, len(origin), 20_000):
            o = origin[s : s + 20_000]
            u = rng.random(len(o))
            out[s : s + 20_000] = (self.grav_cum[o] < u[:, None]).sum(axis=1)
        return np.minimum(out, len(self.p.codes) - 1)

    # ------------------------------------------------------------------ one chunk of text
    def _applicants(self, rng, sk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cfg = self.cfg
        n = len(sk)
        c1, c2, kind = sk["city1"].to_numpy(), sk["city2"].to_numpy(), sk["kind"].to_numpy()
        chinese = c1 >= 0
        p_ind = np.array([0.08, 0.25, 0.35])[kind]
        use_ind = chinese & (c2 < 0) & (rng.random(n) < p_ind)
        a1 = np.full(n, -1, dtype=np.int64)
        cc = np.maximum(c1, 0)
        a1[chinese & ~use_ind] = self.org.draw(rng, cc[chinese & ~use_ind])
        a1[use_ind] = self.ind.draw(rng, cc[use_ind])
        a1[~chinese] = self.foreign.draw(rng, np.zeros(int((~chinese).sum()), dtype=np.int64))
        a2 = np.full(n, -1, dtype=np.int64)
        two = c2 >= 0
        a2[two] = self.org.draw(rng, c2[two])
        local = chinese & ~two & (rng.random(n) < cfg.local_coapp_share)
        a2[local] = self.org.draw(rng, cc[local])
        fco = chinese & ~two & ~local & (rng.random(n) < 0.01)
        a2[fco] = self.foreign.draw(rng, np.zeros(int(fco.sum()), dtype=np.int64))
        fpair = ~chinese & (rng.random(n) < 0.1)
        a2[fpair] = self.foreign.draw(rng, np.zeros(int(fpair.sum()), dtype=np.int64))
        a3 = np.full(n, -1, dtype=np.int64)
        third = chinese & (a2 >= 0) & (rng.random(n) < 0.08)
        a3[third] = self.org.draw(rng, cc[third])
        a2[a2 == a1] = -1
        a3[(a3 == a1) | (a3 == a2)] = -1
        for a in (a1, a2, a3):
            self.used[a[a >= 0]] = True
        return a1, a2, a3

    def _names(self, rng, a: np.ndarray) -> np.ndarray:
        out = np.full(len(a), "", dtype=object)
        has = a >= 0
        noisy = rng.random(len(a)) < 0.04
        out[has] = np.where(noisy[has], self.pop.noisy[a[has]], self.pop.name[a[has]])
        return out

    def _app_numbers(self, rng, year: np.ndarray, tdig: np.ndarray, serial: np.ndarray) -> np.ndarray:
        body = bodies(year, tdig, serial)
        text = body.astype(str).astype(object) + "." + check_digits(body)
        r = rng.random(len(body))
        prefix = np.where(r < 0.88, "CN", np.where(r < 0.96, "", np.where(r < 0.98, "CN ", "ZL")))
        return prefix.astype(object) + text

    def _ipc(self, rng, sk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(sk)
        green, kind = sk["green"].to_numpy(), sk["kind"].to_numpy()
        gsym = self.green_pool[rng.choice(len(self.green_pool), (n, 3), p=self.green_w)]
        psym = self.plain_pool[rng.choice(len(self.plain_pool), (n, 4), p=self.plain_w)]
        main_green = green & (rng.random(n) < 0.85)
        main = np.where(main_green, gsym[:, 0], psym[:, 0])
        n_extra = rng.choice(4, n, p=[0.4, 0.35, 0.2, 0.05])
        extra_green_first = green & ~main_green  # the green symbol is among the others
        e1 = np.where(extra_green_first, gsym[:, 1], np.where(green & (rng.random(n) < 0.5), gsym[:, 1], psym[:, 1]))
        e1 = np.where((n_extra >= 1) | extra_green_first, e1, "")
        e2 = np.where(n_extra >= 2, np.where(green & (rng.random(n) < 0.5), gsym[:, 2], psym[:, 2]), "")
        e3 = np.where(n_extra >= 3, psym[:, 3], "")
        sep = np.where(rng.random(n) < 0.05, "；", ";").astype(object)
        ipc = _join([main.astype(object), e1.astype(object), e2.astype(object), e3.astype(object)], sep)
        # CPC: the IPC symbols, with Y02/Y04S tags on a share of green patents
        tags = vocab.Y02_TAGS
        y = np.array(tags, dtype=object)[rng.integers(0, len(tags), n)]
        with_y = np.where(green, rng.random(n) < 0.6, rng.random(n) < 0.01)
        cpc = np.where(with_y, ipc.astype(object) + ";" + y, ipc)
        cpc = np.where(rng.random(n) < 0.3, "", cpc)
        main_text = main.astype(object)
        spaced = rng.random(n) < 0.02
        main_text[spaced] = [s[:4] + " " + s[4:] for s in main_text[spaced]]
        versioned = rng.random(n) < 0.01
        main_text[versioned] = main_text[versioned] + "(2006.01)"
        design = kind == KIND_DESIGN
        loc = np.array(vocab.LOCARNO, dtype=object)[rng.integers(0, len(vocab.LOCARNO), n)]
        main_text[design] = loc[design]
        ipc = ipc.astype(object)
        ipc[design] = loc[design]
        cpc = cpc.astype(object)
        cpc[design] = ""
        return main_text, ipc, cpc

    def _citations(self, rng, sk: pd.DataFrame, year: int) -> np.ndarray:
        n = len(sk)
        lam = np.array([2.0, 0.8, 0.05])[sk["kind"].to_numpy()]
        k = np.minimum(rng.poisson(lam), 6)
        out = np.full(n, "", dtype=object)
        y0 = self.cfg.years[0]
        for slot in range(6):
            has = k > slot
            m = int(has.sum())
            if not m:
                break
            foreign = rng.random(m) < 0.2
            back = rng.integers(1, 6, m)
            ref_year = year - back
            cited_kind = np.where(rng.random(m) < 0.7, KIND_INV, KIND_UTIL)
            refs = np.full(m, "", dtype=object)
            corpus = ~foreign & (ref_year >= y0)
            for yy in np.unique(ref_year[corpus]):
                for kd in (KIND_INV, KIND_UTIL):
                    sel = corpus & (ref_year == yy) & (cited_kind == kd)
                    start, cnt = self.pub_ranges.get(int(yy), {}).get(kd, (0, 0))
                    if not sel.any() or cnt == 0:
                        continue
                    num = start + rng.integers(0, cnt, int(sel.sum()))
                    refs[sel] = "CN" + num.astype(str).astype(object) + ("A" if kd == KIND_INV else "U")
            fsel = refs == ""
            nf = int(fsel.sum())
            if nf:
                fy = rng.integers(1995, year, nf)
                num = rng.integers(100_000, 999_999, nf)
                form = rng.choice(4, nf, p=[0.45, 0.3, 0.15, 0.1])
                text = np.where(
                    form == 0, "US" + fy.astype(str).astype(object) + num.astype(str).astype(object) + "A1",
                    np.where(form == 1, "JP" + fy.astype(str).astype(object) + num.astype(str).astype(object) + "A",
                             np.where(form == 2, "EP" + (num * 3).astype(str).astype(object) + "A1",
                                      "WO" + fy.astype(str).astype(object) + num.astype(str).astype(object) + "A1")),
                )  # fmt: skip
                refs[fsel] = text
            self.c.citations_foreign += nf
            self.c.citations_corpus += m - nf
            out[has] = np.where(out[has] == "", refs, out[has] + ";" + refs)
        return out

    def _chunk(self, rng, sk: pd.DataFrame, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        n = len(sk)
        kind, green = sk["kind"].to_numpy(), sk["green"].to_numpy()
        day = sk["day"].to_numpy()
        # grant
        lag = np.where(
            kind == KIND_INV, rng.integers(730, 1461, n), np.where(kind == KIND_UTIL, rng.integers(220, 510, n),
                                                                    rng.integers(150, 365, n))
        )  # fmt: skip
        will = np.where(kind == KIND_INV, rng.random(n) < np.where(green, 0.65, 0.58), True)
        gday = day + lag
        granted = will & (gday <= self.vintage_day)
        age_years = (self.vintage_day - day) / 365.25
        lapsed = rng.random(n) < np.clip(0.04 * age_years, 0, 0.7)
        status = np.where(
            granted, np.where(lapsed, "失效", "有效"),
            np.where(day + 1095 > self.vintage_day, "审中", "失效"),
        ).astype(object)  # fmt: skip
        fmt = rng.choice(3, n, p=[0.55, 0.3, 0.15])
        app_date = self.dates(day, fmt)
        grant_date = np.where(granted, self.dates(np.where(granted, gday, day), fmt), "0")
        pub_day = np.where(granted, gday, np.minimum(day + 548, self.vintage_day))
        pub_date = self.dates(pub_day, fmt)
        suffix = np.where(kind == KIND_INV, np.where(granted, "B", "A"), np.where(kind == KIND_UTIL, "U", "S"))
        pub = "CN" + sk["pub"].to_numpy().astype(str).astype(object) + suffix.astype(object)
        ptype = np.where(kind == KIND_INV, np.where(granted, "发明授权", "发明公开"),
                         np.where(kind == KIND_UTIL, "实用新型", "外观设计")).astype(object)  # fmt: skip
        app_no = self._app_numbers(rng, np.full(n, year), sk["type_digit"].to_numpy(), sk["serial"].to_numpy())
        a1, a2, a3 = self._applicants(rng, sk)
        sep = np.where(rng.random(n) < 0.2, "；", ";").astype(object)
        applicants = _join([self._names(rng, a1), self._names(rng, a2), self._names(rng, a3)], sep)
        pop = self.pop
        addr = np.where(year <= pop.old_until[a1], pop.addr_old[a1], pop.addr_new[a1])
        addr[rng.random(n) < 0.01] = ""
        main, ipc, cpc = self._ipc(rng, sk)
        title = (
            _pick(rng, vocab.TITLE_HEADS, n)
            + np.where(green, _pick(rng, vocab.GREEN_OBJECTS, n), _pick(rng, vocab.OTHER_OBJECTS, n))
            + _pick(rng, vocab.TITLE_TAILS, n)
        )
        title[kind == KIND_DESIGN] = _pick(rng, vocab.DESIGN_OBJECTS, int((kind == KIND_DESIGN).sum()))
        inv_pool = self._inventor_pool
        k_inv = rng.integers(1, 5, n)
        inv = [inv_pool[rng.integers(0, len(inv_pool), n)] for _ in range(4)]
        inventors = _join([inv[0]] + [np.where(k_inv > j, inv[j], "") for j in (1, 2, 3)], ";")
        frame = pd.DataFrame(
            {
                "申请号": app_no, "申请日": app_date, "公开（公告）号": pub, "公开（公告）日": pub_date,
                "授权公告日": grant_date, "名称": title, "申请人": applicants, "申请人地址": addr,
                "国省代码": pop.guosheng[a1], "发明人": inventors, "主分类号": main, "分类号": ipc, "CPC分类号": cpc,
                "专利类型": ptype, "法律状态": status, "引证专利": self._citations(rng, sk, year),
            }
        )  # fmt: skip
        c = self.c
        c.patents += n
        for kd, name in ((KIND_INV, "invention"), (KIND_UTIL, "utility"), (KIND_DESIGN, "design")):
            c.by_kind[name] = c.by_kind.get(name, 0) + int((kind == kd).sum())
        c.green_invention += int((green & (kind == KIND_INV) & (sk["city1"].to_numpy() >= 0)).sum())
        c.green_any += int(green.sum())
        c.granted += int(granted.sum())
        transfers = self._transfers(rng, sk, granted, gday, a1, a2, fmt)
        return frame, transfers

    @property
    def _inventor_pool(self) -> np.ndarray:
        if not hasattr(self, "_inv_pool"):
            r = np.random.default_rng([self.cfg.seed, 6])
            sur = np.array(vocab.SURNAMES, dtype=object)[r.integers(0, len(vocab.SURNAMES), 20_000)]
            g1 = np.array(vocab.GIVEN, dtype=object)[r.integers(0, len(vocab.GIVEN), 20_000)]
            g2 = np.array(vocab.GIVEN, dtype=object)[r.integers(0, len(vocab.GIVEN), 20_000)]
            self._inv_pool = np.where(r.random(20_000) < 0.7, sur + g1 + g2, sur + g1)
        return self._inv_pool

    def _transfers(self, rng, sk, granted, gday, a1, a2, fmt) -> pd.DataFrame:
        kind, c1 = sk["kind"].to_numpy(), sk["city1"].to_numpy()
        cand = granted & (c1 >= 0) & (kind != KIND_DESIGN) & (rng.random(len(sk)) < self.cfg.transfer_rate)
        tday = gday + rng.integers(30, 1500, len(sk))
        cand &= tday <= self.vintage_day
        idx = np.flatnonzero(cand)
        m = len(idx)
        if not m:
            return pd.DataFrame(columns=TRANSFER_HEADERS)
        origin = c1[idx]
        same = rng.random(m) < 0.4
        dest = np.where(same, origin, self._gravity(rng, origin))
        to = self.org.draw(rng, dest)
        clash = to == a1[idx]
        to[clash] = self.org.draw(rng, dest[clash])
        ok = (to >= 0) & (to != a1[idx])
        idx, to, tday_i = idx[ok], to[ok], tday[idx][ok]
        m = len(idx)
        self.used[to] = True
        year = (np.datetime64("1970-01-01", "D") + tday_i.astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970
        from_names = self._names(rng, a1[idx])
        both = (a2[idx] >= 0) & (rng.random(m) < 0.2)
        from_names[both] = from_names[both] + ";" + self._names(rng, a2[idx][both])
        addr = np.where(year <= self.pop.old_until[to], self.pop.addr_old[to], self.pop.addr_new[to])
        addr = np.where(rng.random(m) < 0.6, addr, "")
        app_year = (np.datetime64("1970-01-01", "D") + sk["day"].to_numpy()[idx].astype("timedelta64[D]")).astype(
            "datetime64[Y]"
        ).astype(int) + 1970
        frame = pd.DataFrame(
            {
                "申请号": self._app_numbers(rng, app_year, sk["type_digit"].to_numpy()[idx], sk["serial"].to_numpy()[idx]),
                "转让人": from_names,
                "受让人": self._names(rng, to),
                "生效日": self.dates(tday_i, fmt[idx]),
                "受让人地址": addr,
            }
        )
        self.c.transfers += m
        return frame

    # ------------------------------------------------------------------ noise
    def _noise(self, rng, frame: pd.DataFrame, year: int, kind: str) -> pd.DataFrame:
        """Append duplicate records (reformatted) and bad rows (new numbers, one defect each), shuffled in."""
        n = len(frame)
        if n == 0:
            return frame
        cfg = self.cfg
        n_dup = int(rng.binomial(n, cfg.duplicate_rate))
        dups = frame.iloc[rng.choice(n, n_dup, replace=False)].copy()
        date_cols = ["申请日", "授权公告日", "公开（公告）日"] if kind == "patents" else []
        for col in date_cols:
            dups[col] = dups[col].str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True)
        if kind == "patents":
            dups["申请人"] = dups["申请人"].str.replace(";", "；", regex=False)
        n_bad = int(rng.binomial(n, cfg.bad_row_rate))
        bad = frame.iloc[rng.choice(n, n_bad, replace=True)].copy()
        counts = self.c.bad_rows if kind == "patents" else self.c.transfer_bad_rows
        if n_bad:
            if kind == "patents":
                # fresh application numbers (never in the truth), then one defect each
                tdig = bad["申请号"].str.extract(r"(\d{12})")[0].str[4].astype(int).to_numpy()
                serial = BAD_SERIAL_BASE + self.c.rows_written % 100_000 + np.arange(n_bad) * 7
                bad["申请号"] = self._app_numbers(rng, np.full(n_bad, year), tdig, serial)
                defects = rng.choice(["missing_app_number", "impossible_date", "bad_ipc", "no_applicant"], n_bad)
                design = (bad["专利类型"] == "外观设计").to_numpy()  # the ETL does not check a design's Locarno class
                defects[design & (defects == "bad_ipc")] = "no_applicant"
                bad.loc[defects == "missing_app_number", "申请号"] = ""
                imp = defects == "impossible_date"
                bad.loc[imp, "申请日"] = np.where(rng.random(int(imp.sum())) < 0.5, "19700101", "20991231")
                bad.loc[imp, "授权公告日"] = "0"
                bi = defects == "bad_ipc"
                bad.loc[bi, "主分类号"] = "H01M/0X"
                bad.loc[bi, "分类号"] = "H01M/0X;" + bad.loc[bi, "分类号"]
                bad.loc[defects == "no_applicant", "申请人"] = ""
            else:
                defects = rng.choice(["missing_date", "no_assignee"], n_bad)
                bad.loc[defects == "missing_date", "生效日"] = ""
                bad.loc[defects == "no_assignee", "受让人"] = ""
            for d in defects:
                counts[str(d)] = counts.get(str(d), 0) + 1
        if kind == "patents":
            self.c.duplicates += n_dup
        else:
            self.c.transfer_duplicates += n_dup
        out = pd.concat([frame, dups, bad], ignore_index=True)
        return out.iloc[rng.permutation(len(out))]

    # ------------------------------------------------------------------ run
    def run(self) -> dict:
        cfg = self.cfg
        raw = self.out / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        with (
            _CsvAppender(raw / "patents.csv", PATENT_HEADERS, cfg.encoding) as fp,
            _CsvAppender(raw / "transfers.csv", TRANSFER_HEADERS, cfg.encoding) as ft,
        ):
            for k, year in enumerate(self.p.years):
                year = int(year)
                rng = np.random.default_rng([cfg.seed, 3, year])
                sk = self._skeleton(k, rng)
                for s in range(0, len(sk), cfg.chunk_size):
                    crng = np.random.default_rng([cfg.seed, 7, year, s])
                    frame, transfers = self._chunk(crng, sk.iloc[s : s + cfg.chunk_size], year)
                    frame = self._noise(crng, frame, year, "patents")
                    fp.write(frame)
                    self.c.rows_written += len(frame)
                    transfers = self._noise(crng, transfers, year, "transfers")
                    ft.write(transfers)
                    self.c.transfer_rows += len(transfers)
                self.progress(f"{year}: {len(sk):,} patents")
        self._write_covariates(raw / "covariates.csv")
        truth = self._truth()
        city_year, dyad_year = true_panels(cfg, self.p, self.draws)
        (self.out / "truth").mkdir(exist_ok=True)
        write_csv(city_year, self.out / "truth" / "green_city_year.csv")
        write_csv(dyad_year, self.out / "truth" / "collab_dyad_year.csv")
        with open(self.out / "truth.json", "w", encoding="utf-8") as f:
            json.dump(truth, f, ensure_ascii=False, indent=1)
        return truth

    def _write_covariates(self, path: Path) -> None:
        p, cfg = self.p, self.cfg
        rng = np.random.default_rng([cfg.seed, 8])
        cities = city_set().cities
        n, t = len(p.codes), len(p.years)
        k = (p.years - p.years[0])[None, :]
        pop = np.exp(5.6 + 0.35 * p.size + rng.normal(0, 0.3, n))[:, None] * np.exp(0.005 * k)
        gdp = np.exp(10.2 + 0.25 * p.size + rng.normal(0, 0.25, n))[:, None] * np.exp(0.08 * k + rng.normal(0, 0.03, (n, t)))
        ind = np.clip(0.45 + rng.normal(0, 0.07, n)[:, None] - 0.004 * k + rng.normal(0, 0.01, (n, t)), 0.15, 0.75)
        rd = np.clip(np.exp(0.3 + 0.3 * p.size + rng.normal(0, 0.3, n))[:, None] * np.exp(0.03 * k), 0.1, 7.0)
        fdi = np.exp(1.0 + 0.6 * p.size[:, None] + rng.normal(0, 0.6, (n, 1)) + rng.normal(0, 0.2, (n, t)))
        names = cities["name_zh"].to_numpy()
        drop = rng.random(n) < 0.3
        shown = np.where(drop, [s.removesuffix("市") for s in names], names)
        frame = pd.DataFrame(
            {
                "城市": np.repeat(shown, t),
                "city_code": np.repeat(p.codes, t),
                "year": np.tile(p.years, n),
                "gdp_per_capita": np.round(gdp.ravel(), 0),
                "population": np.round(pop.ravel(), 2),
                "industry_share": np.round(ind.ravel(), 4),
                "rd_intensity": np.round(rd.ravel(), 3),
                "fdi": np.round(fdi.ravel(), 3),
                "low_carbon": p.D.ravel().astype(int),
                "carbon_trading": p.carbon_trading.ravel().astype(int),
            }
        )
        frame.to_csv(path, index=False, encoding=cfg.encoding)

    def _truth(self) -> dict:
        cfg, p, pop, c = self.cfg, self.p, self.pop, self.c
        used = np.flatnonzero(self.used)
        codes = p.codes
        city = pop.city[used]
        app_city = {pop.key[i]: (codes[ci] if ci >= 0 else None) for i, ci in zip(used, city, strict=True)}
        hard = {}
        for i in used:
            if pop.hard_case[i]:
                hard.setdefault(pop.hard_case[i], []).append(pop.key[i])
        green_total = sum(d.total for d in self.draws)
        return {
            "generator": "citynet synth",
            "seed": cfg.seed,
            "years": list(cfg.years),
            "n_patents": c.patents,
            "policy_effect": cfg.policy_effect,
            "distance_decay": cfg.distance_decay,
            "coapp_share": cfg.coapp_share,
            "low_carbon_coding": cfg.low_carbon_coding,
            "county_units": cfg.county_units,
            "model": {
                "green_patents": "E[green_patents_it] = exp(a_i + g_t + policy_effect*low_carbon_it)",
                "collab": "E[collab_ijt] = m_it*m_jt*distance_km_ij^(-distance_decay); "
                "sum_j m_it*m_jt*d_ij^(-decay) = coapp_share*exp(a_i + g_t + policy_effect*low_carbon_it)",
                "filter": "invention (发明公开/发明授权), WIPO IPC Green Inventory, application year, granted or not",
                "distance": "citynet.etl.cities.distance_matrix_km (haversine, R = 6371.0088 km)",
            },
            "a_i": {code: float(v) for code, v in zip(codes, p.a, strict=True)},
            "g_t": {str(int(y)): float(v) for y, v in zip(p.years, p.g, strict=True)},
            "vintage": str(cfg.vintage.date()),
            "config": cfg.as_dict(),
            "files": {
                "patents": "raw/patents.csv",
                "transfers": "raw/transfers.csv",
                "covariates": "raw/covariates.csv",
                "true_green_city_year": "truth/green_city_year.csv",
                "true_collab_dyad_year": "truth/collab_dyad_year.csv",
                "encoding": cfg.encoding,
            },
            "counts": {
                "patent_rows": c.rows_written,
                "patents": c.patents,
                "duplicates": c.duplicates,
                "bad_rows": sum(c.bad_rows.values()),
                "bad_rows_by_reason": c.bad_rows,
                "by_kind": c.by_kind,
                "green_invention_chinese": c.green_invention,
                "green_invention_planted": green_total,
                "green_any": c.green_any,
                "granted": c.granted,
                "citations_corpus": c.citations_corpus,
                "citations_foreign": c.citations_foreign,
                "transfer_rows": c.transfer_rows,
                "transfers": c.transfers,
                "transfer_duplicates": c.transfer_duplicates,
                "transfer_bad_rows": sum(c.transfer_bad_rows.values()),
                "transfer_bad_rows_by_reason": c.transfer_bad_rows,
                "applicants": len(used),
            },
            "applicant_city": app_city,
            "applicant_kind": {pop.key[i]: KIND_NAMES[int(pop.kind[i])] for i in used},
            "applicant_hard_cases": hard,
        }


def synthesize(out: str | Path, cfg: SynthConfig | None = None, progress=None) -> dict:
    """Write ``out/raw/{patents,transfers,covariates}.csv``, ``out/truth.json`` and ``out/truth/*.csv``."""
    cfg = cfg or SynthConfig()
    t0 = dt.datetime.now()
    truth = Generator(cfg, Path(out), progress).run()
    log.debug("synth done in %s", dt.datetime.now() - t0)
    return truth
