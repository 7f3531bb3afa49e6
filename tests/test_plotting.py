"""Figures draw Korean: a Hangul label renders with a real font, not as boxes."""

import io
import warnings

import pytest

from rnnlab.analysis.plotting import FONT_FAMILY, hangul_font_file, plt


def _draw(text: str) -> None:
    fig, ax = plt.subplots()
    ax.set_title(text)
    ax.set_xticks([0, 1], ["나는", "학생이다"])
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_a_korean_label_renders_without_a_missing_glyph_warning():
    assert hangul_font_file() is not None and len(FONT_FAMILY) >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        _draw("나는 학생이다 → I am a student")


def test_without_the_hangul_font_the_same_label_would_be_boxes():
    """The check above can fail: with DejaVu Sans alone matplotlib warns of the missing glyphs."""
    saved = plt.rcParams["font.family"]
    plt.rcParams["font.family"] = ["DejaVu Sans"]
    try:
        with pytest.warns(UserWarning, match="missing from font"):
            _draw("학생")
    finally:
        plt.rcParams["font.family"] = saved
