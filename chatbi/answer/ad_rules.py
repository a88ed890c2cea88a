"""Rules every piece of campaign copy must pass, whoever wrote it (template or LLM).

* Channel limits (``CHANNEL_RULES``): SMS ≤ 70 characters including the signature and an
  opt-out such as 回T退订; push title ≤ 20 and body ≤ 50 characters; the other channels have
  generous limits. Characters are counted as Python ``len()`` of the full text.
* No absolute claims forbidden by the Chinese advertising law (广告法第九条): the word list and
  its exceptions live in ``data/banned_words.yaml`` (see the comments there for how matching
  works: 最 + anything is flagged except 最近/最后/最终…, 第一次 is not 第一).
* No unfilled template placeholders, no phone numbers (copy never carries personal data).

``check_copy(item, channel)`` returns the list of problems (empty = the text may be sent).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from chatbi.answer.text_safety import unsafe_reason
from chatbi.answer.types import CopyItem

OPT_OUTS = ("回T退订", "回TD退订", "退订回T", "拒收请回复R", "Reply T to opt out", "Reply STOP to opt out")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}|\{\{|\}\}")


@dataclass(frozen=True)
class ChannelRule:
    """Length limits (``len()`` of the text) and what a channel's copy must contain."""

    channel: str
    max_text: int
    max_title: int | None = None  # None: the channel has no title
    title_required: bool = False
    opt_out_required: bool = False


CHANNEL_RULES: dict[str, ChannelRule] = {
    "sms": ChannelRule("sms", max_text=70, opt_out_required=True),
    "push": ChannelRule("push", max_text=50, max_title=20, title_required=True),
    "wechat": ChannelRule("wechat", max_text=300, max_title=30),
    "email": ChannelRule("email", max_text=800, max_title=40, title_required=True),
    "xiaohongshu": ChannelRule("xiaohongshu", max_text=1000, max_title=20, title_required=True),
    "generic": ChannelRule("generic", max_text=200, max_title=30),
}


@dataclass(frozen=True)
class BannedHit:
    """One banned term found in a text: the term as listed and where it was found."""

    term: str
    found: str
    start: int

    def __str__(self) -> str:
        return self.term


@dataclass(frozen=True)
class BannedWords:
    """The word list of ``banned_words.yaml``."""

    zh: tuple[str, ...]
    en: tuple[str, ...]
    prefix: str
    allowed_after: tuple[str, ...]
    allowed: tuple[str, ...]

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> BannedWords:
        terms = data.get("terms") or {}
        prefix = data.get("superlative_prefix") or {}
        return cls(
            zh=tuple(_norm(str(t)) for t in terms.get("zh") or ()),
            en=tuple(_norm(str(t)).casefold() for t in terms.get("en") or ()),
            prefix=str(prefix.get("prefix") or ""),
            allowed_after=tuple(str(c) for c in prefix.get("allowed_after") or ()),
            allowed=tuple(_norm(str(t)) for t in data.get("allowed") or ()),
        )


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=1)
def banned_words() -> BannedWords:
    """The packaged list (read once)."""
    text = resources.files("chatbi.answer").joinpath("data/banned_words.yaml").read_text(encoding="utf-8")
    return BannedWords.from_mapping(yaml.safe_load(text) or {})


def _allowed_spans(text: str, words: BannedWords) -> list[tuple[int, int]]:
    spans = []
    for word in words.allowed:
        start = text.find(word)
        while start >= 0:
            spans.append((start, start + len(word)))
            start = text.find(word, start + 1)
    return spans


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _scan(text: str, words: BannedWords) -> list[BannedHit]:
    hits: list[BannedHit] = []
    allowed = _allowed_spans(text, words)
    for term in words.zh:
        start = text.find(term)
        while start >= 0:
            end = start + len(term)
            if not _inside(start, end, allowed):
                hits.append(BannedHit(term, text[start:end], start))
            start = text.find(term, start + 1)
    folded = text.casefold()
    for term in words.en:
        start = folded.find(term)
        while start >= 0:
            end = start + len(term)
            left_ok = start == 0 or not (_is_word_char(folded[start - 1]) and _is_word_char(term[0]))
            right_ok = end == len(folded) or not (_is_word_char(folded[end]) and _is_word_char(term[-1]))
            if left_ok and right_ok and not _inside(start, end, allowed):
                hits.append(BannedHit(term, text[start:end], start))
            start = folded.find(term, start + 1)
    if words.prefix:
        start = text.find(words.prefix)
        while start >= 0:
            nxt = text[start + 1:start + 2]
            end = start + 1 + len(nxt)
            if (nxt and not nxt.isspace() and nxt not in words.allowed_after
                    and not _inside(start, end, allowed)):
                hits.append(BannedHit(words.prefix + nxt, text[start:end], start))
            start = text.find(words.prefix, start + 1)
    return hits


