"""Every ``>>>`` example in citynet's docstrings runs and prints what the docstring says (the worked
examples of the Cypher rewrites, the parsers and the helpers are part of their documentation)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

PACKAGES = ("citynet", "citynet.etl", "citynet.graph", "citynet.metrics", "citynet.analysis")  # (pyproject's package-dir)


def _modules_with_examples() -> list[str]:
    names = []
    infos = [info for package in PACKAGES
             for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + ".")]
    for info in infos:
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec else None
        if origin and origin.endswith(".py") and ">>> " in Path(origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return sorted(set(names))


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    assert "citynet.graph.compat_aggregates" in MODULES and "citynet.graph.compat_nulls" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (python -m doctest)"
