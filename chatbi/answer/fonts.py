"""CJK fonts for PNG export: find one, register it with vl-convert, name it in the chart.

Without a CJK font, Chinese labels render as empty boxes (tofu). ``find_cjk_font`` looks for a
known font with fontconfig (``fc-list :lang=zh``) and then by path; ``register_cjk_font``
registers its directory with ``vl_convert`` once per process. When none exists,
``missing_font_message`` says how to install one (``apt-get install fonts-wqy-microhei``).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chatbi.errors import ChatBIError

# Families in order of preference, with the files they usually live in.
KNOWN_CJK_FONTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("WenQuanYi Micro Hei", ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",)),
    ("WenQuanYi Zen Hei", ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",)),
    ("Noto Sans CJK SC", ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                          "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
                          "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc")),
    ("Source Han Sans SC", ("/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf",)),
    ("Droid Sans Fallback", ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",)),
    ("AR PL UMing CN", ("/usr/share/fonts/truetype/arphic/uming.ttc",)),
    ("PingFang SC", ("/System/Library/Fonts/PingFang.ttc",)),
    ("Hiragino Sans GB", ("/System/Library/Fonts/Hiragino Sans GB.ttc",)),
    ("Microsoft YaHei", ("C:/Windows/Fonts/msyh.ttc",)),
    ("SimHei", ("C:/Windows/Fonts/simhei.ttf",)),
)
INSTALL_HINT = "apt-get install fonts-wqy-microhei"
# A font-family list for the chart config: browsers pick what they have; vl-convert the first
# registered one.
FONT_STACK = ", ".join(["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC",
                        "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "SimHei", "sans-serif"])


class MissingCJKFontError(ChatBIError):
    """No font with Chinese glyphs is installed, so a PNG would show boxes."""

    code = "cjk_font_missing"


@dataclass(frozen=True)
class CJKFont:
    """An installed font that has Chinese glyphs."""

    family: str
    path: Path


def _fc_list() -> list[tuple[str, Path]]:
    """(first family name, file) of the fonts fontconfig knows that cover Chinese."""
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "family", "file"], capture_output=True,
                             text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    fonts = []
    for line in out.splitlines():
        file_part, _, family_part = line.partition(":")
        if file_part and family_part.strip():
            fonts.append((family_part.strip().split(",")[0], Path(file_part.strip())))
    return fonts


@lru_cache(maxsize=1)
def find_cjk_font() -> CJKFont | None:
    """The preferred installed CJK font, or None."""
    found = [(family, path) for family, path in _fc_list() if path.exists()]
    for family, _ in KNOWN_CJK_FONTS:
        for name, path in found:
            if name == family:
                return CJKFont(name, path)
    for family, paths in KNOWN_CJK_FONTS:
        for raw in paths:
            if Path(raw).exists():
                return CJKFont(family, Path(raw))
    if found:
        return CJKFont(*found[0])
    return None


_registered: set[Path] = set()
_lock = threading.Lock()


def register_cjk_font() -> CJKFont | None:
    """Find a CJK font and register its directory with vl-convert (once); None if none."""
    font = find_cjk_font()
    if font is None:
        return None
    import vl_convert

    directory = font.path.parent
    with _lock:
        if directory not in _registered:
            vl_convert.register_font_directory(str(directory))
            _registered.add(directory)
    return font


def missing_font_message(language: str = "zh") -> str:
    """What to tell the user when no CJK font exists."""
    if language == "en":
        return ("No Chinese (CJK) font is installed, so Chinese text in the chart image would "
                f"show as boxes. Install one, e.g. `{INSTALL_HINT}`, then export again.")
    return (f"未安装中文（CJK）字体，图表图片中的中文会显示为方框。请先安装字体，例如 `{INSTALL_HINT}`，"
            "再导出图片。")


def require_cjk_font() -> CJKFont:
    """The registered CJK font, or a MissingCJKFontError that says how to install one."""
    font = register_cjk_font()
    if font is None:
        raise MissingCJKFontError(missing_font_message("zh") + " / " + missing_font_message("en"))
    return font


def font_note(language: str = "zh") -> str | None:
    """A note for the answer when PNG export would lack Chinese glyphs; None when a font exists."""
    return None if find_cjk_font() is not None else missing_font_message(language)
