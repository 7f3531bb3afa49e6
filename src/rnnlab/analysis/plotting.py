"""The one place matplotlib is set up: the file backend (no screen needed) and fonts that
draw Hangul.

Figures show Korean text (NSMC reviews, a Korean-English translator's attention, ``rnnlab
inspect`` on Korean input). DejaVu Sans, matplotlib's default, has no Hangul, so those
labels would be boxes; NanumGothic (SIL Open Font License), which the
``koreanize-matplotlib`` package carries, is registered as a fallback font: every glyph
DejaVu Sans lacks is drawn from it (matplotlib >= 3.6 falls back per glyph). The package's
module is not imported (it would set fonts globally on import); only its font file is used.
A CJK font the system has (Noto Sans CJK, ...) is added after it. Every plotting module
imports ``plt`` from here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

SYSTEM_CJK = ("Noto Sans CJK KR", "Noto Sans CJK JP", "Noto Sans CJK SC", "WenQuanYi Zen Hei")


def hangul_font_file() -> Path | None:
    """NanumGothic.ttf inside the installed koreanize-matplotlib package (found, not imported)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NanumGothic.ttf"
    return path if path.is_file() else None


def _use_fonts() -> list[str]:
    family = ["DejaVu Sans"]
    font = hangul_font_file()
    if font is not None:
        font_manager.fontManager.addfont(str(font))
        family.append(font_manager.FontProperties(fname=str(font)).get_name())
    installed = {f.name for f in font_manager.fontManager.ttflist}
    family += [name for name in SYSTEM_CJK if name in installed]
    plt.rcParams["font.family"] = family
    plt.rcParams["axes.unicode_minus"] = False  # NanumGothic has no U+2212 minus
    return family


FONT_FAMILY = _use_fonts()

__all__ = ["FONT_FAMILY", "plt"]
