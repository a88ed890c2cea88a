"""Suggested next questions for an answered query, phrased as the planner's follow-ups.

Each suggestion is a follow-up the offline planner understands ("按月看", "只看女性",
"换成订单数", "and last year?"), chosen from what the current query does not do yet, so
clicking one always changes the previous question in a meaningful way.
"""

from __future__ import annotations

from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery

_ALTERNATIVE_METRIC = {"gmv": "order_count", "order_count": "gmv", "buyer_count": "gmv",
                       "avg_order_value": "gmv", "return_rate": "dispute_rate",
                       "dispute_rate": "return_rate", "net_sales": "gmv"}
MAX_SUGGESTIONS = 3


def suggest_followups(query: SemanticQuery, layer: SemanticLayer, language: str) -> list[str]:
    """Up to three follow-up questions that vary the query along unused axes."""
    zh = language != "en"
    metric_names = {m.name for m in layer.metrics}
    time_dims = {d.name for _, d in layer.all_dimensions() if d.type == "time"}
    suggestions: list[str] = []
    has_time_metric = any(getattr(layer.metric(m), "time_dimension", None) or m in _ALTERNATIVE_METRIC
                          for m in query.metrics if m in metric_names)
    if query.grain is None and has_time_metric and not set(query.dimensions) & time_dims:
        suggestions.append("按月看" if zh else "by month")
    if query.comparison is None and query.time_range is not None:
        suggestions.append("同比呢？" if zh else "and last year?")
    filtered = {f.dimension for f in query.filters}
    if "gender" not in filtered and "gender" not in query.dimensions:
        suggestions.append("只看女性" if zh else "only women")
    alternative = _ALTERNATIVE_METRIC.get(query.metrics[0])
    if alternative and alternative in metric_names:
        label = layer.metric(alternative)
        name = label.label if zh else (label.label_en or alternative)
        suggestions.append(f"换成{name}" if zh else f"show {name} instead")
    if "region" not in query.dimensions and "region" not in filtered:
        suggestions.append("按大区看" if zh else "by region")
    return suggestions[:MAX_SUGGESTIONS]
