"""Charts: the right kind for each result shape, valid Vega-Lite v5 with inline data."""

from __future__ import annotations

import errno
import gzip
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest

from chatbi.answer.charts import (
    VEGA_LITE_SCHEMA,
    ChartExportError,
    build_chart,
    chart_png,
    chart_svg,
    choose_chart,
    make_chart,
)
from chatbi.answer.context import MetricMeta

from .helpers import THIS_YEAR, ctx, growth_frame, growth_query, ranking_frame, trend_frame

SCHEMA_FILE = Path(__file__).parent / "fixtures" / "vega-lite-v5.20.1.schema.json.gz"


@pytest.fixture(scope="module")
def v5() -> jsonschema.Draft7Validator:
    """The official Vega-Lite 5.20.1 JSON schema (from altair 5.5.0, BSD-3-Clause)."""
    return jsonschema.Draft7Validator(json.loads(gzip.decompress(SCHEMA_FILE.read_bytes())))


def _views(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The unit views of a spec (layers and concatenations flattened)."""
    out = []
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for child in spec.get(key, []):
            out.extend(_views(child))
    if "mark" in spec:
        out.append(spec)
    return out


def _encoding(spec: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """A view's encoding with the shared encoding of its layer parent."""
    return {**spec.get("encoding", {}), **view.get("encoding", {})}


def _mark(view: dict[str, Any]) -> str:
    return view["mark"]["type"] if isinstance(view["mark"], dict) else view["mark"]


def check_valid(spec: dict[str, Any], validator: jsonschema.Draft7Validator) -> None:
    """v5 $schema, data inline, valid against the v5 schema, renders with vl-convert."""
    assert spec["$schema"] == VEGA_LITE_SCHEMA and "/vega-lite/v5" in spec["$schema"]
    errors = [e.message[:300] for e in validator.iter_errors(spec)]
    assert not errors, errors
    assert "datasets" not in spec
    assert isinstance(spec["data"]["values"], list) and spec["data"]["values"]
    json.dumps(spec, allow_nan=False)  # plain JSON: no NaN, no dates, no code
    assert chart_svg(spec).lstrip().startswith("<svg")


def test_altair_emits_v6_so_specs_are_stamped_v5(v5: jsonschema.Draft7Validator) -> None:
    import altair as alt

    raw = alt.Chart(alt.Data(values=[{"a": 1}])).mark_bar().encode(x="a:Q").to_dict()
    assert "/v6" in raw["$schema"]  # why the stamp exists; if altair changes, revisit
    spec = make_chart(ranking_frame(), ctx(dimensions=["region"]))
    check_valid(spec, v5)


def test_single_value_is_a_big_number_card_with_the_comparison(v5: jsonschema.Draft7Validator) -> None:
    frame = pd.DataFrame({"gmv": [5_012_345.0], "gmv_previous": [4_500_000.0],
                          "gmv_growth": [5_012_345 / 4_500_000 - 1]})
    c = ctx(comparison="same_period_last_year")
    assert choose_chart(frame, c).kind == "big_number"
    spec = make_chart(frame, c)
    check_valid(spec, v5)
    assert {_mark(v) for v in _views(spec)} == {"text"}
    card = spec["data"]["values"][0]
    assert card["value_text"] == "¥501.2万"
    assert card["comparison_text"] == "同比 +11.4%（上期 ¥450.0万）" and card["direction"] == "good"


def test_time_series_is_a_line_and_series_get_colours(v5: jsonschema.Draft7Validator) -> None:
    c = ctx(time_range=THIS_YEAR, dimensions=["order_date"], grain="month")
    spec = make_chart(trend_frame(), c)
    check_valid(spec, v5)
    assert _mark(spec) == "line"
    enc = spec["encoding"]
    assert enc["x"]["field"] == "month" and enc["x"]["type"] == "temporal"
    assert enc["x"]["timeUnit"] == "utcyearmonth" and enc["x"]["axis"]["format"] == "%Y-%m"
    assert enc["y"]["field"] == "gmv" and "color" not in enc
    assert spec["data"]["values"][0]["month"] == "2026-01-01"
    multi = pd.DataFrame({"quarter": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 4, 1), date(2026, 4, 1)],
                          "region": ["华东", "华南"] * 2, "gmv": [1e6, 8e5, 1.2e6, 7e5]})
    spec = make_chart(multi, ctx(time_range=THIS_YEAR, dimensions=["order_date", "region"], grain="quarter"))
    check_valid(spec, v5)
    assert spec["encoding"]["color"]["field"] == "region"
    assert spec["encoding"]["x"]["axis"]["format"] == "%Y年Q%q"


