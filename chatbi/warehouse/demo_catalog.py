"""Product attributes for the demo: brand, title words, style, condition, prices, quantity.

The per-category reference lists are flattened into global tuples (``BRANDS`` …) with
offsets, so a row's brand is one integer that both numpy (price factor) and SQL (name) use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatbi.warehouse.demo_reference import (
    CATEGORIES,
    CONDITION_PRICE,
    CONDITION_PROBS,
    DESIGNER_STYLE,
    GENERIC_QUERIES,
    STYLE_PRICE,
    STYLES,
)
from chatbi.warehouse.demo_sampling import draw, nice_cents


def _flatten(groups: list[tuple[str, ...]]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    flat = tuple(v for g in groups for v in g)
    counts = np.array([len(g) for g in groups], dtype=np.int64)
    offsets = np.cumsum(counts) - counts
    return flat, offsets, counts


BRANDS, BRAND_OFFSET, BRAND_COUNT = _flatten([tuple(b.name for b in c.brands) for c in CATEGORIES])
ITEMS, ITEM_OFFSET, ITEM_COUNT = _flatten([c.items for c in CATEGORIES])
SHOP_WORDS, SHOP_OFFSET, SHOP_COUNT = _flatten([c.shop_words for c in CATEGORIES])
QUERIES, QUERY_OFFSET, QUERY_COUNT = _flatten([c.queries for c in CATEGORIES] + [GENERIC_QUERIES])
GENERIC_QUERY_GROUP = len(CATEGORIES)
REVIEW_NOUNS = tuple(c.review_noun for c in CATEGORIES)

_BRAND_FACTOR = np.array([b.price_factor for c in CATEGORIES for b in c.brands])
# Segment-cumulative brand weights: category c's brands occupy (c, c+1] on this axis.
_BRAND_AXIS = np.concatenate([
    ci + (lambda w: w / w[-1])(np.cumsum([b.weight for b in c.brands]))
    for ci, c in enumerate(CATEGORIES)
])
_STYLE_CDF = np.cumsum(np.array([c.style_probs for c in CATEGORIES]), axis=1)
_MEDIAN = np.array([c.median_price for c in CATEGORIES])
_SIGMA = np.array([c.sigma for c in CATEGORIES])
_MIN = np.array([c.min_price for c in CATEGORIES])
_MAX = np.array([c.max_price for c in CATEGORIES])
_MULTI = np.array([c.multi_quantity for c in CATEGORIES])


def in_segment(rng: np.random.Generator, offsets: np.ndarray, counts: np.ndarray,
               group: np.ndarray) -> np.ndarray:
    """A uniform global index inside each row's group of a flattened list."""
    return offsets[group] + np.minimum((rng.random(len(group)) * counts[group]).astype(np.int64),
                                       counts[group] - 1)


@dataclass
class ItemAttributes:
    brand: np.ndarray
    item: np.ndarray
    style: np.ndarray
    condition: np.ndarray
    list_cents: np.ndarray
    price_cents: np.ndarray
    quantity: np.ndarray


def make_items(rng: np.random.Generator, category: np.ndarray, *, spend: np.ndarray,
               merchant_price: np.ndarray, designer_share: np.ndarray | None = None,
               overprice: float = 1.0) -> ItemAttributes:
    """Attributes and prices of ``len(category)`` items.

    ``spend`` scales prices with the buyer's budget; ``designer_share`` (per row, or None)
    overrides the chance of a 设计师联名 item (home-décor KOL followers); ``overprice``
    lifts asking prices of items that did not sell.
    """
    n = len(category)
    cat = category.astype(np.int64)
    brand = np.searchsorted(_BRAND_AXIS, cat + rng.random(n), side="right")
    brand = np.clip(brand, BRAND_OFFSET[cat], BRAND_OFFSET[cat] + BRAND_COUNT[cat] - 1)
    item = in_segment(rng, ITEM_OFFSET, ITEM_COUNT, cat)
    style = np.minimum((_STYLE_CDF[cat] <= rng.random(n)[:, None]).sum(axis=1), len(STYLES) - 1)
    if designer_share is not None:
        style = np.where(rng.random(n) < designer_share, DESIGNER_STYLE, style)
    condition = draw(rng, CONDITION_PROBS, n)
    yuan = (_MEDIAN[cat] * np.exp(_SIGMA[cat] * rng.standard_normal(n)) * _BRAND_FACTOR[brand]
            * np.asarray(STYLE_PRICE)[style] * np.asarray(CONDITION_PRICE)[condition]
            * merchant_price * np.power(spend, 0.35) * overprice)
    yuan = np.clip(yuan, _MIN[cat], _MAX[cat])
    list_cents = nice_cents(yuan)
    bargain = np.where(rng.random(n) < 0.6, 1.0, rng.uniform(0.85, 0.98, n))
    price_cents = np.minimum(nice_cents(list_cents / 100.0 * bargain), list_cents)
    q = rng.random(n)
    quantity = np.where(_MULTI[cat] & (q < 0.10), np.where(q < 0.02, 3, 2), 1)
    return ItemAttributes(brand, item, style.astype(np.int8), condition.astype(np.int8), list_cents,
                          price_cents, quantity.astype(np.int32))


def designer_probability(category: np.ndarray) -> np.ndarray:
    """Chance of a 设计师联名 item for a home-décor KOL follower, by category."""
    books = np.array([c.name == "图书" for c in CATEGORIES])
    return np.where(books[category], 0.2, 0.55)
