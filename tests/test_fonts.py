"""Chinese and minus signs render with the font citynet installs, without font-cache help or console noise."""

from __future__ import annotations

import io
import logging
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from citynet.analysis.fonts import CJK_FAMILY, cjk_cmap, cjk_font_path, missing_glyphs, use_cjk_font  # noqa: E402
from fontTools.ttLib import TTFont  # noqa: E402


def _texts(fig):
    fig.canvas.draw()
    out = []
    for t in fig.findobj(matplotlib.text.Text):
        if t.get_visible() and t.get_text():
            out.append(t)
    return out


def test_font_file_is_installed_and_licensed():
    path = cjk_font_path()
    assert path.is_file() and path.stat().st_size > 1_000_000
    name = TTFont(str(path), lazy=True)["name"]
    assert name.getDebugName(1) == CJK_FAMILY
    assert "Open Font License" in (name.getDebugName(13) or "")


def test_chinese_and_negative_axis_render_without_missing_glyphs(tmp_path, caplog):
    with warnings.catch_warnings(record=True) as rec, caplog.at_level(logging.INFO, logger="matplotlib.font_manager"):
        warnings.simplefilter("always")
        assert use_cjk_font() == CJK_FAMILY
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([-3, -1, 0, 2], [-0.5, 0.25, -1.5, 1.0], label="合作网络度数中心度 DC")
        ax.set_title("北京市–天津市：专利合作（南海诸岛）")
        ax.set_xlabel("与处理年份的距离（年）")
        ax.set_ylabel("系数 ρ、λ × 100")
        ax.legend()
        ax.text(0, 0, "高-高 HH", fontweight="bold")  # no bold face ships: drawn regular, without a warning
        texts = _texts(fig)
        fig.savefig(tmp_path / "zh.png")
        plt.close(fig)
    glyph = [str(w.message) for w in rec if "missing from font" in str(w.message) or "Glyph" in str(w.message)]
    assert glyph == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert matplotlib.rcParams["axes.unicode_minus"] is True
    drawn = "".join(t.get_text() for t in texts)
    assert "\u2212" in drawn  # negative tick labels use the real minus sign …
    assert "\u2212" in {chr(c) for c in cjk_cmap()}  # … which the font has
    assert "北" in drawn and "岛" in drawn
    for t in texts:  # every drawn character resolves to Noto Sans SC and is in its cmap
        assert t.get_fontproperties().get_family()[0] in ("sans-serif", CJK_FAMILY)
        assert missing_glyphs(t.get_text()) == set(), t.get_text()
    assert matplotlib.font_manager.findfont(matplotlib.font_manager.FontProperties(family=["sans-serif"])) == str(
        cjk_font_path())


def test_registration_needs_no_font_cache(tmp_path, monkeypatch):
    """A fresh font manager (as after a cache rebuild without the font) still finds it after use_cjk_font."""
    from citynet.analysis import fonts
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager, "fontManager", font_manager.FontManager())
    fonts._register.cache_clear()
    assert str(cjk_font_path()) not in {f.fname for f in font_manager.fontManager.ttflist}
    use_cjk_font()
    assert str(cjk_font_path()) in {f.fname for f in font_manager.fontManager.ttflist}
    fonts._register.cache_clear()


def test_mathematics_renders_without_findfont_noise_when_the_cache_lacks_stix(monkeypatch, caplog):
    """A font cache written by another matplotlib build lacked the STIX fonts (seen on a development
    machine): every $…$ label logged "findfont: Font family ['STIXGeneral'] not found". use_cjk_font
    registers matplotlib's own fonts the cache lacks."""
    from citynet.analysis import fonts
    from matplotlib import font_manager

    stale = font_manager.FontManager()
    stale.ttflist = [f for f in stale.ttflist if not f.name.startswith("STIX")]
    monkeypatch.setattr(font_manager, "fontManager", stale)
    fonts._register.cache_clear()
    try:
        use_cjk_font()
        assert any(f.name == "STIXGeneral" for f in font_manager.fontManager.ttflist)
        fig, ax = plt.subplots()
        ax.set_title(r"$\hat\beta$ 北京 $R^2$ $\sum_i x_i$")
        with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
            fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
        assert not [r for r in caplog.records if "not found" in r.getMessage()]
    finally:
        fonts._register.cache_clear()
