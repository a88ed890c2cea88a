"""Answer "最近有哪些异常？": the anomalies the profile build detected (the ``alerts`` table).

One guarded statement lists the alerts newest first and, on the same day, severest first
(high, medium, low; then by alert id, which the build assigns by severity and z-score). The
guard filters rows for the role: a ``merchant:<id>`` role sees only alerts about its own shop.
A second guarded statement counts all alerts by severity, so the finding can say how many
there are even when only ``limit`` are listed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from chatbi.answer.charts import VEGA_LITE_SCHEMA, WIDTH
from chatbi.answer.facts import FactNumber, Facts
from chatbi.answer.findings import check_finding
from chatbi.answer.fonts import FONT_STACK
from chatbi.answer.labels import cell_words
from chatbi.answer.numbers import format_money, format_percent, to_date
from chatbi.answer.types import json_value
from chatbi.profiles.merchants import MERCHANT_TAGS
from chatbi.sql.engines import guard_options
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import AccessPolicy, Role

if TYPE_CHECKING:
    from chatbi.semantic.models import SemanticLayer

__all__ = ["ALERTS_SQL", "answer_alerts", "alerts_sql", "is_alerts_question"]

SEVERITY_ORDER = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END"
ALERTS_SQL = (
    "SELECT alert_id, detected_at, severity, entity_type, entity_id, metric, value, baseline, message "
    f"FROM alerts ORDER BY detected_at DESC, {SEVERITY_ORDER}, alert_id"
)
COUNT_SQL = (
    "SELECT count(*) AS alerts, count(*) FILTER (WHERE severity = 'high') AS high, "
    "count(*) FILTER (WHERE severity = 'medium') AS medium, "
    "count(*) FILTER (WHERE severity = 'low') AS low, max(detected_at) AS latest FROM alerts"
)
SEVERITY_WORDS = {"high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low")}
SEVERITY_COLOURS = {"high": "#d62828", "medium": "#f77f00", "low": "#fcbf49"}
METRIC_WORDS = {
    "dispute_rate": ("纠纷率", "dispute rate"), "return_rate": ("退货率", "return rate"),
    "new_user_conversion_rate": ("新用户转化率", "new-user conversion rate"), "gmv": ("GMV", "GMV"),
}
ENTITY_WORDS = {"merchant": ("商户", "merchant"), "region": ("大区", "region"),
                "channel": ("渠道", "channel"), "category": ("品类", "category")}
MENTIONED = 3
_NUMERIC = re.compile(r"[+\-]?[\d,]*\.?\d+")
_QUESTION = re.compile(
    r"异常|预警|告警|警报|anomal|\balerts?\b|\bwarnings?\b", re.IGNORECASE)
_NOT_A_LIST = re.compile(r"为什么|为何|原因|\bwhy\b|\bcause", re.IGNORECASE)


def is_alerts_question(question: str) -> bool:
    """True for questions asking which anomalies were detected (最近有哪些异常？/ any alerts?),
    not for why-questions that merely use the word (为什么纠纷率异常升高), nor for questions
    about a tag whose name holds the word (差评预警 is a merchant tag, not an alert)."""
    text = question or ""
    for tag in MERCHANT_TAGS:
        text = text.replace(tag, " ")
    return bool(_QUESTION.search(text)) and not _NOT_A_LIST.search(text)


def alerts_sql(limit: int) -> str:
    return f"{ALERTS_SQL} LIMIT {int(limit)}"


def _relative(value: Any, baseline: Any) -> float | None:
    try:
        v, b = float(value), float(baseline)
    except (TypeError, ValueError):
        return None
    return v / b - 1 if b else None


def _value_text(metric: str, value: Any, language: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    if metric.endswith("_rate"):
        return format_percent(value)
    if metric in ("gmv",):
        return format_money(value, language)
    return f"{float(value):,.2f}"


def _words(row: pd.Series, layer: SemanticLayer | None) -> tuple[tuple[str, str], str, tuple[str, str]]:
    """(entity type words, entity id words, metric words) as (中文, English) pairs; the id in
    the layer's words when a layer is given (华南/抖音 → South China/Douyin in English)."""
    entity = ENTITY_WORDS.get(str(row["entity_type"]), (str(row["entity_type"]),) * 2)
    label = METRIC_WORDS.get(str(row["metric"]), (str(row["metric"]),) * 2)
    if layer is None:
        return entity, str(row["entity_id"]), label
    columns, values = list(row.index), list(row.values)
    pair = [tuple(cell_words(columns, values, c, layer, lang) for lang in ("zh", "en"))
            for c in ("entity_type", "metric")]
    ids = (cell_words(columns, values, "entity_id", layer, "zh"), cell_words(columns, values, "entity_id", layer, "en"))
    return pair[0], ids, pair[1]  # type: ignore[return-value]


