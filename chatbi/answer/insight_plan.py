"""What a why-analysis computes: the metric's shape, the two periods, the candidate dimensions.

Everything is read from the semantic layer through ``Catalog``: whether a metric adds up over
segments (sums, counts) or is a ratio (and which metric gives its weights), which time
dimension it runs on, and which dimensions can break it down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import sqlglot
from sqlglot import exp

from chatbi.errors import UserInputError
from chatbi.profiles.alerts import NEW_USER_CONVERSION, SIGNUP_DATE, cohort_filter
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.periods import comparison_range
from chatbi.semantic.query import ComparisonKind, Filter, TimeRange

# Dimensions tried, in this order of preference (ties in ranking go to the earlier one).
# ``user_cohort`` is computed, not declared: users who signed up in the period vs before it.
DEFAULT_CANDIDATES: tuple[str, ...] = (
    "channel", "category", "region", "city_tier", "device", "signup_channel", "user_cohort",
    "gender", "age_band", "merchant_id", "merchant_region", "style", "used_coupon",
)
# Profile labels computed at the as-of date from the very behaviour being explained (a buyer
# of last month is "活跃" and "高价值" today), so they "explain" any change circularly. They
# are used only when the user names them (为什么各价值分层的GMV下降).
SNAPSHOT_DIMENSIONS: tuple[str, ...] = (
    "value_tier", "lifecycle_stage", "rfm_segment", "price_sensitivity", "churn_risk_level",
    "r_score", "f_score", "m_score", "favorite_category", "preferred_channel",
)
USER_COHORT = "user_cohort"
# Extra columns queried with a dimension so that segments get readable labels.
LABEL_DIMENSIONS: dict[str, str] = {"merchant_id": "merchant_name", "product_id": "product_title"}
MAX_OVERLAP = 1.5  # Σ segment weights / total above which a dimension is not a decomposition

Cohort = Literal["all", "new_users"]
Kind = Literal["additive", "ratio"]


class InsightError(UserInputError):
    """A why-question that cannot be decomposed (snapshot metric, unsupported shape…)."""

    code = "why_not_possible"


@dataclass(frozen=True)
class MetricShape:
    """How a metric's change splits over segments.

    ``kind`` additive: the segments' values add up to the total (sums, counts). ``ratio``:
    the metric is ``Σ num / Σ den``; ``weight_metric`` is a metric giving each segment's
    denominator (its weight).
    """

    metric: str
    kind: Kind
    time_dimension: str
    weight_metric: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One way to split the metric: a dimension (with an optional label column)."""

    name: str
    label_column: str | None = None

    @property
    def columns(self) -> list[str]:
        return [self.name] + ([self.label_column] if self.label_column else [])


@dataclass(frozen=True)
class Periods:
    """The current period and the one it is compared with."""

    current: TimeRange
    base: TimeRange
    comparison: ComparisonKind


@dataclass(frozen=True)
class InsightPlan:
    """Everything needed to run the why-analysis queries."""

    shape: MetricShape
    periods: Periods
    filters: tuple[Filter, ...]
    candidates: tuple[Candidate, ...]
    cohort: Cohort = "all"
    skipped: tuple[str, ...] = field(default_factory=tuple)
    # An additive metric's base values are multiplied by this: an alert that compares 30 days
    # with the daily average of the 90 before (category GMV) is explained against that baseline.
    base_scale: float = 1.0

    def scaled_base(self, value: float) -> float:
        """A base-period value as compared (``base_scale`` applies to additive metrics only)."""
        return value * self.base_scale if self.shape.kind == "additive" else value


def _err(zh: str, en: str, language: str, code: str = "why_not_possible") -> InsightError:
    return InsightError(en if language == "en" else zh, code=code)


def _measure_agg(catalog: Catalog, measure: str) -> tuple[str | None, str | None, str | None]:
    """(agg, filter, model) of the first model defining ``measure`` (the compiler's choice)."""
    models = catalog.layer.models_with_measure(measure)
    if not models:
        return None, None, None
    m = models[0].measure(measure)
    assert m is not None
    return m.agg, m.filter, models[0].name


