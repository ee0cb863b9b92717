"""Workspace folder layout (docs/configuration.md §5) and the ``citynet.toml`` settings every command reads."""

from __future__ import annotations

import contextlib
import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citynet.errors import UserError

CONFIG_NAME = "citynet.toml"

DEFAULTS: dict[str, Any] = {
    "inputs": {"patents": [], "transfers": [], "covariates": [], "encoding": "auto"},
    "columns": {},
    "transfer_columns": {},
    "years": {"start": None, "end": None},
    "network": {"green": "wipo", "kind": "invention", "granted_only": False, "year_basis": "application"},
    "store": {
        "backend": "embedded",
        "uri": "bolt://localhost:7687",
        "user": "neo4j",
        "password": None,
        "password_env": "NEO4J_PASSWORD",
        "database": "neo4j",
    },
    "analysis": {"low_carbon_coding": "announce", "cluster": "city_code"},
}


ANY = None  # a value checked where it is read (sizes, worker counts, …: their own messages and exit 2)
#: every section and key citynet.toml may hold (docs/configuration.md §1) and what its value must be: a type,
#: a tuple of allowed strings, or ANY. [columns] and [transfer_columns] map fields to headers (checked by ingest).
SCHEMA: dict[str, dict[str, Any] | None] = {
    "inputs": {"patents": (str, list), "transfers": (str, list), "covariates": (str, list), "encoding": str},
    "columns": None,
    "transfer_columns": None,
    "ingest": {"memory_limit": ANY, "block_mb": ANY, "workers": ANY},
    "network": {"green": str, "kind": str, "granted_only": bool, "year_basis": str},
    "years": {"start": int, "end": int},
    "store": {"backend": ("embedded", "neo4j"), "uri": str, "user": str, "password": str, "password_env": str,
              "database": str, "neo4j_data": str, "load_memory_limit": ANY, "load_batch_rows": ANY, "buffer_pool": ANY},
    "metrics": {"buffer_pool": ANY, "memory_limit": ANY},
    "run": {"networks": list, "specs": list, "report": bool},
    "analysis": {"low_carbon_coding": ("announce", "source", "effective", "paper004"), "cluster": str},
}
_TOML_TYPE = {bool: "true or false", int: "a whole number", str: "a quoted string", list: "a list [ … ]"}


