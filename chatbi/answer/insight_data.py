"""Run a why-analysis: totals and per-dimension segments for both periods, then decompose.

Every statement is a ``SemanticQuery`` compiled by the semantic layer, guarded for the
caller's role and run by the executor; the guarded SQL of each is recorded in order.
A dimension the role may not read (e.g. profile columns for a merchant) or the compiler
cannot reach is skipped with a note instead of failing the whole answer.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from chatbi.answer.insight_decompose import Totals, decompose, overlap
from chatbi.answer.insight_plan import (
    MAX_OVERLAP,
    USER_COHORT,
    Candidate,
    InsightPlan,
    period_filters,
)
from chatbi.errors import CompileError, GuardError
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery, TimeRange
from chatbi.sql.engines import guard_options
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import AccessPolicy, Role

_COHORT_LABELS = {"zh": {"new": "期内新注册用户", "returning": "老用户"},
                  "en": {"new": "users who signed up in the period", "returning": "existing users"}}
_COHORT_DIM_LABEL = {"zh": "新老用户", "en": "new vs existing users"}
_UNKNOWN = {"zh": "未知", "en": "unknown"}
_BOOL = {"zh": ("是", "否"), "en": ("yes", "no")}
RESIDUAL = {"zh": "其他/重叠", "en": "other/overlap"}


@dataclass
class Runner:
    """Compile → guard → execute, recording the guarded SQL of every statement."""

    layer: SemanticLayer
    policy: AccessPolicy
    role: Role
    executor: Any
    as_of: date
    max_rows: int
    sql: list[str] = field(default_factory=list)

    def frame(self, query: SemanticQuery) -> tuple[pd.DataFrame, bool]:
        options = guard_options(self.executor)  # compiled and guarded for the engine
        compiled = compile_query(query, self.layer, as_of=self.as_of, dialect=options["engine"])
        policy = self.policy
        if policy.max_rows != self.max_rows:
            policy = dataclasses.replace(policy, max_rows=self.max_rows)
        guarded = guard_sql(compiled.sql, policy, self.role, **options)
        result = self.executor.run(guarded.sql, max_rows=self.max_rows)
        self.sql.append(guarded.sql)
        return result.to_frame(), bool(result.truncated)


@dataclass
class DimensionResult:
    """The decomposition of the change over one dimension's segments."""

    name: str
    label: str
    frame: pd.DataFrame
    overlap: float
    truncated: bool


@dataclass
class InsightData:
    """Totals of both periods and every dimension decomposed (or skipped, with a note)."""

    totals: Totals
    weights: Totals | None
    dimensions: list[DimensionResult]
    notes: list[str]


def _metrics(plan: InsightPlan) -> list[str]:
    shape = plan.shape
    return [shape.metric] + ([shape.weight_metric] if shape.weight_metric else [])


def _value(frame: pd.DataFrame, column: str | None) -> float:
    if column is None or frame.empty or column not in frame.columns:
        return math.nan
    value = pd.to_numeric(frame[column], errors="coerce").iloc[0]
    return float(value) if pd.notna(value) else math.nan


def _total(runner: Runner, plan: InsightPlan, period: TimeRange, segment: str | None = None
           ) -> tuple[float, float]:
    query = SemanticQuery(metrics=_metrics(plan), filters=period_filters(plan, period, segment),
                          time_range=period)
    frame, _ = runner.frame(query)
    return _value(frame, plan.shape.metric), _value(frame, plan.shape.weight_metric)


def value_text(catalog: Catalog, dimension: str, value: Any, language: str) -> str:
    """A segment value as words: 一线 for city tier 1, 是/否 for booleans, 未知 for NULL."""
    lang = "en" if language == "en" else "zh"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _UNKNOWN[lang]
    if isinstance(value, bool):
        return _BOOL[lang][0 if value else 1]
    dim = catalog.get_dimension(dimension)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if dim is not None and lang == "en" and text in dim.value_labels_en:  # 华东 → East China
        return dim.value_labels_en[text]
    if dim is not None and dim.value_labels:
        if lang == "zh":
            return dim.value_labels.get(text, text)
        if text in dim.value_labels and text.isdigit():  # "tier 1", never a bare number
            return f"{(dim.label_en or dim.name).split()[-1]} {text}"
    return text


def dimension_label(catalog: Catalog, name: str, language: str) -> str:
    if name == USER_COHORT:
        return _COHORT_DIM_LABEL["en" if language == "en" else "zh"]
    dim = catalog.get_dimension(name)
    if dim is None:
        return name
    return (dim.label_en or dim.name) if language == "en" else dim.label


def candidate_label(catalog: Catalog, cand: Candidate, language: str) -> str:
    """The dimension's label; a labelled id (merchant_id + merchant_name) takes the name's."""
    return dimension_label(catalog, cand.label_column or cand.name, language)


