"""Clickstream sessions, one calendar month at a time.

Session kinds: browsing (views of recent listings, sometimes a search, a favourite or an
add-to-cart), onboarding (right after signup), the planted low-intent sessions of the story-2
influx, and purchase sessions that end in a ``purchase`` event at the exact time of a real
order (same user, merchant and first product). Tracking covers every user's first order and a
sample of the others, sized so the event volume matches the scale; browsing volume follows
purchases so the funnel rates stay stable (view→cart ≈ 10%, cart→purchase ≈ 30%).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chatbi.warehouse import demo_writer as w
from chatbi.warehouse.demo_calendar import Period, Timeline, demand
from chatbi.warehouse.demo_catalog import GENERIC_QUERY_GROUP, QUERY_COUNT, QUERY_OFFSET, in_segment
from chatbi.warehouse.demo_entities import CATEGORY_SHARE, Users
from chatbi.warehouse.demo_reference import (
    CATEGORY_NAMES,
    CHANNEL_NAMES,
    HOUR_WEIGHTS,
    ORDER_CHANNEL_MIX_END,
    ORDER_CHANNEL_MIX_START,
)
from chatbi.warehouse.demo_sampling import (
    DAY,
    draw,
    draw_rows,
    expand,
    mix_rows,
    rng_for,
    time_of_day,
)
from chatbi.warehouse.schema import EVENT_TYPES

VIEW, SEARCH, FAVORITE, CART, PURCHASE = (EVENT_TYPES.index(t) for t in
                                          ("view", "search", "favorite", "add_to_cart", "purchase"))
BROWSE, ONBOARD, PURCHASE_SESSION, INFLUX = 0, 1, 2, 3
BROWSE_PER_PURCHASE = 14.0  # browsing sessions per tracked purchase
EVENTS_PER_PURCHASE = 46.0  # all events per tracked purchase (for sizing the tracking sample)
# per session kind: p(geometric) for views, p(search), p(favourite per view), p(cart per view)
_VIEW_P = np.array([0.45, 0.5, 0.5, 0.35])
_SEARCH_P = np.array([0.35, 0.4, 0.3, 0.2])
_FAV_P = np.array([0.05, 0.04, 0.25, 0.02])
_CART_P = np.array([0.085, 0.03, 0.92, 0.004])
RECENT = 60 * DAY


@dataclass
class ProductPool:
    """All products sorted by (category, listed time) for "recent listings" look-ups."""

    key: np.ndarray
    product: np.ndarray
    merchant: np.ndarray
    lo: np.ndarray  # segment start per category

    SHIFT = 1 << 34

    @classmethod
    def build(cls, parts: list[dict[str, np.ndarray]], n_categories: int) -> ProductPool:
        cat = np.concatenate([p["cat"] for p in parts]).astype(np.int64)
        listed = np.concatenate([p["listed"] for p in parts])
        order = np.lexsort((listed, cat))
        key = cat[order] * cls.SHIFT + listed[order]
        product = np.concatenate([p["product"] for p in parts])[order]
        merchant = np.concatenate([p["merchant"] for p in parts])[order]
        return cls(key, product, merchant, np.searchsorted(key, np.arange(n_categories + 1) * cls.SHIFT))

    def recent(self, rng: np.random.Generator, cat: np.ndarray, ts: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """A product of ``cat`` listed in the 60 days before ``ts`` (index, found flag)."""
        base = cat * self.SHIFT
        hi = np.searchsorted(self.key, base + ts, side="right")
        lo = np.searchsorted(self.key, base + ts - RECENT, side="left")
        seg = self.lo[cat]
        lo = np.where(hi - lo < 1, np.maximum(seg, hi - 50), lo)
        found = hi > seg
        idx = lo + (rng.random(len(cat)) * np.maximum(hi - lo, 1)).astype(np.int64)
        return np.minimum(idx, np.maximum(hi - 1, 0)), found


@dataclass
class Sessions:
    user: np.ndarray
    start: np.ndarray  # browse/onboarding start; purchase sessions: the order time
    channel: np.ndarray
    cat: np.ndarray
    kind: np.ndarray
    product: np.ndarray  # purchase sessions: the bought product's id, else -1
    merchant: np.ndarray  # purchase sessions: the order's merchant, else -1

    @staticmethod
    def concat(parts: list[Sessions]) -> Sessions:
        return Sessions(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                          ("user", "start", "channel", "cat", "kind", "product", "merchant")))


def special_sessions(rng: np.random.Generator, users: Users, timeline: Timeline) -> Sessions:
    """Onboarding sessions at signup and the influx users' extra 抖音 browsing."""
    new = np.flatnonzero(users.signup_s >= timeline.start_s)
    inf = np.flatnonzero(users.influx)
    extra = rng.poisson(3.0, len(inf))
    inf_user = np.repeat(inf, extra)
    inf_start = users.signup_s[inf_user] + (rng.random(len(inf_user)) * 45 * DAY).astype(np.int64)
    user = np.concatenate([new, inf_user])
    start = np.concatenate([users.signup_s[new] + 60, inf_start])
    kind = np.concatenate([np.full(len(new), ONBOARD), np.full(len(inf_user), INFLUX)])
    keep = start < timeline.stop_s
    user, start, kind = user[keep], start[keep], kind[keep]
    order = np.argsort(start, kind="stable")
    user, start, kind = user[order], start[order], kind[order]
    n = len(user)
    cat = np.where(rng.random(n) < 0.7, users.fav_cat[user], draw(rng, CATEGORY_SHARE, n))
    return Sessions(user, start, users.channel[user].astype(np.int64), cat.astype(np.int64), kind,
                    np.full(n, -1), np.full(n, -1))


