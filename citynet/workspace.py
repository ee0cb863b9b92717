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
    def open(cls, root: str | Path, create: bool = False) -> Workspace:
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
        if cfg_path.exists():
            try:
                user = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise UserError(f"{cfg_path}: {exc}", fix="correct the TOML syntax at that line") from exc
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
