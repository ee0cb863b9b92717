"""``run_metrics``: store → yearly city graphs → the three panels → ``metrics/*.parquet`` and ``CityYear`` nodes.

A full run reads every year of the filter's projections; ``years=[A..B]`` (the yearly refresh job)
reads A−1..B+1, recomputes the rows of A..B in all three panels and the churn columns of B+1 (whose
t−1 changed), and leaves every other row of the existing panels untouched — so a refresh gives the
same panels as a full run over the same store.

Panel years of a full run: ``[years] start..end`` of ``citynet.toml`` when both are set, otherwise
every year from the first to the last year with filtered patents (gaps filled with zero rows); edges
of other years (e.g. transfers recorded after the last patent year) stay out of the panels.

The filter is file-level metadata, not a column: each panel file carries, in its Parquet schema
metadata under ``b"citynet"``, a JSON object ``{"network": "invention.wipo.all", "filter": {...},
"first_year", "last_year", "n_cities", "panel", "corpus"}`` (``corpus``: :func:`corpus_digest`, which
:func:`stale_note` compares with the canonical tables); ``read_panel`` restores it as
``DataFrame.attrs["citynet"]``. Panels of several filters live side by side: every run writes
``metrics/<filter key>/*.parquet``, and a run of the workspace's default filter (``citynet.toml``
``[network]``) also writes ``metrics/*.parquet`` — those files are always the default filter's panels.
The store holds the projections of every filter too (their ``network`` property).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from citynet.etl.cities import city_set
from citynet.graph.network_filter import NetworkFilter
from citynet.metrics.panels import CHURN_COLUMNS, COUNT_COLUMNS, Panels, compute_panels

from citynet.errors import EXIT_USAGE, StoreError, UserError

PANELS = ("city_year", "dyad_year", "network_year")
META_KEY = b"citynet"
Progress = Callable[[str, int, int], None]


@dataclass
class MetricsRun:
    """What ``run_metrics`` did: the filter, the years recomputed, where it wrote, and timings (s)."""

    network: str
    years: list[int]  # rows recomputed
    churn_years: list[int]  # rows whose churn columns only were recomputed (refresh)
    panel_years: list[int]  # every year of the panels after the run
    paths: dict[str, Path]  # metrics/<key>/*.parquet (and metrics/*.parquet for the default filter in ``mirror``)
    seconds: dict[str, float] = field(default_factory=dict)
    panels: Panels | None = None  # the full panels after the run
    mirror: dict[str, Path] = field(default_factory=dict)  # metrics/*.parquet when flt is the default filter
    behind: list[int] = field(default_factory=list)  # panel years a load changed since and this run did not recompute


# --- panel files ---------------------------------------------------------------------------------
def write_panel(df, path: Path, meta: dict) -> None:
    """Write ``df`` (a DataFrame or an Arrow table) to Parquet atomically with ``meta`` as JSON schema
    metadata under ``b"citynet"``. A panel sorted by year with the same number of rows in every year
    (city-year, dyad-year) gets one row group per year, so a reader of some years (``filters=[("year",
    "in", years)]``) decodes only those."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(df, pa.Table):
        table = df
    else:
        table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    md = dict(table.schema.metadata or {})
    md[META_KEY] = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    table = table.replace_schema_metadata(md)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd", row_group_size=_year_rows(table))
    os.replace(tmp, path)


def _year_rows(table) -> int | None:
    """Rows per year when ``table`` is sorted by ``year`` and every year has as many rows; else None."""
    import pyarrow.compute as pc

    if "year" not in table.column_names or table.num_rows == 0:
        return None
    year = table["year"]
    counts = pc.value_counts(year)
    n = counts.field("counts")
    first, last = pc.min_max(n).values()
    if first.as_py() != last.as_py():
        return None
    sorted_ = pc.all(pc.greater_equal(year[1:], year[:-1])).as_py() if table.num_rows > 1 else True
    return int(first.as_py()) if sorted_ else None


