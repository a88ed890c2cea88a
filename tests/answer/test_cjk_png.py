"""PNG export draws Chinese glyphs, not boxes.

The idea: with a CJK font, two different characters produce two different images; without
one, every character is drawn as the same missing-glyph box (or nothing). The control case
uses private-use code points that no font has, to show the comparison does catch boxes.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from chatbi.answer import fonts
from chatbi.answer.charts import VEGA_LITE_SCHEMA, chart_png, make_chart

from .helpers import ctx, ranking_frame

FONT = fonts.find_cjk_font()
needs_font = pytest.mark.skipif(
    FONT is None, reason=f"no CJK font installed ({fonts.INSTALL_HINT} to run this test)")


def _glyph_spec(text: str) -> dict:
    return {"$schema": VEGA_LITE_SCHEMA, "data": {"values": [{"t": text}]},
            "mark": {"type": "text", "fontSize": 48}, "encoding": {"text": {"field": "t"}},
            "width": 90, "height": 90, "config": {"font": fonts.FONT_STACK}}


def _pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(BytesIO(path.read_bytes())) as image:
        return np.asarray(image.convert("L"), dtype=np.int16)


def _render(text: str, tmp_path: Path) -> np.ndarray:
    return _pixels(chart_png(_glyph_spec(text), tmp_path / f"{ord(text[0])}.png", scale=1.0))


@needs_font
def test_two_chinese_characters_draw_two_different_glyphs(tmp_path: Path) -> None:
    zhong, guo = _render("中", tmp_path), _render("国", tmp_path)
    assert zhong.shape == guo.shape
    for image in (zhong, guo):
        assert (image < 128).sum() > 100  # ink was drawn
    differing = (np.abs(zhong - guo) > 64).sum()
    assert differing > 150, "different characters rendered alike: boxes instead of glyphs?"


@needs_font
def test_control_unknown_glyphs_render_identically(tmp_path: Path) -> None:
    """Characters no font has come out identical, which is what the test above rules out."""
    a, b = _render("\ue000", tmp_path), _render("\ue001", tmp_path)
    assert (np.abs(a - b) > 64).sum() == 0


@needs_font
def test_a_chinese_bar_chart_exports_with_the_cjk_font(tmp_path: Path) -> None:
    spec = make_chart(ranking_frame(), ctx(dimensions=["region"]))
    image = _pixels(chart_png(spec, tmp_path / "bar.png", scale=2.0))
    assert image.shape[0] > 300 and image.shape[1] > 1000  # scale 2
    assert fonts.register_cjk_font() == FONT
    assert (image < 128).sum() > 1000


def test_without_a_cjk_font_export_refuses_with_install_hint(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import chatbi.answer.charts as charts

    monkeypatch.setattr(charts, "register_cjk_font", lambda: None)
    spec = make_chart(ranking_frame(), ctx(dimensions=["region"]))
    with pytest.raises(fonts.MissingCJKFontError) as info:
        chart_png(spec, tmp_path / "boxes.png")
    assert "apt-get install fonts-wqy-microhei" in info.value.message
    assert not (tmp_path / "boxes.png").exists()
    # an all-English chart does not need one
    english = make_chart(ranking_frame().assign(region=list("ABCDE")), ctx("en", dimensions=["region"]))
    assert chart_png(english, tmp_path / "en.png").exists()


def test_missing_font_message_says_how_to_install() -> None:
    for language in ("zh", "en"):
        assert fonts.INSTALL_HINT in fonts.missing_font_message(language)
    if FONT is not None:
        assert FONT.path.exists() and FONT.family
