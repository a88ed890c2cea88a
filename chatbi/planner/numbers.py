"""Number words: Chinese numerals (三, 十五, 两百) and English words (three, ten)."""

from __future__ import annotations

import re

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "仨": 3, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_EN_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90,
    "hundred": 100, "a": 1, "an": 1, "a couple of": 2, "a few": 3,
}

CN_NUM = "[零〇一二两俩仨三四五六七八九十百千]+"
EN_NUM = "|".join(sorted((re.escape(w) for w in _EN_WORDS if w not in ("a", "an")), key=len, reverse=True))
#: a regex fragment matching a number in digits, Chinese numerals or English words
NUM = rf"(?:\d+|{CN_NUM}|\b(?:{EN_NUM})\b)"


def cn_to_int(text: str) -> int | None:
    """Parse a Chinese numeral such as 三, 十二, 二十, 一百零五; None if it is not one."""
    if not text or any(c not in _CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    total, section, digit = 0, 0, None
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        else:
            unit = _CN_UNITS[char]
            value = 1 if digit is None else digit
            if unit == 10000:
                total = (total + section + (digit or 0)) * unit
                section = 0
            else:
                section += value * unit
            digit = None
    return total + section + (digit or 0)


def to_int(text: str | None) -> int | None:
    """Parse digits, a Chinese numeral or an English number word (None/empty: None)."""
    word = (text or "").strip().lower()
    if not word:
        return None
    if word.isdigit():
        return int(word)
    if word in _EN_WORDS:
        return _EN_WORDS[word]
    return cn_to_int(word)
