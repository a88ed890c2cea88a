"""``chatbi init --demo``: generate a realistic demo warehouse of a consignment marketplace.

Every raw table of DATA_CONTRACT.md is filled for the 36 months up to ``end_date``, from a
seed (same seed, scale and end date → the same data), with numpy and DuckDB only: users and
merchants first, then orders quarter by quarter, unsold stock, campaigns, follows, and the
clickstream month by month, so memory stays bounded at every scale. Planted stories for the
product to find are described in docs/demo_data.md and in ``DemoSummary.planted``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from time import perf_counter

import numpy as np

from chatbi.errors import UserInputError
from chatbi.warehouse import demo_writer as w
from chatbi.warehouse.connection import write_connection
from chatbi.warehouse.demo_calendar import Timeline
from chatbi.warehouse.demo_campaigns import (
    Campaigns,
    Touches,
    campaign_spend,
    make_campaigns,
    make_touches,
)
from chatbi.warehouse.demo_entities import (
    CITY_PROVINCE,
    CITY_REGION,
    CITY_TIER,
    PROVINCE_LIST,
    Kols,
    Merchants,
    Users,
    make_kols,
    make_merchants,
    make_users,
)
from chatbi.warehouse.demo_events import (
    EVENTS_PER_PURCHASE,
    ProductPool,
    generate_month,
    month_rng,
    purchases_in,
    special_sessions,
    specials_in,
)
from chatbi.warehouse.demo_follows import TARGET_TYPES, make_follows
from chatbi.warehouse.demo_inventory import generate_unsold
from chatbi.warehouse.demo_orders import (
    MerchantIndex,
    OrderContext,
    OrderState,
    generate_quarter,
    organic_per_day,
)
from chatbi.warehouse.demo_reference import (
    CAMPAIGN_CHANNELS,
    CATEGORY_NAMES,
    CHANNEL_NAMES,
    CITY_NAMES,
    GENDERS,
    KOL_DOMAINS,
    KOL_PLATFORMS,
    REGION_NAMES,
    SEGMENTS,
)
from chatbi.warehouse.demo_sampling import DAY, rng_for
from chatbi.warehouse.demo_sql import SELECTS
from chatbi.warehouse.demo_stories import StoryPlan, plan_stories
from chatbi.warehouse.demo_writer import DemoWriter
from chatbi.warehouse.files import atomic_replace

DEFAULT_END_DATE = date(2026, 9, 30)
TOUCH_BATCH = 2_000_000


@dataclass(frozen=True)
class Scale:
    """Target sizes of one demo scale (row counts are approximate)."""

    name: str
    users: int
    merchants: int
    orders: int
    events: int
    kols: int
    campaigns: int
    touches: int
    memory_limit: str = "2GB"


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 2_000, 60, 20_000, 150_000, 30, 36, 12_000),
    "small": Scale("small", 20_000, 500, 200_000, 2_000_000, 120, 72, 120_000),
    "medium": Scale("medium", 200_000, 3_000, 2_000_000, 20_000_000, 400, 144, 1_200_000, "3GB"),
    "large": Scale("large", 1_000_000, 10_000, 10_000_000, 60_000_000, 1_000, 216, 6_000_000, "3GB"),
}

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class DemoSummary:
    """What ``generate_demo`` built."""

    path: Path
    scale: str
    seed: int
    end_date: date
    row_counts: Mapping[str, int]
    elapsed_seconds: float
    start_date: date | None = None
    planted: Mapping[str, str] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """Short report for the CLI: what was built, row counts, where the stories are."""
        rows = ", ".join(f"{table} {count:,}" for table, count in self.row_counts.items())
        lines = [
            f"演示数据 / demo data: scale {self.scale}, seed {self.seed}, {self.start_date}..{self.end_date}, "
            f"{self.elapsed_seconds:.1f}s",
            f"行数 / rows: {rows}",
        ]
        if self.planted:
            lines.append("埋点故事 / planted stories (docs/demo_data.md): "
                         + "; ".join(f"{k}: {v}" for k, v in self.planted.items()))
        return lines


def resolve_scale(scale: str) -> Scale:
    """The Scale named ``scale`` or a UserInputError listing the choices."""
    key = str(scale).strip().lower()
    if key not in SCALES:
        choices = ", ".join(SCALES)
        raise UserInputError(
            f"未知的数据规模 / unknown demo scale {scale!r}; 可选 / choose one of: {choices}",
            code="invalid_scale",
        )
    return SCALES[key]


def generate_demo(db_path: Path, *, scale: str = "small", seed: int = 42, end_date: date = DEFAULT_END_DATE,
                  progress: Progress | None = None) -> DemoSummary:
    """Build the demo warehouse at ``db_path``, replacing any existing file atomically."""
    spec = resolve_scale(scale)
    if isinstance(end_date, datetime):
        end_date = end_date.date()
    if not isinstance(end_date, date):
        raise UserInputError(f"end_date must be a date, got {end_date!r}", code="invalid_end_date")
    started = perf_counter()
    report: Progress = progress or (lambda _step, _fraction: None)
    timeline = Timeline.ending(end_date)
    plan = plan_stories(timeline, seed)
    db_path = Path(db_path)
    with atomic_replace(db_path) as tmp:
        with write_connection(tmp, memory_limit=spec.memory_limit) as con:
            writer = DemoWriter(con, SELECTS)
            writer.create_tables()
            planted = _build(spec, int(seed), timeline, plan, writer, report)
            report("统计行数 / counting rows", 0.99)
            counts = writer.row_counts()
    report("完成 / done", 1.0)
    return DemoSummary(db_path, spec.name, int(seed), end_date, counts, perf_counter() - started,
                       timeline.start, {**plan.describe(), **planted})


def _build(spec: Scale, seed: int, timeline: Timeline, plan: StoryPlan, writer: DemoWriter,
           report: Progress) -> dict[str, str]:
    report("用户与商户 / users and merchants", 0.0)
    users = make_users(rng_for(seed, 1), spec.users, timeline, plan)
    merchants = make_merchants(rng_for(seed, 2), spec.merchants, timeline, plan)
    kols = make_kols(rng_for(seed, 3), spec.kols)
    _insert_users(writer, users)
    _insert_merchants(writer, merchants)
    _insert_kols(writer, kols)
    report("营销活动 / campaigns", 0.04)
    campaigns = make_campaigns(rng_for(seed, 4), spec.campaigns, timeline)
    touches = make_touches(rng_for(seed, 5), spec.touches, campaigns, users, timeline)

    n_welcome = int((users.welcome_s >= 0).sum())
    n_campaign = len(touches.conv_index)
    n_organic = max(spec.orders - n_welcome - n_campaign, spec.orders // 2)
    first_orders = 0.55 * users.n
    p_track = float(np.clip((spec.events / EVENTS_PER_PURCHASE - first_orders)
                            / max(spec.orders - first_orders, 1.0), 0.02, 1.0))
    ctx = OrderContext(seed, timeline, plan, users, merchants, campaigns, touches,
                       organic_per_day(timeline, n_organic), p_track, MerchantIndex(merchants, len(CATEGORY_NAMES)))
    state = OrderState(users.n, merchants.n, campaigns.n)
    quarters = timeline.quarters()
    for qi, q in enumerate(quarters):
        report(f"订单 / orders {q.label()}", 0.05 + 0.40 * qi / len(quarters))
        generate_quarter(ctx, state, q, qi, writer.insert)

    report("在售与下架商品 / unsold listings", 0.45)
    state.pool.append(generate_unsold(rng_for(seed, 6), merchants, state.sold_per_merchant, timeline,
                                      state.next_product_id, writer.insert))
    report("活动触达 / campaign touches", 0.48)
    spend = campaign_spend(rng_for(seed, 7), campaigns, touches, state.campaign_gmv, timeline)
    _insert_campaigns(writer, campaigns, spend)
    _insert_touches(writer, touches)
    report("关注 / follows", 0.52)
    follows = make_follows(rng_for(seed, 8), users, merchants, kols, timeline, state.follows)
    writer.insert("follows", {
        "user_id": follows["user"] + 1, "target_type": w.text(follows["kind"], TARGET_TYPES),
        "target_id": follows["target"] + 1, "followed_at": w.timestamps(follows["ts"]),
    })
    state.follows.clear()

    report("行为事件 / events", 0.55)
    pool = ProductPool.build(state.pool, len(CATEGORY_NAMES))
    state.pool.clear()
    tracked = {k: np.concatenate([t[k] for t in state.tracked]) for k in state.tracked[0]}
    state.tracked.clear()
    special = special_sessions(rng_for(seed, 9), users, timeline)
    months = timeline.months()
    event_id, session_no = 1, 1
    for mi, month in enumerate(months):
        report(f"行为事件 / events {month.label()[:7]}", 0.55 + 0.43 * mi / len(months))
        event_id, session_no = generate_month(month_rng(seed, mi), users, timeline, month,
                                              purchases_in(tracked, month), specials_in(special, month),
                                              pool, event_id, session_no, writer.insert)
    return {
        "dispute_merchant_id": str(merchants.dispute_merchant + 1),
        "tracked_order_share": f"{p_track:.3f}",
    }


def _insert_users(writer: DemoWriter, users: Users) -> None:
    writer.insert("users", {
        "user_id": users.ids, "surname": users.surname, "given1": users.given1, "given2": users.given2,
        "phone_prefix": users.phone_prefix, "phone_suffix": users.phone_suffix,
        "gender": w.text(users.gender, GENDERS), "birth_year": w.ints(users.birth_year, np.int32),
        "province": w.text(CITY_PROVINCE[users.city], PROVINCE_LIST), "city": w.text(users.city, CITY_NAMES),
        "city_tier": w.ints(CITY_TIER[users.city], np.int32), "region": w.text(CITY_REGION[users.city], REGION_NAMES),
        "signup_date": w.dates(users.signup_s // DAY), "signup_channel": w.text(users.channel, CHANNEL_NAMES),
    })


def _insert_merchants(writer: DemoWriter, m: Merchants) -> None:
    writer.insert("merchants", {
        "merchant_id": np.arange(1, m.n + 1, dtype=np.int64), "city_code": m.city, "nick": m.nick,
        "shop": m.shop, "suffix": m.suffix, "name_rank": m.name_rank,
        "main_category": w.text(m.main_cat, CATEGORY_NAMES),
        "province": w.text(CITY_PROVINCE[m.city], PROVINCE_LIST), "city": w.text(m.city, CITY_NAMES),
        "region": w.text(CITY_REGION[m.city], REGION_NAMES), "join_date": w.dates(m.join_s // DAY),
        "is_certified": w.bools(m.certified),
    })


def _insert_kols(writer: DemoWriter, k: Kols) -> None:
    writer.insert("kols", {
        "kol_id": np.arange(1, k.n + 1, dtype=np.int64), "adjective": k.adjective, "nick": k.nick,
        "suffix": k.suffix, "name_rank": k.name_rank, "platform": w.text(k.platform, KOL_PLATFORMS),
        "domain": w.text(k.domain, KOL_DOMAINS), "follower_count": w.ints(k.followers, np.int32),
    })


def _insert_campaigns(writer: DemoWriter, c: Campaigns, spend: np.ndarray) -> None:
    writer.insert("campaigns", {
        "campaign_id": np.arange(1, c.n + 1, dtype=np.int64), "year": c.year, "theme": c.theme,
        "channel_code": c.channel, "segment": c.segment, "kind": c.kind, "name_rank": c.name_rank,
        "channel": w.text(c.channel, CAMPAIGN_CHANNELS), "start_date": w.dates(c.start_day),
        "end_date": w.dates(c.end_day), "spend": w.money(spend),
        "target_segment": w.text(c.segment, SEGMENTS), "coupon_value": w.money(c.coupon_cents),
    })


def _insert_touches(writer: DemoWriter, t: Touches) -> None:
    for lo in range(0, len(t.campaign), TOUCH_BATCH):
        s = slice(lo, lo + TOUCH_BATCH)
        writer.insert("campaign_touches", {
            "campaign_id": t.campaign[s] + 1, "user_id": t.user[s] + 1, "touch_ts": w.timestamps(t.ts[s]),
            "opened": w.bools(t.opened[s]), "clicked": w.bools(t.clicked[s]),
            "order_id": w.ints(t.order_id[s], mask=t.order_id[s] < 0),
        })
