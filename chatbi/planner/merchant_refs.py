"""Merchant ids said in a question: "商户15", "商家 ID 15", "15号店铺", "商户号15", "179这家店",
"这家179", "店铺id是179", "id为179的店铺", "merchant 15", "store 179's", "shop #179",
"merchant_id = 15" (not "商户2025年…", "商户 10 个", "merchant 2025", "这家店2025").

Shared by the offline planner (an admin's "商户15的GMV" filters on the merchant id) and the
answer layer (a merchant role naming another merchant is refused). Runs on normalised text
(``chatbi.planner.text.normalize``: half-width, lower case), so spans slice the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbi.planner.text import normalize

_NOT_AN_ID = r"(?!\d)(?!\s*[年月季天周日个家名位%元块岁])(?!\s*\d+\s*[个家名位%元块岁])(?!\.\d)"
_SHOP = r"(?:商户|商家|店铺|卖家|店家|店)"
_THIS = rf"(?:这|那)\s*(?:家\s*{_SHOP}?|个\s*{_SHOP}|一家\s*{_SHOP}?)"  # 这家, 这家店, 这个商户, 那一家
_ID_WORD = r"(?:id|ID|编号|号码|号)"
MERCHANT_REF = re.compile(
    rf"(?:{_THIS}\s*)?{_SHOP}\s*{_ID_WORD}?\s*(?:[#:=]|为|是|叫)?\s*(?P<a>\d{{1,7}}){_NOT_AN_ID}"
    rf"|(?<![\d.月])(?P<b>\d{{1,7}})\s*号\s*{_SHOP}"
    rf"|(?<![\d.第])(?P<d>\d{{1,7}})\s*(?:号\s*)?{_THIS}"  # 179这家店, 179那家
    rf"|{_THIS}\s*(?:{_ID_WORD}\s*(?:[#:=]|为|是)?\s*|[#:=]\s*)?(?P<e>\d{{1,7}}){_NOT_AN_ID}"  # 这家179, 这家店id是179
    rf"|\b(?:id|ID)\s*(?:[#:=]|为|是)?\s*(?P<f>\d{{1,7}})\s*的?\s*{_SHOP}"  # id为179的店铺
    rf"|\b(?:merchant|seller|shop|store|vendor)(?:[ _-]?(?:id|number|no\.?|#))?\s*(?:[#:=]|no\.?|number)?\s*(?P<c>\d{{1,7}})\b{_NOT_AN_ID}",
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
        number = int(next(match[g] for g in ("a", "b", "c", "d", "e", "f") if match[g]))
        if 1900 <= number <= 2100 and not match["b"]:
            continue
        found.append(MerchantRef(number, match.start(), match.end()))
    return found


__all__ = ["MERCHANT_REF", "MerchantRef", "find_merchant_refs"]