def panel_meta(path: Path) -> dict | None:
    """The ``citynet`` metadata of a panel file, or None when the file or the key is missing."""
    import pyarrow.parquet as pq

    if not Path(path).exists():
        return None
    md = pq.read_schema(path).metadata or {}
    raw = md.get(META_KEY)
    return json.loads(raw.decode("utf-8")) if raw else None


def read_panel(path: Path) -> pd.DataFrame:
    """A panel file as a DataFrame, with its metadata in ``attrs["citynet"]``."""
    df = pd.read_parquet(path)
    meta = panel_meta(path)
    df.attrs = {"citynet": meta} if meta else {}
    return df


# --- the in-memory store -------------------------------------------------------------------------
class TableStore:
    """A store stand-in over two DataFrames (``city_edges`` and ``city_year_counts`` rows for one filter).

    Used by tests and by the benchmark when no graph store is available; ``write_city_year`` keeps
    what it was given in ``written``.
    """

    def __init__(self, edges: pd.DataFrame, counts: pd.DataFrame | None = None):
        self.edges = edges
        self.counts = counts if counts is not None else pd.DataFrame(columns=["city_code", "year", *COUNT_COLUMNS])
        self.written: list[tuple[str, pd.DataFrame]] = []

    def build_projections(self, flt, years=None) -> dict:
        return {}

    def city_edges(self, flt, years=None) -> pd.DataFrame:
        e = self.edges
        return e if years is None else e[e["year"].isin(list(years))]

    def city_year_counts(self, flt, years=None) -> pd.DataFrame:
        c = self.counts
        return c if years is None else c[c["year"].isin(list(years))]

    def patent_years(self, basis: str | None = None) -> set[int]:
        """The years of its rows (a store's patents' years; one year basis only: the rows are one filter's)."""
        return {int(y) for t in (self.edges, self.counts) for y in t["year"].dropna()}

    def has_patents(self, years, basis: str | None = None) -> bool:
        return bool(self.patent_years(basis) & {int(y) for y in years})

    def write_city_year(self, panel: pd.DataFrame, network: str, panel_years: list[int] | None = None) -> None:
        self.written.append((network, panel))

    def panels_computed(self, flt_key: str, years, panel_years) -> list[int]:
        """No load changes these rows: no panel year is ever behind them."""
        return []

    def close(self) -> None:
        pass


# --- run -----------------------------------------------------------------------------------------
BUFFER_POOL = "2.5GB"  # default of [metrics] buffer_pool


def metrics_buffer_pool(ws) -> str:
    """LadybugDB's page cache while ``citynet metrics`` reads the store: ``[metrics] buffer_pool``
    (default ``BUFFER_POOL``). It also holds the count queries' intermediate rows, which grow with the
    corpus (about 0.6–0.8 GB at 4M patents), so it is larger than the load's ``[store] buffer_pool``;
    the command's peak is about this plus 0.6 GB, whatever the corpus below the size it fits."""
    return str(((ws.settings.get("metrics") or {}).get("buffer_pool")) or BUFFER_POOL)


def _parse_years_setting(ws) -> list[int] | None:
    y = ws.settings.get("years", {}) or {}
    if y.get("start") is not None and y.get("end") is not None:
        return list(range(int(y["start"]), int(y["end"]) + 1))
    return None


def _data_years(edges: pd.DataFrame, counts: pd.DataFrame) -> list[int]:
    """First to last year with filtered patents (``green_patents > 0``); transfers dated after the last
    patent year do not extend the panel with years that have no patent data. Without patent counts:
    the years of the edges."""
    if len(counts) and "green_patents" in counts.columns and (counts["green_patents"] > 0).any():
        ys = counts.loc[counts["green_patents"] > 0, "year"].to_numpy(dtype=np.int64)
    else:
        ys = np.concatenate([edges["year"].to_numpy(dtype=np.int64) if len(edges) else np.zeros(0, np.int64),
                             counts["year"].to_numpy(dtype=np.int64) if len(counts) else np.zeros(0, np.int64)])
    if len(ys) == 0:
        return []
    return list(range(int(ys.min()), int(ys.max()) + 1))


