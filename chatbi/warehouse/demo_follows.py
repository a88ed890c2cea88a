"""Who follows which merchant or KOL.

Buyers follow some shops they bought from and some popular ones; users follow KOLs of the
domains they care about. The planted home-décor fans (story 5) follow 1–3 家居 KOLs early
on, while other users rarely do, so 家居-KOL followers are mostly those fans.
"""

from __future__ import annotations

import numpy as np

from chatbi.warehouse.demo_calendar import Timeline
from chatbi.warehouse.demo_entities import Kols, Merchants, Users
from chatbi.warehouse.demo_reference import CATEGORIES, HOME_DOMAIN, KOL_DOMAIN_MIX, KOL_DOMAINS
from chatbi.warehouse.demo_sampling import DAY, draw, expand

MERCHANT, KOL = 0, 1
TARGET_TYPES = ("merchant", "kol")
_CAT_DOMAIN = np.array([KOL_DOMAINS.index(c.kol_domain) for c in CATEGORIES])


def _kol_in_domain(rng: np.random.Generator, kols: Kols, domain: np.ndarray) -> np.ndarray:
    """A KOL of each row's domain, weighted by follower count (any KOL if the domain is empty)."""
    order = np.lexsort((np.arange(kols.n), kols.domain))
    dom = kols.domain[order].astype(np.int64)
    cum = np.cumsum(np.sqrt(kols.followers[order].astype(np.float64)))
    lo = np.searchsorted(dom, domain, side="left")
    hi = np.searchsorted(dom, domain, side="right")
    empty = hi <= lo
    lo = np.where(empty, 0, lo)
    hi = np.where(empty, kols.n, hi)
    base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    u = base + rng.random(len(domain)) * (cum[hi - 1] - base)
    return order[np.clip(np.searchsorted(cum, u, side="right"), lo, hi - 1)]


def make_follows(rng: np.random.Generator, users: Users, merchants: Merchants, kols: Kols,
                 timeline: Timeline, bought: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """All follow rows, de-duplicated (earliest follow kept), sorted by time."""
    stop = timeline.stop_s
    parts_user, parts_type, parts_target, parts_ts = [], [], [], []

    def add(user: np.ndarray, kind: int, target: np.ndarray, ts: np.ndarray) -> None:
        parts_user.append(user)
        parts_type.append(np.full(len(user), kind, dtype=np.int8))
        parts_target.append(target)
        parts_ts.append(np.minimum(ts, stop - 1))

    for b in bought:
        add(b["user"], MERCHANT, b["target"], b["ts"])
    # popular shops followed without buying
    n_pop = int(round(0.3 * users.n))
    u = np.minimum(np.searchsorted(users.cum_browse, rng.random(n_pop) * users.cum_browse[-1], side="right"),
                   users.n - 1)
    m = draw(rng, merchants.weight, n_pop)
    since = np.maximum(users.signup_s[u], merchants.join_s[m])
    add(u, MERCHANT, m, since + (rng.random(n_pop) * np.maximum(stop - since, 1)).astype(np.int64))
    # KOLs by interest
    n_interest = rng.poisson(0.7, users.n)
    iu, _ = expand(n_interest)
    mix = np.asarray(KOL_DOMAIN_MIX, dtype=np.float64).copy()
    mix[HOME_DOMAIN] *= 0.25
    mapped = _CAT_DOMAIN[users.fav_cat[iu]]
    keep = np.where((mapped == HOME_DOMAIN) & ~users.home_fan[iu], 0.2, 0.6)
    domain = np.where(rng.random(len(iu)) < keep, mapped, draw(rng, mix, len(iu)))
    span = np.maximum(stop - np.maximum(users.signup_s[iu], timeline.start_s - 365 * DAY), 1)
    ts = np.maximum(users.signup_s[iu], timeline.start_s - 365 * DAY) + (rng.random(len(iu)) * span).astype(np.int64)
    add(iu, KOL, _kol_in_domain(rng, kols, domain), ts)
    # story 5: home-décor fans follow 1-3 家居 KOLs soon after signup
    fans = np.flatnonzero(users.home_fan)
    hu, _ = expand(1 + rng.binomial(2, 0.4, len(fans)))
    hu = fans[hu]
    ts = users.signup_s[hu] + np.minimum(rng.exponential(20 * DAY, len(hu)), 200 * DAY).astype(np.int64)
    add(hu, KOL, _kol_in_domain(rng, kols, np.full(len(hu), HOME_DOMAIN)), ts)

    user = np.concatenate(parts_user)
    kind = np.concatenate(parts_type)
    target = np.concatenate(parts_target).astype(np.int64)
    ts = np.concatenate(parts_ts)
    key = (user.astype(np.int64) << 24) | (kind.astype(np.int64) << 23) | target
    order = np.lexsort((ts, key))
    key, user, kind, target, ts = key[order], user[order], kind[order], target[order], ts[order]
    first = np.r_[True, key[1:] != key[:-1]]
    user, kind, target, ts = user[first], kind[first], target[first], ts[first]
    order = np.lexsort((target, kind, user, ts))
    return {"user": user[order], "kind": kind[order], "target": target[order], "ts": ts[order]}
