"""Words nobody claimed: find them, resolve near matches, or name them.

After the lexicon, the time parser and the intent patterns have read a question, what is
left is either known filler (``data/filler.json``) or an **unknown**. An unknown never
disappears silently: ``NearMatcher`` tries a near match in the semantic layer's names,
synonyms and values (typos by rapidfuzz, Chinese homophones and common dialect merges by
pinyin), and the planner either uses that match and says so, refuses when the word names
something the data does not hold (``not_in_data`` in the semantic layer), or asks about the
word with the closest real choices.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from chatbi.planner.text import normalize

if TYPE_CHECKING:
    from chatbi.planner.lexicon import Lexicon
    from chatbi.planner.understand import Understanding
    from chatbi.semantic.models import NotInData, SemanticLayer

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_EN_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")
_ENTITY_DIMS = re.compile(r"_(?:id|name|title)$")
#: pinyin initials and finals people merge when typing by sound (模糊音): zh/z, ch/c, sh/s,
#: n/l, h/f, and the front/back nasals -ang/-an, -eng/-en, -ing/-in.
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("f", "h"), ("r", "l"))


@dataclass(frozen=True)
class Unknown:
    """A word of the question that nothing claimed, at ``[start, end)`` of the question."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class NearMatch:
    """An unknown word read as a known surface of the semantic layer."""

    unknown: Unknown
    surface: str  # the lexicon surface it stands for (品类)
    kind: str  # metric | dimension | value


@lru_cache(maxsize=1)
def _filler() -> tuple[frozenset[str], tuple[str, ...]]:
    text = resources.files("chatbi.planner").joinpath("data/filler.json").read_text(encoding="utf-8")
    data = json.loads(text)
    zh = tuple(sorted({normalize(w) for w in data["zh"]}, key=len, reverse=True))
    return frozenset(normalize(w) for w in data["en"]), zh


def _strip_zh_filler(run: str) -> list[tuple[int, int]]:
    """Pieces of a Chinese run (offsets within it) left after removing filler words."""
    _, zh = _filler()
    covered = [False] * len(run)
    i = 0
    while i < len(run):
        for word in zh:
            if run.startswith(word, i):
                for k in range(i, i + len(word)):
                    covered[k] = True
                i += len(word)
                break
        else:
            i += 1
    pieces: list[tuple[int, int]] = []
    start = None
    for k, is_covered in enumerate([*covered, True]):
        if not is_covered and start is None:
            start = k
        elif is_covered and start is not None:
            pieces.append((start, k))
            start = None
    return pieces


def is_filler(text: str) -> bool:
    """Is ``text`` (normalised) nothing but filler words?"""
    english, _ = _filler()
    text = text.strip()
    if _CJK_RUN.fullmatch(text):
        return not any(b - a >= 1 for a, b in _strip_zh_filler(text))
    return all(w in english for w in _EN_WORD.findall(text))


def find_unknowns(u: Understanding, masked: str) -> list[Unknown]:
    """Content words of ``masked`` (the question with everything recognised blanked out,
    positions kept) that are not filler. Single Chinese characters are not reported."""
    english, _ = _filler()
    found: list[Unknown] = []
    for run in _CJK_RUN.finditer(masked):
        for a, b in _strip_zh_filler(run[0]):
            if b - a >= 2:
                start, end = run.start() + a, run.start() + b
                found.append(Unknown(u.question[start:end], start, end))
    for word in _EN_WORD.finditer(masked):
        text = word[0].strip("'-")
        if len(text) < 2 or text in english or text.rstrip("s") in english:
            continue
        found.append(Unknown(u.question[word.start() : word.end()], word.start(), word.end()))
    return sorted(found, key=lambda x: x.start)


# ------------------------------------------------------------------ not in the data
def not_in_data(layer: SemanticLayer, text: str) -> tuple[NotInData, str] | None:
    """The first concept of the layer's ``not_in_data`` whose word appears in ``text`` (a
    normalised question, recognised words already blanked), with the word."""
    for concept in layer.not_in_data:
        for word in sorted(concept.words, key=len, reverse=True):
            key = normalize(word)
            if key.isascii():
                if re.search(rf"(?<![a-z]){re.escape(key)}(?![a-z])", text):
                    return concept, word
            elif key in text:
                return concept, word
    return None


# ------------------------------------------------------------------ near matches
def _fuzzy_syllable(syllable: str) -> str:
    for full, short in _FUZZY_INITIALS:
        if syllable.startswith(full):
            syllable = short + syllable[len(full):]
            break
    return syllable[:-1] if syllable.endswith("ng") else syllable


