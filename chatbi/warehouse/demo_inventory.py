"""Listings that did not sell: each merchant's stock still on sale or withdrawn.

A merchant's unsold count follows its sales times a per-shop sell-through trait, so some
shops carry lots of stale stock (滞销风险). Unsold items ask a little more than sold ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chatbi.warehouse import demo_writer as w
from chatbi.warehouse.demo_calendar import Timeline
from chatbi.warehouse.demo_catalog import make_items
from chatbi.warehouse.demo_entities import Merchants
from chatbi.warehouse.demo_orders import ON_SALE, PRODUCT_STATUSES, WITHDRAWN
from chatbi.warehouse.demo_sampling import DAY


def generate_unsold(rng: np.random.Generator, merchants: Merchants, sold: np.ndarray, timeline: Timeline,
                    first_product_id: int, insert: Callable[[str, dict], int]) -> dict[str, np.ndarray]:
    """Insert the unsold products; returns them for the event generator's product pool."""
    count = rng.poisson(sold * merchants.unsold_ratio + 2.0)
    mid = np.repeat(np.arange(merchants.n), count)
    n = len(mid)
    cat = np.where(rng.random(n) < 0.8, merchants.main_cat[mid], merchants.second_cat[mid]).astype(np.int64)
    since = np.maximum(merchants.join_s[mid], timeline.start_s - 60 * DAY)
    span = np.maximum(timeline.stop_s - 3600 - since, 3600)
    listed = np.minimum(since + (np.power(rng.random(n), 0.7) * span).astype(np.int64), timeline.stop_s - 1)
    fresh = timeline.stop_s - listed < 120 * DAY
    status = np.where(fresh, np.where(rng.random(n) < 0.9, ON_SALE, WITHDRAWN),
                      np.where(rng.random(n) < 0.45, ON_SALE, WITHDRAWN))
    items = make_items(rng, cat, spend=np.ones(n), merchant_price=merchants.price_factor[mid], overprice=1.15)
    product_id = first_product_id + np.arange(n, dtype=np.int64)
    insert("products", {
        "product_id": product_id, "merchant_id": mid + 1, "category": cat, "brand": items.brand,
        "item": items.item, "style": items.style, "cond": items.condition,
        "list_price": w.money(items.list_cents), "listed_at": w.timestamps(listed),
        "status": w.text(status, PRODUCT_STATUSES),
        "sold_at": w.timestamps(np.zeros(n, dtype=np.int64), mask=np.ones(n, dtype=bool)),
    })
    return {"listed": listed, "product": product_id, "merchant": mid, "cat": cat}
