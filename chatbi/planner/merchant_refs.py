"""Merchant ids said in a question: "商户15", "商家 ID 15", "15号店铺", "merchant 15",
"merchant_id = 15" (not "商户2025年…", "商户 10 个", "merchant 2025").

Shared by the offline planner (an admin's "商户15的GMV" filters on the merchant id) and the
answer layer (a merchant role naming another merchant is refused). Runs on normalised text
(``chatbi.planner.text.normalize``: half-width, lower case), so spans slice the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbi.planner.text import normalize

_NOT_AN_ID = r"(?!\s*[\d年月季天周日个家名位%])(?!\.\d)"
MERCHANT_REF = re.compile(
    rf"(?:商户|商家|店铺|卖家|店家|店)\s*(?:id|编号|号)?\s*(?:[#:=]|为|是)?\s*(?P<a>\d{{1,7}}){_NOT_AN_ID}"
    r"|(?<![\d.月])(?P<b>\d{1,7})\s*号\s*(?:商户|商家|店铺|卖家|店家|店)"
    rf"|\b(?:merchant|seller|shop|store)(?:[ _-]?id)?\s*(?:[#:=]|no\.?)?\s*(?P<c>\d{{1,7}})\b{_NOT_AN_ID}",
    re.ASCII,
)


@dataclass(frozen=True)
class MerchantRef:
    """One merchant id and where it was said (``start``/``end`` index the question)."""

    merchant_id: int
    start: int
    end: int


def find_merchant_refs(text: str) -> list[MerchantRef]:
    """Every merchant id named in ``text``; a bare year after the word ("merchant 2025")
    is read as a year, not an id (15号商户 always names a merchant)."""
    found: list[MerchantRef] = []
    for match in MERCHANT_REF.finditer(normalize(text)):
        number = int(match["a"] or match["b"] or match["c"])
        if 1900 <= number <= 2100 and not match["b"]:
            continue
        found.append(MerchantRef(number, match.start(), match.end()))
    return found


__all__ = ["MERCHANT_REF", "MerchantRef", "find_merchant_refs"]
