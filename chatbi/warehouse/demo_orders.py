"""Orders, their items, the sold products and reviews, one calendar quarter at a time.

Three sources of orders are merged per quarter: organic orders (daily demand × users drawn
by activity among those signed up and not yet churned), first orders right after signup,
and orders that campaign touches converted into. Each order gets a channel, a device, a
category (buyer's taste, seasonal trends, planted tilt), a merchant selling that category,
1–3 items priced by category/brand/condition, coupons, a status and maybe a dispute.
Every item becomes a product of that merchant (consignment goods are one of a kind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from chatbi.warehouse import demo_writer as w
from chatbi.warehouse.demo_calendar import Period, Timeline, demand
from chatbi.warehouse.demo_campaigns import Campaigns, Touches
from chatbi.warehouse.demo_catalog import designer_probability, make_items
from chatbi.warehouse.demo_entities import CATEGORY_SHARE, Merchants, Users
from chatbi.warehouse.demo_reference import (
    CAMPAIGN_COUPON_BASE,
    CAMPAIGN_ORDER_CHANNEL,
    CATEGORIES,
    CHANNEL_NAMES,
    COUPON_TEMPLATES,
    DEVICE_MIX_END,
    DEVICE_MIX_START,
    DEVICE_NAMES,
    HOUR_WEIGHTS,
    NEW_USER_COUPON,
    ORDER_CHANNEL_MIX_END,
    ORDER_CHANNEL_MIX_START,
)
from chatbi.warehouse.demo_reviews import make_reviews
from chatbi.warehouse.demo_sampling import (
    DAY,
    allocate,
    draw,
    draw_rows,
    exact_share,
    expand,
    mix_rows,
    nice_cents,
    prefix_draw,
    rng_for,
    time_of_day,
)
from chatbi.warehouse.demo_stories import StoryPlan, category_tilt, growth_factors
from chatbi.warehouse.schema import ORDER_STATUSES

COMPLETED, RETURNED, REFUNDED, CANCELLED = (ORDER_STATUSES.index(s) for s in
                                            ("completed", "returned", "refunded", "cancelled"))
PRODUCT_STATUSES = ("on_sale", "sold", "withdrawn")
ON_SALE, SOLD, WITHDRAWN = 0, 1, 2
COUPON_USE = np.array([0.06, 0.25, 0.60])  # organic coupon use by price sensitivity 低/中/高
_TREND = np.array([c.trend for c in CATEGORIES])
_RETURN = np.array([c.return_rate for c in CATEGORIES])
_DISPUTE = np.array([c.dispute_factor for c in CATEGORIES])
_THRESHOLDS = np.array([t[1] * 100 for t in COUPON_TEMPLATES])
_TEMPLATE_IDS = np.array([t[0] for t in COUPON_TEMPLATES])
_TEMPLATE_CENTS = np.array([t[2] * 100 for t in COUPON_TEMPLATES])


class MerchantIndex:
    """Draws a merchant selling a category, among those who had joined by a time.

    Each merchant sells its main category (weight w) and a second one (weight w/4); rows are
    sorted by (category, join time) so "joined by t" is a prefix of the category's segment.
    """

    SHIFT = 1 << 34

    def __init__(self, merchants: Merchants, n_categories: int):
        cat = np.concatenate([merchants.main_cat, merchants.second_cat]).astype(np.int64)
        mid = np.concatenate([np.arange(merchants.n), np.arange(merchants.n)])
        weight = np.concatenate([merchants.weight, merchants.weight * 0.25])
        join = np.concatenate([merchants.join_s, merchants.join_s])
        order = np.lexsort((join, cat))
        self.key = cat[order] * self.SHIFT + join[order]
        self.merchant = mid[order]
        self.cum = np.cumsum(weight[order])
        self.lo = np.searchsorted(self.key, np.arange(n_categories) * self.SHIFT)

    def draw(self, rng: np.random.Generator, cat: np.ndarray, ts: np.ndarray) -> np.ndarray:
        lo = self.lo[cat]
        hi = np.maximum(np.searchsorted(self.key, cat * self.SHIFT + ts, side="right"), lo + 1)
        base = np.where(lo > 0, self.cum[np.maximum(lo - 1, 0)], 0.0)
        u = base + rng.random(len(cat)) * (self.cum[hi - 1] - base)
        idx = np.clip(np.searchsorted(self.cum, u, side="right"), lo, hi - 1)
        return self.merchant[idx]


def draw_active(rng: np.random.Generator, users: Users, ts: np.ndarray, cum: np.ndarray,
                rounds: int = 6) -> np.ndarray:
    """Users weighted by ``cum`` among those signed up by ``ts``, avoiding churned ones."""
    k = users.available(ts)
    u = prefix_draw(rng, cum, k)
    for _ in range(rounds):
        bad = np.flatnonzero(ts > users.churn_s[u])
        if not len(bad):
            break
        u[bad] = prefix_draw(rng, cum, k[bad])
    return u


@dataclass
class OrderState:
    """What later quarters and later stages need from the quarters already generated."""

    n_users: int
    n_merchants: int
    n_campaigns: int
    next_order_id: int = 1
    next_product_id: int = 1
    next_review_id: int = 1
    prev_gmv: np.ndarray | None = None
    has_ordered: np.ndarray = field(init=False)
    sold_per_merchant: np.ndarray = field(init=False)
    campaign_gmv: np.ndarray = field(init=False)
    tracked: list[dict[str, np.ndarray]] = field(default_factory=list)
    pool: list[dict[str, np.ndarray]] = field(default_factory=list)
    follows: list[dict[str, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.has_ordered = np.zeros(self.n_users, dtype=bool)
        self.sold_per_merchant = np.zeros(self.n_merchants, dtype=np.int64)
        self.campaign_gmv = np.zeros(self.n_campaigns, dtype=np.float64)


@dataclass
class OrderContext:
    seed: int
    timeline: Timeline
    plan: StoryPlan
    users: Users
    merchants: Merchants
    campaigns: Campaigns
    touches: Touches
    organic_per_day: np.ndarray
    p_track: float
    merchant_index: MerchantIndex


def organic_per_day(timeline: Timeline, n_organic: int) -> np.ndarray:
    return allocate(n_organic, demand(timeline.days, timeline))


def _category(rng: np.random.Generator, ctx: OrderContext, user: np.ndarray, ts: np.ndarray) -> np.ndarray:
    years = (ts - ctx.timeline.start_s) / (365.25 * DAY)
    mix = CATEGORY_SHARE[None, :] * np.exp(_TREND[None, :] * years[:, None])
    mix /= mix.sum(axis=1, keepdims=True)
    probs = 0.55 * mix
    probs[np.arange(len(user)), ctx.users.fav_cat[user]] += 0.45
    plan = ctx.plan
    tilted = (ctx.users.region[user] == plan.growth_region) & (ts >= plan.q_last.start_s)
    probs[tilted] *= category_tilt(plan, len(CATEGORIES))[None, :]
    return draw_rows(rng, probs)


def generate_quarter(ctx: OrderContext, state: OrderState, q: Period, qi: int,
                     insert: Callable[[str, dict], int]) -> None:
    """Generate and insert one quarter of orders, items, products and reviews."""
    rng = rng_for(ctx.seed, 10, qi)
    tl, users, merchants, touches = ctx.timeline, ctx.users, ctx.merchants, ctx.touches
    counts = ctx.organic_per_day[q.start - tl.first_day: q.end - tl.first_day]
    day = np.repeat(np.arange(q.start, q.end), counts)
    org_ts = day * DAY + time_of_day(rng, len(day), HOUR_WEIGHTS)
    org_user = draw_active(rng, users, org_ts, users.cum_activity)
    w_user = np.flatnonzero((users.welcome_s >= q.start_s) & (users.welcome_s < q.end_s))
    lo, hi = np.searchsorted(touches.conv_order_s, [q.start_s, q.end_s])
    c_touch = touches.conv_index[lo:hi]
    ts = np.concatenate([org_ts, users.welcome_s[w_user], touches.order_s[c_touch]])
    user = np.concatenate([org_user, w_user, touches.user[c_touch]])
    source = np.concatenate([np.zeros(len(org_ts), np.int8), np.ones(len(w_user), np.int8),
                             np.full(len(c_touch), 2, np.int8)])
    touch = np.concatenate([np.full(len(org_ts) + len(w_user), -1), c_touch])
    order = np.lexsort((source, ts))
    ts, user, source, touch = ts[order], user[order], source[order], touch[order]
    n = len(ts)
    if n == 0:
        return
    order_id = state.next_order_id + np.arange(n, dtype=np.int64)
    state.next_order_id += n
    camp_rows = source == 2
    camp = np.where(camp_rows, touches.campaign[np.maximum(touch, 0)], -1)

    frac = tl.fraction(ts)
    own = users.channel[user].astype(np.int64)
    channel = draw_rows(rng, mix_rows(ORDER_CHANNEL_MIX_START, ORDER_CHANNEL_MIX_END, frac))
    channel = np.where(rng.random(n) < 0.35, own, channel)
    channel = np.where(source == 1, own, channel)
    channel = np.where(camp_rows, np.asarray(CAMPAIGN_ORDER_CHANNEL)[ctx.campaigns.channel[camp]], channel)
    device = draw_rows(rng, mix_rows(DEVICE_MIX_START, DEVICE_MIX_END, frac))
    cat = _category(rng, ctx, user, ts)
    merchant = ctx.merchant_index.draw(rng, cat, ts)

    parent, pos = expand(draw(rng, (0.8, 0.15, 0.05), n) + 1)
    icat = cat[parent]
    designer = np.where(users.home_fan[user[parent]], designer_probability(icat), 0.0)
    items = make_items(rng, icat, spend=users.spend[user[parent]],
                       merchant_price=merchants.price_factor[merchant[parent]], designer_share=designer)

    def totals(price: np.ndarray) -> np.ndarray:
        return np.round(np.bincount(parent, weights=price * items.quantity, minlength=n)).astype(np.int64)

    items_sum = totals(items.price_cents)
    coupon_id = np.full(n, -1, dtype=np.int64)
    discount = np.zeros(n, dtype=np.int64)
    k = np.searchsorted(_THRESHOLDS, items_sum, side="right") - 1
    use = (source == 0) & (rng.random(n) < COUPON_USE[users.ps_level[user]]) & (k >= 0)
    coupon_id[use] = _TEMPLATE_IDS[k[use]]
    discount[use] = _TEMPLATE_CENTS[k[use]]
    new = (source == 1) & (rng.random(n) < 0.6) & (items_sum >= NEW_USER_COUPON[1] * 100)
    coupon_id[new] = NEW_USER_COUPON[0]
    discount[new] = NEW_USER_COUPON[2] * 100
    cc = np.where(camp_rows, ctx.campaigns.coupon_cents[np.maximum(camp, 0)], 0)
    has = camp_rows & (cc > 0)
    coupon_id[has] = CAMPAIGN_COUPON_BASE + camp[has] + 1
    discount[has] = cc[has]
    discount = np.minimum(discount, items_sum // 2)

    status, disputed = _status(rng, ctx, user, merchant, cat, ts)
    _calibrate(ctx, state, q, parent, items, user, cat, status, discount, totals)
    items_sum = totals(items.price_cents)
    discount = np.minimum(discount, items_sum // 2)
    pay = items_sum - discount

    product_id = state.next_product_id + np.arange(len(parent), dtype=np.int64)
    state.next_product_id += len(parent)
    imerchant = merchant[parent]
    age = np.clip(np.exp(np.log(18 * DAY) + rng.standard_normal(len(parent))), 3600, 400 * DAY)
    listed = np.maximum(ts[parent] - age.astype(np.int64), merchants.join_s[imerchant])
    sold = status[parent] != CANCELLED
    pstatus = np.where(sold, SOLD, np.where(tl.stop_s - listed < 120 * DAY, ON_SALE, WITHDRAWN))

    insert("orders", {
        "order_id": order_id, "user_id": user + 1, "merchant_id": merchant + 1,
        "order_ts": w.timestamps(ts), "pay_amount": w.money(pay), "discount_amount": w.money(discount),
        "coupon_id": w.ints(coupon_id, mask=coupon_id < 0),
        "channel": w.text(channel, CHANNEL_NAMES), "device": w.text(device, DEVICE_NAMES),
        "status": w.text(status, ORDER_STATUSES), "is_disputed": w.bools(disputed),
    })
    insert("order_items", {
        "order_id": order_id[parent], "product_id": product_id, "merchant_id": imerchant + 1,
        "price": w.money(items.price_cents), "quantity": w.ints(items.quantity, np.int32),
    })
    insert("products", {
        "product_id": product_id, "merchant_id": imerchant + 1, "category": icat, "brand": items.brand,
        "item": items.item, "style": items.style, "cond": items.condition,
        "list_price": w.money(items.list_cents), "listed_at": w.timestamps(listed),
        "status": w.text(pstatus, PRODUCT_STATUSES),
        "sold_at": w.timestamps(np.where(sold, ts[parent], 0), mask=~sold),
    })
    rv = make_reviews(rng, status=status, disputed=disputed, category=cat,
                      quality=merchants.quality[merchant], order_s=ts, stop_s=tl.stop_s)
    ro = rv.pop("order")
    m = len(ro)
    insert("reviews", {
        "review_id": state.next_review_id + np.arange(m, dtype=np.int64), "order_id": order_id[ro],
        "user_id": user[ro] + 1, "merchant_id": merchant[ro] + 1,
        "review_ts": w.timestamps(rv.pop("review_s")), **rv,
    })
    state.next_review_id += m

    # what later stages need
    first_in_chunk = np.zeros(n, dtype=bool)
    first_in_chunk[np.unique(user, return_index=True)[1]] = True
    is_first = first_in_chunk & ~state.has_ordered[user]
    state.has_ordered[user] = True
    tracked = is_first | (rng.random(n) < ctx.p_track)
    first_item = product_id[pos == 0]
    state.tracked.append({"ts": ts[tracked], "user": user[tracked], "merchant": merchant[tracked],
                          "product": first_item[tracked], "cat": cat[tracked],
                          "channel": channel[tracked]})
    state.pool.append({"listed": listed, "product": product_id, "merchant": imerchant, "cat": icat})
    fol = rng.random(n) < 0.12
    state.follows.append({"user": user[fol], "target": merchant[fol],
                          "ts": np.minimum(ts[fol] + rng.integers(600, 3 * DAY, int(fol.sum())),
                                           tl.stop_s - 1)})
    rows = np.flatnonzero(camp_rows)
    touches.order_id[touch[rows]] = order_id[rows]
    state.campaign_gmv += np.bincount(camp[rows], weights=pay[rows], minlength=state.n_campaigns)
    state.sold_per_merchant += np.bincount(imerchant[sold], minlength=state.n_merchants)


def _status(rng: np.random.Generator, ctx: OrderContext, user: np.ndarray, merchant: np.ndarray,
            cat: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order status and dispute flag, with the planted dispute spike of one merchant."""
    n = len(user)
    plan, merchants = ctx.plan, ctx.merchants
    q = merchants.quality[merchant]
    star = merchant == merchants.dispute_merchant
    p_disp = np.where(star, plan.baseline_dispute_rate, np.clip(0.012 * _DISPUTE[cat] * q, 0, 0.25))
    p_cancel = 0.04 * np.where(ctx.users.ps_level[user] == 2, 1.3, 1.0)
    p_ret = _RETURN[cat] * np.sqrt(q) * 0.85
    p_ref = 0.017 * np.sqrt(q)
    r = rng.random(n)
    status = np.select([r < p_cancel, r < p_cancel + p_ret, r < p_cancel + p_ret + p_ref],
                       [CANCELLED, RETURNED, REFUNDED], COMPLETED)
    disputed = (rng.random(n) < p_disp) & (status != CANCELLED)
    window = star & (ts >= plan.dispute_window.start_s) & (status != CANCELLED)
    month = (ts // DAY).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    for m in np.unique(month[window]):  # exactly the planted rate in each month of the window
        in_month = window & (month == m)
        disputed = np.where(in_month, exact_share(rng, in_month, plan.dispute_rate), disputed)
    d = rng.random(n)
    status = np.where(disputed, np.select([d < 0.45, d < 0.70], [REFUNDED, RETURNED], COMPLETED), status)
    return status.astype(np.int8), disputed


def _calibrate(ctx: OrderContext, state: OrderState, q: Period, parent: np.ndarray, items,
               user: np.ndarray, cat: np.ndarray, status: np.ndarray, discount: np.ndarray,
               totals: Callable[[np.ndarray], np.ndarray]) -> None:
    """Story 1: remember q_prev's GMV by category and rescale q_last's prices to the targets."""
    plan = ctx.plan
    n_cat = len(CATEGORIES)
    cell = (ctx.users.region[user] == plan.growth_region) & (status != CANCELLED)
    if q.start == plan.q_prev.start:
        items_sum = totals(items.price_cents)
        state.prev_gmv = np.bincount(cat[cell], weights=(items_sum - discount)[cell], minlength=n_cat)
    elif q.start == plan.q_last.start and state.prev_gmv is not None:
        items_sum = totals(items.price_cents)
        s = np.bincount(cat[cell], weights=items_sum[cell], minlength=n_cat)
        d = np.bincount(cat[cell], weights=np.minimum(discount, items_sum // 2)[cell], minlength=n_cat)
        f = growth_factors(plan, state.prev_gmv, s, d, rng_for(ctx.seed, 98))
        region = ctx.users.region[user] == plan.growth_region
        fi = np.where(region[parent], f[cat[parent]], 1.0)
        items.price_cents = np.where(fi != 1.0, nice_cents(items.price_cents / 100.0 * fi), items.price_cents)
        items.list_cents = np.maximum(
            np.where(fi != 1.0, nice_cents(items.list_cents / 100.0 * fi), items.list_cents),
            items.price_cents)
