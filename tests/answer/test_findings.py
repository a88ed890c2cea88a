"""Findings: written from facts, stating the time range; checked number by number."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from chatbi.answer.facts import compute_facts
from chatbi.answer.findings import check_finding, choose_finding, finding_for, write_finding
from chatbi.semantic.query import Filter, TimeRange

from .helpers import (
    LAST_MONTH,
    LAST_QUARTER,
    THIS_YEAR,
    ctx,
    growth_frame,
    growth_query,
    ranking_frame,
    trend_frame,
)


def test_growth_finding_in_chinese_matches_the_product_example() -> None:
    c = ctx(**growth_query())
    text = finding_for(growth_frame(), c)
    assert text.startswith("上个季度（2026-04-01 至 2026-06-30）")
    assert "增长最快的品类是中古包，环比增长 38.2%（¥123.8万 → ¥171.1万）" in text
    assert "家居下降 6.5%" in text
    assert "大区为华东" in text
    assert 2 <= text.count("。") <= 3


def test_ranking_finding_in_english() -> None:
    en_quarter = LAST_QUARTER.model_copy(update={"label": "last quarter"})
    text = finding_for(ranking_frame(), ctx("en", en_quarter, dimensions=["region"]))
    assert text.startswith("GMV by region, last quarter (2026-04-01 to 2026-06-30): 华东 leads with "
                           "¥1.71M, 34.2% of the total ¥5.00M; 东北 is lowest at ¥210.0K.")
    # a Chinese label is left out of English text; the dates stay
    text = finding_for(ranking_frame(), ctx("en", dimensions=["region"]))
    assert "上个季度" not in text and "2026-04-01 to 2026-06-30" in text


def _cases() -> list[tuple[str, pd.DataFrame, dict]]:
    rng = np.random.default_rng(3)
    multi = pd.DataFrame({"month": [date(2026, m, 1) for m in (1, 1, 2, 2, 3, 3)],
                          "region": ["华东", "华南"] * 3, "gmv": [5e5, 3e5, 6e5, 2e5, 7e5, 4e5]})
    return [
        ("ranking", ranking_frame(), {"dimensions": ["region"]}),
        ("top_n", ranking_frame(), {"dimensions": ["region"], "limit": 5}),
        ("share", ranking_frame().assign(gmv_share=lambda d: d.gmv / d.gmv.sum()),
         {"dimensions": ["region"], "share_of_total": True}),
        ("growth", growth_frame(), growth_query()),
        ("all_down", growth_frame().assign(gmv_growth=[-0.01, -0.02, -0.065]), growth_query()),
        ("trend", trend_frame(), {"dimensions": ["order_date"], "grain": "month", "time": THIS_YEAR}),
        ("multi_trend", multi, {"dimensions": ["order_date", "region"], "grain": "month", "time": THIS_YEAR}),
        ("single", pd.DataFrame({"gmv": [5_012_345.0], "gmv_previous": [4.5e6], "gmv_growth": [5_012_345 / 4.5e6 - 1]}),
         {"comparison": "same_period_last_year"}),
        ("single_plain", pd.DataFrame({"gmv": [1234.5], "orders": [17]}), {"metrics": ["gmv", "orders"]}),
        ("scatter", pd.DataFrame({"region": list("abcd"), "gmv": [1e5, 2e5, 3e5, 4.4e5], "orders": [10, 21, 29, 41]}),
         {"metrics": ["gmv", "orders"], "dimensions": ["region"]}),
        ("distribution", pd.DataFrame({"merchant": [f"M{i:03d}" for i in range(80)],
                                       "gmv": rng.gamma(2, 5000, 80)}), {"dimensions": ["merchant"]}),
        ("rate", pd.DataFrame({"channel": ["app", "web", "mini"], "conversion_rate": [0.031, 0.025, 0.04]}),
         {"metrics": ["conversion_rate"], "dimensions": ["channel"]}),
        ("breakdown", pd.DataFrame({"region": ["华东", "华东", "华南"], "category": ["包", "表", "包"],
                                    "gmv": [3e5, 2e5, 1e5]}), {"dimensions": ["region", "category"]}),
        ("empty", pd.DataFrame({"gmv": []}), {"filters": [Filter(dimension="region", value="华东")]}),
        ("no_time", ranking_frame(), {"dimensions": ["region"], "time": None}),
    ]


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize(("name", "frame", "query"), _cases(), ids=[c[0] for c in _cases()])
def test_template_findings_state_the_time_range_and_only_checked_numbers(
        name: str, frame: pd.DataFrame, query: dict, language: str) -> None:
    query = dict(query)
    time_range = query.pop("time", LAST_QUARTER)
    c = ctx(language, time_range, **query)
    facts = compute_facts(frame, c)
    text = write_finding(facts, c)
    assert text.strip()
    result = check_finding(text, facts)
    assert result.ok, (text, result.unmatched)
    assert result.numbers, text  # every finding states at least one number or date
    if time_range is not None:
        assert result.mentions_time
        assert time_range.start.isoformat() in text and time_range.end.isoformat() in text
    sentences = text.count("。") if language == "zh" else text.count(". ") + 1
    assert 1 <= sentences <= 3, text


def test_checker_rejects_an_invented_number_and_finding_for_falls_back() -> None:
    c = ctx(**growth_query())
    facts = compute_facts(growth_frame(), c)
    good = "上个季度（2026年Q2）华东大区中古包的销售额环比增长 38.2%，从 123.8万元 增至 ¥171.1万。"
    assert check_finding(good, facts).ok
    bad = good.replace("38.2%", "39.2%")
    result = check_finding(bad, facts)
    assert not result.ok and result.unmatched == ("39.2%",)
    assert finding_for(growth_frame(), c, candidate=good) == good
    fallback = choose_finding(growth_frame(), c, candidate=bad)
    assert fallback.source == "template" and "39.2%" not in fallback.text
    assert fallback.text == write_finding(facts, c)


@pytest.mark.parametrize("text", [
    "上个季度（2026-04-01 至 2026-06-30）中古包增长 38.2%，销售额 ¥181.1万。",  # amount off by 10万
    "上个季度（2026-04-01 至 2026-06-30）中古包增长 -38.2%。",  # wrong sign
    "2025年Q1 中古包增长 38.2%。",  # a quarter outside the range and its comparison
    "上个季度（2026-04-01 至 2026-06-30）有五个品类下降。",  # 五 matches no count
    "上个季度（2026-04-01 至 2026-06-30）中古包增长了 2 倍。",  # an invented multiple
])
def test_checker_rejects_numbers_the_data_did_not_produce(text: str) -> None:
    facts = compute_facts(growth_frame(), ctx(**growth_query()))
    assert not check_finding(text, facts).ok


def test_checker_accepts_other_spellings_of_true_numbers() -> None:
    facts = compute_facts(growth_frame(), ctx(**growth_query()))
    for text in [
        "Last quarter 中古包 grew 38.2% (¥1.24M → ¥1.71M); 家居 fell 6.5%.",
        "上个季度共 3 个品类，其中一个品类（家居）下降，三个品类里中古包第一。",
        "上个季度中古包增长百分之三十八点二，约171万元。",
        "上个季度整体环比增长 18.6%，增加 ¥48.8万。",
        "2026年4月至6月，中古包销售额 1,711,000 元。",
    ]:
        result = check_finding(text, facts)
        assert result.ok, (text, result.unmatched)


def test_candidate_must_name_the_time_range() -> None:
    c = ctx(**growth_query())
    undated = "中古包的销售额环比增长 38.2%。"
    facts = compute_facts(growth_frame(), c)
    assert check_finding(undated, facts).ok and not check_finding(undated, facts).mentions_time
    assert finding_for(growth_frame(), c, candidate=undated) != undated


def test_digits_inside_names_are_not_numbers() -> None:
    frame = pd.DataFrame({"region": ["华东1区", "华南2区"], "gmv": [300_000.0, 100_000.0]})
    c = ctx(dimensions=["region"])
    facts = compute_facts(frame, c)
    text = "上个季度华东1区的销售额最高，为 ¥30.0万；华南2区为 ¥10.0万。"
    assert check_finding(text, facts).ok
    assert not check_finding(text.replace("¥10.0万", "¥12.0万"), facts).ok


def test_empty_result_explains_filters_and_time_range() -> None:
    c = ctx(time_range=LAST_MONTH, metrics=["dispute_orders"],
            filters=[Filter(dimension="region", value="华东")])
    text = finding_for(pd.DataFrame({"dispute_orders": []}), c)
    assert text.startswith("上个月（2026-08-01 至 2026-08-31）")
    assert "大区为华东" in text and "没有纠纷订单数" in text
    en = finding_for(pd.DataFrame({"dispute_orders": []}),
                     ctx("en", LAST_MONTH.model_copy(update={"label": "last month"}),
                         metrics=["dispute_orders"], filters=[Filter(dimension="region", value="华东")]))
    assert en.startswith("No Dispute orders data for Region = 华东 in last month (2026-08-01 to 2026-08-31)")


def test_truncated_results_say_so() -> None:
    c = ctx(dimensions=["region"], truncated=True)
    text = finding_for(ranking_frame(), c)
    assert "结果已截断" in text and "占合计" not in text  # no total over a partial result
    assert check_finding(text, compute_facts(ranking_frame(), c)).ok


def test_time_text_is_used_when_the_query_has_no_range() -> None:
    from chatbi.answer.context import ChartContext
    from chatbi.semantic.query import SemanticQuery

    from .helpers import DIMENSIONS, METRICS

    c = ChartContext(query=SemanticQuery(metrics=["gmv"], dimensions=["region"]), metrics=METRICS,
                     dimensions=DIMENSIONS, language="zh", time_text="近30天 = 2026-09-01 至 2026-09-30")
    text = finding_for(ranking_frame(), c)
    assert text.startswith("近30天（2026-09-01 至 2026-09-30）")
    assert check_finding(text, compute_facts(ranking_frame(), c)).ok  # 30 in 近30天 is a name


def test_every_time_range_label_is_stated() -> None:
    tr = TimeRange(start=date(2026, 7, 1), end=date(2026, 9, 30), label="本季度")
    text = finding_for(ranking_frame(), ctx(time_range=tr, dimensions=["region"]))
    assert "本季度（2026-07-01 至 2026-09-30）" in text


def test_multiples_are_checked_against_growth_and_extremes() -> None:
    facts = compute_facts(ranking_frame(), ctx(dimensions=["region"]))
    assert check_finding("上个季度华东的销售额是东北的 8.1 倍。", facts).ok  # 1.71M / 0.21M = 8.14
    assert not check_finding("上个季度华东的销售额是东北的 5 倍。", facts).ok
