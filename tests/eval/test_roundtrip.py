"""The round-trip generator (issue 16 §4): sampled queries are valid, the comparison can fail,
and a small run completes with rates."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from chatbi.eval.roundtrip import (
    Renderer,
    Sampler,
    Spec,
    chinese_homophone,
    compare,
    compile_check,
    english_typo,
    format_report,
    roundtrip_command,
    run_on_pipeline,
    time_phrases,
)
from chatbi.planner.types import Plan
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.query import Filter, OrderBy, SemanticQuery, TimeRange


@pytest.fixture(scope="module")
def parts(tiny_pipeline):
    return tiny_pipeline.layer, tiny_pipeline.dimension_values(), tiny_pipeline.default_as_of()


def test_sampled_queries_compile_and_run(tiny_pipeline, parts):
    layer, values, as_of = parts
    sampler = Sampler(layer, values, as_of, random.Random(5), check=compile_check(layer, as_of))
    seen = set()
    for _ in range(40):
        spec = sampler.sample()
        query = spec.query()
        seen.add(spec.construction)
        if spec.filter_dim:
            assert spec.filter_value in values[spec.filter_dim]  # a real value of the warehouse
            assert sampler.compat.can_use(spec.metric, spec.filter_dim)
        if spec.dimension:
            assert sampler.compat.can_use(spec.metric, spec.dimension)
        compiled = compile_query(query, layer, as_of=as_of)
        tiny_pipeline.executor.run(compiled.sql, max_rows=50)  # runs on the warehouse
    assert seen == {"total", "breakdown", "top", "trend"}


def test_time_phrases_mean_calendar_periods():
    phrases = {p.key: p for p in time_phrases(date(2026, 9, 30))}
    assert (phrases["last_month"].start, phrases["last_month"].end) == (date(2026, 8, 1), date(2026, 8, 31))
    assert (phrases["last_quarter"].start, phrases["last_quarter"].end) == (date(2026, 4, 1), date(2026, 6, 30))
    assert (phrases["this_year"].start, phrases["this_year"].end) == (date(2026, 1, 1), date(2026, 9, 30))
    assert (phrases["last_week"].start, phrases["last_week"].end) == (date(2026, 9, 21), date(2026, 9, 27))
    assert phrases["quarter"].end < phrases["last_quarter"].start  # absolute periods are over


def _plan(query: SemanticQuery | None, intent: str = "query") -> Plan:
    return Plan(intent=intent, language="zh", query=query)  # type: ignore[arg-type]


def test_compare_detects_changed_metric_filter_time_and_ranking():
    base = SemanticQuery(
        metrics=["gmv"], dimensions=["category"], filters=[Filter(dimension="region", value="华东")],
        time_range=TimeRange(start=date(2026, 8, 1), end=date(2026, 8, 31), label="上个月"),
        order_by=[OrderBy(field="gmv", descending=True)], limit=5,
    )
    relabelled = base.with_changes(time_range=TimeRange(start=date(2026, 8, 1), end=date(2026, 8, 31), label="last month"))
    assert compare(base, _plan(relabelled)) == ("match", [])
    in_list = base.with_changes(filters=[Filter(dimension="region", op="in", value=["华东"])])
    assert compare(base, _plan(in_list))[0] == "match"
    changes = {
        "metrics": base.with_changes(metrics=["order_count"]),
        "filters": base.with_changes(filters=[Filter(dimension="region", value="华南")]),
        "time": base.with_changes(time_range=TimeRange(start=date(2026, 7, 1), end=date(2026, 9, 30))),
        "limit": base.with_changes(limit=None),
        "order": base.with_changes(order_by=[OrderBy(field="gmv", descending=False)]),
        "dimensions": base.with_changes(dimensions=["category", "region"]),
        "grain": base.with_changes(grain="month"),
    }
    for kind, changed in changes.items():
        outcome, diffs = compare(base, _plan(changed))
        assert outcome == "mismatch", kind
        assert diffs[0].startswith(kind), diffs
    assert compare(base, _plan(None, "clarify"))[0] == "clarified"
    assert compare(base, _plan(None, "refuse"))[0] == "refused"
    assert compare(base, _plan(None, "definition"))[0] == "mismatch"
    # only when equivalence is confirmed does a different filter count as a match
    other = base.with_changes(filters=[Filter(dimension="region", value="华南")])
    assert compare(base, _plan(other), equivalent=lambda a, b: True)[0] == "match"
    assert compare(base, _plan(other), equivalent=lambda a, b: False)[0] == "mismatch"
    dropped = base.with_changes(filters=[])  # a dropped filter is never equivalent
    assert compare(base, _plan(dropped), equivalent=lambda a, b: True)[0] == "mismatch"


def test_rendering_uses_layer_words_and_typos(parts):
    layer, values, as_of = parts
    renderer = Renderer(layer, values, random.Random(3))
    phrase = next(p for p in time_phrases(as_of) if p.key == "last_month")
    spec = Spec(construction="top", metric="gmv", dimension="category", filter_dim="region",
                filter_value=values["region"][0], time=phrase, top_n=5, descending=True)
    gmv = layer.metric("gmv")
    words = {gmv.label, *gmv.synonyms}
    for language in ("zh", "en"):
        for _ in range(10):
            text = renderer.render(spec, language).question
            assert any(w in text for w in words), text
            assert values["region"][0] in text
            assert any(p in text for p in getattr(phrase, language))
    rng = random.Random(1)
    assert english_typo("category", rng) != "category"
    pytest.importorskip("pypinyin")
    typo = chinese_homophone("大区", rng)
    assert typo is not None and typo != "大区" and len(typo) == 2


def test_small_run_reports_rates(tiny_pipeline, capsys):
    report = run_on_pipeline(tiny_pipeline, n=40, seed=1, typo_share=0.3)
    overall = report["overall"]
    assert overall["n"] == 40
    assert sum(overall[k] for k in ("match", "mismatch", "clarified", "refused", "error")) == 40
    assert 0 <= overall["match_rate"] <= 1 and 0 <= overall["mismatch_rate"] <= 1
    assert set(report["by_language"]) <= {"zh", "en"}
    assert set(report["by_typo"]) <= {"typo", "no_typo"}
    assert report["by_construction"]
    json.dumps(report, default=str)
    assert "match" in format_report(report)
    again = run_on_pipeline(tiny_pipeline, n=40, seed=1, typo_share=0.3)  # a fixed seed repeats
    assert [c["question"] for c in again["cases"]] == [c["question"] for c in report["cases"]]


def test_command_needs_a_warehouse(tmp_path):
    import io

    err = io.StringIO()
    assert roundtrip_command(tmp_path / "missing.duckdb", n=3, err=err) == 2
    assert "not found" in err.getvalue()
