"""Values said as a number and a unit word (5星, 1 and 2 star, 4星及以上, 1-3 stars).

A dimension whose values are small integers may list ``value_units`` in the semantic layer
(review_stars: 星, star, stars). A number, or a list or range of numbers, followed by one of
those words is a filter on that dimension: ``eq`` for one number, ``in`` for a list,
``between`` for a range, ``gte``/``lte`` with 及以上/以上/or more/and above or 及以下/or less.
Numbers outside the dimension's known values are not read (they are something else).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbi.planner.numbers import NUM, to_int
from chatbi.semantic.query import Filter

_LIST_JOIN = r"\s*(?:和|与|跟|或|、|,|，|/|&|\band\b|\bor\b)\s*"
_RANGE_JOIN = r"\s*(?:-|~|到|至|—|–|\bto\b)\s*"
_ABOVE = r"\s*(?:及以上|以上|或以上|\+|\band (?:above|up|higher|more)\b|\bor (?:above|more|higher|better)\b|\bplus\b)"
_BELOW = r"\s*(?:及以下|以下|或以下|\band (?:below|under|lower|less)\b|\bor (?:below|less|lower|worse|fewer)\b)"


@dataclass(frozen=True)
class UnitValue:
    """A filter read from ``[start, end)`` of the normalised question."""

    start: int
    end: int
    filter: Filter


class UnitValueReader:
    """Reads number-and-unit values for the dimensions that declare ``value_units``."""

    def __init__(self, units: dict[str, list[str]], values: dict[str, list[object]]):
        self._patterns: list[tuple[str, re.Pattern[str], set[int] | None]] = []
        for dim, words in units.items():
            if not words:
                continue
            unit = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
            numbers = rf"(?P<nums>{NUM}(?:(?:{_LIST_JOIN}|{_RANGE_JOIN}){NUM})*)"
            pattern = re.compile(rf"(?<![\d.]){numbers}\s*-?\s*(?:{unit})(?![a-z])(?P<dir>{_ABOVE}|{_BELOW})?")
            known = {int(str(v)) for v in values.get(dim, []) if str(v).lstrip("-").isdigit()} or None
            self._patterns.append((dim, pattern, known))

    def read(self, norm: str, blocked: list[tuple[int, int]]) -> list[UnitValue]:
        """Every number-and-unit value outside ``blocked``."""
        found: list[UnitValue] = []
        for dim, pattern, known in self._patterns:
            for m in pattern.finditer(norm):
                if any(m.start() < e and s < m.end() for s, e in blocked):
                    continue
                read = _filter(dim, m, known)
                if read is not None:
                    found.append(UnitValue(m.start(), m.end(), read))
        return _joined(norm, sorted(found, key=lambda v: v.start))


def _joined(norm: str, found: list[UnitValue]) -> list[UnitValue]:
    """1星和2星 / 1星2星 / 4 stars or 5 stars: values of one dimension joined by 和/or are one ``in`` filter."""
    out: list[UnitValue] = []
    for said in found:
        last = out[-1] if out else None
        if last is not None and last.filter.dimension == said.filter.dimension \
                and last.filter.op in ("eq", "in") and said.filter.op == "eq" \
                and re.fullmatch(_LIST_JOIN + "|\\s*", norm[last.end:said.start]):
            values = last.filter.value if isinstance(last.filter.value, list) else [last.filter.value]
            merged = Filter(dimension=said.filter.dimension, op="in", value=[*values, said.filter.value])
            out[-1] = UnitValue(last.start, said.end, merged)
        else:
            out.append(said)
    return out


def _filter(dim: str, m: re.Match[str], known: set[int] | None) -> Filter | None:
    text = m["nums"]
    numbers = [to_int(x) for x in re.findall(NUM, text)]
    if not numbers or any(n is None for n in numbers) or (known and any(n not in known for n in numbers)):
        return None
    values = [int(n) for n in numbers if n is not None]
    direction = (m["dir"] or "").strip()
    if direction and len(values) == 1:
        above = re.match(_ABOVE, direction) is not None
        return Filter(dimension=dim, op="gte" if above else "lte", value=values[0])
    if len(values) == 2 and re.search(_RANGE_JOIN, text):
        low, high = sorted(values)
        return Filter(dimension=dim, op="between", value=[low, high])
    if len(values) == 1:
        return Filter(dimension=dim, op="eq", value=values[0])
    return Filter(dimension=dim, op="in", value=list(dict.fromkeys(values)))
