"""Everyday English shorthand (yr, qtr, avg, u, ppl…) expanded before planning.

The table is data (``data/shorthand.json``); an expansion is stated in the interpretation
like any other reading, never applied silently to Chinese text or inside longer words.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _table() -> tuple[re.Pattern[str], dict[str, str]]:
    text = resources.files("chatbi.planner").joinpath("data/shorthand.json").read_text(encoding="utf-8")
    words = {k.lower(): v for k, v in json.loads(text)["words"].items() if k.lower() != v}
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9'/])(?:{alternatives})(?![A-Za-z0-9'/])", re.IGNORECASE)
    return pattern, words


def expand_shorthand(question: str) -> tuple[str, list[tuple[str, str]]]:
    """The question with shorthand words written out, and the (typed, expansion) pairs."""
    pattern, words = _table()
    said: list[tuple[str, str]] = []

    def swap(match: re.Match[str]) -> str:
        near = question[max(0, match.start() - 1) : match.start()] + question[match.end() : match.end() + 1]
        if len(match[0]) <= 2 and _CJK.search(near):
            return match[0]  # u盘, 3r: a letter glued to Chinese is not English shorthand
        full = words[match[0].lower()]
        said.append((match[0], full))
        return full

    return pattern.sub(swap, question), said
