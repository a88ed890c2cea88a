"""The stories planted in the demo data, placed relative to the end date.

``StoryPlan`` fixes where and how strong each effect is; the generator modules read it.
The GMV-growth story is calibrated exactly: after the last full quarter's orders are drawn,
item prices of 华东 orders are rescaled per category so that the quarter-over-quarter GMV
growth hits its target (the factors are close to 1; the volume tilt does most of the work).
See docs/demo_data.md for how to ask about each story.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatbi.warehouse.demo_calendar import Period, Timeline, add_months, day_number, quarter_start
from chatbi.warehouse.demo_reference import CAT, CATEGORY_NAMES, CHANNEL_NAMES, REGION_NAMES
from chatbi.warehouse.demo_sampling import rng_for


@dataclass(frozen=True)
class StoryPlan:
    """Where and how strong each planted effect is."""

    q_prev: Period  # the quarter before the last full quarter
    q_last: Period  # the last full quarter before the end date's quarter
    dispute_window: Period  # the last full month plus the final partial month
    growth_region: int
    growth_category: int
    decline_category: int
    growth_target: float  # GMV growth of growth_category in growth_region, q_last vs q_prev
    decline_target: float
    others_floor: float
    others_cap: float
    growth_tilt: float  # order-mix multiplier for growth_category from q_last on
    decline_tilt: float
    conversion_region: int
    conversion_channel: int
    influx_share: float  # extra low-intent new users, as a share of the region's normal signups
    dispute_rate: float
    baseline_dispute_rate: float
    dispute_category: int

    def describe(self) -> dict[str, str]:
        return {
            "last_full_quarter": self.q_last.label(),
            "previous_quarter": self.q_prev.label(),
            "growth": (f"{REGION_NAMES[self.growth_region]} {CATEGORY_NAMES[self.growth_category]} "
                       f"GMV {self.growth_target:+.1%}, {CATEGORY_NAMES[self.decline_category]} "
                       f"{self.decline_target:+.1%}"),
            "conversion_drop": (f"{REGION_NAMES[self.conversion_region]} new users via "
                                f"{CHANNEL_NAMES[self.conversion_channel]} from {self.q_last.label()}"),
            "dispute_window": self.dispute_window.label(),
        }


def plan_stories(timeline: Timeline, seed: int) -> StoryPlan:
    end_q = quarter_start(timeline.end)
    last_q = add_months(end_q, -3)
    prev_q = add_months(end_q, -6)
    last_month = add_months(timeline.end, -1)
    jitter = rng_for(seed, 99).random()
    return StoryPlan(
        q_prev=Period(day_number(prev_q), day_number(last_q)),
        q_last=Period(day_number(last_q), day_number(end_q)),
        dispute_window=Period(day_number(last_month), timeline.stop_day),
        growth_region=REGION_NAMES.index("华东"),
        growth_category=CAT["中古包"],
        decline_category=CAT["家居"],
        growth_target=0.355 + 0.04 * jitter,
        decline_target=-0.04 - 0.02 * jitter,
        others_floor=0.02,
        others_cap=0.27,
        growth_tilt=1.18,
        decline_tilt=0.82,
        conversion_region=REGION_NAMES.index("华南"),
        conversion_channel=CHANNEL_NAMES.index("抖音"),
        influx_share=1.0,
        dispute_rate=0.15,
        baseline_dispute_rate=0.01,
        dispute_category=CAT["二手奢侈品"],
    )


def category_tilt(plan: StoryPlan, n_categories: int) -> np.ndarray:
    """Multipliers on the category mix of growth_region's orders from q_last on."""
    tilt = np.ones(n_categories)
    tilt[plan.growth_category] = plan.growth_tilt
    tilt[plan.decline_category] = plan.decline_tilt
    return tilt


def growth_factors(plan: StoryPlan, prev_gmv: np.ndarray, items_cents: np.ndarray,
                   discount_cents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-category price factors for growth_region's orders in q_last.

    ``prev_gmv`` is q_prev's GMV per category; ``items_cents`` and ``discount_cents`` are
    q_last's item totals and discounts of valid orders per category. GMV after scaling is
    ``f * items - discount``; f is solved for the target growth (others: clipped to
    [others_floor, others_cap], landing a little inside the range, so the planted category
    stays the clear leader).
    """
    ok = (prev_gmv > 0) & (items_cents > 0)
    natural = np.where(ok, (items_cents - discount_cents) / np.maximum(prev_gmv, 1) - 1.0, 0.0)
    jitter = rng.random(len(prev_gmv))
    target = np.where(natural < plan.others_floor, plan.others_floor + 0.06 * jitter, natural)
    target = np.where(natural > plan.others_cap, plan.others_cap - 0.08 * jitter, target)
    target[plan.growth_category] = plan.growth_target
    target[plan.decline_category] = plan.decline_target
    wanted = prev_gmv * (1.0 + target)
    f = np.where(ok, (wanted + discount_cents) / np.maximum(items_cents, 1), 1.0)
    return np.clip(f, 0.1, 5.0)
