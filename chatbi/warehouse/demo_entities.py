"""Users, merchants and KOLs of the demo, as numpy columns with their hidden traits.

Hidden traits (activity, price sensitivity, spending power, favourite category, churn time,
home-décor KOL fan…) drive the behaviour generated later; only observable columns are
written. Users and merchants are sorted by signup/join time, so their ids grow with it and
"everyone who had signed up by t" is a prefix of the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatbi.warehouse.demo_calendar import Timeline, demand
from chatbi.warehouse.demo_catalog import SHOP_COUNT, SHOP_OFFSET, in_segment
from chatbi.warehouse.demo_reference import (
    CAT,
    CATEGORIES,
    CITIES,
    FEMALE_SHARE,
    GIVEN_FEMALE,
    GIVEN_MALE,
    HOME_DOMAIN,
    HOUR_WEIGHTS,
    KOL_ADJECTIVES,
    KOL_DOMAIN_MIX,
    KOL_NICKS,
    KOL_PLATFORM_BY_DOMAIN,
    KOL_SUFFIXES,
    MERCHANT_NICKS,
    MERCHANT_SUFFIXES,
    PHONE_PREFIXES,
    REGION_NAMES,
    SECOND_CATEGORY,
    SIGNUP_CHANNEL_MIX_END,
    SIGNUP_CHANNEL_MIX_START,
    SURNAMES,
    TIER_MERCHANT_FACTOR,
    TIER_SPEND_FACTOR,
    TIER_USER_FACTOR,
)
from chatbi.warehouse.demo_sampling import (
    DAY,
    draw,
    draw_rows,
    mix_rows,
    time_of_day,
)
from chatbi.warehouse.demo_stories import StoryPlan

CITY_PROVINCE = np.array([sorted({c.province for c in CITIES}).index(c.province) for c in CITIES])
CITY_TIER = np.array([c.tier for c in CITIES], dtype=np.int64)
CITY_REGION = np.array([REGION_NAMES.index(c.region) for c in CITIES], dtype=np.int64)
CITY_POP = np.array([c.population for c in CITIES], dtype=np.float64)
PROVINCE_LIST = tuple(sorted({c.province for c in CITIES}))
GIVEN_CHARS = GIVEN_FEMALE + GIVEN_MALE
KOL_SUFFIX_FLAT = tuple(s for group in KOL_SUFFIXES for s in group)
KOL_SUFFIX_COUNT = np.array([len(g) for g in KOL_SUFFIXES])
KOL_SUFFIX_OFFSET = np.cumsum(KOL_SUFFIX_COUNT) - KOL_SUFFIX_COUNT
CATEGORY_SHARE = np.array([c.share for c in CATEGORIES])
CATEGORY_FEMALE = np.array([c.female_affinity for c in CATEGORIES])
SECOND_OF = np.array([CAT[SECOND_CATEGORY[c.name]] for c in CATEGORIES])


def duplicate_rank(*codes: np.ndarray) -> np.ndarray:
    """0 for the first row with a combination of codes, 1 for the second, …"""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        key = key * 4096 + c.astype(np.int64)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    start = np.r_[True, sk[1:] != sk[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(sk)), 0))
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(sk)) - first
    return rank


@dataclass
class Users:
    signup_s: np.ndarray  # sorted
    churn_s: np.ndarray
    gender: np.ndarray  # 0 女, 1 男
    birth_year: np.ndarray
    city: np.ndarray
    channel: np.ndarray  # signup channel
    ps_level: np.ndarray  # price sensitivity 0 低, 1 中, 2 高
    spend: np.ndarray
    activity: np.ndarray
    fav_cat: np.ndarray
    home_fan: np.ndarray  # follows home-décor KOLs (planted story 5)
    welcome_s: np.ndarray  # time of the first order right after signup, -1 = none
    influx: np.ndarray  # planted story 2: low-intent new users from one channel
    high_value: np.ndarray
    surname: np.ndarray
    given1: np.ndarray
    given2: np.ndarray
    phone_prefix: np.ndarray
    phone_suffix: np.ndarray

    def __post_init__(self) -> None:
        self.cum_activity = np.cumsum(self.activity)
        self.browse_weight = np.power(self.activity, 0.5) + 0.3
        self.cum_browse = np.cumsum(self.browse_weight)

    @property
    def n(self) -> int:
        return len(self.signup_s)

    @property
    def region(self) -> np.ndarray:
        return CITY_REGION[self.city]

    @property
    def ids(self) -> np.ndarray:
        return np.arange(1, self.n + 1, dtype=np.int64)

    def available(self, t: np.ndarray) -> np.ndarray:
        """How many users had signed up by each time (a prefix length)."""
        return np.searchsorted(self.signup_s, t, side="right")


def _signup_days(rng: np.random.Generator, timeline: Timeline, n: int, pre_share: float,
                 pre_years: float, growth: float, strength: float) -> np.ndarray:
    n_pre = int(round(n * pre_share))
    pre = timeline.first_day - 1 - (rng.random(n_pre) * pre_years * 365).astype(np.int64)
    days = timeline.days
    w = demand(days, timeline, growth=growth, holiday_strength=strength)
    inside = days[draw(rng, w, n - n_pre)]
    return np.concatenate([pre, inside])


def make_users(rng: np.random.Generator, n_users: int, timeline: Timeline, plan: StoryPlan) -> Users:
    """Buyers with demographics, hidden traits and the planted low-intent influx."""
    day = _signup_days(rng, timeline, n_users, 0.15, 2.0, 1.30, 0.5)
    city_w = CITY_POP * np.array([TIER_USER_FACTOR[t] for t in CITY_TIER])
    city = draw(rng, city_w, n_users)
    influx = np.zeros(n_users, dtype=bool)
    # Story 2: extra 抖音 sign-ups in the conversion region from the last full quarter on.
    region_now = (CITY_REGION[city] == plan.conversion_region) & (day >= plan.q_last.start)
    n_influx = int(round(plan.influx_share * region_now.sum()))
    if n_influx:
        span = np.arange(plan.q_last.start, timeline.stop_day)
        ramp = np.linspace(0.6, 1.4, len(span))
        day = np.concatenate([day, span[draw(rng, ramp, n_influx)]])
        local = np.flatnonzero(CITY_REGION == plan.conversion_region)
        city = np.concatenate([city, local[draw(rng, city_w[local], n_influx)]])
        influx = np.concatenate([influx, np.ones(n_influx, dtype=bool)])
    n = len(day)
    signup = day * DAY + time_of_day(rng, n, HOUR_WEIGHTS)
    order = np.argsort(signup, kind="stable")
    signup, city, influx = signup[order], city[order], influx[order]

    frac = timeline.fraction(signup)
    channel = draw_rows(rng, mix_rows(SIGNUP_CHANNEL_MIX_START, SIGNUP_CHANNEL_MIX_END, frac))
    channel[influx] = plan.conversion_channel
    gender = (rng.random(n) >= np.where(influx, 0.6, FEMALE_SHARE)).astype(np.int8)
    years_in = np.ceil((timeline.stop_s - signup) / (365.25 * DAY))
    age = 18 + rng.gamma(3.0, 4.6, n)
    age = np.where(influx, 18 + rng.gamma(2.0, 3.0, n), age)
    age = np.clip(np.maximum(age, 18 + years_in), 18, 62).astype(np.int64)
    birth_year = timeline.end.year - age

    tier = CITY_TIER[city]
    low_tier = tier >= 4
    ps_u = rng.random(n)
    ps_hi = np.where(low_tier | influx, 0.27, 0.2)
    ps_mid = np.where(low_tier | influx, 0.33, 0.3)
    ps_level = np.where(ps_u < ps_hi, 2, np.where(ps_u < ps_hi + ps_mid, 1, 0)).astype(np.int8)
    spend = (np.exp(0.45 * rng.standard_normal(n)) * np.array([0, *TIER_SPEND_FACTOR.values()])[tier]
             * np.where(ps_level == 2, 0.8, 1.0))
    # about half of the sign-ups never really buy (browsers); the influx almost never does
    buyer = rng.random(n) < np.where(influx, 0.06, 0.5)
    activity = np.exp(1.1 * rng.standard_normal(n)) * np.where(buyer, 1.0, 0.02)

    fem = np.where((gender == 0)[:, None], CATEGORY_FEMALE[None, :], 1.0 - CATEGORY_FEMALE[None, :])
    fav_cat = draw_rows(rng, CATEGORY_SHARE[None, :] * fem)
    home_fan = (rng.random(n) < np.where(gender == 0, 0.085, 0.04)) & ~influx
    fav_cat = np.where(home_fan & (rng.random(n) < 0.5), CAT["家居"], fav_cat)

    life_days = rng.exponential(650.0, n) * np.power(activity, 0.15)
    churn = signup + (life_days * DAY).astype(np.int64)
    first_delay = np.where(rng.random(n) < 0.4, rng.integers(600, 7200, n),
                           (rng.exponential(5.0, n) * DAY).astype(np.int64) + 600)
    welcome = signup + first_delay
    wants = buyer & (rng.random(n) < 0.45)
    welcome = np.where(wants & (signup >= timeline.start_s) & (welcome < timeline.stop_s), welcome, -1)
    value = spend * activity
    high_value = value >= np.quantile(value, 0.8)

    sur_w = np.array([w for _, w in SURNAMES])
    surname = draw(rng, sur_w, n)
    nf, nm = len(GIVEN_FEMALE), len(GIVEN_MALE)
    male = gender == 1
    given1 = np.where(male, nf + rng.integers(0, nm, n), rng.integers(0, nf, n))
    given2 = np.where(male, nf + rng.integers(0, nm, n), rng.integers(0, nf, n))
    given2 = np.where(rng.random(n) < 0.7, given2, -1)
    phone_prefix = rng.integers(0, len(PHONE_PREFIXES), n)
    a = 7_654_321
    b = int(rng.integers(0, 10**8))
    phone_suffix = (a * np.arange(1, n + 1, dtype=np.int64) + b) % 10**8
    return Users(signup, churn, gender, birth_year, city, channel.astype(np.int8), ps_level, spend,
                 activity, fav_cat.astype(np.int8), home_fan, welcome, influx, high_value, surname,
                 given1, given2, phone_prefix, phone_suffix)


@dataclass
class Merchants:
    join_s: np.ndarray  # sorted
    main_cat: np.ndarray
    weight: np.ndarray
    city: np.ndarray
    certified: np.ndarray
    price_factor: np.ndarray
    quality: np.ndarray  # >1 = more returns, disputes and bad reviews
    unsold_ratio: np.ndarray
    nick: np.ndarray
    shop: np.ndarray
    suffix: np.ndarray
    name_rank: np.ndarray
    dispute_merchant: int  # index of the planted story-3 merchant

    @property
    def n(self) -> int:
        return len(self.join_s)

    @property
    def second_cat(self) -> np.ndarray:
        return SECOND_OF[self.main_cat]


def make_merchants(rng: np.random.Generator, n: int, timeline: Timeline, plan: StoryPlan) -> Merchants:
    """Consignment shops with long-tailed sizes; every category has a shop from day one."""
    day = _signup_days(rng, timeline, n, 0.35, 3.0, 1.2, 0.0)
    join = np.sort(day * DAY + time_of_day(rng, n, HOUR_WEIGHTS))
    n_cat = len(CATEGORIES)
    main_cat = draw(rng, np.power(CATEGORY_SHARE, 0.8), n)
    early = np.flatnonzero(join < timeline.start_s)
    seeded = rng.permutation(early)[:n_cat]
    main_cat[seeded] = np.arange(len(seeded))
    weight = np.minimum(rng.pareto(1.2, n) + 1.0, 400.0)
    rank_pct = np.argsort(np.argsort(weight)) / max(n - 1, 1)
    certified = rng.random(n) < 0.2 + 0.6 * rank_pct
    city_w = CITY_POP * np.array([TIER_MERCHANT_FACTOR[t] for t in CITY_TIER])
    city = draw(rng, city_w, n)
    price_factor = np.exp(0.15 * rng.standard_normal(n))
    quality = np.exp(0.45 * rng.standard_normal(n)) * np.where(certified, 0.75, 1.0)
    unsold_ratio = np.exp(np.log(0.5) + 0.5 * rng.standard_normal(n)) * np.where(rng.random(n) < 0.12, 4.0, 1.0)
    # Story 3: the biggest early shop of the dispute category; make it big and clean so far.
    pool = np.flatnonzero((main_cat == plan.dispute_category) & (join < timeline.start_s))
    star = int(pool[np.argmax(weight[pool])])
    weight[star] = max(weight[star], float(np.quantile(weight, 0.97)) * 2.0)
    quality[star] = 1.0
    certified[star] = True
    nick = rng.integers(0, len(MERCHANT_NICKS), n)
    shop = in_segment(rng, SHOP_OFFSET, SHOP_COUNT, main_cat)
    suffix = rng.integers(0, len(MERCHANT_SUFFIXES), n)
    name_rank = duplicate_rank(city, nick, shop, suffix)
    return Merchants(join, main_cat.astype(np.int8), weight, city, certified, price_factor, quality,
                     unsold_ratio, nick, shop, suffix, name_rank, star)


@dataclass
class Kols:
    domain: np.ndarray
    platform: np.ndarray
    followers: np.ndarray
    adjective: np.ndarray
    nick: np.ndarray
    suffix: np.ndarray
    name_rank: np.ndarray

    @property
    def n(self) -> int:
        return len(self.domain)


def make_kols(rng: np.random.Generator, n: int) -> Kols:
    """Influencers on 抖音/小红书/B站/微博 by domain; at least three home-décor ones."""
    domain = draw(rng, KOL_DOMAIN_MIX, n)
    cover = np.r_[np.arange(len(KOL_DOMAIN_MIX)), np.full(2, HOME_DOMAIN)][:n]
    domain[: len(cover)] = cover  # every domain has a KOL, 家居 at least three
    domain = rng.permutation(domain)
    platform = draw_rows(rng, np.array(KOL_PLATFORM_BY_DOMAIN)[domain])
    followers = np.clip(np.exp(np.log(80_000) + 1.2 * rng.standard_normal(n)), 3_000, 30_000_000)
    adjective = rng.integers(0, len(KOL_ADJECTIVES), n)
    nick = rng.integers(0, len(KOL_NICKS), n)
    suffix = in_segment(rng, KOL_SUFFIX_OFFSET, KOL_SUFFIX_COUNT, domain)
    name_rank = duplicate_rank(adjective, nick, suffix)
    return Kols(domain.astype(np.int8), platform.astype(np.int8), followers.astype(np.int64),
                adjective, nick, suffix, name_rank)


__all__ = ["Users", "Merchants", "Kols", "make_users", "make_merchants", "make_kols",
           "CITY_PROVINCE", "CITY_TIER", "CITY_REGION", "PROVINCE_LIST", "GIVEN_CHARS",
           "KOL_SUFFIX_FLAT", "duplicate_rank"]
