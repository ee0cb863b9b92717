"""Chinese text in every figure, whatever fonts the machine has.

citynet depends on the PyPI package ``pylopdf-fonts-zh-cn``, which ships Noto Sans SC (Simplified
Chinese subset of Noto Sans CJK, SIL Open Font License 1.1; see ``docs/methods.md`` § Figures). The
font file is registered with matplotlib directly (``font_manager.fontManager.addfont``), so neither a
system font nor matplotlib's font cache is involved; a stale cache cannot hide it.

:func:`use_cjk_font` puts Noto Sans SC first in ``font.sans-serif`` with DejaVu Sans (shipped with
matplotlib) as the per-glyph fallback, keeps ``axes.unicode_minus`` on (Noto Sans SC has U+2212 MINUS
SIGN, so minus signs are real minus signs, not hyphens or boxes) and names only families that exist,
so matplotlib's ``findfont`` never logs a "not found" warning; matplotlib's own fonts (STIX, for ``$…$``
mathematics) are registered too when its font cache lacks them. The package ships the regular weight
only: text asked for in bold is drawn regular, and the one-line "Failed to find font weight bold for
Noto Sans SC" warning matplotlib would print for it each time is filtered out (:class:`_QuietWeight`).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

CJK_FAMILY = "Noto Sans SC"
FALLBACK_FAMILY = "DejaVu Sans"


def cjk_font_path() -> Path:
    """The Noto Sans SC file installed with citynet (package ``pylopdf-fonts-zh-cn``)."""
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.sans_path())


class _QuietWeight(logging.Filter):
    """Drop matplotlib's "Failed to find font weight … for Noto Sans SC" (only the regular weight exists)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        return not (msg.startswith("findfont: Failed to find font weight") and CJK_FAMILY in record.getMessage())


@lru_cache(maxsize=1)
def _register() -> str:
    from matplotlib import font_manager

    path = cjk_font_path()
    known = {Path(f.fname) for f in font_manager.fontManager.ttflist}
    if path not in known:
        font_manager.fontManager.addfont(str(path))
    _add_bundled(font_manager, known)
    log = logging.getLogger("matplotlib.font_manager")
    if not any(isinstance(f, _QuietWeight) for f in log.filters):
        log.addFilter(_QuietWeight())
    return font_manager.FontProperties(fname=str(path)).get_name()


def _add_bundled(font_manager, known: set[Path]) -> None:
    """matplotlib's own fonts (STIX for mathematics, DejaVu) that its font cache lacks: a cache written by
    another matplotlib build can miss them, and every ``$…$`` label then logs "findfont: Font family
    ['STIXGeneral'] not found" (seen on a development machine; a fresh cache has them)."""
    import matplotlib

    for ttf in sorted((Path(matplotlib.get_data_path()) / "fonts" / "ttf").glob("*.ttf")):
        if ttf not in known:
            font_manager.fontManager.addfont(str(ttf))


def use_cjk_font() -> str:
    """Register Noto Sans SC with matplotlib and make it the default sans-serif; returns its family name.

    Idempotent; call it before drawing (``analysis.figures``, ``analysis.maps`` and the report do)."""
    import matplotlib

    name = _register()
    rc = matplotlib.rcParams
    rc["font.family"] = ["sans-serif"]
    rc["font.sans-serif"] = [name, FALLBACK_FAMILY]
    rc["axes.unicode_minus"] = True
    return name


@lru_cache(maxsize=1)
def cjk_cmap() -> frozenset[int]:
    """The code points Noto Sans SC has a glyph for (read with fontTools, which matplotlib depends on)."""
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(cjk_font_path()), lazy=True).getBestCmap())


def missing_glyphs(text: str) -> set[str]:
    """Characters of ``text`` (whitespace aside) that Noto Sans SC cannot draw."""
    cmap = cjk_cmap()
    return {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}
