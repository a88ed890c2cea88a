"""Marketing campaigns and their touches, with conversions that become real orders.

Touches are drawn first (who was reached, when, did they open and click); a touch converts
with a probability that depends on the user's hidden price sensitivity and on whether the
campaign carries a coupon (planted story 4). A converted touch schedules an order for that
user shortly after the touch; the order generator creates it and writes its id back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatbi.warehouse.demo_calendar import Timeline, demand, from_day_number
from chatbi.warehouse.demo_entities import Users, duplicate_rank
from chatbi.warehouse.demo_reference import (
    CAMPAIGN_CHANNEL_MIX_END,
    CAMPAIGN_CHANNEL_MIX_START,
    CAMPAIGN_CHANNELS,
    CAMPAIGN_CONV_FACTOR,
    CAMPAIGN_OPEN_RATE,
    CAMPAIGN_ROI,
    SEGMENT_COUPON_SHARE,
    SEGMENT_MIX,
    SEGMENTS,
)
from chatbi.warehouse.demo_sampling import DAY, allocate, draw, draw_rows, mix_rows, range_draw

SEG = {name: i for i, name in enumerate(SEGMENTS)}
# conversion probability of a touch by [price sensitivity 低/中/高][no coupon, coupon]
CONVERSION = np.array([[0.030, 0.036], [0.032, 0.075], [0.034, 0.170]])
COST_PER_TOUCH = np.array([1.2, 1.5, 1.0, 2.5, 0.6, 0.05])  # yuan, by campaign channel
FESTIVAL_MONTHS = (1, 2, 6, 11, 12)


@dataclass
class Campaigns:
    start_day: np.ndarray
    end_day: np.ndarray  # inclusive
    channel: np.ndarray
    segment: np.ndarray
    coupon_cents: np.ndarray  # 0 = no coupon
    year: np.ndarray
    theme: np.ndarray  # month of year 0..11 of the start
    kind: np.ndarray
    name_rank: np.ndarray

    @property
    def n(self) -> int:
        return len(self.start_day)


def make_campaigns(rng: np.random.Generator, n: int, timeline: Timeline) -> Campaigns:
    months = timeline.months()
    month_no = np.array([from_day_number(m.start).month for m in months])
    w = np.array([demand(np.arange(m.start, m.end), timeline).sum() for m in months])
    w = w * np.where(np.isin(month_no, FESTIVAL_MONTHS), 1.6, 1.0)
    per_month = allocate(n, w)
    mi = np.repeat(np.arange(len(months)), per_month)
    m_start = np.array([m.start for m in months])[mi]
    m_len = np.array([m.end - m.start for m in months])[mi]
    start = m_start + (rng.random(n) * np.maximum(m_len * 0.7, 1)).astype(np.int64)
    end = np.minimum(start + rng.integers(6, 28, n), timeline.stop_day - 1)
    start = np.minimum(start, end)
    frac = (start - timeline.first_day) / (timeline.stop_day - timeline.first_day)
    channel = draw_rows(rng, mix_rows(CAMPAIGN_CHANNEL_MIX_START, CAMPAIGN_CHANNEL_MIX_END, frac))
    segment = draw(rng, SEGMENT_MIX, n)
    has_coupon = rng.random(n) < np.asarray(SEGMENT_COUPON_SHARE)[segment]
    small = np.array([10, 20, 30, 50])[rng.integers(0, 4, n)]
    big = np.array([100, 200, 300])[rng.integers(0, 3, n)]
    new = np.array([20, 30])[rng.integers(0, 2, n)]
    value = np.select([segment == SEG["高价值"], segment == SEG["新客"]], [big, new], small)
    coupon_cents = np.where(has_coupon, value * 100, 0).astype(np.int64)
    kind = np.where(has_coupon, np.where(rng.random(n) < 0.6, 0, 3),
                    np.where(segment == SEG["流失风险型"], 1, 2))
    dates = start.astype("datetime64[D]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    theme = dates.astype("datetime64[M]").astype(np.int64) % 12
    name_rank = duplicate_rank(year - 2000, theme, channel, segment, kind)
    return Campaigns(start, end, channel.astype(np.int8), segment.astype(np.int8), coupon_cents, year,
                     theme, kind, name_rank)


@dataclass
class Touches:
    campaign: np.ndarray  # index into Campaigns
    user: np.ndarray  # index into Users
    ts: np.ndarray
    opened: np.ndarray
    clicked: np.ndarray
    order_s: np.ndarray  # time of the converted order, -1 = no conversion
    order_id: np.ndarray  # filled in by the order generator, -1 = none
    conv_index: np.ndarray  # indices of converted touches sorted by order_s
    conv_order_s: np.ndarray  # order_s of conv_index (sorted)


def _pool(users: Users, members: np.ndarray, rng: np.random.Generator, ts: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """A user from ``members`` (sorted by signup) who had signed up by ``ts``; ok flags."""
    k = np.searchsorted(users.signup_s[members], ts, side="right")
    pick = members[np.minimum((rng.random(len(ts)) * k).astype(np.int64), np.maximum(k - 1, 0))]
    return pick, k > 0


def make_touches(rng: np.random.Generator, n_touches: int, campaigns: Campaigns, users: Users,
                 timeline: Timeline) -> Touches:
    """Who each campaign reached, and which touches converted into an order (and when)."""
    dur = campaigns.end_day - campaigns.start_day + 1
    w = np.exp(0.6 * rng.standard_normal(campaigns.n)) * dur * np.where(campaigns.channel == 5, 2.0, 1.0)
    quota = allocate(n_touches, w)
    # draw extra and keep each campaign's quota after removing repeated users
    camp = np.repeat(np.arange(campaigns.n), np.ceil(quota * 1.6).astype(np.int64))
    n = len(camp)
    ts = campaigns.start_day[camp] * DAY + (rng.random(n) * dur[camp] * DAY).astype(np.int64)
    seg = campaigns.segment[camp]
    everyone = np.arange(users.n)
    user, ok = _pool(users, everyone, rng, ts)
    for name, members in (("高价值", np.flatnonzero(users.high_value)),
                          ("价格敏感", np.flatnonzero(users.ps_level == 2))):
        sel = np.flatnonzero(seg == SEG[name])
        pick, good = _pool(users, members, rng, ts[sel])
        user[sel[good]] = pick[good]
    sel = np.flatnonzero(seg == SEG["新客"])
    lo = np.searchsorted(users.signup_s, ts[sel] - 90 * DAY)
    hi = np.searchsorted(users.signup_s, ts[sel], side="right")
    good = hi > lo
    user[sel[good]] = range_draw(rng, lo[good], hi[good])
    sel = np.flatnonzero(seg == SEG["流失风险型"])
    by_churn = np.argsort(users.churn_s, kind="stable")
    churn_sorted = users.churn_s[by_churn]
    lo = np.searchsorted(churn_sorted, ts[sel] - 240 * DAY)
    hi = np.searchsorted(churn_sorted, ts[sel] + 30 * DAY)
    cand = by_churn[range_draw(rng, lo, np.maximum(hi, lo + 1)).clip(0, users.n - 1)]
    good = (hi > lo) & (users.signup_s[cand] <= ts[sel])
    user[sel[good]] = cand[good]
    keep = ok
    # one touch per user and campaign
    key = camp.astype(np.int64) * (users.n + 1) + user
    _, first = np.unique(np.where(keep, key, -1 - np.arange(n)), return_index=True)
    mask = np.zeros(n, dtype=bool)
    mask[first] = True
    mask &= keep
    order = np.flatnonzero(mask)
    order = order[np.lexsort((rng.random(len(order)), camp[order]))]
    rank = np.arange(len(order)) - np.searchsorted(camp[order], camp[order])
    order = order[rank < quota[camp[order]]]
    order = order[np.argsort(ts[order], kind="stable")]
    camp, user, ts = camp[order], user[order], ts[order]
    n = len(camp)

    ch = campaigns.channel[camp]
    coupon = (campaigns.coupon_cents[camp] > 0).astype(np.int64)
    p = CONVERSION[users.ps_level[user], coupon] * np.asarray(CAMPAIGN_CONV_FACTOR)[ch]
    p = p * np.where(campaigns.segment[camp] == SEG["流失风险型"], 0.6, 1.0)
    converted = rng.random(n) < p
    delay = 1800 + np.minimum(rng.exponential(1.5 * DAY, n), 7 * DAY).astype(np.int64)
    order_s = np.where(converted, ts + delay, -1)
    order_s = np.where(order_s >= timeline.stop_s, -1, order_s)
    converted = order_s >= 0
    opened = converted | (rng.random(n) < np.asarray(CAMPAIGN_OPEN_RATE)[ch])
    clicked = np.where(converted, rng.random(n) < 0.92, opened & (rng.random(n) < 0.18))
    conv = np.flatnonzero(converted)
    conv = conv[np.argsort(order_s[conv], kind="stable")]
    return Touches(camp, user, ts, opened, clicked, order_s, np.full(n, -1, dtype=np.int64), conv,
                   order_s[conv])


def campaign_spend(rng: np.random.Generator, campaigns: Campaigns, touches: Touches,
                   gmv_cents: np.ndarray, timeline: Timeline) -> np.ndarray:
    """Spend in cents: attributed GMV over a channel-typical ROI, at least the touch cost.

    搜索竞价 gets less efficient over time (its ROI falls), which is why it shrinks.
    """
    n = campaigns.n
    frac = (campaigns.start_day - timeline.first_day) / (timeline.stop_day - timeline.first_day)
    roi = np.asarray(CAMPAIGN_ROI)[campaigns.channel] * np.exp(0.3 * rng.standard_normal(n))
    roi = np.where(campaigns.channel == CAMPAIGN_CHANNELS.index("搜索竞价"), roi * (1.3 - 0.6 * frac), roi)
    reached = np.bincount(touches.campaign, minlength=n)
    floor = reached * COST_PER_TOUCH[campaigns.channel] * 100
    spend = np.maximum(gmv_cents / np.maximum(roi, 0.3), floor)
    return (np.round(spend / 100) * 100).astype(np.int64)