def test_many_series_are_cut_to_the_top_eight_with_a_note() -> None:
    frame = pd.DataFrame([{"month": date(2026, m, 1), "merchant": f"m{i}", "gmv": float(i * 10 + m)}
                          for i in range(12) for m in (1, 2)])
    result = build_chart(frame, ctx(time_range=THIS_YEAR, dimensions=["order_date", "merchant"], grain="month"))
    series = {row["merchant"] for row in result.spec["data"]["values"]}
    assert len(series) == 9 and "其他" in series  # 8 + 其他 (GMV adds up)
    assert result.notes


def test_ranking_is_a_sorted_horizontal_bar_with_wan_axis(v5: jsonschema.Draft7Validator) -> None:
    c = ctx(dimensions=["region"])
    assert choose_chart(ranking_frame(), c).kind == "bar"
    spec = make_chart(ranking_frame(), c)
    check_valid(spec, v5)
    enc = spec["encoding"]
    assert _mark(spec) == "bar"
    assert enc["y"]["field"] == "region" and enc["y"]["type"] == "nominal" and enc["y"]["sort"] == "-x"
    assert enc["x"]["field"] == "gmv" and enc["x"]["type"] == "quantitative"
    assert enc["x"]["axis"]["title"] == "销售额（元）" and "万" in enc["x"]["axis"]["labelExpr"]
    assert spec["title"]["subtitle"] == "上个季度（2026-04-01 至 2026-06-30）"
    en = make_chart(ranking_frame(), ctx("en", dimensions=["region"]))
    assert en["encoding"]["x"]["axis"]["title"] == "GMV (¥)" and "'M'" in en["encoding"]["x"]["axis"]["labelExpr"]
    assert en["encoding"]["y"]["title"] == "Region"


def test_long_rankings_draw_the_largest_thirty_bars() -> None:
    frame = pd.DataFrame({"merchant": [f"m{i}" for i in range(40)], "gmv": np.arange(40.0)})
    result = build_chart(frame, ctx(dimensions=["merchant"], limit=40))
    assert len(result.spec["data"]["values"]) == 30 and result.notes
    assert min(r["gmv"] for r in result.spec["data"]["values"]) == 10.0


def test_share_of_total_is_a_donut_of_eight_slices_and_other(v5: jsonschema.Draft7Validator) -> None:
    frame = pd.DataFrame({"category": [f"品类{i}" for i in range(12)], "gmv": np.linspace(1e6, 1e5, 12)})
    frame["gmv_share"] = frame.gmv / frame.gmv.sum()
    c = ctx(dimensions=["category"], share_of_total=True)
    assert choose_chart(frame, c).kind == "donut"
    spec = make_chart(frame, c)
    check_valid(spec, v5)
    views = _views(spec)
    assert _mark(views[0]) == "arc"
    enc = _encoding(spec, views[0])
    assert enc["theta"]["field"] == "gmv" and enc["color"]["field"] == "category"
    rows = spec["data"]["values"]
    assert len(rows) == 9 and rows[-1]["category"] == "其他"
    assert sum(r["gmv"] for r in rows) == pytest.approx(frame.gmv.sum())
    assert sum(r["gmv_share"] for r in rows) == pytest.approx(1.0)


