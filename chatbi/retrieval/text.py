"""Text helpers for lexical matching: normalisation, tokens (jieba + CJK characters), distance.

One private ``jieba.Tokenizer`` per process, with the semantic layer's words added so that
``上季度成交额`` splits into ``上季度 / 成交额``. The process-wide ``jieba.dt`` is left alone
(the planner may use it with its own words); its dictionary cache goes to a temp folder.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import jieba

logging.getLogger("jieba").setLevel(logging.WARNING)

JIEBA_CACHE_DIR = Path(tempfile.gettempdir()) / "chatbi-jieba"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9@'&+.\-]*[a-z0-9+]|[a-z0-9]")
_STOP = frozenset(
    "的 了 吗 呢 吧 啊 是 在 和 与 及 或 把 被 给 让 按 各 每 个 看 下 一下 多少 什么 怎么 怎样 如何 哪些 哪个 请 "
    "我 我们 你 有 有多少 都 们 中 里 上 对 为 也 就 还 又 并 以及 "
    "the a an of for per by in on at to and or is are was were be how many much what which "
    "show me give list me my our with from vs".split()
)

_tokenizer_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_added: set[str] = set()


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def is_cjk(char: str) -> bool:
    return bool(_CJK.match(char))


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def stem(word: str) -> str:
    """A light English stem: plurals only (``buyers`` → ``buyer``, ``categories`` → ``category``)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _get_tokenizer() -> jieba.Tokenizer:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            JIEBA_CACHE_DIR.mkdir(parents=True, exist_ok=True)
            tokenizer = jieba.Tokenizer()
            tokenizer.tmp_dir = str(JIEBA_CACHE_DIR)
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer


def add_words(words: Iterable[str]) -> None:
    """Teach the tokenizer the layer's words (names, synonyms, values) so they stay whole."""
    tokenizer = _get_tokenizer()
    with _tokenizer_lock:
        for word in words:
            word = normalize(word)
            if len(word) >= 2 and has_cjk(word) and word not in _added and " " not in word:
                tokenizer.add_word(word, freq=200_000)
                _added.add(word)


def tokens(text: str) -> list[str]:
    """Search tokens of ``text``: jieba words (search mode), every CJK character, stemmed
    English words; stop words dropped. Repeats are kept (term frequency)."""
    text = normalize(text)
    out: list[str] = []
    tokenizer = _get_tokenizer()
    for piece in re.split(r"([\u3400-\u9fff\uf900-\ufaff]+)", text):
        if not piece:
            continue
        if has_cjk(piece):
            words = [w for w in tokenizer.cut_for_search(piece, HMM=False) if len(w) > 1]
            out.extend(w for w in words if w not in _STOP)
            out.extend(c for c in piece if c not in _STOP)
        else:
            out.extend(stem(w) for w in _LATIN_WORD.findall(piece) if w not in _STOP)
    return out


def distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (edits + adjacent swaps); ``limit + 1`` once exceeded."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]