def _simple_metric_for(catalog: Catalog, measure: str, time_dimension: str) -> str | None:
    """A simple metric reading ``measure`` on the same time dimension."""
    for metric in catalog.layer.metrics:
        if (metric.type == "simple" and metric.measure == measure
                and catalog.time_dimension_for(metric.name) == time_dimension):
            return metric.name
    return None


def _count_metric_on_model(catalog: Catalog, model: str, time_dimension: str) -> str | None:
    """An unfiltered row count on ``model`` (the weights of an average)."""
    for metric in catalog.layer.metrics:
        if metric.type != "simple" or not metric.measure:
            continue
        agg, flt, host = _measure_agg(catalog, metric.measure)
        if (agg == "count" and flt is None and host == model
                and catalog.time_dimension_for(metric.name) == time_dimension):
            return metric.name
    return None


def metric_shape(catalog: Catalog, metric: str, language: str = "zh") -> MetricShape:
    """Classify ``metric`` for decomposition, or raise ``InsightError`` saying why not."""
    found = catalog.get_metric(metric)
    if found is None:
        raise _err(f"未知指标「{metric}」", f"unknown metric {metric!r}", language, "unclear_question")
    label = found.label_en if language == "en" and found.label_en else found.label
    time_dim = catalog.time_dimension_for(metric)
    if time_dim is None:
        raise _err(f"「{label}」是当前快照指标，没有按时间的历史，无法分析它为什么变化。",
                   f"{label} is a current snapshot with no history over time, so its change "
                   "cannot be explained.", language, "why_snapshot_metric")
    if found.type == "simple":
        agg, _, model = _measure_agg(catalog, found.measure or "")
        if agg in ("sum", "count", "count_distinct"):
            return MetricShape(metric, "additive", time_dim)
        if agg == "avg" and model:
            weights = _count_metric_on_model(catalog, model, time_dim)
            if weights:
                return MetricShape(metric, "ratio", time_dim, weights)
    elif found.type == "ratio":
        weights = _simple_metric_for(catalog, found.denominator or "", time_dim)
        if weights:
            return MetricShape(metric, "ratio", time_dim, weights)
    else:
        tree = sqlglot.parse_one(found.expr or "", read="duckdb")
        if (isinstance(tree, exp.Div) and isinstance(tree.this, exp.Column)
                and isinstance(tree.expression, exp.Column)
                and catalog.get_metric(tree.expression.name) is not None):
            return MetricShape(metric, "ratio", time_dim, tree.expression.name)
    raise _err(f"「{label}」的结构无法按维度拆解（缺少可作为权重的分母指标）。",
               f"{label} cannot be split over segments (no denominator metric to weight them).",
               language)


_BASE_LABELS = {("zh", "previous_period"): "上一周期", ("zh", "same_period_last_year"): "上年同期",
                ("en", "previous_period"): "the previous period",
                ("en", "same_period_last_year"): "the same period last year"}


def make_periods(time_range: TimeRange, comparison: ComparisonKind, language: str = "zh") -> Periods:
    """The current range and its comparison range (the compiler's own rule), labelled."""
    base = comparison_range(time_range, comparison, None)
    label = _BASE_LABELS[("en" if language == "en" else "zh", comparison)]
    return Periods(current=time_range, base=base.model_copy(update={"label": label}),
                   comparison=comparison)


def period_filters(plan: InsightPlan, period: TimeRange, segment: str | None = None) -> list[Filter]:
    """The plan's filters plus the cohort (and ``user_cohort`` segment) filters of a period."""
    out = list(plan.filters)
    if plan.cohort == "new_users" or segment == "new":
        out.append(cohort_filter(period.start, period.end))
    elif segment == "returning":
        out.append(Filter(dimension=SIGNUP_DATE, op="lt", value=period.start.isoformat()))
    return out