def _refuse_setting_beyond_the_corpus(setting: list[int], held: set[int], flt: NetworkFilter) -> None:
    """``[years] start``–``end`` beyond the years of the stored patents (on the filter's year basis): the panel
    would hold rows of zeros for years without any data, and the first year's churn would be computed against
    an empty year. Years within the corpus without a patent of the filter are true zeros and stay."""
    if not held:
        return
    before, after = [y for y in setting if y < min(held)], [y for y in setting if y > max(held)]
    if before or after:
        outside = " and ".join(_span(part) for part in (before, after) if part)
        basis = "grant" if flt.year_basis == "grant" else "application"
        raise UserError(
            f"citynet.toml [years] {setting[0]}–{setting[-1]} reaches beyond the stored patents' {basis} years "
            f"({min(held)}–{max(held)}): the panel would hold made-up rows of zeros for {outside}",
            fix=f"set [years] within {min(held)}–{max(held)}, or remove it (the panel then covers the years with "
                "patents), or ingest and load the exports of those years")


def _refuse_years_beyond_the_data(req: list[int], existing: dict | None, counts: pd.DataFrame, flt: NetworkFilter,
                                  ws) -> None:
    """A refresh that would extend the panel (``req`` beyond its years) to a first or last year in which no
    patent passes the filter: a full run's panel would not hold that year (:func:`_data_years`), and an empty
    first year makes every partner of the next year "new" in the churn. One message instead."""
    span = (int(existing["first_year"]), int(existing["last_year"])) if existing is not None else None
    if (setting := _parse_years_setting(ws)) is not None:
        span = (setting[0], setting[-1])
        outside = [y for y in req if not span[0] <= y <= span[1]]
        if outside:
            raise UserError(f"--years {_span(req)}: outside citynet.toml [years] {span[0]}–{span[1]}",
                            fix=f"refresh years within {span[0]}–{span[1]}, or change [years] and run "
                                "`citynet metrics` without --years")
        return
    has = counts.loc[counts["green_patents"] > 0, "year"] if "green_patents" in counts.columns else counts["year"]
    with_data = {int(y) for y in has}
    ends = [y for y in dict.fromkeys((req[0], req[-1])) if span is None or not span[0] <= y <= span[1]]
    empty = [y for y in ends if y not in with_data]
    if empty:
        years = " and ".join(map(str, empty))
        panel = f" (the panel's years: {span[0]}–{span[1]})" if span else ""
        raise UserError(
            f"--years {_span(req)}: no patent passes the network filter {flt.key!r} in {years}, so a full run's "
            f"panel would not hold {'that year' if len(empty) == 1 else 'those years'}{panel}",
            fix="refresh years within the panel, or years whose exports are loaded (`citynet ingest --append`, "
                "then `citynet load`)")


def _meta(flt: NetworkFilter, panel: str, years: list[int], n: int, corpus: str | None = None) -> dict:
    meta = {
        "panel": panel,
        "network": flt.key,
        "filter": {"green": flt.green, "kind": flt.kind, "granted_only": flt.granted_only,
                   "year_basis": flt.year_basis},
        "first_year": min(years) if years else None,
        "last_year": max(years) if years else None,
        "n_cities": n,
    }
    if corpus:
        meta["corpus"] = corpus
    return meta


# the canonical tables the networks and the partner kinds are built from
CORPUS_TABLES = ("patents", "patent_applicants", "applicants", "transfers", "citations")


def corpus_digest(ws) -> str | None:
    """A digest of the canonical tables the panels are built from (:data:`CORPUS_TABLES`), from their sha256 in
    the workspace manifest's ingest unit: the same corpus gives the same digest (the panel files stay byte for
    byte the same), another ingest of other records another one; a covariate file alone does not change it.
    None without an ingest (panels computed from a store alone)."""
    import hashlib

    from citynet.transaction import manifest_entry

    try:
        files = (manifest_entry(ws.root, "ingest") or {}).get("files") or {}
    except UserError:
        return None
    parts = [f"{t}:{files[f'canonical/{t}.parquet'].get('sha256')}" for t in CORPUS_TABLES
             if f"canonical/{t}.parquet" in files]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16] if parts else None