class NearMatcher:
    """Near matches of unknown words among the lexicon's surfaces (built on first use:
    most questions have no unknown word and never pay for it)."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self._zh: dict[int, list[tuple[str, tuple[str, ...]]]] | None = None
        self._en: list[str] | None = None

    def _surfaces(self) -> list[str]:
        out = []
        for surface, entries in self.lexicon.surface_entries():
            kept = [e for e in entries if not _ENTITY_DIMS.search(e.name) and e.kind in ("metric", "dimension", "value")]
            if kept and len(surface.strip()) >= 2:
                out.append(surface)
        return out

    def _build(self) -> None:
        from pypinyin import lazy_pinyin

        self._zh, self._en = {}, []
        for surface in self._surfaces():
            if _CJK_RUN.fullmatch(surface) and len(surface) <= 8:
                key = tuple(_fuzzy_syllable(s) for s in lazy_pinyin(surface))
                self._zh.setdefault(len(surface), []).append((surface, key))
            elif surface.isascii() and len(surface) >= 4:
                self._en.append(surface)
                self._en.extend(w for w in surface.split() if len(w) >= 4 and w != surface)  # inventry → inventory
        from chatbi.planner.time_parser import TYPO_WORDS

        self._en.extend(TYPO_WORDS)  # monhtly → monthly: time words are mistyped too
        self._en = sorted(set(self._en))

    def resolve(self, unknown: Unknown) -> NearMatch | None:
        """The one surface this word is a typo or homophone of, or None when there is no
        close match or several equally close ones."""
        if self._zh is None:
            self._build()
        word = normalize(unknown.text)
        if _CJK_RUN.fullmatch(word):
            return self._resolve_zh(unknown, word)
        if word.isascii():
            return self._resolve_en(unknown, word)
        return None

    def _resolve_zh(self, unknown: Unknown, word: str) -> NearMatch | None:
        from pypinyin import lazy_pinyin
        from rapidfuzz.distance import Levenshtein

        assert self._zh is not None
        key = tuple(_fuzzy_syllable(s) for s in lazy_pinyin(word))
        best: list[tuple[float, str]] = []
        for surface, other in self._zh.get(len(word), []):
            shared = sum(a == b for a, b in zip(word, surface, strict=True))
            if shared == 0:
                continue  # a homophone shares at least one character with what was meant
            if key == other:  # a homophone after the 模糊音 merges (大曲 → 大区, 品内 → 品类)
                best.append((1.0, surface))
                continue
            # a longer word with one syllable a letter off (转换率 → 转化率); two-character words
            # need a true homophone (后年 is not 后浪)
            diffs = [Levenshtein.distance(a, b) for a, b in zip(key, other, strict=True)]
            if len(word) >= 3 and shared == len(word) - 1 and sum(d > 0 for d in diffs) == 1 and max(diffs) == 1:
                best.append((0.8, surface))
        return self._pick(unknown, best)

    def _resolve_en(self, unknown: Unknown, word: str) -> NearMatch | None:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        assert self._en is not None
        if len(word) < 4:
            return None
        most = 1 if len(word) <= 6 else 2  # one slip (a swap, a missing or extra letter) per short word
        hits = process.extract(word, self._en, scorer=OSA.distance, score_cutoff=most, limit=5)
        return self._pick(unknown, [(1 - distance / len(word), surface) for surface, distance, _ in hits])

    def _pick(self, unknown: Unknown, scored: list[tuple[float, str]]) -> NearMatch | None:
        if not scored:
            return None
        scored.sort(key=lambda x: -x[0])
        top = scored[0][0]
        meanings = {self._meaning(s) for score, s in scored if score == top}
        if len(meanings) != 1:
            return None  # two different things are equally close: ask, don't guess
        surface = scored[0][1]
        entries = self.lexicon.entries(surface)
        return NearMatch(unknown, surface, entries[0].kind if entries else "word")

    def _meaning(self, surface: str) -> tuple[tuple[str, str, str], ...]:
        meaning = tuple(sorted((e.kind, e.name, str(e.value)) for e in self.lexicon.entries(surface)))
        return meaning or (("word", surface, ""),)

    def closest(self, text: str, layer: SemanticLayer, language: str, limit: int = 3) -> list[tuple[str, str, str]]:
        """(kind, name, label) of the metrics and dimensions closest to ``text``, for a
        clarifying question that offers real choices."""
        from rapidfuzz import fuzz, process

        choices: dict[str, tuple[str, str, str]] = {}
        for metric in layer.metrics:
            label = metric.label if language == "zh" else (metric.label_en or metric.name)
            for surface in (metric.label, metric.label_en or "", *metric.synonyms):
                if surface:
                    choices.setdefault(normalize(surface), ("metric", metric.name, label))
        for _, dim in layer.all_dimensions():
            if _ENTITY_DIMS.search(dim.name) or dim.type == "time":
                continue
            label = dim.label if language == "zh" else (dim.label_en or dim.name)
            for surface in (dim.label, dim.label_en or "", *dim.synonyms):
                if surface:
                    choices.setdefault(normalize(surface), ("dimension", dim.name, label))
        hits = process.extract(normalize(text), list(choices), scorer=fuzz.WRatio, limit=30)
        found: list[tuple[str, str, str]] = []
        for surface, score, _ in hits:
            choice = choices[surface]
            if score >= 40 and choice not in found:
                found.append(choice)
            if len(found) >= limit:
                break
        return found
