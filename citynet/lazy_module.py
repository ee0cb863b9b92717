"""A module imported on first use: ``pd = lazy_module("pandas")`` costs nothing until ``pd.DataFrame``.

Commands that end early (a reload that changes nothing, a refused option) should not pay for the
imports of the paths they do not take: pandas alone is about 0.3 s of CPU, half of a no-op ``citynet
load`` (issue 12: "a reload that changes nothing: at most 1 s"). A proxy object rather than
the standard library's ``LazyLoader``: the real module is never replaced in ``sys.modules``, so a package
that imports its own submodules (pandas does) loads exactly as with a plain ``import``.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class _LazyModule:
    """Attribute access imports the module (once: ``importlib`` caches it) and forwards."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str) -> ModuleType:
    """``name``, imported when one of its attributes is first read.

    >>> pd = lazy_module("pandas")
    >>> pd.DataFrame({"a": [1]}).shape
    (1, 1)
    """
    return _LazyModule(name)  # type: ignore[return-value]
