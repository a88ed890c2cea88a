"""Business language: every table a user sees is labelled from the semantic layer (no raw
column names, values in the question's language, one number format per column), the same in
the CLI, Slack and the exports."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from chatbi.answer.exports import csv_bytes
from chatbi.answer.labels import format_number, is_identifier, label_frame, label_table
from chatbi.channels.render import render_answer
from chatbi.channels.slack import answer_blocks
from chatbi.semantic.loader import load_semantic_layer

LAYER = load_semantic_layer(Path(__file__).resolve().parents[2] / "semantic_layer")
_CJK = re.compile(r"[\u4e00-\u9fff]")

QUESTIONS = [
    "各大区的GMV", "GMV by region", "top 10 merchants by GMV last quarter", "各渠道GMV占比",
    "为什么华南区新用户转化率下降了？", "最近有哪些异常？", "any alerts recently?",
    "给流失风险高的女性用户写三条短信文案", "上个季度华东大区哪个品类的销售额增长最快？",
    "今年按月的GMV趋势", "GMV by category last quarter", "各品类的复购率",
    "哪些商户拥有大量复购用户？", "用户在哪一步流失最多？", "买了中古包的用户还会买什么？",
    "上个月有多少用户从活跃变成沉默",
]


def test_why_table_is_labelled_in_the_metrics_unit() -> None:
    columns = ["rank", "dimension_label", "segment", "base", "current", "weight_base", "mix_effect",
               "contribution", "share_of_change"]
    rows = [[1, "渠道", "抖音", 0.1187, 0.0710, 0.5195, -0.0000036, -0.0284, 0.527],
            [None, "渠道", None, None, None, None, None, -0.0072, 0.134]]
    table = label_table(columns, rows, LAYER, "zh", metric="conversion_rate")
    assert table.headers == ["排名", "维度", "分组", "对比期", "本期", "对比期占比", "结构影响", "贡献", "占变化"]
    assert table.display_rows()[0] == ["1", "渠道", "抖音", "11.9%", "7.1%", "51.9%", "0.0个百分点",
                                       "-2.8个百分点", "52.7%"]  # no -0, no 9.5e-05
    assert table.display_rows()[1][:3] == ["—", "渠道", "—"]
    english = label_table(columns, [[1, "channel", "抖音", 0.1187, 0.071, 0.5195, 0.0, -0.0284, 0.527]],
                          LAYER, "en", metric="conversion_rate")
    assert english.headers[:3] == ["Rank", "Dimension", "Segment"]
    assert english.display_rows()[0][2] == "Douyin" and english.display_rows()[0][7] == "-2.8 pp"
    assert english.export_headers()[7] == "Contribution (pp)"


def test_money_has_one_format_per_column_and_exports_round() -> None:
    table = label_table(["region", "gmv", "gmv_share"], [["华东", 238794087.0, 0.3661],
                                                          ["西南", 87114945.5, 0.1334]], LAYER, "en")
    assert table.headers == ["Region", "GMV", "GMV share"]
    assert table.display_rows() == [["East China", "¥238,794,087", "36.6%"],
                                    ["Southwest", "¥87,114,946", "13.3%"]]
    assert table.export_headers() == ["Region", "GMV (¥)", "GMV share (%)"]
    assert table.export_rows()[1] == ["Southwest", 87114946, 13.3]
    assert format_number(31330731.000000015, "money", 0, "zh") == "¥31,330,731"


def test_alert_rows_take_their_own_metrics_unit() -> None:
    columns = ["alert_id", "severity", "entity_type", "entity_id", "metric", "value", "baseline", "message"]
    rows = [[2, "medium", "region_channel", "华南/抖音", "new_user_conversion_rate", 0.1792, 0.3636, "华南…"],
            [1, "medium", "merchant", "54", "dispute_rate", 0.153, 0.029, "商户…"]]
    zh = label_table(columns, rows, LAYER, "zh")
    assert zh.display_rows()[0][1:7] == ["中", "大区·注册渠道", "华南/抖音", "新用户转化率", "17.9%", "36.4%"]
    assert zh.display_rows()[1][4:7] == ["纠纷率", "15.3%", "2.9%"]
    assert zh.kinds[5] == "percent" and zh.export_rows()[0][5] == 17.9  # the web and the CSV show %
    assert zh.export_headers()[5] == "数值（%）"
    mixed = label_table(columns, rows + [[3, "low", "category", "家居", "gmv", 123456.7, 2e5, "品类…"]], LAYER, "zh")
    assert mixed.export_rows()[2][5:7] == ["¥123,457", "¥200,000"]  # units differ by row: as shown
    en = label_table(columns, rows, LAYER, "en", hidden=["message"])
    assert en.display_rows()[0] == ["2", "medium", "region · sign-up channel", "South China/Douyin",
                                    "new-user conversion rate", "17.9%", "36.4%"]


def test_a_merchant_is_charted_by_name_and_english_values_are_translated() -> None:
    import pandas as pd

    frame = pd.DataFrame({"merchant_id": [179, 209], "merchant_name": ["台州·青柠首饰铺小铺", "重庆·Vintage"],
                          "gmv": [4.6e6, 3.6e6]})
    assert list(label_frame(frame, LAYER, "zh").columns) == ["merchant_name", "gmv"]
    regions = pd.DataFrame({"region": ["华东", None], "gmv": [1.0, 2.0]})
    assert list(label_frame(regions, LAYER, "en")["region"])[0] == "East China"
    assert list(label_frame(regions, LAYER, "zh")["region"])[0] == "华东"


@pytest.mark.parametrize("question", QUESTIONS)
def test_no_raw_column_name_reaches_a_user(tiny_pipeline, question: str) -> None:
    answer = tiny_pipeline.ask(question)
    data = answer.to_dict()
    if not answer.columns:
        pytest.skip(f"no table for {question!r}: {answer.error}")
    table = data["table"]
    raw = [c for c in answer.columns if is_identifier(c)]
    console = Console(record=True, width=200)
    render_answer(data, console, show_sql=False)
    shown = console.export_text()
    _, blocks = answer_blocks(data)
    slack = "\n".join(b["text"]["text"] for b in blocks if b.get("type") == "section")
    exported = next(csv.reader(io.StringIO(csv_bytes(data).decode("utf-8-sig"))))
    for name in raw:
        for where, text in (("cli", shown), ("slack", slack), ("csv", ",".join(exported))):
            assert not re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", text), (where, name, question)
    assert not any(is_identifier(h) for h in table["headers"])
    assert all(re.fullmatch(r"-?\d+(\.\d+)?e-?\d+", str(v)) is None for r in table["rows"] for v in r)
    if answer.language == "en":
        assert not any(_CJK.search(h) for h in table["headers"]), table["headers"]
        cells = {v for r in table["rows"] for v in r}
        assert not cells & {"华东", "华南", "中古包", "抖音", "微信"}, question