def _fixed_dimensions(filters: tuple[Filter, ...]) -> set[str]:
    """Dimensions a filter pins to one value (splitting by them shows a single segment)."""
    out = set()
    for flt in filters:
        single_list = isinstance(flt.value, list | tuple) and len(flt.value) == 1
        if flt.op == "eq" or (flt.op == "in" and single_list):
            out.add(flt.dimension)
    return out


def choose_candidates(catalog: Catalog, shape: MetricShape, filters: tuple[Filter, ...], *,
                      requested: list[str] | None = None, cohort: Cohort = "all",
                      max_dimensions: int = 12) -> tuple[tuple[Candidate, ...], tuple[str, ...]]:
    """The dimensions to split by, and the names skipped (unreachable or pinned by a filter).

    ``requested`` (the dimensions the user named) replaces the default list; when none of
    them can split the metric (a time dimension, a tag…), the default list is used.
    """
    if requested:
        chosen, skipped = _choose(catalog, shape, filters, cohort=cohort,
                                  max_dimensions=max_dimensions, names=list(requested))
        if chosen:
            return chosen, skipped
    return _choose(catalog, shape, filters, cohort=cohort, max_dimensions=max_dimensions,
                   names=list(DEFAULT_CANDIDATES))


def _choose(catalog: Catalog, shape: MetricShape, filters: tuple[Filter, ...], *, names: list[str],
            cohort: Cohort, max_dimensions: int) -> tuple[tuple[Candidate, ...], tuple[str, ...]]:
    reachable = set(catalog.dimensions_for(shape.metric))
    fixed = _fixed_dimensions(filters)
    chosen: list[Candidate] = []
    skipped: list[str] = []
    labels_of_named = {LABEL_DIMENSIONS[n] for n in names if n in LABEL_DIMENSIONS}
    for name in names:
        if name in labels_of_named:  # merchant_name with merchant_id: one split, labelled
            continue
        if name == USER_COHORT:
            ok = (SIGNUP_DATE in reachable and shape.time_dimension != SIGNUP_DATE
                  and cohort == "all" and SIGNUP_DATE not in {f.dimension for f in filters})
        else:
            dim = catalog.get_dimension(name)
            ok = (dim is not None and name in reachable and name not in fixed
                  and dim.type == "categorical" and not dim.pii)
        if not ok:
            skipped.append(name)
            continue
        label = LABEL_DIMENSIONS.get(name)
        if label and label not in reachable:
            label = None
        chosen.append(Candidate(name, label))
        if len(chosen) >= max_dimensions:
            break
    return tuple(chosen), tuple(skipped)


def default_time_range(as_of: date, language: str) -> TimeRange:
    """The latest complete month (the planner's default for why-questions)."""
    from chatbi.planner.time_parser import latest_complete_month

    return latest_complete_month(as_of, language)


# ---------------------------------------------------------------------------------------
# The period of an alert (why-questions without a time agree with the alert list)
# ---------------------------------------------------------------------------------------

ALERT_WINDOWS_SQL = (
    "SELECT alert_id, detected_at, entity_type, entity_id, metric FROM alerts "
    "ORDER BY detected_at DESC, alert_id"
)
# Alert metrics that are a semantic-layer metric for a cohort: the profile build computes new-user
# conversion as this very metric and cohort (chatbi/profiles/alerts.py), so the rates agree.
ALERT_METRICS: dict[str, tuple[str, Cohort]] = {NEW_USER_CONVERSION.alert_metric: (NEW_USER_CONVERSION.metric, "new_users")}
# The dimensions an alert's entity id stands for (parts joined by "/").
ALERT_ENTITY_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "merchant": ("merchant_id",), "region": ("region",), "channel": ("signup_channel",),
    "region_channel": ("region", "signup_channel"), "category": ("category",),
}


