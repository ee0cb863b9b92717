"""``canonical/manifest.json``: a content digest of every canonical table, recorded when it is written.

The graph load compares these digests with the ones it recorded in the store's meta at its last
load and skips an unchanged table without reading it (``graph.tables.table_digests``). An entry is
trusted only while the file's size and modification time are the ones recorded next to the digest;
otherwise (a file written by another tool, copied, edited) the file is hashed again. The digest is
BLAKE2b-128 of the file's bytes (``hashlib``, streamed in 4 MiB blocks).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MANIFEST = "manifest.json"
_BLOCK = 1 << 22


def file_digest(path: Path) -> str:
    """BLAKE2b-128 hex digest of the bytes of ``path``."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def _stat(path: Path) -> dict:
    st = os.stat(path)
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read(folder: Path) -> dict:
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def record(path: Path, digest: str | None = None) -> str:
    """Hash the table file ``path`` and record its digest in the manifest of its folder (``digest``: the
    file's, computed by the thread that wrote it, which nothing changed since)."""
    path = Path(path)
    digest = digest or file_digest(path)
    data = _read(path.parent)
    data[path.name] = {"digest": digest, **_stat(path)}
    tmp = path.parent / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path.parent / MANIFEST)
    return digest


def digest(path: Path, manifest: dict | None = None) -> str | None:
    """The content digest of ``path`` (None when it does not exist): the manifest's when its size and
    modification time still match, else the file hashed now."""
    path = Path(path)
    if not path.exists():
        return None
    entry = (manifest if manifest is not None else _read(path.parent)).get(path.name)
    if isinstance(entry, dict) and entry.get("digest") and {k: entry.get(k) for k in ("bytes", "mtime_ns")} == _stat(path):
        return entry["digest"]
    return file_digest(path)


def digests(folder: Path, names) -> dict[str, str | None]:
    """``{name: digest of <folder>/<name>.parquet}`` (None for a missing table)."""
    m = _read(folder)
    return {n: digest(Path(folder) / f"{n}.parquet", m) for n in names}
