"""Small channel helpers: sessions LRU, role maps, rendering, Slack blocks, web helpers."""

from __future__ import annotations

import io
import threading

import pytest
from rich.console import Console

from chatbi.channels import web
from chatbi.channels.render import answer_table, format_cell, render_answer
from chatbi.channels.roles import parse_role_map
from chatbi.channels.sessions import SessionStore
from chatbi.channels.slack import answer_blocks, clean_text, compact_table
from chatbi.errors import UserInputError
from chatbi.sql.policy import Role


def test_session_store_is_a_bounded_lru():
    made: list[int] = []

    def factory() -> dict:
        made.append(1)
        return {"n": len(made)}

    store: SessionStore[dict] = SessionStore(factory, max_sessions=2)
    a = store.get("a")
    assert store.get("a") is a  # same session on the same key
    store.get("b")
    store.get("a")  # a is now most recent
    store.get("c")  # evicts b
    assert "a" in store and "c" in store and "b" not in store
    assert len(store) == 2
    assert store.get(("k1", "s")) is not store.get(("k2", "s"))


def test_session_store_threads_get_one_session_per_key():
    store: SessionStore[object] = SessionStore(object, max_sessions=100)
    seen: list[object] = []

    def work() -> None:
        for _ in range(200):
            seen.append(store.get("shared").state)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in seen}) == 1


def test_parse_role_map():
    roles = parse_role_map("k1=admin, k2=merchant:7,U3=marketer")
    assert roles == {"k1": Role("admin"), "k2": Role("merchant", 7), "U3": Role("marketer")}
    assert parse_role_map({"a": "analyst"}) == {"a": Role("analyst")}
    assert parse_role_map("") == {}
    for bad in ("k1=root", "k1", "=admin", "k=merchant:x"):
        with pytest.raises(UserInputError):
            parse_role_map(bad)


def test_format_cell():
    assert format_cell(0.123, "gmv_growth") == "+12.3%"
    assert format_cell(-0.05, "gmv_growth") == "-5.0%"
    assert format_cell(0.5, "gmv_share") == "50.0%"
    assert format_cell(1234567.891, "gmv") == "1,234,568"
    assert format_cell(12, "order_count") == "12"
    assert format_cell(None) == "—"


def test_render_answer_shows_finding_table_time_and_dim_sql():
    console = Console(record=True, width=120, file=io.StringIO())
    data = {
        "finding": "华东大区销售额最高", "columns": ["region", "gmv"], "rows": [["华东", 1500.0], ["华南", 900.5]],
        "time_range": "上个季度 = 2026-04-01 至 2026-06-30", "notes": ["按买家所在大区"],
        "sql": "SELECT 1", "definitions": [], "followups": ["那华南呢？"], "error": None,
        "truncated": False, "copy": None,
    }
    render_answer(data, console)
    text = console.export_text()
    for piece in ("华东大区销售额最高", "region", "1,500", "900.50", "2026-04-01", "按买家所在大区", "SELECT 1", "那华南呢"):
        assert piece in text
    console = Console(record=True, width=120, file=io.StringIO())
    render_answer({"error": {"code": "unclear_question", "message": "请说明指标"}}, console)
    text = console.export_text()
    assert "请说明指标" in text and "换个说法" in text


def test_answer_table_marks_truncation():
    table = answer_table(["a"], [[i] for i in range(5)], max_rows=2)
    assert table.row_count == 2 and "3 more rows" in str(table.caption)


def test_slack_compact_table_and_blocks():
    text = compact_table(["category", "gmv"], [["中古包", 1234.5], ["家居", 88.0]])
    lines = text.splitlines()
    assert lines[0].startswith("category") and "中古包" in lines[2]
    fallback, blocks = answer_blocks({
        "finding": "a < b & c", "columns": ["category", "gmv"], "rows": [["中古包", 1.0]],
        "time_range": "近30天", "planner": "offline", "followups": ["按月看"], "error": None,
    }, Role("marketer"))
    assert fallback == "a < b & c"
    assert blocks[0]["text"]["text"] == "a &lt; b &amp; c"
    assert "```" in blocks[1]["text"]["text"] and "中古包" in blocks[1]["text"]["text"]
    assert any("marketer" in b["elements"][0]["text"] for b in blocks if b["type"] == "context")
    _, blocks = answer_blocks({"error": {"code": "refused", "message": "不允许"}, "columns": ["x"], "rows": [[1]]})
    assert len(blocks) == 1 and "不允许" in blocks[0]["text"]["text"]
    assert clean_text("<@U123ABC> 各大区的GMV  ") == "各大区的GMV"


def test_web_helpers():
    assert web.role_from_choice("merchant", 7) == Role("merchant", 7)
    assert web.role_from_choice("marketer") == Role("marketer")
    frame = web.answer_frame({"columns": ["region", "gmv_share"], "rows": [["华东", 0.4]]})
    assert list(frame.columns) == ["region", "gmv_share"]
    assert web.csv_bytes(frame).decode("utf-8-sig").splitlines()[1] == "华东,0.4"
    assert web.percent_columns(["gmv", "gmv_growth", "gmv_share"]) == ["gmv_growth", "gmv_share"]
    assert web.md("$5") == "\\$5"
    data = web.error_data("q", RuntimeError("boom"))
    assert data["error"]["code"] == "internal_error" and "boom" not in data["error"]["message"]
    assert "make run" in web.next_step({"code": "warehouse_missing"})


def test_display_spec_keeps_the_designed_height():
    spec = {"mark": "bar", "height": 154}
    shown = web.display_spec(spec)
    assert shown["autosize"] == {"type": "fit-x", "contains": "padding"} and "autosize" not in spec
    assert web.display_spec({"autosize": "pad"})["autosize"] == "pad"
    frame = web.answer_frame({"columns": ["region", "gmv", "gmv_share"], "rows": [["华东", 1.5, 0.2]]})
    assert web.number_columns(frame) == ["gmv"]


def test_render_answer_says_when_there_is_nothing_to_show():
    console = Console(record=True, width=100, file=io.StringIO())
    render_answer({"question": "q", "intent": "copy", "error": None, "columns": [], "rows": []}, console)
    assert "nothing to show" in console.export_text()


def test_pretty_sql_keeps_the_statement():
    import sqlglot

    sql = "SELECT region, SUM(pay_amount) AS gmv FROM orders WHERE status <> 'cancelled' GROUP BY region"
    pretty = web.pretty_sql(sql)
    assert "\n" in pretty
    assert sqlglot.parse_one(pretty).sql() == sqlglot.parse_one(sql).sql()
    assert web.pretty_sql("not sql ((") == "not sql (("


def test_column_display_uses_semantic_labels_and_percent_formats(tiny_pipeline) -> None:
    from chatbi.channels.web import column_display

    catalog = tiny_pipeline.catalog()
    columns = ["category", "month", "gmv", "gmv_previous", "gmv_growth", "return_rate", "mystery"]
    labels, percent = column_display(columns, catalog, "zh")
    gmv_label = next(m["label"] for m in catalog["metrics"] if m["name"] == "gmv")
    assert labels["gmv"] == gmv_label and labels["gmv_previous"] == f"{gmv_label}上期"
    assert labels["month"] == "月" and "mystery" not in labels
    assert labels["category"] == next(d["label"] for d in catalog["dimensions"] if d["name"] == "category")
    assert percent == {"gmv_growth", "return_rate"}
    labels_en, _ = column_display(columns, catalog, "en")
    assert labels_en["gmv_growth"].endswith("growth") and labels_en["month"] == "month"
