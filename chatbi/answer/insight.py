"""Why-analysis: explain a metric's change between two periods by the segments that drove it.

``explain_change`` compares the period with the previous one (or the same period last year),
splits the change over candidate dimensions the semantic layer lets the metric reach
(channel, category, region, city tier, device, signup channel, new vs existing users, value
tier…), separating mix and rate effects for ratio metrics (see ``insight_decompose``), ranks
the segments by absolute contribution, and writes a finding whose every number is checked
against the data. All SQL is compiled from ``SemanticQuery`` objects, guarded for the
caller's role and run by the executor.

Modules: ``insight_plan`` (metric shape, periods, candidates), ``insight_data`` (queries),
``insight_decompose`` (the arithmetic), ``insight_text`` (finding and chart).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from chatbi.answer.context import describe_time
from chatbi.answer.facts import Facts
from chatbi.answer.findings import CheckResult, check_finding
from chatbi.answer.insight_data import RESIDUAL, InsightData, Runner, collect, totals_of, value_text
from chatbi.answer.insight_decompose import Totals
from chatbi.answer.insight_grouped import GroupedRunner
from chatbi.answer.insight_plan import (
    ALERT_WINDOWS_SQL,
    AlertWindow,
    Cohort,
    InsightError,
    InsightPlan,
    Periods,
    choose_candidates,
    default_time_range,
    make_periods,
    match_alert,
    metric_shape,
)
from chatbi.answer.insight_text import MetricText, insight_chart, insight_facts, write_insight
from chatbi.answer.numbers import to_date
from chatbi.answer.types import Definition
from chatbi.planner.periods import relative_period
from chatbi.planner.types import WhyRequest
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import ComparisonKind, Filter, SemanticQuery, TimeRange
from chatbi.sql.policy import AccessPolicy, Role

__all__ = ["InsightError", "InsightResult", "detect_cohort", "explain_change", "time_was_given"]

FRAME_COLUMNS = (
    "rank", "dimension", "dimension_label", "segment", "value", "base", "current", "change",
    "weight_base", "weight_current", "rate_effect", "mix_effect", "contribution",
    "share_of_change", "excess", "dimension_score", "kind",
)
_NEW_USERS = re.compile(r"新用户|新客|新注册|新增用户|新买家|\bnew (?:users?|customers?|buyers?|sign-?ups?)\b",
                        re.IGNORECASE)
_NEW_USER_METRICS = re.compile(r"新用户数|新客数|新增用户数|新注册用户数|\bnumber of new users\b", re.IGNORECASE)


@dataclass
class InsightResult:
    """A why-analysis: the drivers frame, the SQL that ran, the chart, the checked finding.

    ``frame`` has one row per segment of every dimension analysed (``kind`` segment), plus a
    ``residual`` row per dimension when its segments overlap or were cut off, so that each
    dimension's ``contribution`` column adds up to ``change``. Segment rows are ranked by
    contribution within their dimension, dimensions by ``dimension_score`` (the largest
    ``excess`` in the direction of the change: how much more a segment moved than its size
    alone explains), so ``rank`` 1 is the top driver of the most explanatory dimension.
    """

    frame: pd.DataFrame
    sql: list[str]
    chart: dict[str, Any] | None
    finding: str
    query: SemanticQuery
    definitions: list[Definition]
    metric: str
    kind: str  # additive | ratio
    current: TimeRange
    base: TimeRange
    totals: Totals
    facts: Facts
    check: CheckResult
    cohort: Cohort = "all"
    notes: list[str] = field(default_factory=list)

    @property
    def change(self) -> float:
        return self.totals.change

    @property
    def sql_text(self) -> str:
        """Every statement, separated by a blank line (for ``Answer.sql``)."""
        return ";\n\n".join(self.sql)

    def drivers(self, n: int = 3) -> pd.DataFrame:
        """The first ``n`` segment rows by rank."""
        return self.frame[self.frame["kind"] == "segment"].head(n)

    def table(self) -> pd.DataFrame:
        """The columns worth showing in an answer table (ratio metrics add weights and effects)."""
        columns = ["rank", "dimension_label", "segment", "base", "current", "contribution",
                   "share_of_change"]
        if self.kind == "ratio":
            columns[5:5] = ["weight_base", "weight_current", "mix_effect", "rate_effect"]
        return self.frame.loc[:, columns]

    def time_text(self, language: str = "zh") -> str:
        if language == "en":
            return (f"{self.current.start} to {self.current.end} vs "
                    f"{self.base.start} to {self.base.end}")
        return f"{self.current.describe()}，对比 {self.base.describe()}"


def detect_cohort(question: str, plan: Any = None) -> Cohort:
    """``new_users`` when the question is about new users' behaviour (新用户转化率), not the
    new-user count metric (新用户数). The plan's ``why_request.cohort`` wins when the planner
    decided it; otherwise the question's words are read."""
    decided = getattr(getattr(plan, "why_request", None), "cohort", None)
    if decided in ("all", "new_users"):
        return decided  # type: ignore[no-any-return]
    text = question or ""
    if _NEW_USERS.search(_NEW_USER_METRICS.sub("", text)):
        return "new_users"
    return "all"


