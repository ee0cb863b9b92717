"""Workspace folder layout (DESIGN §2) and the ``citynet.toml`` settings every command reads."""

from __future__ import annotations

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
    """A workspace folder: settings plus the fixed sub-folders of DESIGN §2."""

    root: Path
    settings: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))

    @classmethod
    def open(cls, root: str | Path, create: bool = False) -> Workspace:
        root = Path(root).expanduser().resolve()
        if create:
            root.mkdir(parents=True, exist_ok=True)
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
        return cls(root=root, settings=settings)

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

    def panel(self, name: str) -> Path:
        """``city-year`` / ``city_year`` → ``metrics/city_year.parquet``."""
        return self.metrics / f"{name.replace('-', '_')}.parquet"

    def require(self, path: Path, produced_by: str) -> Path:
        if not path.exists():
            raise UserError(f"{path} is missing", fix=f"run `citynet {produced_by} -w {self.root}` first")
        from citynet.transaction import verify_path

        verify_path(self.root, path)  # the file belongs to the workspace's last complete publication
        return path