def test_share_by_two_dimensions_is_a_normalised_stacked_bar(v5: jsonschema.Draft7Validator) -> None:
    frame = pd.DataFrame({"region": ["华东"] * 3 + ["华南"] * 3, "category": ["包", "表", "家居"] * 2,
                          "gmv": [5.0, 3, 2, 4, 4, 2]})
    frame["gmv_share"] = frame.gmv / frame.gmv.sum()
    c = ctx(dimensions=["region", "category"], share_of_total=True)
    assert choose_chart(frame, c).kind == "stacked_bar"
    spec = make_chart(frame, c)
    check_valid(spec, v5)
    assert _mark(spec) == "bar" and spec["encoding"]["x"]["stack"] == "normalize"
    assert spec["encoding"]["color"]["field"] == "category"


def test_two_measures_are_a_scatter(v5: jsonschema.Draft7Validator) -> None:
    frame = pd.DataFrame({"region": list("abcd"), "gmv": [1e5, 2e5, 3e5, 4.4e5], "orders": [10, 21, 29, 41]})
    c = ctx(metrics=["gmv", "orders"], dimensions=["region"])
    assert choose_chart(frame, c).kind == "scatter"
    spec = make_chart(frame, c)
    check_valid(spec, v5)
    points = [v for v in _views(spec) if _mark(v) == "circle"]
    enc = _encoding(spec, points[0])
    assert enc["x"]["field"] == "gmv" and enc["y"]["field"] == "orders"
    assert enc["y"]["axis"]["title"] == "订单数（单）"


def test_many_values_without_a_ranking_are_a_histogram(v5: jsonschema.Draft7Validator) -> None:
    frame = pd.DataFrame({"merchant": [f"M{i:03d}" for i in range(80)],
                          "gmv": np.random.default_rng(1).gamma(2, 5000, 80)})
    c = ctx(dimensions=["merchant"])
    assert choose_chart(frame, c).kind == "histogram"
    spec = make_chart(frame, c)
    check_valid(spec, v5)
    assert _mark(spec) == "bar"
    assert spec["encoding"]["x"]["bin"] and spec["encoding"]["y"]["aggregate"] == "count"
    assert spec["encoding"]["y"]["title"] == "商户数"


def test_growth_is_a_sorted_diverging_bar(v5: jsonschema.Draft7Validator) -> None:
    c = ctx(**growth_query())
    assert choose_chart(growth_frame(), c).kind == "diverging_bar"
    spec = make_chart(growth_frame(), c)
    check_valid(spec, v5)
    bars = next(v for v in _views(spec) if _mark(v) == "bar")
    assert bars["encoding"]["x"]["field"] == "gmv_growth" and bars["encoding"]["y"]["sort"] == "-x"
    scale = bars["encoding"]["color"]["scale"]
    assert scale["domain"] == ["增长", "下降"] and scale["range"][0] != scale["range"][1]
    directions = {r["category"]: r["direction"] for r in spec["data"]["values"]}
    assert directions == {"中古包": "增长", "腕表": "增长", "家居": "下降"}
    assert any(_mark(v) == "rule" for v in _views(spec))  # the zero line
    # for a metric where lower is better, growth takes the "bad" colour
    worse = ctx(**{**growth_query(), "metrics": ["dispute_orders"]})
    frame = growth_frame().rename(columns=lambda c: c.replace("gmv", "dispute_orders"))
    bars_bad = next(v for v in _views(make_chart(frame, worse)) if _mark(v) == "bar")
    assert bars_bad["encoding"]["color"]["scale"]["range"] == scale["range"][::-1]


