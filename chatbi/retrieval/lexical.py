"""Lexical side of retrieval: exact term hits, one-typo hits, and BM25 over the terms.

* **Exact**: a term (name, label, synonym, value) occurs in the question. Occurrences are
  resolved longest first, so ``人均GMV`` hits ``gmv_per_buyer`` and not ``gmv``, and
  ``城市等级`` hits ``city_tier`` and not ``city``. Latin terms must stand as whole words
  (``rate`` does not hit inside ``separate``); one-character Chinese terms (``区``, ``省``)
  are too ambiguous for an exact hit and only count in BM25.
* **Fuzzy**: a Chinese term of three or more characters with one *inner* character
  replaced (``复够率`` → ``复购率``; an edge differs in ``成交的``, which is no typo of
  ``成交额``), a Latin term of five or more letters within one edit (two from nine
  letters; a swap counts as one), or a short Latin term with two letters swapped
  (``GVM``). A longer fuzzy match beats a shorter exact one inside it (``复构用户数``
  → ``复购用户数``, not ``用户数``); at equal length the exact one wins.
* **BM25**: each term is a tiny document; a document's score is its best term's score plus
  a smaller share of its context (description, a value's dimension words).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from chatbi.retrieval.documents import Doc
from chatbi.retrieval.text import add_words, distance, normalize, tokens

_ALNUM = re.compile(r"[a-z0-9]")
_ALL_CJK = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_ALL_LATIN = re.compile(r"^[a-z][a-z0-9 \-']*[a-z0-9]$")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-']*")
K1, B = 1.2, 0.5
CONTEXT_WEIGHT = 0.3


@dataclass(frozen=True)
class TermMatch:
    """A term found in the (normalised) question at ``start:end``."""

    term: str
    start: int
    end: int
    fuzzy: bool = False


class _BM25:
    """Okapi BM25 over short token lists."""

    def __init__(self, entries: Sequence[list[str]]):
        self.lengths = [len(e) for e in entries]
        self.avg = (sum(self.lengths) / len(entries)) if entries else 1.0
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, entry in enumerate(entries):
            counts: dict[str, int] = defaultdict(int)
            for token in entry:
                counts[token] += 1
            for token, tf in counts.items():
                self.postings[token].append((i, tf))
        n = len(entries)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for token in set(query):
            for i, tf in self.postings.get(token, ()):
                norm = tf + K1 * (1 - B + B * self.lengths[i] / max(self.avg, 1e-9))
                out[i] += self.idf[token] * tf * (K1 + 1) / norm
        return out


def _edges_ok(q: str, start: int, end: int, term: str) -> bool:
    """A term starting/ending with a Latin letter or digit must not continue a Latin word."""
    if _ALNUM.match(term[0]) and start > 0 and _ALNUM.match(q[start - 1]):
        return False
    return not (_ALNUM.match(term[-1]) and end < len(q) and _ALNUM.match(q[end]))


class LexicalIndex:
    """Exact, fuzzy and BM25 matching over a fixed list of documents (built in memory)."""

    def __init__(self, docs: Sequence[Doc]):
        self.docs = list(docs)
        self.term_docs: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(self.docs):
            for term in doc.terms:
                key = normalize(term)
                if key and i not in self.term_docs[key]:
                    self.term_docs[key].append(i)
        add_words(self.term_docs)
        self._questions: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(self.docs):
            if doc.kind == "example":
                self._questions[_bare(doc.name)].append(i)
        self._exact_terms = [t for t in self.term_docs if len(t) >= 2]
        # one-substitution keys of Chinese terms: "复?率" -> {"复购率", ...}
        self._cjk_keys: dict[str, set[str]] = defaultdict(set)
        for term in self.term_docs:
            if len(term) >= 3 and _ALL_CJK.match(term):
                for i in range(len(term)):
                    self._cjk_keys[term[:i] + "?" + term[i + 1:]].add(term)
        self._latin_terms = [t for t in self.term_docs if len(t) >= 3 and _ALL_LATIN.match(t)]
        entries: list[list[str]] = []
        self._entry_doc: list[int] = []
        for term, owners in self.term_docs.items():
            term_tokens = tokens(term)
            for i in owners:
                entries.append(term_tokens)
                self._entry_doc.append(i)
        self._terms_bm25 = _BM25(entries)
        self._context_bm25 = _BM25([tokens(doc.context) for doc in self.docs])

    # -- exact and fuzzy ---------------------------------------------------------------------

    def matches(self, question: str) -> list[TermMatch]:
        """Exact and fuzzy matches, longest first, without overlaps (exact wins a tie)."""
        q = normalize(question)
        found: list[TermMatch] = []
        for term in self._exact_terms:
            start = q.find(term)
            while start >= 0:
                end = start + len(term)
                if _edges_ok(q, start, end, term):
                    found.append(TermMatch(term, start, end))
                start = q.find(term, start + 1)
        return _non_overlapping(found + self._fuzzy(q))

    def _fuzzy(self, q: str) -> list[TermMatch]:
        """One-typo matches: see the module docstring."""
        out: list[TermMatch] = []
        for n in {len(k) for k in self._cjk_keys}:
            for start in range(0, len(q) - n + 1):
                window = q[start:start + n]
                if not _ALL_CJK.match(window):
                    continue
                # only an inner character may differ: 复够率 is a typo of 复购率, while
                # 取消了 / 成交的 are a term's stem followed by grammar, not 取消率 / 成交额
                for i in range(1, n - 1):
                    for term in self._cjk_keys.get(window[:i] + "?" + window[i + 1:], ()):
                        if term != window:
                            out.append(TermMatch(term, start, start + n, fuzzy=True))
        words = [(m.start(), m.end()) for m in _WORD.finditer(q)]
        for term in self._latin_terms:
            count = term.count(" ") + 1
            short = len(term) < 5
            limit = 2 if len(term) >= 9 else 1
            grams = _bigrams(term)
            for i in range(len(words) - count + 1):
                s, e = words[i][0], words[i + count - 1][1]
                window = " ".join(q[a:b] for a, b in words[i:i + count])
                if window == term:
                    continue
                if short:  # GVM for GMV: a swap of two letters only
                    if sorted(window) == sorted(term) and distance(window, term, 1) == 1:
                        out.append(TermMatch(term, s, e, fuzzy=True))
                    continue
                if len(grams & _bigrams(window)) * 2 < len(grams):
                    continue
                if distance(window, term, limit) <= limit:
                    out.append(TermMatch(term, s, e, fuzzy=True))
        return out

    def docs_of(self, term: str) -> list[int]:
        return self.term_docs.get(term, [])

    def same_question(self, question: str) -> list[int]:
        """Examples asking exactly this (ignoring case, spaces and punctuation)."""
        return self._questions.get(_bare(question), [])

    # -- BM25 ----------------------------------------------------------------------------------

    def bm25(self, question: str, allowed: Collection[int] | None = None) -> dict[int, float]:
        """Lexical score of each document with any token in common with the question."""
        query = tokens(question)
        scores: dict[int, float] = {}
        for entry, score in self._terms_bm25.scores(query).items():
            doc = self._entry_doc[entry]
            if score > scores.get(doc, 0.0):
                scores[doc] = score
        for doc, score in self._context_bm25.scores(query).items():
            scores[doc] = scores.get(doc, 0.0) + CONTEXT_WEIGHT * score
        if allowed is not None:
            scores = {d: s for d, s in scores.items() if d in allowed}
        return scores


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(text))


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _non_overlapping(found: list[TermMatch]) -> list[TermMatch]:
    """Longest matches first (exact before fuzzy at equal length); a match overlapping an
    accepted one is dropped, unless it has the same span and kind (several terms' typo)."""
    accepted: list[TermMatch] = []
    for m in sorted(found, key=lambda m: (-(m.end - m.start), m.fuzzy, m.start, m.term)):
        clash = any(m.start < a.end and a.start < m.end
                    and ((m.start, m.end) != (a.start, a.end) or m.fuzzy != a.fuzzy)
                    for a in accepted)
        if not clash:
            accepted.append(m)
    return sorted(accepted, key=lambda m: (m.start, m.term))