def stale_note(ws, meta: dict | None) -> str | None:
    """One line when the canonical tables were changed by an ingest after the panels of ``meta`` (their file
    metadata) were computed — export, report and map would otherwise show the old corpus's numbers without a
    word; None when they are current (or older panels that carry no digest)."""
    was = (meta or {}).get("corpus")
    now = corpus_digest(ws) if was else None
    if not was or now is None or now == was:
        return None
    from citynet.workspace import network_flags

    key = str(meta.get("network"))
    flags = "" if key == ws.default_network else " " + network_flags(key)
    return (f"the panels of {key} were computed before the last `citynet ingest` changed the patents, applicants, "
            f"transfers or citations: they show the corpus as it was; run `citynet load -w {ws.root}`, then "
            f"`citynet metrics -w {ws.root}{flags}`")


def _refuse_a_store_behind(ws, store) -> None:
    """An ingest since the last load: the networks would come from the store's older corpus and the partner
    kinds from the new canonical tables — one panel of two corpora, without a word. Refused (exit 2). So is a
    store that holds patents beyond the canonical tables (an earlier corpus a later, smaller one did not
    replace: load only adds; counted by the last load that read the patents, ``citynet load --rebuild``)."""
    from citynet.graph import lifecycle

    opts = lifecycle.store_options(store)  # (the fix's load is of this store: --store neo4j --uri …)
    other = lifecycle.other_workspace(lifecycle.state(store), ws.root) if opts else None
    behind = getattr(store, "tables_behind", lambda _: [])(ws.canonical)
    if behind:
        from citynet.transaction import verify_path

        verify_path(ws.root, ws.canonical / "patents.parquet")  # a damaged canonical file: that message, first
        if other:  # a second workspace loaded into the same Neo4j database: no ingest of this one
            raise UserError(f"the store was last loaded from another workspace, {other}, not from this one's "
                            "canonical tables: the panels would mix the two corpora",
                            fix=lifecycle.own_database_fix(ws.root, store, other))
        raise UserError(
            f"the store was loaded from other canonical tables than the workspace holds now (an ingest since the "
            f"last load changed {', '.join(behind)}): the panels would mix the two corpora",
            fix=f"citynet load -w {ws.root}{opts}   (then citynet metrics again)")
    beyond = getattr(store, "patents_beyond_canonical", lambda: None)()
    other = (other or store.patents_beyond_from()) if beyond and opts else None
    if other:
        raise UserError(f"the store holds {beyond:,} patents beyond this workspace's canonical tables, loaded from "
                        f"another workspace, {other}: the panels would mix the two corpora",
                        fix=lifecycle.own_database_fix(ws.root, store, other))
    if beyond:
        raise UserError(
            f"the store holds {beyond:,} patents that the canonical tables no longer have (an earlier corpus: "
            f"ingest replaces the canonical tables, load only adds to the store): the panels would mix the two corpora",
            fix=f"citynet load -w {ws.root}{opts} --rebuild   (the store then holds exactly this corpus; then citynet "
                "metrics)")