def _describe(row: pd.Series, language: str, layer: SemanticLayer | None = None) -> str:
    """One alert in words: the build's own message (Chinese), or a structured English line."""
    if language != "en" and isinstance(row["message"], str) and row["message"].strip():
        return row["message"].strip()
    metric = str(row["metric"])
    entity, ids, label = _words(row, layer)
    entity_id = ids[1 if language == "en" else 0] if isinstance(ids, tuple) else ids
    if language == "en":
        return (f"{entity[1]} {entity_id}: {label[1]} {_value_text(metric, row['value'], 'en')} "
                f"vs baseline {_value_text(metric, row['baseline'], 'en')} ({row['severity']})")
    return (f"{entity[0]} {entity_id} 的{label[0]}为 {_value_text(metric, row['value'], 'zh')}，"
            f"基线 {_value_text(metric, row['baseline'], 'zh')}")


def _facts(frame: pd.DataFrame, counts: dict[str, int], described: list[str], language: str) -> Facts:
    numbers = [FactNumber(float(v), "amount") for v in counts.values()]
    for column in ("value", "baseline"):
        for v in pd.to_numeric(frame[column], errors="coerce").dropna():
            numbers += [FactNumber(float(v), "amount"), FactNumber(float(v), "ratio")]
    days = [d for d in (to_date(v) for v in frame["detected_at"]) if d]
    ids = [str(e) for e in frame["entity_id"]]
    numbers += [FactNumber(float(e), "amount") for e in ids if _NUMERIC.fullmatch(e.strip())]
    labels = tuple(sorted({t for t in described + ids if t and not _NUMERIC.fullmatch(t.strip())},
                          key=len, reverse=True))
    return Facts(language=language, shape="alerts", row_count=len(frame), numbers=tuple(numbers),
                 labels=labels, windows=tuple((d, d) for d in days),
                 counts=tuple(sorted(set(counts.values()) | {len(frame), MENTIONED})),
                 rank_max=len(frame))


def _finding(frame: pd.DataFrame, counts: dict[str, int], role: Role, language: str,
             layer: SemanticLayer | None = None) -> str:
    en = language == "en"
    total = counts.get("alerts", 0)
    whose = ("your shop" if en else "你的店铺") if role.is_merchant else None
    if total == 0:
        if en:
            return f"No anomaly alerts{' for ' + whose if whose else ''} in the latest profile build."
        return f"最近一次画像构建没有发现{whose + '的' if whose else ''}异常预警。"
    latest = to_date(frame["detected_at"].iloc[0]) if len(frame) else None
    day = latest.isoformat() if latest else ""
    top = [_describe(row, language, layer) for _, row in frame.head(MENTIONED).iterrows()]
    sev = [(k, counts.get(k, 0)) for k in ("high", "medium", "low") if counts.get(k, 0)]
    if en:
        split = ", ".join(f"{n} {SEVERITY_WORDS[k][1]}" for k, n in sev)
        head = (f"{total} anomaly alert{'s' if total != 1 else ''}{' for ' + whose if whose else ''} "
                f"as of {day} ({split}).")
        return head + " Most severe: " + "; ".join(top) + "."
    split = "、".join(f"{SEVERITY_WORDS[k][0]} {n} 条" for k, n in sev)
    head = f"截至 {day}，{whose + '共有' if whose else '共有'} {total} 条异常预警（{split}）。"
    return head + "最需要关注的是：" + "；".join(top) + "。"