def _request(why: WhyRequest | SemanticQuery) -> tuple[str, TimeRange | None, ComparisonKind,
                                                      tuple[Filter, ...], list[str], str | None]:
    if isinstance(why, WhyRequest):
        return why.metric, why.time_range, why.comparison, tuple(why.filters), [], why.direction
    if not why.metrics:
        raise InsightError("请说明要分析哪个指标 / Which metric should be explained?")
    return (why.metrics[0], why.time_range, why.comparison or "previous_period", tuple(why.filters),
            [d for d in why.dimensions], None)


def _metric_text(catalog: Catalog, name: str, language: str, ratio: bool) -> MetricText:
    m = catalog.metric(name)
    label = (m.label_en or m.name) if language == "en" else m.label
    return MetricText(name=name, label=label, format=m.format, unit=m.unit,
                      higher_is_better=m.higher_is_better, ratio=ratio)


def _scope(catalog: Catalog, filters: Sequence[Filter], cohort: Cohort, language: str) -> str:
    parts = []
    for flt in filters:
        dim = catalog.get_dimension(flt.dimension)
        label = ((dim.label_en or dim.name) if language == "en" else dim.label) if dim else flt.dimension
        values = flt.value if isinstance(flt.value, list | tuple) else [flt.value]
        text = ("/" if language == "en" else "、").join(
            value_text(catalog, flt.dimension, v, language) for v in values)
        if flt.op in ("eq", "in"):
            parts.append(f"{label} = {text}" if language == "en" else f"{label}为{text}")
        else:
            parts.append(f"{label} {flt.op} {text}")
    if cohort == "new_users":
        parts.append("users who signed up in each period" if language == "en" else "期内新注册用户")
    return (", " if language == "en" else "、").join(parts)


def _dimension_score(frame: pd.DataFrame, change: float) -> float:
    """How much a dimension explains: its largest excess in the direction of the change."""
    rows = frame[frame["kind"] == "segment"]
    excess = pd.to_numeric(rows["excess"], errors="coerce").dropna()
    if change:
        excess = excess[excess * change > 0]
    return float(excess.abs().max()) if len(excess) else 0.0


def _rank(data: InsightData) -> pd.DataFrame:
    """Dimensions by explanatory score; within one, segments by absolute contribution."""
    if not data.dimensions:
        return pd.DataFrame(columns=list(FRAME_COLUMNS))
    change = data.totals.change
    scored = sorted(enumerate(data.dimensions),
                    key=lambda item: (-_dimension_score(item[1].frame, change), item[0]))
    parts = []
    for _, dim in scored:
        frame = dim.frame.copy()
        frame["dimension_score"] = _dimension_score(frame, change)
        segments = frame[frame["kind"] == "segment"]
        # Segments that moved with the change first (the finding's drivers), each part by size:
        # rank 1, the chart's first bar and the finding's main driver are the same segment.
        against = (pd.to_numeric(segments["contribution"], errors="coerce") * change <= 0) if change else False
        order = pd.DataFrame({"against": against, "size": -segments["contribution"].abs()}, index=segments.index)
        segments = segments.loc[order.sort_values(["against", "size"], kind="stable").index]
        parts += [segments, frame[frame["kind"] != "segment"]]
    out = pd.concat(parts, ignore_index=True)
    ranks: list[int | None] = []
    for kind in out["kind"]:
        ranks.append(len([r for r in ranks if r is not None]) + 1 if kind == "segment" else None)
    out["rank"] = pd.Series(ranks, dtype=object)
    return out.loc[:, list(FRAME_COLUMNS)]


