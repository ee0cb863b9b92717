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
#: the settings that are memory sizes ("2GB"): each needs a unit (a plain 5 was 5 bytes, or DuckDB's crash)
SIZES = (("ingest", "memory_limit"), ("store", "load_memory_limit"), ("store", "buffer_pool"),
         ("metrics", "buffer_pool"), ("metrics", "memory_limit"))
#: lists whose elements must be strings (paths or network keys)
STRING_LISTS = {("inputs", "patents"), ("inputs", "transfers"), ("inputs", "covariates"), ("run", "networks")}
#: keys of an inline table of [run] specs
SPEC_ENTRY_KEYS = ("file", "network")


def parse_size(value, what: str) -> int:
    """``"2GB"``, ``"512MB"``, ``"1.5GiB"``, ``"3G"`` as bytes (K/M/G/T are powers of 1024 here, as before).
    A number without a unit (``5``, ``"5"``: 5 bytes to citynet, an error to DuckDB) and anything else that is
    not a positive size is one message (exit 2) asking for a size with its unit."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?\s*", str(value), flags=re.IGNORECASE)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        m = None
    hint = f"{value:g}GB" if isinstance(value, int | float) and not isinstance(value, bool) else "2GB"
    if m and not m.group(2) and m.group(3) is None:
        num = m.group(1)
        raise UserError(f"{what} = {value!r} has no unit (bytes? megabytes? gigabytes?)",
                        fix=f'write the unit in quotes, e.g. {what.split()[-1]} = "{num}GB" or "{num}MB"')
    if not m or (m.group(3) is not None and m.group(3).lower() == "ib" and not m.group(2)):
        raise UserError(f"{what} = {value!r} is not a size",
                        fix=f'give a size with its unit in quotes, e.g. {what.split()[-1]} = "{hint}" or "512MB"')
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[m.group(2).upper()]
    out = int(float(m.group(1)) * scale)
    if out < 1:
        raise UserError(f"{what} = {value!r} is not a size: it is zero",
                        fix=f'give a positive size, e.g. {what.split()[-1]} = "2GB"')
    return out


#: full-width (Chinese input method) characters that TOML needs in ASCII, outside the quoted strings
_FULL_WIDTH = {"\u3000": " (a space)", "“": '"', "”": '"', "‘": "'", "’": "'", "【": "[", "】": "]", "。": "."}


def _full_width_hint(text: str, exc: tomllib.TOMLDecodeError) -> tuple[int, str, str] | None:
    """``(line, character, its ASCII one)`` of a full-width character on the line of a TOML syntax error
    (``［network］`` typed with a Chinese input method), else on any line before its first quote."""
    import re

    def ascii_of(ch: str) -> str | None:
        if 0xFF01 <= ord(ch) <= 0xFF5E:
            return chr(ord(ch) - 0xFEE0)
        return _FULL_WIDTH.get(ch)

    lines = text.splitlines()
    m = re.search(r"at line (\d+), column (\d+)", str(exc))
    order = list(range(len(lines)))
    if m and 0 < int(m.group(1)) <= len(lines):
        n, col = int(m.group(1)) - 1, int(m.group(2)) - 1
        line = lines[n]
        for ch in line[col:] + line[:col]:
            if ascii_of(ch):
                return n + 1, ch, ascii_of(ch)
        order.remove(n)
    for n in order:
        code = re.split(r"[\"'#]", lines[n], maxsplit=1)[0]  # not inside a string or a comment
        for ch in code:
            if ascii_of(ch):
                return n + 1, ch, ascii_of(ch)
    return None


def read_config_file(path: Path) -> dict:
    """``citynet.toml`` parsed: UTF-8 with or without a BOM (Notepad writes one); a file in another encoding
    (GBK/GB18030 from Chinese Windows' "ANSI", UTF-16 from Notepad's "Unicode") and a full-width bracket,
    equals sign or quote where TOML needs the ASCII one are one message each naming the file (exit 2)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}", fix="make the file readable") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            looks = "it is UTF-16 (Notepad's \"Unicode\")"
        else:
            try:
                data.decode("gb18030")
                looks = "it looks like GBK/GB18030 (Windows' \"ANSI\" encoding on a Chinese system)"
            except UnicodeDecodeError:
                looks = f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8"
        raise UserError(f"{path} is not UTF-8 text: {looks}",
                        fix="save it as UTF-8 (Notepad: File > Save As > Encoding: UTF-8; VS Code: \"Save with "
                            "Encoding\" > UTF-8)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        hint = _full_width_hint(text, exc)
        if hint:
            n, ch, asc = hint
            raise UserError(f"{path}: line {n} has the full-width character {ch!r} (U+{ord(ch):04X}) where TOML "
                            f"needs the ASCII {asc!r} ({exc})",
                            fix=f"replace {ch} with {asc.split(' ')[0] if asc.strip() else 'a space'} (type it with "
                                "the input method in English / half-width mode)") from None
        raise UserError(f"{path}: {exc}", fix="correct the TOML syntax at that line") from None


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
    for section, key in SIZES:
        if key in (user.get(section) or {}):
            parse_size(user[section][key], f"{path} [{section}] {key}")
    for section, key in STRING_LISTS:
        value = (user.get(section) or {}).get(key)
        for item in value if isinstance(value, list) else ():
            if not isinstance(item, str):
                raise UserError(f"{path} [{section}] {key}: the element {item!r} is not a quoted string",
                                fix=f'write every element in quotes, e.g. {key} = ["'
                                    + ('raw/patents.csv' if section == 'inputs' else 'invention.y02.granted') + '"]')
            if section == "run":
                _check_network_key(item, f"{path} [run] networks")
    _check_run_specs((user.get("run") or {}).get("specs"), path)
    for section in ("columns", "transfer_columns"):
        if user.get(section):
            _check_columns(section, user[section], path)
    rows = (user.get("store") or {}).get("load_batch_rows")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise UserError(f"{path} [store] load_batch_rows = {rows!r} is not a whole number of rows (1 or more)",
                        fix="e.g. load_batch_rows = 500000 (no quotes)")
    years = user.get("years", {})
    if ("start" in years) != ("end" in years):
        have, lack = ("start", "end") if "start" in years else ("end", "start")
        raise UserError(f"{path} [years] has {have} but no {lack}: the panel years need both (with one alone the "
                        "section was ignored)",
                        fix=f"add {lack} = … under [years], or remove {have} (then the panels span every year "
                            "with a patent)")
    if isinstance(years.get("start"), int) and isinstance(years.get("end"), int) and years["start"] > years["end"]:
        raise UserError(f"{path} [years]: start {years['start']} is after end {years['end']}",
                        fix=f"write start = {years['end']} and end = {years['start']}")


def _check_network_key(key: str, where: str) -> None:
    """A network filter key of citynet.toml, checked before any stage runs."""
    try:
        parse_network_key(key)
    except UserError as exc:
        raise UserError(f"{where}: {exc.message}", fix=exc.fix) from None


def _check_run_specs(specs, path: Path) -> None:
    """``[run] specs``: each element a path ``"specs/t.toml"`` or ``{file = "…", network = "KEY"}`` (no other
    key: a misspelt ``netwrk`` was ignored and the fit ran on the default filter)."""
    import difflib

    example = 'specs = ["specs/table3.toml", {file = "specs/table3.toml", network = "invention.y02.granted"}]'
    for item in specs if isinstance(specs, list) else ():
        if isinstance(item, str):
            continue
        if not isinstance(item, dict):
            raise UserError(f"{path} [run] specs: the element {item!r} is neither a quoted path nor "
                            "{file = …, network = …}", fix=f"write e.g. {example}")
        for key, value in item.items():
            if key not in SPEC_ENTRY_KEYS:
                hit = difflib.get_close_matches(key, SPEC_ENTRY_KEYS, n=1, cutoff=0.6)
                raise UserError(f"{path} [run] specs: unknown key {key!r} in {item!r}",
                                fix=(f"did you mean {hit[0]!r}? " if hit else "")
                                    + f"an entry's keys: {', '.join(SPEC_ENTRY_KEYS)}")
            if not isinstance(value, str):
                raise UserError(f"{path} [run] specs: {key} = {value!r} is not a quoted string", fix=f"write e.g. {example}")
        if "file" not in item:
            raise UserError(f"{path} [run] specs: the entry {item!r} has no file", fix=f"write e.g. {example}")
        if "network" in item:
            _check_network_key(item["network"], f"{path} [run] specs")


def _check_columns(section: str, mapping: dict, path: Path) -> None:
    """``[columns]`` / ``[transfer_columns]``: canonical field = "header" (a config mistake, exit 2; it was
    found while reading the first file, as bad data, exit 3)."""
    import difflib

    fields = column_fields("PATENT_FIELDS" if section == "columns" else "TRANSFER_FIELDS")
    for key, value in mapping.items():
        if key not in fields:
            hit = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            raise UserError(f"{path} [{section}]: unknown field {key!r}",
                            fix=(f"did you mean {hit[0]!r}? " if hit else "") + f"fields: {', '.join(fields)}")
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{path} [{section}] {key} = {value!r}: the header of a column must be a quoted, "
                            "non-empty string", fix=f'write e.g. {key} = "申请号" (the header as in your file)')


def column_fields(name: str) -> list[str]:
    """The canonical field names of ``PATENT_FIELDS`` or ``TRANSFER_FIELDS`` (``etl/fields.py``: a module without
    pandas, which every command with a [columns] section would otherwise import, 0.4 s)."""
    from citynet.etl import fields

    return list(getattr(fields, name))


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
        elif root.exists() and not root.is_dir():  # -w ws/citynet.toml, -w raw/patents.csv: not "does not exist"
            raise UserError(f"workspace {root} is a file, not a folder",
                            fix=f"pass -w with the folder that holds citynet.toml (-w {root.parent}?)")
        elif not root.is_dir():
            raise UserError(f"workspace {root} does not exist", fix="create it, or pass -w with an existing folder")
        cfg_path = root / CONFIG_NAME
        settings = copy.deepcopy(DEFAULTS)
        if read_config and cfg_path.exists():
            user = read_config_file(cfg_path)
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
        """The panel file ``name`` (``city-year``) of the filter ``network`` (default: ``self.network``, else the
        workspace's filter): ``metrics/<key>/city_year.parquet``, where ``citynet metrics`` writes every filter's
        panels. For the workspace's filter, a workspace without that folder (written before it existed) has
        them in ``metrics/city_year.parquet``, the copy ``metrics`` keeps of the default filter's panels — read
        only when its metadata names that filter: after ``[network]`` was changed and changed back, the copy
        can hold another filter's panels until ``metrics`` runs again."""
        key = network or self.network or self.default_network
        file = f"{name.replace('-', '_')}.parquet"
        own = self.metrics / key / file
        if key == self.default_network and not own.exists() and self.copy_network(file) in (key, None, ""):
            return self.metrics / file  # (also when missing or unreadable: the path the messages name)
        return own

    def copy_network(self, file: str) -> str | None:
        """The filter key in the metadata of ``metrics/<file>`` (the default filter's copy); ``""`` when the file
        is missing or unreadable, None when it names no filter (an older workspace's)."""
        import json

        import pyarrow.parquet as pq

        try:
            meta = (pq.read_schema(self.metrics / file).metadata or {}).get(b"citynet")
        except (OSError, ValueError):
            return ""
        try:
            return json.loads(meta).get("network") if meta else None
        except (ValueError, AttributeError):
            return None

    def filter_panel(self, name: str, network: str) -> Path:
        """``metrics/<key>/<name>.parquet``: where ``citynet metrics`` writes every filter's panels."""
        return self.metrics / network / f"{name.replace('-', '_')}.parquet"

    def computed_networks(self) -> list[str]:
        """Keys of the filters whose panels exist in ``metrics/`` (the default one included)."""
        keys = {p.parent.name for p in self.metrics.glob("*/city_year.parquet")}
        if self.panel("city_year", self.default_network).exists():
            keys.add(self.default_network)
        return sorted(keys)

    def select_network(self, key: str | None, require: bool = True) -> str:
        """Make ``key`` (default: the workspace's filter) the filter of every panel read; a filter whose
        panels were never computed is one message listing those that were, and the command that computes it
        (with ``require=False`` only for an explicit ``key``)."""
        default = self.default_network
        explicit = key is not None
        key = key or default
        if explicit:
            parse_network_key(key)  # not a key at all (INVENTION.WIPO.ALL): that message, not "not computed"
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
        return f"--network {key}"  # (not a key: that command says so, and what a key looks like)
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
        lower = str(key).lower()
        if lower != key:
            try:
                parse_network_key(lower)
            except UserError:
                pass
            else:
                raise UserError(f"{key!r} is not a network filter key (keys are in lower case)",
                                fix=f"use {lower}") from None
        raise UserError(f"{key!r} is not a network filter key ({exc})",
                        fix="e.g. invention.wipo.all, invention.y02.granted, all.all.all") from None
    if flt.key != key:
        raise UserError(f"{key!r} is not a network filter key (did you mean {flt.key!r}?)",
                        fix=f"use {flt.key}")
    return flt