def _chart(frame: pd.DataFrame, language: str, layer: SemanticLayer | None = None) -> dict[str, Any] | None:
    """Each alert's change against its baseline (value ÷ baseline − 1), coloured by severity."""
    import altair as alt  # only alert questions draw this chart

    rows = frame[frame["change_vs_baseline"].notna()]
    if rows.empty:
        return None
    en = language == "en"
    records = []
    for _, row in rows.iterrows():
        entity, ids, metric = _words(row, layer)
        entity_id = ids[1 if en else 0] if isinstance(ids, tuple) else ids
        records.append({
            "alert": (f"{entity[1]} {entity_id} · {metric[1]}" if en
                      else f"{entity[0]} {entity_id} · {metric[0]}"),
            "change": json_value(row["change_vs_baseline"]),
            "severity": SEVERITY_WORDS.get(str(row["severity"]), (str(row["severity"]),) * 2)[1 if en else 0],
        })
    domain = [w[1 if en else 0] for w in SEVERITY_WORDS.values()]
    x_title = "Change vs baseline" if en else "较基线变化"
    chart = alt.Chart(alt.Data(values=records)).mark_bar().encode(
        x=alt.X("change:Q", axis=alt.Axis(title=x_title, format="+.0%")),
        y=alt.Y("alert:N", sort=None, title=None, axis=alt.Axis(labelLimit=320)),  # whole names
        color=alt.Color("severity:N", title="Severity" if en else "级别",
                        scale=alt.Scale(domain=domain, range=list(SEVERITY_COLOURS.values()))),
        tooltip=[alt.Tooltip("alert:N", title="Alert" if en else "预警"),
                 alt.Tooltip("change:Q", title=x_title, format="+.1%"),
                 alt.Tooltip("severity:N", title="Severity" if en else "级别")],
    )
    rule = alt.Chart(alt.Data(values=records)).mark_rule(color="#333").encode(x=alt.datum(0))
    title = "Anomaly alerts" if en else "异常预警"
    spec = alt.layer(chart, rule).properties(
        width=WIDTH, height=max(120, 22 * len(records)),
        title=alt.TitleParams(text=title, anchor="start"),
    ).configure(font=FONT_STACK).configure_view(stroke=None).to_dict()
    spec["$schema"] = VEGA_LITE_SCHEMA
    return spec


def answer_alerts(*, executor: Any, policy: AccessPolicy, role: Role, language: str = "zh",
                  limit: int = 20, layer: SemanticLayer | None = None
                  ) -> tuple[pd.DataFrame, str, dict[str, Any] | None]:
    """The latest alerts (newest, then severest first), a finding and a chart; with ``layer``
    the entities and metrics are worded as the answer's table words them (``chatbi.answer.labels``).

    Returns ``(frame, finding, chart)``; the frame's columns are the alert's own plus
    ``change_vs_baseline`` (value ÷ baseline − 1). ``sql_for_alerts`` gives the SQL shown.
    """
    lang = "en" if language == "en" else "zh"
    limit = max(1, int(limit))
    options = guard_options(executor, read="duckdb")  # DuckDB text, written for the engine
    listed = guard_sql(alerts_sql(limit), policy, role, **options)
    result = executor.run(listed.sql, max_rows=limit)
    frame = result.to_frame()
    if frame.empty:
        frame = pd.DataFrame(columns=result.columns)
    frame["change_vs_baseline"] = [_relative(v, b) for v, b in zip(frame["value"], frame["baseline"],
                                                                   strict=True)]
    counted = guard_sql(COUNT_SQL, policy, role, **options)
    count_row = executor.run(counted.sql, max_rows=1).to_frame()
    counts = {k: int(count_row[k].iloc[0] or 0) for k in ("alerts", "high", "medium", "low")}
    finding = _finding(frame, counts, role, lang, layer)
    described = [_describe(row, lang, layer) for _, row in frame.head(MENTIONED).iterrows()]
    check = check_finding(finding, _facts(frame, counts, described, lang))
    if not check.ok:  # never state a number the data did not produce
        finding = _finding(frame.iloc[0:0], {"alerts": 0}, role, lang) if not counts["alerts"] else (
            f"{counts['alerts']} alerts." if lang == "en" else f"共有 {counts['alerts']} 条异常预警。")
    return frame, finding, _chart(frame, lang, layer)


def sql_for_alerts(policy: AccessPolicy, role: Role, limit: int = 20, executor: Any = None) -> list[str]:
    """The guarded statements ``answer_alerts`` runs (for "show your work"), for ``executor``'s engine."""
    options = guard_options(executor, read="duckdb")
    return [guard_sql(alerts_sql(limit), policy, role, **options).sql,
            guard_sql(COUNT_SQL, policy, role, **options).sql]