def _month_label(start: date, language: str) -> str:
    return f"{start.year}-{start.month:02d}" if language == "en" else f"{start.year}年{start.month}月"


def _series_month(runner: Runner, metric: str, filters: tuple[Filter, ...], cohort: Cohort,
                  default: TimeRange, direction: str | None, language: str) -> TimeRange | None:
    """The month of the last twelve (up to the default window) in which the metric moved most,
    relatively, in the claimed direction against the month before — read from the monthly
    series in one guarded query. None without a direction, for the new-user cohort (its
    members change with the period, so a plain series is not the same metric) or on errors."""
    if direction is None or cohort != "all":
        return None
    end = default.end
    start = date(end.year - 1, end.month, 1)
    query = SemanticQuery(metrics=[metric], filters=list(filters), grain="month",
                          time_range=TimeRange(start=start, end=end))
    try:
        frame, _ = runner.frame(query)
    except Exception:  # noqa: BLE001 - the series is a hint; the default windows still apply
        return None
    if frame.empty or "month" not in frame.columns or metric not in frame.columns:
        return None
    series = frame.assign(month=[to_date(v) for v in frame["month"]]).dropna(subset=["month"])
    series = series.sort_values("month")
    values = pd.to_numeric(series[metric], errors="coerce").tolist()
    months = list(series["month"])
    best, best_move = None, 0.0
    for i in range(1, len(values)):
        before, now = values[i - 1], values[i]
        if not before or before != before or now != now:
            continue
        move = (now - before) / abs(before)
        if (move < 0 if direction == "down" else move > 0) and abs(move) > best_move:
            best, best_move = months[i], abs(move)
    if best is None:
        return None
    last = (date(best.year + (best.month == 12), best.month % 12 + 1, 1) - timedelta(days=1))
    return TimeRange(start=best, end=min(last, end), label=_month_label(best, language))


def _fallback_windows(default: TimeRange, as_of: date, language: str,
                      series: TimeRange | None = None) -> list[TimeRange]:
    """When the user gave no time: the default window, the month the series moved most in the
    claimed direction (else the month before the default) and the last full quarter; the
    one that moved most in the claimed direction is explained."""
    en = language == "en"
    windows = [default]
    if series is None:
        before = default.start - timedelta(days=1)
        series = TimeRange(start=before.replace(day=1), end=before, label=_month_label(before, language))
    windows.append(series)
    start, end = relative_period("quarter", -1, as_of)
    windows.append(TimeRange(start=start, end=end, label="last quarter" if en else "上个季度"))
    out: list[TimeRange] = []
    for window in windows:
        if all((w.start, w.end) != (window.start, window.end) for w in out):
            out.append(window)
    return out


def _alert_window(runner: Runner, metric: str, cohort: Cohort, filters: tuple[Filter, ...],
                  role: Role, language: str) -> AlertWindow | None:
    """The matching alert's period (guarded like the alert list; None without alerts)."""
    from chatbi.sql.engines import guard_options
    from chatbi.sql.guard import guard_sql

    try:
        guarded = guard_sql(ALERT_WINDOWS_SQL, runner.policy, role, **guard_options(runner.executor))
        frame = runner.executor.run(guarded.sql, max_rows=200).to_frame()
    except Exception:  # noqa: BLE001 - no alerts table (profiles not built) or not readable: no alert
        return None
    rows = [{k: (to_date(v) if k == "detected_at" else v) for k, v in r.items()} for r in frame.to_dict("records")]
    return match_alert(rows, metric=metric, cohort=cohort, filters=filters,
                       merchant_id=role.merchant_id if role.is_merchant else None, language=language)