def _browse_sessions(rng: np.random.Generator, users: Users, timeline: Timeline, month: Period,
                     n: int) -> Sessions:
    days = np.arange(month.start, month.end)
    day = days[draw(rng, demand(days, timeline, holiday_strength=0.6), n)]
    start = day * DAY + time_of_day(rng, n, HOUR_WEIGHTS)
    k = users.available(start)
    user = np.minimum(np.searchsorted(users.cum_browse, rng.random(n) * users.cum_browse[k - 1], side="right"),
                      k - 1)
    churned = start > users.churn_s[user]
    redo = np.flatnonzero(churned & (rng.random(n) < 0.8))
    user[redo] = np.minimum(np.searchsorted(users.cum_browse, rng.random(len(redo)) *
                                            users.cum_browse[k[redo] - 1], side="right"), k[redo] - 1)
    mix = draw_rows(rng, mix_rows(ORDER_CHANNEL_MIX_START, ORDER_CHANNEL_MIX_END, timeline.fraction(start)))
    channel = np.where(rng.random(n) < 0.4, users.channel[user], mix)
    cat = np.where(rng.random(n) < 0.5, users.fav_cat[user], draw(rng, CATEGORY_SHARE, n))
    return Sessions(user, start, channel.astype(np.int64), cat.astype(np.int64), np.full(n, BROWSE),
                    np.full(n, -1), np.full(n, -1))


def _part(sess: np.ndarray, slot: np.ndarray | int, etype: int, product: np.ndarray | int,
          merchant: np.ndarray | int, duration: np.ndarray | float, query: np.ndarray | int
          ) -> tuple[np.ndarray, ...]:
    """One kind of event as aligned columns (scalars broadcast to the rows)."""
    n = len(sess)

    def col(v: np.ndarray | float, dtype: type) -> np.ndarray:
        return np.broadcast_to(np.asarray(v, dtype=dtype), (n,))

    return (sess, col(slot, np.int64), col(etype, np.int64), col(product, np.int64), col(merchant, np.int64),
            col(duration, np.float64), col(query, np.int64))