@dataclass(frozen=True)
class AlertWindow:
    """The period an alert compared: its window and its baseline."""

    alert_id: int
    current: TimeRange
    base: TimeRange

    @property
    def base_scale(self) -> float:
        """Days of the window ÷ days of the baseline: the alert compares an additive metric with
        the baseline's daily average over the window's length (category GMV: 30 ÷ 90)."""
        days = (self.current.end - self.current.start).days + 1
        return days / ((self.base.end - self.base.start).days + 1)

    def scaled_base(self, language: str) -> TimeRange:
        """The baseline labelled as the alert words it: 前90天日均折算 / daily average of the 90 days before."""
        days = (self.base.end - self.base.start).days + 1
        label = (f"the daily average of the {days} days before, over the same length" if language == "en"
                 else f"前{days}天按日均折算")
        return self.base.model_copy(update={"label": label})


def alert_periods(metric: str, detected: date, language: str = "zh") -> tuple[TimeRange, TimeRange]:
    """The window and baseline the profile build compared for an alert of ``metric`` detected
    on ``detected`` (chatbi/profiles/alerts.py, rules in chatbi/profiles/rules.py): new-user
    conversion 上个季度 vs the quarter before; merchant rates the last 30 days vs the 180 before;
    category GMV the last 30 days vs the 90 before."""
    from chatbi.planner.periods import relative_period
    from chatbi.profiles import rules as R

    if metric == NEW_USER_CONVERSION.alert_metric:
        start, end = relative_period("quarter", -1, detected)
        b_start, b_end = relative_period("quarter", -2, detected)

        def label(day: date) -> str:
            q = (day.month - 1) // 3 + 1
            return f"Q{q} {day.year}" if language == "en" else f"{day.year}年Q{q}"

        return (TimeRange(start=start, end=end, label=label(start)),
                TimeRange(start=b_start, end=b_end, label=label(b_start)))
    recent = R.ALERT_RECENT_DAYS
    baseline = R.ALERT_CATEGORY_BASELINE_DAYS if metric == "gmv" else R.ALERT_BASELINE_DAYS
    current = TimeRange(start=detected - timedelta(days=recent - 1), end=detected)
    base = TimeRange(start=detected - timedelta(days=recent + baseline - 1), end=detected - timedelta(days=recent))
    return current, base


def _scope(filters: tuple[Filter, ...], merchant_id: int | None) -> dict[str, str]:
    """dimension -> the one value the question fixes (eq, or in with one value)."""
    scope: dict[str, str] = {}
    for flt in filters:
        values = flt.value if isinstance(flt.value, list | tuple) else [flt.value]
        if flt.op in ("eq", "in") and len(values) == 1:
            scope[flt.dimension] = str(values[0])
    if merchant_id is not None:
        scope.setdefault("merchant_id", str(merchant_id))
    return scope


def match_alert(rows: list[dict[str, object]], *, metric: str, cohort: Cohort, filters: tuple[Filter, ...],
                merchant_id: int | None = None, language: str = "zh") -> AlertWindow | None:
    """The newest alert about this metric (and cohort) for exactly the segment the question
    names (华南 → the region alert, not the region × channel one; a merchant role → its own
    shop's alert), with the periods it compared; None when there is none."""
    scope = _scope(filters, merchant_id)
    if not scope:
        return None
    for row in rows:
        name, alert_cohort = ALERT_METRICS.get(str(row["metric"]), (str(row["metric"]), "all"))
        if name != metric or alert_cohort != cohort:
            continue
        dims = ALERT_ENTITY_DIMENSIONS.get(str(row["entity_type"]))
        parts = str(row["entity_id"]).split("/")
        if not dims or len(dims) != len(parts) or dict(zip(dims, parts, strict=True)) != scope:
            continue
        detected = row.get("detected_at")
        if not isinstance(detected, date):
            continue
        current, base = alert_periods(str(row["metric"]), detected, language)
        return AlertWindow(alert_id=int(str(row["alert_id"])), current=current, base=base)
    return None