def check_settings(user: dict, path: Path) -> None:
    """Refuse what ``citynet.toml`` would otherwise ignore or misread: an unknown section or key (a typo such as
    ``[netwrok]`` or ``granted-only`` silently kept the default), a value of the wrong type (``granted_only =
    "no"`` is a true string), a value outside its choices, ``[years]`` start after end. One message, exit 2."""
    import difflib

    def near(name: str, names) -> str:
        hit = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
        return f"did you mean {hit[0]!r}? " if hit else ""

    for section, values in user.items():
        if section not in SCHEMA:
            raise UserError(f"{path}: unknown section [{section}]",
                            fix=f"{near(section, SCHEMA)}sections: {', '.join(SCHEMA)} (docs/configuration.md §1)")
        keys = SCHEMA[section]
        if not isinstance(values, dict):
            raise UserError(f"{path}: {section} must be a section [{section}], not a value",
                            fix=f"write [{section}] on a line of its own, its keys below it")
        if keys is None:
            continue
        for key, value in values.items():
            if key not in keys:
                raise UserError(f"{path} [{section}]: unknown key {key!r}",
                                fix=f"{near(key, keys)}keys of [{section}]: {', '.join(keys)} (docs/configuration.md §1)")
            want = keys[key]
            if want is ANY:
                continue
            if isinstance(want, tuple) and all(isinstance(w, str) for w in want):
                if value not in want:
                    raise UserError(f"{path} [{section}] {key} must be one of {', '.join(map(repr, want))}, not {value!r}",
                                    fix=f"{near(str(value), want)}write e.g. {key} = {want[0]!r}".replace("'", '"'))
                continue
            types = want if isinstance(want, tuple) else (want,)
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                wanted = " or ".join(_TOML_TYPE[t] for t in types)
                raise UserError(f"{path} [{section}] {key} must be {wanted}, not {value!r}",
                                fix=f"write e.g. {key} = " + {bool: "false", int: "2010", str: '"…"', list: '["…"]'}[types[0]]
                                    + (" (TOML: true/false without quotes)" if bool in types else ""))
    years = user.get("years", {})
    if isinstance(years.get("start"), int) and isinstance(years.get("end"), int) and years["start"] > years["end"]:
        raise UserError(f"{path} [years]: start {years['start']} is after end {years['end']}",
                        fix=f"write start = {years['end']} and end = {years['start']}")


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Workspace:
    """A workspace folder: settings plus its fixed sub-folders (docs/configuration.md §5)."""

    root: Path
    settings: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    #: the network filter whose panels ``panel()`` returns (None: the workspace's default filter)
    network: str | None = None

    @classmethod
    def open(cls, root: str | Path, create: bool = False, read_config: bool = True) -> Workspace:
        """The workspace at ``root`` (created with ``create``); its citynet.toml is read and checked unless
        ``read_config`` is false (``citynet init --force``, which replaces a broken one)."""
        root = Path(root).expanduser().resolve()
        created: list[Path] = []
        if create:
            if root.exists() and not root.is_dir():
                raise UserError(f"workspace {root} is a file, not a folder", fix="pass -w with a folder")
            missing = [p for p in (root, *root.parents) if not p.exists()]
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"cannot create the workspace {root}: {exc.strerror or exc}",
                                fix="pass -w with a folder you can write (its parent must be a folder)") from exc
            created = missing
            probe = root / ".citynet-write-test"
            try:
                probe.touch()
                probe.unlink()
            except OSError as exc:
                cls._remove_empty(created)
                raise UserError(f"cannot write in the workspace {root}: {exc.strerror or exc}",
                                fix="pass -w with a folder you can write") from exc
        elif not root.is_dir():
            raise UserError(f"workspace {root} does not exist", fix="create it, or pass -w with an existing folder")
        cfg_path = root / CONFIG_NAME
        settings = copy.deepcopy(DEFAULTS)
        if read_config and cfg_path.exists():
            try:
                user = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise UserError(f"{cfg_path}: {exc}", fix="correct the TOML syntax at that line") from exc
            check_settings(user, cfg_path)
            settings = _merge(settings, user)
        ws = cls(root=root, settings=settings)
        ws.created = created
        return ws

    #: folders this process created when it opened the workspace (removed again by ``discard_created``)
    created: list[Path] = field(default_factory=list)

    @staticmethod
    def _remove_empty(folders) -> None:
        for p in sorted(folders, key=lambda q: len(q.parts), reverse=True):
            with contextlib.suppress(OSError):
                p.rmdir()  # only if empty

    def discard_created(self, subfolders: tuple[str, ...] = ()) -> None:
        """After a failed command: remove the empty workspace folders it created (a failed ingest into a
        new workspace leaves nothing behind; folders holding files are kept)."""
        self._remove_empty([self.root / s for s in subfolders] + list(self.created))

    # --- fixed layout -------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def canonical(self) -> Path:
        return self.root / "canonical"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def table(self, name: str) -> Path:
        return self.canonical / f"{name}.parquet"

    @property
    def default_network(self) -> str:
        """The key of the workspace's default network filter (``citynet.toml`` ``[network]``)."""
        from citynet.graph.network_filter import NetworkFilter

        try:
            return NetworkFilter.from_settings(self.settings.get("network", {})).key
        except ValueError as exc:
            raise UserError(f"{self.config_path} [network]: {exc}", fix="correct the [network] settings") from exc

    def panel(self, name: str, network: str | None = None) -> Path:
        """``city-year`` → ``metrics/city_year.parquet`` (the default filter's panels), or
        ``metrics/<key>/city_year.parquet`` for the filter ``network`` (default: ``self.network``)
        when it is not the workspace's default."""
        key = network or self.network
        file = f"{name.replace('-', '_')}.parquet"
        if key is None or key == self.default_network:
            return self.metrics / file
        return self.metrics / key / file

    def filter_panel(self, name: str, network: str) -> Path:
        """``metrics/<key>/<name>.parquet``: where ``citynet metrics`` writes every filter's panels."""
        return self.metrics / network / f"{name.replace('-', '_')}.parquet"

    def computed_networks(self) -> list[str]:
        """Keys of the filters whose panels exist in ``metrics/`` (the default one included)."""
        keys = {p.parent.name for p in self.metrics.glob("*/city_year.parquet")}
        if (self.metrics / "city_year.parquet").exists():
            keys.add(self.default_network)
        return sorted(keys)

    def select_network(self, key: str | None, require: bool = True) -> str:
        """Make ``key`` (default: the workspace's filter) the filter of every panel read; a filter whose
        panels were never computed is one message listing those that were, and the command that computes it
        (with ``require=False`` only for an explicit ``key``)."""
        default = self.default_network
        explicit = key is not None
        key = key or default
        if (require or explicit) and not self.panel("city_year", key).exists():
            have = self.computed_networks()
            listed = ", ".join(have) if have else "none yet"
            raise UserError(f"no panels of network filter {key!r} in {self.metrics} (computed: {listed})",
                            fix=f"run `citynet metrics -w {self.root} {network_flags(key)}`")
        self.network = None if key == default else key
        return key

    def require(self, path: Path, produced_by: str) -> Path:
        if not path.exists():
            raise UserError(f"{path} is missing", fix=f"run `citynet {produced_by} -w {self.root}` first")
        from citynet.transaction import verify_path

        verify_path(self.root, path)  # the file belongs to the workspace's last complete publication
        return path


def network_flags(key: str) -> str:
    """The ``citynet metrics`` options that compute the filter ``key`` (``invention.y02.granted`` →
    ``--green y02 --kind invention --granted-only``)."""
    try:
        f = parse_network_key(key)
    except UserError:
        return f"--green GREEN --kind KIND  (no filter has the key {key!r})"
    flags = f"--green {f.green} --kind {f.kind}"
    if f.year_basis == "grant":
        flags += " --year-basis grant"
    elif f.granted_only:
        flags += " --granted-only"
    return flags


def parse_network_key(key: str):
    """The ``NetworkFilter`` of a key such as ``invention.wipo.all`` or ``all.y02.granted.grantyear``
    (``kind.green.granted[.grantyear]``, the inverse of ``NetworkFilter.key``)."""
    from citynet.graph.network_filter import NetworkFilter

    parts = str(key).split(".")
    try:
        if len(parts) not in (3, 4) or parts[2] not in ("all", "granted") or (len(parts) == 4 and parts[3] != "grantyear"):
            raise ValueError("expected KIND.GREEN.all|granted[.grantyear]")
        flt = NetworkFilter(green=parts[1], kind=parts[0], granted_only=parts[2] == "granted",
                            year_basis="grant" if len(parts) == 4 else "application")
    except ValueError as exc:
        raise UserError(f"{key!r} is not a network filter key ({exc})",
                        fix="e.g. invention.wipo.all, invention.y02.granted, all.all.all") from exc
    if flt.key != key:
        raise UserError(f"{key!r} is not a network filter key (did you mean {flt.key!r}?)",
                        fix=f"use {flt.key}")
    return flt