def _alert_note(alert: AlertWindow, language: str) -> str:
    current, base = alert.current, alert.base
    if language == "en":
        return (f"No time was given: the period of alert #{alert.alert_id} is analysed "
                f"({current.start} to {current.end} vs {base.start} to {base.end}), as in the alert list.")
    return (f"未指定时间：按异常预警 #{alert.alert_id} 发现变化的时段分析"
            f"（{current.start} 至 {current.end}，对比 {base.start} 至 {base.end}），与预警列表一致。")


def _matches(totals: Totals, direction: str | None) -> bool:
    change = totals.change
    if direction is None or change != change:  # NaN: no data
        return direction is None
    return change < 0 if direction == "down" else change > 0


def _relative_move(totals: Totals) -> float:
    return abs(totals.change) / abs(totals.base) if totals.base else abs(totals.change)


def _choose_window(plans: list[InsightPlan], runner: Runner, direction: str | None
                   ) -> list[tuple[InsightPlan, Totals, Totals | None]]:
    """The windows tried, the chosen one last: of those that moved in the claimed direction,
    the one with the largest relative change (the move the user most likely means); the
    first window when none did."""
    tried = []
    for plan in plans:
        totals, weights = totals_of(plan, runner)
        tried.append((plan, totals, weights))
    matching = [t for t in tried if _matches(t[1], direction)]
    if not matching:
        return tried[:1]
    best = max(matching, key=lambda t: _relative_move(t[1]))
    return [t for t in tried if t is not best][:1] + [best] if best is not tried[0] else [best]


def _skipped_window(plan: InsightPlan, metric: MetricText, direction: str | None, language: str,
                    chosen: InsightPlan | None = None) -> str:
    """No time was given and the default window did not move as claimed: say so first, and
    name the period analysed instead (the one that moved most in the claimed direction)."""
    window = plan.periods.current
    when = describe_time(window.start, window.end, window.label, language)
    instead = chosen.periods.current.label if chosen is not None else None
    if language == "en":
        verb = "fall" if direction == "down" else "rise"
        return (f"No time was given; {metric.label} moved less (or did not {verb}) in {when}, so "
                f"{instead or 'the period'}, where it moved most, is analysed. ")
    verb = "下降" if direction == "down" else "上升"
    return f"未指定时间：{when}{metric.label}的{verb}不明显，以下分析{verb}更明显的{instead or '时段'}。"


def time_was_given(plan: Any) -> bool:
    """False when the planner defaulted the time range: ``why_request.time_defaulted``, or
    for plans without it the planner's note "未指定时间…/No time given…"."""
    why = getattr(plan, "why_request", None)
    if why is not None and hasattr(why, "time_defaulted"):
        return not why.time_defaulted
    notes = " ".join(getattr(plan, "notes", ()) or ())
    return not ("未指定时间" in notes or "No time given" in notes)