def generate_month(rng: np.random.Generator, users: Users, timeline: Timeline, month: Period,
                   purchases: dict[str, np.ndarray], special: Sessions, pool: ProductPool,
                   first_event_id: int, first_session: int,
                   insert: Callable[[str, dict], int]) -> tuple[int, int]:
    """Generate and insert one month of events; returns the next event id and session number."""
    n_p = len(purchases["ts"])
    buy = Sessions(purchases["user"], purchases["ts"], purchases["channel"].astype(np.int64),
                   purchases["cat"].astype(np.int64), np.full(n_p, PURCHASE_SESSION),
                   purchases["product"], purchases["merchant"])
    browse = _browse_sessions(rng, users, timeline, month, int(round(BROWSE_PER_PURCHASE * n_p)))
    s = Sessions.concat([special, browse, buy])
    ns = len(s.user)
    if ns == 0:
        return first_event_id, first_session
    kind = s.kind
    is_buy = kind == PURCHASE_SESSION
    n_views = np.minimum(rng.geometric(_VIEW_P[kind]), 12)
    has_search = rng.random(ns) < _SEARCH_P[kind]

    # views
    vs, vpos = expand(n_views)
    last = vpos == n_views[vs] - 1
    bought_view = is_buy[vs] & last
    pidx, found = pool.recent(rng, s.cat[vs], s.start[vs])
    v_product = np.where(bought_view, s.product[vs], pool.product[pidx])
    v_merchant = np.where(bought_view, s.merchant[vs], pool.merchant[pidx])
    keep = bought_view | found
    vs, vpos, v_product, v_merchant, bought_view = (a[keep] for a in (vs, vpos, v_product, v_merchant,
                                                                       bought_view))
    nv = len(vs)
    v_kind = kind[vs]
    fav = np.where(is_buy[vs], bought_view & (rng.random(nv) < _FAV_P[PURCHASE_SESSION]),
                   rng.random(nv) < _FAV_P[v_kind])
    cart = np.where(is_buy[vs], bought_view & (rng.random(nv) < _CART_P[PURCHASE_SESSION]),
                    rng.random(nv) < _CART_P[v_kind])
    srch = np.flatnonzero(has_search)
    buys = np.flatnonzero(is_buy)
    q_group = np.where(rng.random(len(srch)) < 0.12, GENERIC_QUERY_GROUP, s.cat[srch])

    parts = [
        _part(srch, 0, SEARCH, -1, -1, 5 + rng.exponential(15, len(srch)),
              in_segment(rng, QUERY_OFFSET, QUERY_COUNT, q_group)),
        _part(vs, 10 * (vpos + 1), VIEW, v_product, v_merchant,
              np.minimum(np.exp(np.log(25) + 0.9 * rng.standard_normal(nv)), 900), -1),
        _part(vs[fav], 10 * (vpos[fav] + 1) + 1, FAVORITE, v_product[fav], v_merchant[fav],
              rng.uniform(2, 6, int(fav.sum())), -1),
        _part(vs[cart], 10 * (vpos[cart] + 1) + 2, CART, v_product[cart], v_merchant[cart],
              rng.uniform(3, 10, int(cart.sum())), -1),
        _part(buys, 1 << 20, PURCHASE, s.product[buys], s.merchant[buys], 30.0, -1),
    ]
    sess, slot, etype, product, merchant, dur, query = (np.concatenate(cols) for cols in zip(*parts, strict=True))
    duration = dur.astype(np.int64) + 1
    order = np.lexsort((slot, sess))
    sess, etype, product, merchant, duration, query = (a[order] for a in (sess, etype, product, merchant,
                                                                          duration, query))
    # time: each event starts after the ones before it in its session
    csum = np.cumsum(duration)
    first = np.r_[True, sess[1:] != sess[:-1]]
    session_base = np.maximum.accumulate(np.where(first, csum - duration, 0))
    offset = csum - duration - session_base
    buy_offset = np.zeros(ns, dtype=np.int64)
    is_p = etype == PURCHASE
    buy_offset[sess[is_p]] = offset[is_p]
    start = np.where(is_buy, s.start - buy_offset, s.start)
    ts = start[sess] + offset
    floor = np.maximum((users.signup_s[s.user[sess]] // DAY) * DAY, timeline.start_s)
    ts = np.maximum(ts, floor)
    ok = ts < timeline.stop_s
    sess, etype, product, merchant, duration, query, ts = (a[ok] for a in (sess, etype, product, merchant,
                                                                           duration, query, ts))
    session_no = np.empty(ns, dtype=np.int64)
    session_no[np.argsort(start, kind="stable")] = first_session + np.arange(ns)
    order = np.lexsort((etype == PURCHASE, ts))
    sess, etype, product, merchant, duration, query, ts = (a[order] for a in (sess, etype, product,
                                                                              merchant, duration, query, ts))
    m = len(ts)
    dwell = np.where((etype == VIEW) | (etype == SEARCH), duration, -1)
    insert("events", {
        "event_id": first_event_id + np.arange(m, dtype=np.int64), "user_id": s.user[sess] + 1,
        "session_no": session_no[sess], "event_ts": w.timestamps(ts),
        "event_type": w.text(etype, EVENT_TYPES),
        "product_id": w.ints(product, mask=product < 0),
        "merchant_id": w.ints(merchant + 1, mask=merchant < 0),
        "category": w.text(s.cat[sess], CATEGORY_NAMES), "channel": w.text(s.channel[sess], CHANNEL_NAMES),
        "dwell_seconds": w.ints(dwell, np.int32, mask=dwell < 0), "query": query,
    })
    return first_event_id + m, first_session + ns


def purchases_in(tracked: dict[str, np.ndarray], month: Period) -> dict[str, np.ndarray]:
    lo, hi = np.searchsorted(tracked["ts"], [month.start_s, month.end_s])
    return {k: v[lo:hi] for k, v in tracked.items()}


def specials_in(special: Sessions, month: Period) -> Sessions:
    lo, hi = np.searchsorted(special.start, [month.start_s, month.end_s])
    return Sessions(*(getattr(special, f)[lo:hi] for f in
                      ("user", "start", "channel", "cat", "kind", "product", "merchant")))


def month_rng(seed: int, mi: int) -> np.random.Generator:
    return rng_for(seed, 30, mi)


__all__ = ["ProductPool", "Sessions", "special_sessions", "generate_month", "purchases_in", "specials_in",
           "month_rng"]