def _segments(runner: Runner, catalog: Catalog, plan: InsightPlan, cand: Candidate,
              language: str) -> tuple[pd.DataFrame, bool]:
    """Per segment: ``segment``, ``value`` (raw key), ``base``, ``current``, weights."""
    metric, weight = plan.shape.metric, plan.shape.weight_metric
    frames, truncated = [], False
    for period in (plan.periods.base, plan.periods.current):
        query = SemanticQuery(metrics=_metrics(plan), dimensions=cand.columns,
                              filters=period_filters(plan, period), time_range=period)
        frame, cut = runner.frame(query)
        truncated = truncated or cut
        frames.append(frame)
    if plan.shape.kind == "additive" and plan.base_scale != 1.0 and metric in frames[0].columns:
        frames[0] = frames[0].assign(**{metric: pd.to_numeric(frames[0][metric], errors="coerce")
                                        * plan.base_scale})
    keys = cand.columns
    base = frames[0].rename(columns={metric: "base", **({weight: "weight_base"} if weight else {})})
    cur = frames[1].rename(columns={metric: "current", **({weight: "weight_current"} if weight else {})})
    base_cols = keys + ["base"] + (["weight_base"] if weight else [])
    cur_cols = keys + ["current"] + (["weight_current"] if weight else [])
    merged = pd.merge(base[base_cols], cur[cur_cols], on=keys, how="outer", sort=False)
    merged["value"] = merged[cand.name]
    labels = []
    for _, row in merged.iterrows():
        text = value_text(catalog, cand.name, row[cand.name], language)
        if cand.label_column and pd.notna(row.get(cand.label_column)):
            text = f"{row[cand.label_column]}（ID {text}）" if language != "en" else f"{row[cand.label_column]} (ID {text})"
        labels.append(text)
    merged["segment"] = labels
    return merged, truncated


def _cohort_segments(runner: Runner, plan: InsightPlan, language: str) -> pd.DataFrame:
    """The computed ``user_cohort`` split: users new in each period vs existing users."""
    rows = []
    for key in ("new", "returning"):
        b_val, b_w = _total(runner, plan, plan.periods.base, key)
        c_val, c_w = _total(runner, plan, plan.periods.current, key)
        rows.append({"value": key, "segment": _COHORT_LABELS["en" if language == "en" else "zh"][key],
                     "base": plan.scaled_base(b_val), "current": c_val, "weight_base": b_w, "weight_current": c_w})
    return pd.DataFrame(rows)


def totals_of(plan: InsightPlan, runner: Runner) -> tuple[Totals, Totals | None]:
    """The metric (and, for ratios, the total weight) in the base and the current period."""
    b_val, b_w = _total(runner, plan, plan.periods.base)
    c_val, c_w = _total(runner, plan, plan.periods.current)
    return Totals(plan.scaled_base(b_val), c_val), (Totals(b_w, c_w) if plan.shape.kind == "ratio" else None)


def collect(plan: InsightPlan, runner: Runner, catalog: Catalog, language: str,
            known: tuple[Totals, Totals | None] | None = None) -> InsightData:
    """Totals (unless ``known``), then each candidate dimension decomposed."""
    lang = "en" if language == "en" else "zh"
    ratio = plan.shape.kind == "ratio"
    totals, weights = known or totals_of(plan, runner)
    b_val, c_val = totals.base, totals.current
    results: list[DimensionResult] = []
    notes: list[str] = []
    if math.isnan(b_val) or math.isnan(c_val):
        return InsightData(totals, weights, results, notes)
    for cand in plan.candidates:
        label = candidate_label(catalog, cand, language)
        try:
            if cand.name == USER_COHORT:
                segments, truncated = _cohort_segments(runner, plan, language), False
            else:
                segments, truncated = _segments(runner, catalog, plan, cand, language)
        except (GuardError, CompileError):
            notes.append(f"Skipped {label}: not available for this role or metric." if lang == "en"
                         else f"未按「{label}」拆分：当前角色或指标不支持。")
            continue
        if segments.empty:
            continue
        column, totals_w = ("weight_base", weights.base) if ratio and weights else ("base", totals.base)
        over = max(overlap(segments, column, totals_w),
                   overlap(segments, column.replace("base", "current"),
                           weights.current if ratio and weights else totals.current))
        if over > MAX_OVERLAP:
            notes.append(f"Skipped {label}: its segments overlap (one user or order falls in several)."
                         if lang == "en" else f"未按「{label}」拆分：分组之间重叠（同一用户/订单属于多个分组）。")
            continue
        frame = decompose(plan.shape.kind, segments, totals, residual_label=RESIDUAL[lang])
        frame.insert(0, "value", list(segments["value"]) + [None] * (len(frame) - len(segments)))
        frame.insert(0, "dimension_label", label)
        frame.insert(0, "dimension", cand.name)
        results.append(DimensionResult(cand.name, label, frame, over, truncated))
    return InsightData(totals, weights, results, notes)