def run_metrics(ws, flt: NetworkFilter, years=None, store=None, *, backend: str | None = None,
                uri: str | None = None, progress: Progress | None = None, write_back: bool = True,
                project: bool = False) -> MetricsRun:
    """Compute the three panels for ``flt`` and write them to ``ws.metrics``.

    Parameters
    ----------
    ws : citynet.workspace.Workspace
    flt : the network filter; its ``key`` goes to the file metadata and to the ``CityYear`` nodes.
    years : None for a full run; otherwise the years to refresh (a contiguous range that touches or
        overlaps the existing panels). Their rows are recomputed in the three panels, and the churn
        columns of the following year when it is in the panel.
    store : a ``graph.store.GraphStore`` (or ``TableStore``); default ``open_store(ws, backend, uri)``.
    progress : called as ``progress(stage, done, total)``.
    write_back : write the recomputed city-year rows to the store (``write_city_year``).
    project : rebuild the filter's city projections of the years read first (``build_projections``).
        By default the store's projections are used as they are (``citynet load`` builds them, and
        ``city_edges`` builds the missing ones of a new filter or year).
    """
    tick = progress or (lambda stage, done, total: None)  # (stage, rows done, rows in the stage)
    seconds: dict[str, float] = {}
    cities = city_set().cities
    n = len(cities)
    paths = {p: ws.filter_panel(p, flt.key) for p in PANELS}
    is_default = flt.key == ws.default_network
    mirror = {p: ws.metrics / f"{p}.parquet" for p in PANELS} if is_default else {}
    if is_default and not any(paths[p].exists() for p in PANELS) and all(mirror[p].exists() for p in PANELS) \
            and (panel_meta(mirror["city_year"]) or {}).get("network") == flt.key:
        import shutil  # a workspace written before per-filter folders: its panels are the default filter's

        for p in PANELS:
            paths[p].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(mirror[p], paths[p])
    own_store = store is None
    if own_store:
        tick("opening the store", 0, 1)
        from citynet.graph.store import NEO4J_DEFAULTS, open_store

        settings = ws.settings.get("store", {})
        kind = backend or settings.get("backend") or "embedded"
        named = f" --store neo4j --uri {uri or settings.get('uri') or NEO4J_DEFAULTS['uri']}" if kind == "neo4j" else ""
        empty = UserError("the store is empty — run `citynet load` first",
                          fix=f"citynet load -w {ws.root}{named}   (then citynet metrics again)")
        pool = (metrics_buffer_pool(ws), "[metrics] buffer_pool")
        if kind == "embedded":
            # look read-only first: opening for writing would create an empty store
            try:
                probe = open_store(ws, backend=backend, uri=uri, read_only=True, buffer_pool=pool)
            except StoreError as exc:
                if exc.exit_code == EXIT_USAGE:  # there is no store
                    raise empty from exc
                raise
            probe.close()
        else:  # the store is a server's: a read-only workspace is refused before the projections are written there
            from citynet.transaction import check_writable

            check_writable(ws.root, "metrics publishes the panels there, and would first write the filter's city "
                                    "projections and CityYear nodes into the Neo4j store")
        store = open_store(ws, backend=backend, uri=uri, buffer_pool=pool)
        if getattr(store, "_schema_version", lambda: 0)() is None:
            store.close()
            raise empty
        tick("opening the store", 1, 1)
    import contextlib

    from citynet.graph import lifecycle

    guard = contextlib.ExitStack()  # a complete store, and the store's writer lock while metrics writes to it
    try:
        lifecycle.check_complete(store, ws.root)
        _refuse_a_store_behind(ws, store)
        guard.enter_context(lifecycle.writing(store, "citynet metrics", record=False))
        refresh = years is not None
        if refresh:  # the panels a refresh extends: those of the manifest, readable (citynet/transaction.py)
            from citynet.transaction import verify_path

            for p in PANELS:
                if paths[p].exists():
                    verify_path(ws.root, paths[p])
        existing = panel_meta(paths["city_year"]) if refresh else None
        if refresh and any(paths[p].exists() for p in PANELS) and (
                existing is None or not all(paths[p].exists() for p in PANELS)):
            raise UserError(
                f"the panels in {ws.metrics} are incomplete or carry no citynet metadata; a refresh cannot extend them",
                fix="run `citynet metrics` without --years once to recompute every year",
            )
        if refresh and not any(paths[p].exists() for p in PANELS) and ws.computed_networks():
            from citynet.workspace import network_flags

            raise UserError(
                f"no panels of network filter {flt.key!r} to refresh in {ws.metrics} "
                f"(computed: {', '.join(ws.computed_networks())})",
                fix=f"run `citynet metrics -w {ws.root} {network_flags(flt.key)}` without --years once",
            )
        if existing is not None and existing.get("n_cities") != n:
            raise UserError(
                f"the panels in {ws.metrics} have {existing.get('n_cities')} cities, the city set now has {n}",
                fix="run `citynet metrics` without --years to recompute every year",
            )
        if refresh:
            req = sorted({int(y) for y in years})
            if not req:
                raise UserError("--years selects no year", fix="give a range such as --years 2021 or --years 2019-2021")
            if req != list(range(req[0], req[-1] + 1)):
                raise UserError(f"--years must be a contiguous range, not {req}", fix="e.g. --years 2019-2021")
            if existing is not None and existing.get("network") != flt.key:
                raise UserError(
                    f"the panels in {ws.metrics} were computed for network {existing.get('network')!r}, not {flt.key!r}",
                    fix="run `citynet metrics` without --years to recompute every year for this filter",
                )
            # (a typo, or years not loaded yet: never an empty panel; the store's years are read only then)
            # (of the filter's year basis: a year with grants only is no application year of the panel)
            if not store.has_patents(req, flt.year_basis) and (held := store.patent_years(flt.year_basis)):
                kind = "filed" if flt.year_basis == "application" else "granted"
                raise UserError(
                    f"--years {_span(req)}: the store has no patent {kind} in {'that year' if len(req) == 1 else 'those years'} "
                    f"(its patents were {kind} in {min(held)}–{max(held)})",
                    fix=f"choose years within {min(held)}–{max(held)}, or ingest and load the exports of those years first",
                )
            if existing is not None:
                e0, e1 = int(existing["first_year"]), int(existing["last_year"])
                if req[0] > e1 + 1 or req[-1] < e0 - 1:
                    gap = (e1 + 1, req[0] - 1) if req[0] > e1 + 1 else (req[-1] + 1, e0 - 1)
                    raise UserError(
                        f"--years {_span(req)} would leave {_span(range(gap[0], gap[1] + 1))} out of the panel, whose years are "
                        f"{e0}–{e1}",
                        fix=f"refresh a range that starts at {e1 + 1} at the latest (or ends at {e0 - 1} at the earliest), "
                            "or run `citynet metrics` without --years",
                    )
                panel_years = list(range(min(e0, req[0]), max(e1, req[-1]) + 1))
            else:
                panel_years = req
            first_year = panel_years[0]
            churn_years = [req[-1] + 1] if req[-1] + 1 in panel_years and existing is not None else []
            row_years = req
            read_years = sorted(set(req) | set(churn_years) | ({req[0] - 1} if req[0] - 1 >= first_year else set()))
        else:
            read_years = None

        t0 = time.perf_counter()
        if project:
            tick("building projections", 0, 1)
            store.build_projections(flt, years=read_years)
            tick("building projections", 1, 1)
        seconds["projections"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        what = "every year" if read_years is None else _span(read_years)
        tick(f"reading city graphs ({what})", 0, 0)
        edges = store.city_edges(flt, years=read_years)
        counts = store.city_year_counts(flt, years=read_years)
        tick(f"reading city graphs ({what})", len(edges) + len(counts), len(edges) + len(counts))
        seconds["read"] = time.perf_counter() - t0

        if refresh:
            _refuse_years_beyond_the_data(req, existing, counts, flt, ws)
        if not refresh:
            if (setting := _parse_years_setting(ws)) is not None:
                _refuse_setting_beyond_the_corpus(setting, store.patent_years(flt.year_basis), flt)
            panel_years = setting or _data_years(edges, counts)
            if not panel_years:
                raise UserError(
                    f"no patent passes the network filter {flt.key!r} in the store",
                    fix="check `citynet load` ran, or loosen the filter (--green all, --kind all)",
                )
            first_year, row_years, churn_years = panel_years[0], panel_years, []

        t0 = time.perf_counter()
        computed = sorted(set(row_years) | set(churn_years))
        label = f"computing city-years ({_span(computed)})"
        tick(label, 0, n * len(computed))
        new = compute_panels(edges, counts, cities, computed, first_year=first_year,
                             progress=lambda done: tick(label, done, n * len(computed)))
        seconds["compute"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        tick("writing panels", 0, 0)
        # collaboration by partner kinds (产学研), from the canonical tables with the same filter, for
        # the years computed here only (a refresh keeps every other year's values)
        from citynet.metrics.partner_kinds import add_to_city_year

        new.city_year = add_to_city_year(ws, new.city_year, _meta(flt, "city_year", panel_years, n)["filter"])
        if refresh and existing is not None:
            panels = _merge(paths, new, row_years, churn_years)
        else:
            panels = Panels(
                city_year=new.city_year,
                dyad_year=new.dyad_year,
                network_year=new.network_year,
            )
        from citynet import transaction

        corpus = corpus_digest(ws)
        metas = {name: _meta(flt, name, panel_years, n, corpus) for name in PANELS}
        # each filter's panels are published together, atomically, with a manifest (citynet/transaction.py):
        # first metrics/<key>/, then (default filter) the copy in metrics/*.parquet, copied byte for byte
        for files, source in ((paths, None), (mirror, paths)):
            if not files:
                continue
            folder = files[PANELS[0]].parent
            owned = [str(files[name].resolve().relative_to(Path(ws.root).resolve())) for name in PANELS]
            with transaction.publish(ws.root, transaction.panels_unit(folder, ws.root), owned=owned) as tx:
                for name in PANELS:
                    if source is None:
                        write_panel(getattr(panels, name), tx.stage(files[name]), metas[name])
                    else:
                        import shutil

                        shutil.copyfile(source[name], tx.stage(files[name]))
        for name in PANELS:
            if isinstance(getattr(panels, name), pd.DataFrame):
                getattr(panels, name).attrs = {"citynet": metas[name]}
        if not isinstance(panels.dyad_year, pd.DataFrame):  # a refresh: read back only when asked for
            panels = _FilePanels(panels.city_year, paths["dyad_year"], panels.network_year)
        written = sum(pq_rows(paths[name]) for name in PANELS)
        tick("writing panels", written, written)
        seconds["write"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if write_back:
            changed = set(row_years) | set(churn_years)
            rows = panels.city_year[panels.city_year["year"].isin(sorted(changed))]
            tick("writing CityYear nodes", 0, len(rows))
            # (a full run also removes the rows of years the panel no longer holds: an earlier refresh's)
            store.write_city_year(rows.reset_index(drop=True), network=flt.key,
                                  panel_years=None if refresh else panel_years)
            tick("writing CityYear nodes", len(rows), len(rows))
        seconds["write_back"] = time.perf_counter() - t0
        # (a refresh leaves the other years as they were: those a load changed since stay behind the store)
        behind = store.panels_computed(flt.key, row_years if refresh else None, panel_years)
    finally:
        guard.close()
        if own_store and hasattr(store, "close"):
            store.close()
    return MetricsRun(network=flt.key, years=list(row_years), churn_years=list(churn_years),
                      panel_years=list(panel_years), paths=paths, seconds=seconds, panels=panels, mirror=mirror,
                      behind=behind)


class _FilePanels(Panels):
    """The panels after a refresh: the dyad-year panel (cities² × years rows) is read from its file
    only when asked for."""

    def __init__(self, city_year: pd.DataFrame, dyad_path: Path, network_year: pd.DataFrame):
        self.city_year, self.network_year, self._dyad_path, self._dyad = city_year, network_year, dyad_path, None

    @property
    def dyad_year(self) -> pd.DataFrame:  # type: ignore[override]
        if self._dyad is None:
            self._dyad = read_panel(self._dyad_path)
        return self._dyad

    @dyad_year.setter
    def dyad_year(self, value) -> None:
        self._dyad = value


def _merge(paths: dict[str, Path], new: Panels, row_years: list[int], churn_years: list[int]) -> Panels:
    """Existing panels with the rows of ``row_years`` replaced and the churn of ``churn_years`` updated.

    The dyad-year panel (no churn columns) is merged as Arrow tables and returned as one: the rows of
    the other years are decoded from the file and written back without a pandas round trip."""
    out = {}
    for name in PANELS:
        fresh = getattr(new, name)
        if name == "dyad_year":
            out[name] = _merge_dyads(paths[name], fresh, row_years)
            continue
        old = pd.read_parquet(paths[name])
        keep = old[~old["year"].isin(row_years)]
        add = fresh[fresh["year"].isin(row_years)]
        if name == "city_year" and churn_years:
            sel = keep["year"].isin(churn_years)
            upd = fresh[fresh["year"].isin(churn_years)].set_index(["year", "city_code"])[list(CHURN_COLUMNS)]
            k = keep.loc[sel].set_index(["year", "city_code"])
            for c in CHURN_COLUMNS:  # same rows (balanced panel): overwrite the three churn columns
                k[c] = upd[c].reindex(k.index)
            keep = pd.concat([keep.loc[~sel], k.reset_index()[keep.columns]])
        df = pd.concat([keep.astype(fresh.dtypes.to_dict()), add], ignore_index=True)
        # rows of one year are already in canonical order (city_code; city_a, city_b): a stable
        # sort on the integer year (and the network for network_year) restores the full-run order
        if name == "network_year":
            order = {"collab": 0, "transfer": 1, "citation": 2}
            df = df.sort_values(["network", "year"], key=lambda s: s.map(order) if s.name == "network" else s,
                                kind="stable")
        else:
            df = df.sort_values("year", kind="stable")
        out[name] = df.reset_index(drop=True)
    return Panels(**out)


def _merge_dyads(path: Path, fresh: pd.DataFrame, row_years: list[int]):
    """The dyad-year panel of ``path`` with the rows of ``row_years`` replaced by ``fresh``'s, as an Arrow
    table in full-run order (year, then the pair order of ``dyad_year_panel``).

    A file with one row group per year (``write_panel``) is reassembled from the row groups of the
    other years, decoded as they are and never copied or re-sorted; an older file is filtered and
    stably sorted on the year."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    add = pa.Table.from_pandas(fresh[fresh["year"].isin(row_years)].reset_index(drop=True), preserve_index=False)
    f = pq.ParquetFile(path)
    groups = _year_groups(f)
    if groups is not None:
        pieces: dict[int, pa.Table] = {y: f.read_row_group(i) for y, i in groups.items() if y not in row_years}
        for y in row_years:
            pieces[y] = add.filter(pc.equal(add["year"], y))
        tables = [pieces[y].replace_schema_metadata(add.schema.metadata).cast(add.schema) for y in sorted(pieces)]
        return pa.concat_tables(tables)
    old = f.read().replace_schema_metadata(add.schema.metadata)
    keep = old.filter(pc.invert(pc.is_in(old["year"], value_set=pa.array(row_years, old.schema.field("year").type))))
    both = pa.concat_tables([keep.cast(add.schema), add])
    return both.take(pc.sort_indices(both, [("year", "ascending")]))  # stable


def _year_groups(f) -> dict[int, int] | None:
    """``{year: row group}`` when every row group of the Parquet file ``f`` holds one year (its
    statistics say so) and no year is in two groups; else None."""
    md = f.metadata
    try:
        col = f.schema_arrow.get_field_index("year")
    except KeyError:
        return None
    out: dict[int, int] = {}
    for i in range(md.num_row_groups):
        st = md.row_group(i).column(col).statistics
        if st is None or not st.has_min_max or st.min != st.max or int(st.min) in out:
            return None
        out[int(st.min)] = i
    return out


def _span(years) -> str:
    ys = sorted(int(y) for y in years)
    if not ys:
        return "none"
    return str(ys[0]) if len(ys) == 1 else f"{ys[0]}–{ys[-1]}"


def pq_rows(path: Path) -> int:
    """Rows of a Parquet file, from its footer."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def parse_years(text: str | None) -> list[int] | None:
    """``"2019"`` → [2019]; ``"2015-2020"`` → [2015, …, 2020]; None → None."""
    if text is None or str(text).strip() == "":
        return None
    t = str(text).strip().replace("–", "-").replace(":", "-")
    try:
        if "-" in t:
            a, b = (int(x) for x in t.split("-", 1))
        else:
            a = b = int(t)
    except ValueError as exc:
        raise UserError(f"--years {text!r} is not a year or a range", fix="e.g. --years 2021 or --years 2015-2020") from exc
    if a > b:
        raise UserError(f"--years {text!r}: the range is reversed", fix=f"--years {b}-{a}")
    return list(range(a, b + 1))
