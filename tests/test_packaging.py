"""The installed distribution exposes exactly one top-level import name, ``citynet``.

The layers live at the top of the repository (``etl/``, ``graph/``, ...) but install as
``citynet.etl``, ``citynet.graph``, ...: a user's environment must not gain generic top-level
packages such as ``metrics`` or ``analysis`` (PyPI has packages of those names).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("etl", "graph", "metrics", "analysis", "cypher")


def test_wheel_has_one_top_level_package(tmp_path):
    src = tmp_path / "src"  # build from a copy: setuptools writes build/ beside the sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("citynet", *LAYERS):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(src)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = tmp_path.glob("citynet-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"citynet"}, top
    for layer in LAYERS:
        assert f"citynet/{layer}/__init__.py" in names, layer
    # package data travels with its layer
    assert "citynet/etl/data/PROVENANCE.md" in names
    assert "citynet/etl/data/address_keys.parquet" in names  # the shipped address-key decisions
    assert any(n.startswith("citynet/cypher/queries/") and n.endswith(".cypher") for n in names)


def test_layers_import_only_under_citynet(tmp_path):
    """From a folder outside the repository, the layers import as citynet.* and not as top-level names."""
    code = (
        "import importlib.util, citynet.etl, citynet.graph, citynet.metrics, citynet.analysis, citynet.cypher\n"
        f"print(sorted(n for n in {LAYERS!r} if importlib.util.find_spec(n) is not None))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_blas_runs_on_one_thread_for_reproducible_digits():
    """Importing citynet before numpy pins the BLAS to one thread (citynet/__init__.py): a threaded BLAS
    can split a reduction differently from run to run and change a coefficient's last digits."""
    import subprocess
    import sys

    code = ("import citynet, numpy, threadpoolctl; "
            "print(sorted({i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[1]"


def test_modules_import_importlib_util_themselves():
    """``importlib.util`` is a submodule: ``import importlib`` alone does not load it. An editable install
    imports it as a side effect (its path hook), a wheel install does not, and every command then failed
    with "module 'importlib' has no attribute 'util'"."""
    missing = []
    for folder in ("citynet", *LAYERS):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "importlib.util." in text and not any(
                    s in text for s in ("import importlib.util", "from importlib.util", "from importlib import util")):
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, missing