def explain_change(why: WhyRequest | SemanticQuery, *, layer: SemanticLayer, policy: AccessPolicy,
                   role: Role, executor: Any, as_of: date, language: str = "zh",
                   dimensions: Sequence[str] | None = None, cohort: Cohort = "all",
                   max_dimensions: int = 12, max_rows: int | None = None,
                   time_given: bool = True, catalog: Catalog | None = None) -> InsightResult:
    """Explain why ``why.metric`` changed between ``why.time_range`` and its comparison period.

    ``dimensions`` (the ones the user named; a ``SemanticQuery``'s own dimensions count too)
    replace the default candidates; ``cohort="new_users"`` restricts each period to the users
    who signed up in it (see ``detect_cohort``). With ``time_given=False`` (the planner defaulted
    the range, see ``time_was_given``) and a claimed direction (下降/上升), the default window and
    the last full quarter are compared and the one that moved most (relatively) in the claimed
    direction is explained; the finding says so when it is not the default.

    Raises ``InsightError`` when the metric cannot be decomposed (a snapshot, an average
    without weights); compile and guard errors of the overall query propagate unchanged.
    """
    catalog = catalog or Catalog(layer)
    lang = "en" if language == "en" else "zh"
    metric, time_range, comparison, filters, named, direction = _request(why)
    shape = metric_shape(catalog, metric, lang)
    if shape.time_dimension == "signup_date":
        cohort = "all"  # the metric itself counts sign-ups in the period
    time_range = time_range or default_time_range(as_of, lang)
    candidates, skipped = choose_candidates(catalog, shape, filters, requested=list(dimensions or named),
                                            cohort=cohort, max_dimensions=max_dimensions)
    runner = GroupedRunner(layer, policy, role, executor, as_of, max_rows or policy.max_rows)
    alert = None if time_given else _alert_window(runner, metric, cohort, filters, role, lang)
    if alert is not None:  # the alert's own window against the alert's own baseline: a rate as
        # it is, a sum as the baseline's daily average over the window's length (as the alert says)
        additive = shape.kind == "additive" and alert.base_scale != 1.0
        base = alert.scaled_base(lang) if additive else alert.base
        plans = [InsightPlan(shape=shape, periods=Periods(current=alert.current, base=base, comparison=comparison),
                             filters=filters, candidates=candidates, cohort=cohort, skipped=skipped,
                             base_scale=alert.base_scale if additive else 1.0)]
    else:
        windows = [time_range] if time_given or direction is None else _fallback_windows(
            time_range, as_of, lang, _series_month(runner, metric, filters, cohort, time_range, direction, lang))
        plans = [InsightPlan(shape=shape, periods=make_periods(w, comparison, lang), filters=filters,
                             candidates=candidates, cohort=cohort, skipped=skipped) for w in windows]
    if len(plans) == 1:  # one grouped scan per period answers every breakdown and the totals
        runner.expect(plans[0])
    tried = _choose_window(plans, runner, direction)  # several windows: their totals apart
    plan, totals, weights = tried[-1]
    if len(plans) > 1:  # then the breakdowns of the chosen window only (registering every
        # window's would serve a period two windows share from the other window's scan)
        runner.expect(plan, with_totals=False)
    periods = plan.periods
    data = collect(plan, runner, catalog, lang, (totals, weights))
    frame = _rank(data)
    text_metric = _metric_text(catalog, metric, lang, shape.kind == "ratio")
    scope = _scope(catalog, filters, cohort, lang)
    labels = [str(s) for s in frame["segment"].dropna()] + list(frame["dimension_label"].dropna().unique())
    labels += [text_metric.label, scope, periods.current.label or "", periods.base.label or "",
               RESIDUAL[lang]]
    facts = insight_facts(frame, data.totals, text_metric, current=periods.current, base=periods.base,
                          language=lang, labels=labels)
    finding = write_insight(frame, data.totals, text_metric, current=periods.current, base=periods.base,
                            language=lang, scope=scope, direction=direction)
    if len(tried) > 1:
        finding = _skipped_window(tried[0][0], text_metric, direction, lang, plan) + finding
        facts = dataclasses.replace(facts, windows=facts.windows + (
            (tried[0][0].periods.current.start, tried[0][0].periods.current.end),))
    check = check_finding(finding, facts)
    notes = list(data.notes)
    if not check.ok:  # a template bug: never show unchecked numbers
        notes.append(f"unchecked numbers removed: {', '.join(check.unmatched)}")
        finding = write_insight(frame, data.totals, text_metric, current=periods.current,
                                base=periods.base, language=lang, scope=scope, direction=direction,
                                with_drivers=False)
        check = check_finding(finding, facts)
    if len(tried) > 1:
        notes.append(_skipped_window(tried[0][0], text_metric, direction, lang, plan).strip())
    if alert is not None:
        notes.append(_alert_note(alert, lang))
    chart = insight_chart(frame, text_metric, current=periods.current, base=periods.base, language=lang)
    query = SemanticQuery(metrics=[metric], filters=list(filters), time_range=periods.current,
                          comparison=comparison)
    definitions = [catalog.metric_definition(metric)]
    if shape.weight_metric and shape.weight_metric != metric:
        definitions.append(catalog.metric_definition(shape.weight_metric))
    return InsightResult(
        frame=frame, sql=list(runner.sql), chart=chart, finding=finding, query=query,
        definitions=definitions, metric=metric, kind=shape.kind, current=periods.current,
        base=periods.base, totals=data.totals, facts=facts, check=check, cohort=cohort, notes=notes,
    )
