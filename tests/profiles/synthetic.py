"""A small synthetic raw warehouse for the profile tests (vectorised numpy, no demo needed).

Users follow a BG/NBD-like process (a purchase rate, a chance to drop out after each
purchase) and browse while they are alive, so recent behaviour predicts future orders.
Planted stories, so the alert rules have something to find:

* merchant ``DISPUTE_MERCHANT``: dispute rate ~30% in the last 30 days (2% before);
* region 华南: new users of 上个季度 (2026-04-01..06-30) come mostly from 抖音 and almost
  never buy;
* category 家居: GMV falls by ~75% in the last 30 days;
* merchant ``STALE_MERCHANT``: many listings on sale, almost none sold.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from chatbi.warehouse.schema import CHANNELS, RAW_TABLES, REGIONS, create_table_sql

END = date(2026, 9, 30)
START = date(2023, 10, 1)
DISPUTE_MERCHANT = 7
STALE_MERCHANT = 12
CATEGORIES = ("中古包", "腕表", "家居", "户外", "时尚服饰", "珠宝", "数码", "图书")
CITIES = {
    "华东": ("上海", "上海"), "华南": ("广东", "广州"), "华北": ("北京", "北京"),
    "华中": ("湖北", "武汉"), "西南": ("四川", "成都"), "西北": ("陕西", "西安"),
    "东北": ("辽宁", "沈阳"),
}
GOOD = ("质量很好，和描述一致", "卖家发货快，很满意", "成色不错，推荐")
MID = ("一般般吧", "还可以，物流有点慢")
BAD = ("和描述不符，很失望", "有瑕疵，客服态度差", "假货！退款！")


def _days(n: int) -> np.ndarray:
    return np.array([START + timedelta(days=int(i)) for i in range(n)], dtype="datetime64[D]")


def generate(path: Path, *, n_users: int = 6000, n_merchants: int = 60, seed: int = 7,
             planted: bool = True, with_optional: bool = True, activity: float = 1.0) -> Path:
    """Write a raw warehouse to ``path`` and return it (``activity`` scales purchase rates)."""
    rng = np.random.default_rng(seed)
    span = (END - START).days + 1
    end_ns = np.datetime64(END) + np.timedelta64(1, "D")
    base = np.datetime64(START)

    # --- users -----------------------------------------------------------------------
    uid = np.arange(1, n_users + 1)
    region = rng.choice(REGIONS, n_users)
    sign_day = rng.integers(0, span, n_users)
    signup = base + sign_day.astype("timedelta64[D]")
    channel = rng.choice(CHANNELS, n_users)
    if planted:   # 华南's new users of the last quarter come mostly from 抖音, and rarely buy
        late = ((region == "华南") & (signup >= np.datetime64("2026-04-01"))
                & (signup <= np.datetime64("2026-06-30")))
        channel = np.where(late & (rng.random(n_users) < 0.7), "抖音", channel)
    users = pd.DataFrame({
        "user_id": uid, "user_name": [f"用户{i}" for i in uid],
        "phone": [f"138{i:08d}" for i in uid], "gender": rng.choice(["女", "男"], n_users, p=[.6, .4]),
        "birth_year": rng.integers(1965, 2007, n_users), "province": [CITIES[r][0] for r in region],
        "city": [CITIES[r][1] for r in region], "city_tier": rng.integers(1, 6, n_users),
        "region": region, "signup_date": signup, "signup_channel": channel,
    })

    # --- latent purchase process -----------------------------------------------------
    rate = rng.gamma(0.9, activity / 70, n_users)              # purchases per day
    drop = rng.beta(1.3, 5.0, n_users)                          # dropout chance per purchase
    buyer = rng.random(n_users) < 0.78
    sensitive = rng.random(n_users)                             # coupon propensity
    if planted:
        late &= channel == "抖音"
        buyer &= ~late | (rng.random(n_users) < 0.05)
    k = 30
    gaps = rng.exponential(1.0, (n_users, k)) / rate[:, None]
    t = sign_day[:, None] + np.cumsum(gaps, axis=1)
    lives = rng.geometric(drop)                                 # purchases before dropping out
    alive_until = np.full(n_users, float(span))
    idx = np.minimum(lives, k) - 1
    alive_until = np.where(lives <= k, t[np.arange(n_users), idx] + 1, span)
    mask = (t < span) & (np.arange(1, k + 1)[None, :] <= lives[:, None]) & buyer[:, None]
    ou, oj = np.nonzero(mask)
    oday = t[ou, oj]
    n_orders = len(ou)

    # --- merchants -------------------------------------------------------------------
    mid = np.arange(1, n_merchants + 1)
    mcat = rng.choice(CATEGORIES, n_merchants)
    mcat[DISPUTE_MERCHANT - 1] = "中古包"
    mcat[STALE_MERCHANT - 1] = "腕表"
    mreg = rng.choice(REGIONS, n_merchants)
    join = base + rng.integers(0, span - 400, n_merchants).astype("timedelta64[D]")
    join[-3:] = np.datetime64(END) - np.array([10, 40, 70]).astype("timedelta64[D]")
    merchants = pd.DataFrame({
        "merchant_id": mid, "merchant_name": [f"商户{i}" for i in mid], "main_category": mcat,
        "province": [CITIES[r][0] for r in mreg], "city": [CITIES[r][1] for r in mreg],
        "region": mreg, "join_date": join, "is_certified": rng.random(n_merchants) < 0.5,
    })
    weight = 1 / np.arange(1, n_merchants + 1) ** 0.6
    weight[DISPUTE_MERCHANT - 1] = weight.max() * 1.5
    weight[STALE_MERCHANT - 1] = weight.min() * 0.3
    weight /= weight.sum()
    fav_m = rng.choice(mid, n_users, p=weight)
    om = np.where(rng.random(n_orders) < 0.5, fav_m[ou], rng.choice(mid, n_orders, p=weight))
    join_day = ((join - base) / np.timedelta64(1, "D")).astype(int)
    om = np.where(oday < join_day[om - 1], DISPUTE_MERCHANT, om)   # no orders before joining

    # --- orders ----------------------------------------------------------------------
    ocat = np.where(rng.random(n_orders) < 0.7, mcat[om - 1], rng.choice(CATEGORIES, n_orders))
    keep = np.ones(n_orders, dtype=bool)
    if planted:
        keep &= ~((ocat == "家居") & (oday >= span - 30) & (rng.random(n_orders) < 0.75))
    ou, om, oday, ocat = ou[keep], om[keep], oday[keep], ocat[keep]
    n_orders = len(ou)
    ts = base + (oday * 86400).astype("timedelta64[s]")
    ts = np.minimum(ts, end_ns - np.timedelta64(1, "s"))
    price = np.round(rng.lognormal(6.0, 0.8, n_orders), 2)
    coupon = rng.random(n_orders) < sensitive[ou] * 0.6
    discount = np.where(coupon, np.round(price * 0.1, 2), 0.0)
    status = rng.choice(["completed", "returned", "refunded", "cancelled"], n_orders,
                        p=[.87, .05, .03, .05])
    disputed = rng.random(n_orders) < 0.02
    if planted:
        hot = (om == DISPUTE_MERCHANT) & (oday >= span - 30)
        disputed = np.where(hot, rng.random(n_orders) < 0.3, disputed)
    ochan = np.where(rng.random(n_orders) < 0.6, channel[ou], rng.choice(CHANNELS, n_orders))
    order_id = np.arange(1, n_orders + 1)
    orders = pd.DataFrame({
        "order_id": order_id, "user_id": uid[ou], "merchant_id": om, "order_ts": ts,
        "pay_amount": np.round(price - discount, 2), "discount_amount": discount,
        "coupon_id": np.where(coupon, rng.integers(1, 50, n_orders), None),
        "channel": ochan, "device": rng.choice(["app", "mini_program", "web"], n_orders),
        "status": status, "is_disputed": disputed,
    })

    # --- products: one per order (sold) plus unsold stock ---------------------------
    listed = ts - (rng.integers(1, 60, n_orders) * 86400).astype("timedelta64[s]")
    sold = status != "cancelled"
    n_stock = n_orders // 3
    sm = rng.choice(mid, n_stock, p=weight)
    if planted:
        extra = np.full(200, STALE_MERCHANT)
        sm = np.concatenate([sm, extra])
    n_stock = len(sm)
    s_listed = base + (rng.integers(0, span, n_stock) * 86400).astype("timedelta64[s]")
    s_status = rng.choice(["on_sale", "withdrawn"], n_stock, p=[.8, .2])
    products = pd.DataFrame({
        "product_id": np.arange(1, n_orders + n_stock + 1),
        "merchant_id": np.concatenate([om, sm]),
        "category": np.concatenate([ocat, mcat[sm - 1]]),
        "brand": rng.choice(["Hermès", "Chanel", "Rolex", "无印良品", "Patagonia"], n_orders + n_stock),
        "title": "商品",
        "style": rng.choice(["经典款", "限量款", "设计师联名", "普通"], n_orders + n_stock),
        "item_condition": rng.choice(["全新", "九成新", "八成新"], n_orders + n_stock),
        "list_price": np.concatenate([price, np.round(rng.lognormal(6.0, 0.8, n_stock), 2)]),
        "listed_at": np.concatenate([listed, s_listed]),
        "status": np.concatenate([np.where(sold, "sold", "on_sale"), s_status]),
        "sold_at": np.concatenate([np.where(sold, ts, np.datetime64("NaT")),
                                   np.full(n_stock, np.datetime64("NaT"), dtype="datetime64[s]")]),
    })
    items = pd.DataFrame({"order_id": order_id, "product_id": order_id, "merchant_id": om,
                          "price": price, "quantity": 1})

    tables: dict[str, pd.DataFrame] = {"users": users, "merchants": merchants,
                                       "products": products, "orders": orders,
                                       "order_items": items}
    if with_optional:
        tables.update(_optional(rng, users, orders, ocat, alive_until, rate, buyer, span,
                                planted, mid, weight))
    _write(path, tables)
    return path


def _optional(rng, users, orders, ocat, alive_until, rate, buyer, span, planted, mid, weight):
    """events, reviews, follows, campaigns, campaign_touches, kols."""
    n_users = len(users)
    base = np.datetime64(START)
    sign_day = ((users["signup_date"].to_numpy().astype("datetime64[D]") - base)
                / np.timedelta64(1, "D")).astype(int)
    # browsing sessions while alive (plus a trickle afterwards)
    live_days = np.clip(np.minimum(alive_until, span) - sign_day, 1, None)
    n_sess = rng.poisson(live_days * (3 * rate + 0.01))
    su = np.repeat(np.arange(n_users), n_sess)
    sday = sign_day[su] + rng.random(len(su)) * live_days[su]
    late_u = rng.choice(n_users, n_users // 3)
    su = np.concatenate([su, late_u])
    sday = np.concatenate([sday, rng.uniform(sign_day[late_u], span)])
    if planted:
        reg = users["region"].to_numpy()[su]
        ch = users["signup_channel"].to_numpy()[su]
        sdate = users["signup_date"].to_numpy()[su]
        bad = ((reg == "华南") & (ch == "抖音") & (sdate >= np.datetime64("2026-04-01"))
               & (sdate <= np.datetime64("2026-06-30")))
        extra = np.repeat(su[bad], 3)
        su = np.concatenate([su, extra])
        sday = np.concatenate([sday, rng.uniform(sign_day[extra], span)])
    sday = np.minimum(sday, span - 1e-3)
    n_ev = len(su)
    etype = rng.choice(["view", "search", "favorite", "add_to_cart"], n_ev, p=[.6, .2, .1, .1])
    em = rng.choice(mid, n_ev, p=weight)
    ets = base + (sday * 86400).astype("timedelta64[s]")
    events = pd.DataFrame({
        "event_id": np.arange(1, n_ev + 1), "user_id": su + 1,
        "session_id": [f"s{i}" for i in range(n_ev)], "event_ts": ets, "event_type": etype,
        "product_id": np.where(etype == "search", None, rng.integers(1, 1000, n_ev)),
        "merchant_id": np.where(etype == "search", None, em),
        "category": rng.choice(CATEGORIES, n_ev), "channel": users["signup_channel"].to_numpy()[su],
        "dwell_seconds": rng.integers(1, 300, n_ev),
        "search_query": np.where(etype == "search", "中古包", None),
    })
    valid = orders[orders["status"] != "cancelled"]
    purchases = pd.DataFrame({
        "event_id": np.arange(n_ev + 1, n_ev + len(valid) + 1), "user_id": valid["user_id"].to_numpy(),
        "session_id": [f"p{i}" for i in range(len(valid))], "event_ts": valid["order_ts"].to_numpy(),
        "event_type": "purchase", "product_id": valid["order_id"].to_numpy(),
        "merchant_id": valid["merchant_id"].to_numpy(), "category": ocat[valid.index.to_numpy()],
        "channel": valid["channel"].to_numpy(), "dwell_seconds": 30, "search_query": None,
    })
    events = pd.concat([events, purchases], ignore_index=True)

    rev = valid.sample(frac=0.35, random_state=1)
    bad = rev["is_disputed"].to_numpy() | (rev["status"].to_numpy() != "completed")
    rating = np.where(bad, rng.integers(1, 3, len(rev)), rng.choice([3, 4, 5], len(rev), p=[.15, .35, .5]))
    texts = np.where(rating >= 4, rng.choice(GOOD, len(rev)),
                     np.where(rating == 3, rng.choice(MID, len(rev)), rng.choice(BAD, len(rev))))
    reviews = pd.DataFrame({
        "review_id": np.arange(1, len(rev) + 1), "order_id": rev["order_id"].to_numpy(),
        "user_id": rev["user_id"].to_numpy(), "merchant_id": rev["merchant_id"].to_numpy(),
        "review_ts": np.minimum(rev["order_ts"].to_numpy() + np.timedelta64(3, "D"),
                                np.datetime64(END) + np.timedelta64(86399, "s")),
        "rating": rating, "content": texts,
    })
    fu = rng.choice(n_users, n_users // 2) + 1
    follows = pd.DataFrame({
        "user_id": fu, "target_type": np.where(rng.random(len(fu)) < 0.8, "merchant", "kol"),
        "target_id": rng.choice(mid, len(fu), p=weight),
        "followed_at": base + (rng.integers(0, span, len(fu)) * 86400).astype("timedelta64[s]"),
    })
    kols = pd.DataFrame({"kol_id": np.arange(1, 6), "kol_name": [f"博主{i}" for i in range(1, 6)],
                         "platform": "小红书", "domain": "家居", "follower_count": 10000})
    campaigns = pd.DataFrame({
        "campaign_id": [1, 2], "campaign_name": ["双11", "618"], "channel": ["微信", "抖音"],
        "start_date": [date(2025, 11, 1), date(2026, 6, 1)], "end_date": [date(2025, 11, 11), date(2026, 6, 18)],
        "spend": [50000.0, 30000.0], "target_segment": ["高价值", "流失风险型"], "coupon_value": [50.0, 30.0],
    })
    tu = rng.choice(n_users, 500) + 1
    touches = pd.DataFrame({
        "campaign_id": rng.integers(1, 3, 500), "user_id": tu,
        "touch_ts": np.datetime64(datetime(2026, 6, 2)), "opened": rng.random(500) < 0.5,
        "clicked": rng.random(500) < 0.2, "order_id": None,
    })
    return {"events": events, "reviews": reviews, "follows": follows, "kols": kols,
            "campaigns": campaigns, "campaign_touches": touches}


def _write(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    con = duckdb.connect(str(path))
    try:
        for name, df in tables.items():
            con.execute(create_table_sql(name))
            cols = ", ".join(RAW_TABLES[name])
            con.register("_df", df)
            con.execute(f"INSERT INTO {name} SELECT {cols} FROM _df")
            con.unregister("_df")
    finally:
        con.close()
