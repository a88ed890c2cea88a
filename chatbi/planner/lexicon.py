"""The planner's vocabulary, built from the semantic layer and the dimension values.

Every metric and dimension surface (name, label, label_en, synonyms, plus plural and
数→数量 variants) and every dimension value (with generic aliases from
``data/aliases.json``) becomes an ``Entry``. ``Lexicon.scan`` finds the longest
non-overlapping surfaces in a normalised question; ``Lexicon.fuzzy`` tolerates small typos
in English metric and dimension words.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from chatbi.planner.merchant_names import MerchantNames
from chatbi.planner.text import at_word_boundary, normalize
from chatbi.planner.unit_values import UnitValueReader
from chatbi.semantic.models import SemanticLayer

EntryKind = Literal["metric", "dimension", "value", "time"]
DimensionValues = Mapping[str, Sequence[Any]]

_CONNECTORS = ("", "为", "是", "=", ":", " ", "是否", "属于", " is ", " = ", " equals ", ": ", " of ")
_FILTER_LEADS = ("only ", "just ", "只看", "只要", "仅看", "就看")
_GAP_OK = re.compile(r"^(?:\s*|\s*(?:为|是|=|:|属于|的|is|are|equals?|of)\s*)$")
_ENGLISH_WORD = re.compile(r"[a-z][a-z\-']*")
_FUZZY_STOP = frozenset(
    "what which show list give tell share trend trends top bottom highest lowest most least best worst "
    "last this past year years month months week weeks quarter quarters days day growth grew growing "
    "compare compared versus between from with over by per and the for of in on how many much is are "
    "was were does did do define defined definition calculated mean means why write draft copy message "
    "messages sms push only just instead what's change switch monthly weekly daily yearly quarterly "
    "percentage proportion breakdown total count number each every across fastest increase decrease "
    "drop dropped declined rise rose users customers merchants sellers buyers people".split()
)


@dataclass(frozen=True)
class Entry:
    """One meaning of a surface: a metric, a dimension, or a value of a dimension."""

    kind: EntryKind
    name: str  # metric or dimension name
    value: Any = None  # canonical value, for kind == "value"
    tag: bool = False  # the dimension is a tag list (filter op has_tag)
    rank: int = 1  # 0 dimension+value said together, 1 the value itself, 2 value label, 3 alias


@dataclass(frozen=True)
class Match:
    """A surface found in the question at ``[start, end)`` with all its meanings."""

    start: int
    end: int
    surface: str
    entries: tuple[Entry, ...]
    fuzzy: bool = False

    @property
    def kinds(self) -> set[str]:
        return {e.kind for e in self.entries}

    def of_kind(self, kind: EntryKind) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.kind == kind)


@lru_cache(maxsize=1)
def load_aliases() -> dict[str, Any]:
    """The generic alias data shipped with the planner."""
    text = resources.files("chatbi.planner").joinpath("data/aliases.json").read_text(encoding="utf-8")
    return json.loads(text)


def _plurals(surface: str) -> list[str]:
    if not surface.isascii() or not surface[-1:].isalpha():
        return []
    if surface.endswith("y") and not surface.endswith(("ay", "ey", "oy", "uy")):
        return [surface[:-1] + "ies"]
    if surface.endswith(("s", "x", "ch", "sh")):
        return [surface + "es"]
    return [surface + "s"]


class Lexicon:
    """Longest-match vocabulary over the layer's names, labels, synonyms and values."""

    def __init__(self, layer: SemanticLayer, values: DimensionValues | None = None):
        self.layer = layer
        self.values: dict[str, list[Any]] = {k: [v for v in vs if v is not None] for k, vs in (values or {}).items()}
        aliases = load_aliases()
        self._weak = {normalize(str(w)) for w in aliases["weak_values"]}
        self._entries: dict[str, list[Entry]] = defaultdict(list)
        self.dimension_surfaces: dict[str, list[str]] = defaultdict(list)
        self.metric_surfaces: dict[str, list[str]] = defaultdict(list)
        self._dim_types: dict[str, str] = {}
        self.boolean_dimensions: set[str] = set()
        self.pii_dimensions: set[str] = set()
        self._build_metrics(aliases["metric_variants"])
        self._build_dimensions()
        self._led: list[tuple[str, Entry]] = []
        self._build_values(aliases)
        self._add_filter_leads()
        self.value_units: dict[str, list[str]] = {
            dim.name: [normalize(w).strip() for w in dim.value_units] for _, dim in self.layer.all_dimensions() if dim.value_units
        }
        self.unit_values = UnitValueReader(self.value_units, self.values)
        self._index: dict[str, list[str]] = defaultdict(list)
        for surface in self._entries:
            self._index[surface[0]].append(surface)
        for bucket in self._index.values():
            bucket.sort(key=len, reverse=True)
        self.metric_charsets: dict[str, tuple[frozenset[str], ...]] = {
            name: tuple({frozenset(s.replace(" ", "")) for s in surfaces}) for name, surfaces in self.metric_surfaces.items()
        }
        self.merchant_names = MerchantNames.from_values(values, reserved=self._entries)  # 台州·青柠首饰铺小铺 → merchant 179
        english = {s for s, es in self._entries.items() if s.isascii() and len(s) >= 4 and any(e.kind in ("metric", "dimension") for e in es)}
        self._english_by_length: dict[int, list[str]] = defaultdict(list)
        for surface in sorted(english):  # typos keep the length within ±2
            for length in range(len(surface) - 2, len(surface) + 3):
                self._english_by_length[length].append(surface)

    # ------------------------------------------------------------ building
    def _add(self, surface: str, entry: Entry) -> None:
        key = normalize(surface).strip()
        if not key:
            return
        bucket = self._entries[key]
        for i, old in enumerate(bucket):
            if (old.kind, old.name, old.value) == (entry.kind, entry.name, entry.value):
                if entry.rank < old.rank:
                    bucket[i] = entry
                return
        bucket.append(entry)

    def _build_metrics(self, variants: Mapping[str, list[str]]) -> None:
        for metric in self.layer.metrics:
            entry = Entry("metric", metric.name)
            surfaces = [metric.name, metric.name.replace("_", " "), metric.label, metric.label_en or "", *metric.synonyms]
            for surface in surfaces:
                for form in self._forms(surface, variants):
                    self._add(form, entry)
                    self.metric_surfaces[metric.name].append(normalize(form))

    def _build_dimensions(self) -> None:
        for model, dim in self.layer.all_dimensions():
            self._dim_types[dim.name] = dim.type
            if dim.data_type == "boolean":
                self.boolean_dimensions.add(dim.name)
            if dim.pii or dim.name in model.pii_columns or dim.expr.strip() in model.pii_columns:
                self.pii_dimensions.add(dim.name)
            kind: EntryKind = "time" if dim.type == "time" else "dimension"
            entry = Entry(kind, dim.name, tag=dim.type == "tag")
            surfaces = [dim.name, dim.name.replace("_", " "), dim.label, dim.label_en or "", *dim.synonyms]
            for surface in surfaces:
                for form in self._forms(surface, {}):
                    self._add(form, entry)
                    self.dimension_surfaces[dim.name].append(normalize(form))

    @staticmethod
    def _forms(surface: str, variants: Mapping[str, list[str]]) -> list[str]:
        surface = surface.strip()
        if not surface:
            return []
        forms = [surface, *_plurals(normalize(surface))]
        for ending, replacements in variants.items():
            if not surface.isascii() and surface.endswith(ending) and len(surface) >= 3:
                forms.extend(surface[: -len(ending)] + r for r in replacements)
        return forms

    def _build_values(self, aliases: Mapping[str, Any]) -> None:
        known_dims = {d.name for _, d in self.layer.all_dimensions()}
        for _, dim in self.layer.all_dimensions():  # values fixed in the layer (age bands…)
            fixed = list(getattr(dim, "values", []) or [])
            if fixed and dim.name not in self.values:
                self.values[dim.name] = fixed
        by_text: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        metric_names = {m.name for m in self.layer.metrics}
        naming = {d for d, vs in self.values.items() if vs and sum(str(v) in metric_names for v in vs) * 2 >= len(vs)}
        for dim_name, dim_values in self.values.items():
            if dim_name not in known_dims:
                continue
            tag = self._dim_types.get(dim_name) == "tag"
            if dim_name in naming:  # values that name metrics (alert_metric): only next to their dimension
                for value in dim_values:
                    text = normalize(str(value)).strip()
                    by_text[text].append((dim_name, value))
                    self._add_anchored(dim_name, text, Entry("value", dim_name, value, tag, rank=0))
                    self._add_anchored(dim_name, text.replace("_", " "), Entry("value", dim_name, value, tag, rank=0))
                continue
            for value in dim_values:
                text = normalize(str(value)).strip()
                if not text or len(text) > 40:
                    continue
                by_text[text].append((dim_name, value))
                entry = Entry("value", dim_name, value, tag)
                if self._is_weak(text):
                    self._add_anchored(dim_name, text, replace(entry, rank=0))
                    continue
                self._add(text, entry)
                if "_" in text:
                    self._add(text.replace("_", " "), entry)
                for suffix in aliases["value_suffixes"]:
                    stripped = text[: -len(suffix)] if text.endswith(suffix) else ""
                    if len(stripped) >= 2 and not self._is_weak(stripped):
                        self._add(stripped, entry)
        for _, dim in self.layer.all_dimensions():  # words for raw values (1 → 一线, 华东 → East China)
            labels = {**(getattr(dim, "value_labels_en", None) or {})}
            for raw, words in (getattr(dim, "value_labels", None) or {}).items():
                labels[raw] = f"{words}/{labels[raw]}" if raw in labels else words
            for raw, words in labels.items():
                known = [v for d, v in by_text.get(normalize(str(raw)), []) if d == dim.name]
                if dim.name in naming:
                    for word in re.split(r"[/|]", str(words)):
                        if normalize(word).strip():
                            self._add_anchored(dim.name, normalize(word).strip(),
                                               Entry("value", dim.name, known[0] if known else raw, False, rank=0))
                    continue
                entry = Entry("value", dim.name, known[0] if known else raw, dim.type == "tag", rank=2)
                for word in re.split(r"[/|]", str(words)):
                    word = normalize(word).strip()
                    if not word:
                        continue
                    by_text[word].append((dim.name, entry.value))
                    if len(word) <= 2 or self._is_weak(word):  # 购买, 浏览: only next to the dimension
                        self._add_anchored(dim.name, word, replace(entry, rank=0))
                    else:
                        self._add(word, entry)
        for alias in aliases["value_aliases"]:
            canonical = normalize(str(alias["value"]))
            for dim_name, value in by_text.get(canonical, []):
                if alias.get("dimension") and alias["dimension"] != dim_name:
                    continue
                entry = Entry("value", dim_name, value, self._dim_types.get(dim_name) == "tag", rank=3)
                for surface in alias["surfaces"]:
                    self._add(surface, entry)

    def _add_filter_leads(self) -> None:
        """only 女 / 只看男: a filter word makes a weak value clear, unless a longer surface starts
        with it (只看中古包 is the category 中古包, not the level 中)."""
        by_first: dict[str, list[str]] = defaultdict(list)  # a surface starting with a value starts with its character
        for key in self._entries:
            by_first[key[0]].append(key)
        for value_text, entry in self._led:
            if any(key != value_text and key.startswith(value_text)
                   and any((e.name, e.value) != (entry.name, entry.value) for e in self._entries[key])
                   for key in by_first.get(value_text[:1], ())):
                continue
            for lead in _FILTER_LEADS:
                self._add(f"{lead}{value_text}", entry)

    def _is_weak(self, text: str) -> bool:
        return len(text) <= 1 or text.isdigit() or text in self._weak

    def _add_anchored(self, dim_name: str, value_text: str, entry: Entry) -> None:
        """Weak values (高, 一般, 1) only count next to their dimension: 价格敏感度高."""
        self._led.append((value_text, entry))  # only 女 / 只看男: added once every surface is known
        for dim_surface in self.dimension_surfaces.get(dim_name, []):
            for connector in _CONNECTORS:
                self._add(f"{dim_surface}{connector}{value_text}", entry)
            if not value_text.isdigit():
                self._add(f"{value_text}{dim_surface}", entry)
                if value_text.isascii() and dim_surface.isascii():
                    self._add(f"{value_text} {dim_surface}", entry)  # high severity

    # ------------------------------------------------------------ lookups
    def surface_entries(self) -> list[tuple[str, list[Entry]]]:
        """Every surface with its meanings (for near-match search)."""
        return list(self._entries.items())

    def entries(self, surface: str) -> list[Entry]:
        return list(self._entries.get(normalize(surface).strip(), []))

    def is_ratio(self, metric: str) -> bool:
        """Is this metric a ratio (a rate never qualifies another metric: 打开率点击率 lists two)."""
        return any(m.name == metric and m.type == "ratio" for m in self.layer.metrics)

    def dimension_type(self, name: str) -> str | None:
        return self._dim_types.get(name)

    def scan(self, text: str, blocked: Iterable[tuple[int, int]] = ()) -> list[Match]:
        """Longest non-overlapping matches in normalised ``text`` outside ``blocked`` spans."""
        blocked_at = [False] * len(text)
        for start, end in blocked:
            for i in range(max(start, 0), min(end, len(text))):
                blocked_at[i] = True
        candidates: list[tuple[int, int, str]] = []
        size = len(text)
        index = self._index
        for i, char in enumerate(text):
            if blocked_at[i] or char not in index:
                continue
            for surface in index[char]:
                end = i + len(surface)
                if end > size or not text.startswith(surface, i):
                    continue
                if any(blocked_at[i:end]) or not at_word_boundary(text, i, end):
                    continue
                candidates.append((i, end, surface))
                break  # the longest surface starting here
        chosen: list[tuple[int, int, str]] = []
        taken = [False] * len(text)
        for start, end, surface in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
            if any(taken[start:end]):
                continue
            for i in range(start, end):
                taken[i] = True
            chosen.append((start, end, surface))
        matches = [Match(s, e, surf, tuple(self._entries[surf])) for s, e, surf in sorted(chosen)]
        return _merge_value_with_dimension(text, matches)

    def fuzzy(self, text: str, covered: Iterable[tuple[int, int]]) -> list[Match]:
        """English metric/dimension words with small typos (conversoin rate, ordres)."""
        covered_at = [False] * len(text)
        for start, end in covered:
            for i in range(max(start, 0), min(end, len(text))):
                covered_at[i] = True
        words = [m for m in _ENGLISH_WORD.finditer(text) if not any(covered_at[m.start() : m.end()])]
        found: list[Match] = []
        used: set[int] = set()
        for size in (2, 1):
            for i in range(len(words) - size + 1):
                group = words[i : i + size]
                if any(id(w) in used for w in group):
                    continue
                if any(text[a.end() : b.start()].strip() for a, b in zip(group, group[1:], strict=False)):
                    continue
                phrase = " ".join(w[0] for w in group)
                if len(phrase) < 4 or (size == 1 and phrase in _FUZZY_STOP):
                    continue
                if size > 1 and all(w[0] in _FUZZY_STOP for w in group):
                    continue
                if phrase in self._entries:
                    continue  # an exact surface the scan did not take: not a typo
                best = difflib.get_close_matches(phrase, self._english_by_length.get(len(phrase), []), n=1, cutoff=0.84)
                if not best:
                    continue
                used.update(id(w) for w in group)
                found.append(Match(group[0].start(), group[-1].end(), best[0], tuple(self._entries[best[0]]), fuzzy=True))
        return sorted(found, key=lambda m: m.start)


def _merge_value_with_dimension(text: str, matches: list[Match]) -> list[Match]:
    """华东大区 / 大区为华东 / region = east china: one value match narrowed to that dimension."""
    out: list[Match] = []
    i = 0
    while i < len(matches):
        current = matches[i]
        nxt = matches[i + 1] if i + 1 < len(matches) else None
        if nxt is not None and _GAP_OK.match(text[current.end : nxt.start]):
            merged = _merge_pair(current, nxt)
            if merged is not None:
                out.append(merged)
                i += 2
                continue
        out.append(current)
        i += 1
    return out


def _merge_pair(first: Match, second: Match) -> Match | None:
    for value_match, dim_match in ((first, second), (second, first)):
        values = value_match.of_kind("value")
        dims = {e.name for e in dim_match.of_kind("dimension")}
        if not values or not dims or value_match.of_kind("metric"):
            continue
        narrowed = tuple(e for e in values if e.name in dims)
        if narrowed:
            start, end = min(first.start, second.start), max(first.end, second.end)
            return replace(value_match, start=start, end=end, entries=narrowed)
    return None