def find_banned(text: str, words: BannedWords | None = None) -> list[BannedHit]:
    """Every banned absolute claim in ``text`` (deduplicated by term, in order of position).

    The text is NFKC-normalised; Chinese terms are also looked for with the whitespace
    between characters removed ("最 好" is 最好).
    """
    words = words or banned_words()
    normal = _norm(text or "")
    hits = _scan(normal, words)
    squeezed = re.sub(r"\s+", "", normal)
    if squeezed != normal:
        hits += [h for h in _scan(squeezed, words) if not h.term.isascii()]
    seen: set[str] = set()
    out = []
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.term not in seen:
            seen.add(hit.term)
            out.append(hit)
    return out


def has_opt_out(text: str) -> bool:
    """True when the text carries an unsubscribe instruction (回T退订, Reply T to opt out…)."""
    normal = _norm(text or "").casefold()
    return any(_norm(o).casefold() in normal for o in OPT_OUTS)


def rule_for(channel: str) -> ChannelRule:
    return CHANNEL_RULES.get(channel, CHANNEL_RULES["generic"])


def _parts(item: CopyItem | str | dict[str, Any]) -> tuple[str, str | None]:
    if isinstance(item, CopyItem):
        return item.text or "", item.title
    if isinstance(item, dict):
        return str(item.get("text") or ""), item.get("title")
    return str(item or ""), None


def check_copy(item: CopyItem | str | dict[str, Any], channel: str | None = None) -> list[str]:
    """Problems of one piece of copy for ``channel`` (default: the item's own); [] = sendable.

    Each problem is ``"<code>: <detail>"``; codes: empty_text, too_long, title_too_long,
    missing_title, missing_opt_out, banned_word, placeholder, personal_data, unsafe_text.
    """
    text, title = _parts(item)
    if channel is None:
        channel = item.channel if isinstance(item, CopyItem) else "generic"
    rule = rule_for(channel)
    problems: list[str] = []
    if not text.strip():
        problems.append("empty_text: the text is empty")
    if len(text) > rule.max_text:
        problems.append(f"too_long: {len(text)} > {rule.max_text} characters ({rule.channel})")
    if rule.max_title is not None and title and len(title) > rule.max_title:
        problems.append(f"title_too_long: {len(title)} > {rule.max_title} characters ({rule.channel})")
    if rule.title_required and not (title or "").strip():
        problems.append(f"missing_title: {rule.channel} copy needs a title")
    if rule.max_title is None and title:
        problems.append(f"too_long: {rule.channel} copy has no title; put everything in the text")
    if rule.opt_out_required and not has_opt_out(text):
        problems.append("missing_opt_out: SMS must end with an opt-out such as 回T退订")
    for part in (title or "", text):
        for hit in find_banned(part):
            problems.append(f"banned_word: 「{hit.found}」 ({hit.term}) is an absolute claim")
        if _PLACEHOLDER.search(part):
            problems.append("placeholder: an unfilled {placeholder} remains")
        if _PHONE.search(_norm(part)):
            problems.append("personal_data: copy must not contain a phone number")
        else:
            unsafe = unsafe_reason(part)  # links, e-mail, markup, instructions (issue 18)
            if unsafe:
                problems.append(f"unsafe_text: copy must not contain a {unsafe}")
    return problems