def test_no_chart_for_empty_or_non_numeric_results_with_a_note() -> None:
    empty = build_chart(pd.DataFrame({"gmv": []}), ctx())
    assert empty.spec is None and empty.choice.kind == "none" and "查询结果为空" in empty.notes[0]
    names = build_chart(pd.DataFrame({"merchant": ["a", "b"]}), ctx("en", dimensions=["merchant"]))
    assert names.spec is None and names.notes[0].startswith("No chart:")
    assert make_chart(pd.DataFrame({"gmv": []}), ctx()) is None


def test_unknown_metrics_still_chart_with_their_names(v5: jsonschema.Draft7Validator) -> None:
    from chatbi.answer.context import ChartContext
    from chatbi.semantic.query import SemanticQuery

    c = ChartContext(query=SemanticQuery(metrics=["x"], dimensions=["k"]), language="en")
    spec = make_chart(pd.DataFrame({"k": ["a", "b"], "x": [1.0, None]}), c)
    check_valid(spec, v5)
    assert spec["data"]["values"][1]["x"] is None


def test_chart_png_writes_the_file(tmp_path: Path) -> None:
    spec = make_chart(ranking_frame(), ctx("en", dimensions=["region"]))
    out = chart_png(spec, tmp_path / "sub" / "chart.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["chart.png"]


def test_chart_png_reports_write_failures_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make_chart(ranking_frame(), ctx("en", dimensions=["region"]))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ChartExportError) as info:
        chart_png(spec, blocker / "chart.png")  # the "folder" is a file
    assert "Could not save the chart image" in info.value.message and info.value.code == "chart_export_failed"

    def full_disk(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(ChartExportError) as info:
        chart_png(spec, tmp_path / "chart.png")
    assert "磁盘空间不足" in info.value.message and "disk is full" in info.value.message
    assert list(tmp_path.glob("*.tmp")) == [] and not (tmp_path / "chart.png").exists()


def test_a_broken_spec_is_a_clear_error() -> None:
    with pytest.raises(ChartExportError):
        chart_svg({"$schema": VEGA_LITE_SCHEMA, "mark": "bar", "data": {"values": [{"a": 1}]},
                   "encoding": {"x": {"field": "a", "type": "no-such-type"}}})


def test_metric_meta_from_layer() -> None:
    from chatbi.semantic.models import Measure, Metric, SemanticLayer, SemanticModel

    layer = SemanticLayer(
        models=[SemanticModel(name="orders", table="orders", measures=[
            Measure(name="gmv_sum", agg="sum", expr="amount"),
            Measure(name="buyers", agg="count_distinct", expr="user_id")])],
        metrics=[Metric(name="gmv", label="销售额", label_en="GMV", measure="gmv_sum", format="currency"),
                 Metric(name="buyers", label="买家数", measure="buyers", format="integer"),
                 Metric(name="aov", label="客单价", type="ratio", numerator="gmv_sum",
                        denominator="buyers", format="currency")])
    metas = MetricMeta.from_layer(layer)
    assert metas["gmv"].additive and not metas["buyers"].additive and not metas["aov"].additive
    assert metas["gmv"].title("en") == "GMV" and metas["buyers"].title("en") == "buyers"


def test_a_rate_by_two_dimensions_is_never_stacked(v5: jsonschema.Draft7Validator) -> None:
    """Stacking conversion rates would draw their meaningless sum: bars side by side instead."""
    frame = pd.DataFrame({"region": ["华东"] * 3 + ["华南"] * 3, "category": ["包", "表", "家居"] * 2,
                          "conversion_rate": [0.31, 0.25, 0.2, 0.28, 0.33, 0.19]})
    c = ctx(metrics=["conversion_rate"], dimensions=["region", "category"])
    spec = make_chart(frame, c)
    check_valid(spec, v5)
    encoding = spec["encoding"]
    assert encoding["x"]["stack"] is None and "aggregate" not in encoding["x"]
    assert encoding["yOffset"]["field"] == "category"
    additive = make_chart(frame.rename(columns={"conversion_rate": "gmv"}), ctx(dimensions=["region", "category"]))
    assert additive["encoding"]["x"]["stack"] == "zero"
