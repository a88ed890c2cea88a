"""Issue 19 on the warehouse `make run` builds (`chatbi init --demo --scale small`, seed 42):

* the README's sample answer is what the command line prints and the web chat shows;
* a why-question about an alert reports the alert's own period and before/after rates
  (one new-user conversion definition, the semantic layer's);
* a top-N of merchants reads by merchant name in the CLI table, the web table, the exports
  and the chart (no id column, no rainbow legend of ids);
* money follows one rule in the finding, the table, the chart axis and the exports.

The warehouse is built once per module by the real CLI (about 20 s; `--skip-index`: only the
LLM planner reads the retrieval index).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from chatbi.answer.labels import label_table
from chatbi.answer.numbers import format_percent, money_axis_expr
from chatbi.channels import web

from .conftest import REPO_ROOT

APP = str(REPO_ROOT / "streamlit_app.py")
CHATBI = str(Path(sys.executable).with_name("chatbi"))
README_QUESTION = "各大区的GMV"
TOP_MERCHANTS = "top 10 merchants by GMV last quarter"


def _env(**extra: str) -> dict[str, str]:
    """The environment of a new user: no API key, the default planner."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CHATBI_PLANNER", "CHATBI_DB")}
    env.update(ANONYMIZED_TELEMETRY="False", **extra)
    return env


def _cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHATBI, *args], capture_output=True, text=True, env=_env(**extra), timeout=600,
                          check=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo warehouse, built by `chatbi init --demo --scale small` (seed 42)."""
    path = tmp_path_factory.mktemp("small_demo") / "warehouse.duckdb"
    done = _cli("init", "--demo", "--scale", "small", "--db", str(path), "--skip-index")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    # the first five minutes: progress and a short summary, no model metrics or planted stories
    assert len(lines) <= 12, done.stdout
    assert not re.search(r"AUC|auc|planted|故事|MAE", done.stdout), done.stdout
    return path


@pytest.fixture(scope="module")
def pipeline(small: Path) -> Iterator[Any]:
    from chatbi.answer.pipeline import Pipeline
    from chatbi.config import Settings

    pipe = Pipeline(replace(Settings.from_env(db_path=small), planner="offline", openai_api_key=None))
    yield pipe
    pipe.close()


def _readme_sample() -> tuple[str, list[str]]:
    """The README's sample command line and the lines it shows."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```console\n\$ \.venv/bin/chatbi ask \"(.+?)\"\n(.*?)```", readme, re.S)
    assert found, "README.md has no `chatbi ask` console sample"
    return found.group(1), [line.rstrip() for line in found.group(2).strip("\n").splitlines()]


def _app(small: Path, monkeypatch: pytest.MonkeyPatch, question: str) -> AppTest:
    monkeypatch.setenv("CHATBI_DB", str(small))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


# ---------------------------------------------------------------------------------------
# 4. The README's sample answer
# ---------------------------------------------------------------------------------------

def test_readme_sample_answer_is_what_the_command_line_prints(small: Path) -> None:
    question, expected = _readme_sample()
    assert question == README_QUESTION
    done = _cli("ask", question, "--db", str(small), COLUMNS="1000")  # a wide terminal: no wrapping
    assert done.returncode == 0, done.stderr
    shown = [line.rstrip() for line in done.stdout.strip("\n").splitlines()]
    assert shown == expected, "README.md's sample answer is stale:\n" + done.stdout


def test_readme_sample_answer_is_what_the_web_chat_shows(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, expected = _readme_sample()
    finding = expected[1]
    table = [re.findall(r"│\s*([^│]+?)\s*(?=│)", line) for line in expected if line.startswith("│")]
    at = _app(small, monkeypatch, README_QUESTION)
    shown = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert finding in shown
    assert len(at.get("vega_lite_chart")) == 1  # the bar chart
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["大区", "GMV"]
    assert [[r, f"¥{int(v):,}"] for r, v in zip(frame["大区"], frame["GMV"], strict=True)] == table
    assert len(at.get("download_button")) == 4  # CSV, Excel, PNG, SVG


# ---------------------------------------------------------------------------------------
# 1. Why-answers that agree with the alerts
# ---------------------------------------------------------------------------------------

ALERT_QUESTIONS = {
    "region": "为什么{0}新用户转化率下降了？",
    "region_channel": "为什么{0}注册渠道{1}的新用户转化率下降了？",
}
MERCHANT_QUESTIONS = {"dispute_rate": "为什么纠纷率上升了？", "return_rate": "为什么退货率上升了？"}


def _alerts(small: Path) -> list[dict[str, Any]]:
    with duckdb.connect(str(small), read_only=True) as con:
        cur = con.execute("SELECT * FROM alerts ORDER BY alert_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _why_agrees(answer: Any, alert: dict[str, Any], to: str = " 至 ") -> None:
    assert answer.ok, answer.error
    current = f"{alert['window_start']}{to}{alert['window_end']}"
    base = f"{alert['baseline_start']}{to}{alert['baseline_end']}"
    assert current in answer.time_range_text and base in answer.time_range_text, answer.time_range_text
    now, before = format_percent(alert["value"]), format_percent(alert["baseline"])
    assert now in alert["message"] and before in alert["message"]  # the alert list says these rates
    first = answer.finding.split("主要驱动")[0].split("The main driver")[0]
    assert now in first and before in first, (alert["message"], answer.finding)
    assert first.index(now) < first.index(before)  # current, then the period it is compared with


def test_why_question_reports_its_alerts_period_and_rates(small: Path, pipeline: Any) -> None:
    checked = set()
    for alert in _alerts(small):
        kind = alert["entity_type"]
        if kind in ALERT_QUESTIONS and alert["metric"] == "new_user_conversion_rate":
            answer = pipeline.ask(ALERT_QUESTIONS[kind].format(*str(alert["entity_id"]).split("/")))
        elif kind == "merchant" and alert["metric"] in MERCHANT_QUESTIONS:
            answer = pipeline.ask(MERCHANT_QUESTIONS[alert["metric"]], role=f"merchant:{alert['merchant_id']}")
        else:
            continue
        _why_agrees(answer, alert)
        assert any(f"#{alert['alert_id']}" in n for n in answer.notes), answer.notes  # "as in the alert list"
        checked.add(kind)
    # the small demo's planted stories: a merchant's disputes, 华南's new-user conversion
    assert {"merchant", "region", "region_channel"} <= checked, checked


def test_english_why_question_reports_the_alerts_rates(small: Path, pipeline: Any) -> None:
    [alert] = [a for a in _alerts(small) if a["entity_type"] == "region" and a["entity_id"] == "华南"]
    _why_agrees(pipeline.ask("Why did conversion of new users fall in South China?"), alert, " to ")


def test_english_new_user_conversion_wording_reports_the_alerts_rates(small: Path, pipeline: Any) -> None:
    [alert] = [a for a in _alerts(small) if a["entity_type"] == "region" and a["entity_id"] == "华南"]
    _why_agrees(pipeline.ask("Why did the new-user conversion rate drop in South China?"), alert, " to ")


# ---------------------------------------------------------------------------------------
# 2. A top-N of merchants reads by name
# ---------------------------------------------------------------------------------------

def _fields(spec: Any) -> list[tuple[str, str]]:
    """(channel, field) of every encoding in a Vega-Lite spec (layers included)."""
    out: list[tuple[str, str]] = []
    if isinstance(spec, dict):
        for channel, enc in (spec.get("encoding") or {}).items():
            if isinstance(enc, dict) and "field" in enc:
                out.append((channel, str(enc["field"])))
        for value in spec.values():
            if isinstance(value, dict | list):
                out += _fields(value) if isinstance(value, dict) else [f for v in value for f in _fields(v)]
    return out


def test_top_merchants_read_by_name_in_cli_exports_and_chart(small: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out_csv, out_xlsx = tmp_path / "m.csv", tmp_path / "m.xlsx"
    shown = _cli("ask", TOP_MERCHANTS, "--db", str(small), COLUMNS="200")
    assert shown.returncode == 0, shown.stderr
    header = next(line for line in shown.stdout.splitlines() if line.startswith("┃"))
    assert [h.strip() for h in header.strip("┃").split("┃")] == ["Merchant", "GMV"]
    done = _cli("ask", TOP_MERCHANTS, "--db", str(small), "--json", "--csv", str(out_csv), "--xlsx", str(out_xlsx))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout[done.stdout.index("{"):done.stdout.rindex("}") + 1])
    assert "merchant_id" in data["columns"]  # the JSON contract keeps the raw result …
    assert data["table"]["headers"] == ["Merchant", "GMV"]  # … every table shows names
    with out_csv.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Merchant", "GMV (¥)"] and len(rows) == 11
    names = {r[data["columns"].index("merchant_name")] for r in data["rows"]}
    assert {r[0] for r in rows[1:]} == names
    assert [c.value for c in load_workbook(out_xlsx).worksheets[0][1]] == rows[0]
    fields = _fields(data["chart"])
    assert ("y", "merchant_name") in fields or ("x", "merchant_name") in fields, fields
    assert not any(f == "merchant_id" for _, f in fields), fields
    assert not any(channel == "color" for channel, _ in fields), fields  # one colour, no legend of ids


def test_top_merchants_by_month_are_series_of_names(pipeline: Any) -> None:
    """Several rows per merchant (one a month): still one name per id, so the table shows names
    and the chart's colour legend lists merchant names, never ids."""
    data = pipeline.ask("今年每月GMV前5的商户").to_dict()
    assert data["table"]["headers"] == ["月份", "商户", "GMV"]
    fields = _fields(data["chart"])
    assert ("color", "merchant_name") in fields and not any(f == "merchant_id" for _, f in fields), fields


def test_merchants_sharing_a_name_keep_their_ids() -> None:
    from chatbi.answer.labels import label_frame, named_ids
    from chatbi.semantic.loader import load_semantic_layer

    columns = ["merchant_id", "merchant_name", "gmv"]
    months = [[7, "北京·九木珠宝", 1.0], [7, "北京·九木珠宝", 2.0], [9, "上海·鹿鸣表行", 3.0]]
    assert named_ids(columns, months) == ["merchant_id"]
    namesakes = [[7, "九木珠宝", 1.0], [8, "九木珠宝", 2.0]]
    assert named_ids(columns, namesakes) == [] and named_ids(columns, [[7, None, 1.0]]) == []
    frame = pd.DataFrame(namesakes, columns=columns)
    assert list(label_frame(frame, load_semantic_layer(), "zh").columns) == columns  # the chart keeps ids


def test_top_merchants_read_by_name_in_the_web_table(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(small, monkeypatch, "上个季度GMV前10的商户")
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["商户", "GMV"] and len(frame) == 10
    assert all("·" in str(name) for name in frame["商户"])  # demo merchant names: 城市·店名


# ---------------------------------------------------------------------------------------
# 3. Money, formatted once
# ---------------------------------------------------------------------------------------

_MONEY = re.compile(r"¥([\d,]+(?:\.\d+)?)(亿|万|B|M|K)?")
_UNITS = {"亿": 1e8, "万": 1e4, "B": 1e9, "M": 1e6, "K": 1e3, "": 1.0}
_FLOORS = {"zh": (("亿", 1e8), ("万", 1e4), ("", 0.0)), "en": (("B", 1e9), ("M", 1e6), ("K", 1e4), ("", 0.0))}


def _check_abbreviations(text: str, language: str) -> int:
    """Every ¥ amount in ``text`` uses the unit of its own size (never ¥0.25亿); returns how many."""
    count = 0
    for number, unit in _MONEY.findall(text):
        scaled = float(number.replace(",", ""))
        value = scaled * _UNITS[unit]
        want = next(u for u, floor in _FLOORS[language] if value >= floor * 0.9995)
        assert unit == want and (unit == "" or scaled >= 1), f"¥{number}{unit} in {text!r}"
        count += 1
    return count


@pytest.mark.parametrize(("question", "language"), [
    (README_QUESTION, "zh"), ("GMV by region", "en"), (TOP_MERCHANTS, "en"), ("上个季度GMV前10的商户", "zh")])
def test_money_is_formatted_by_one_rule(pipeline: Any, question: str, language: str) -> None:
    from chatbi.answer.exports import chart_image, csv_bytes

    data = pipeline.ask(question).to_dict()
    assert _check_abbreviations(data["finding"], language) >= 2  # the finding abbreviates …
    table = data["table"]
    money = [i for i, k in enumerate(table["kinds"]) if k == "money"]
    assert money, table["kinds"]
    for i in money:  # … the table shows full yuan, one number of decimals per column
        cells = [row[i] for row in table["rows"]]
        assert all(re.fullmatch(r"¥\d{1,3}(,\d{3})*(\.\d{2})?", c) for c in cells), cells
        assert len({len(c.split(".")[1]) if "." in c else 0 for c in cells}) == 1, cells
        values = [row[i] for row in table["values"]]
        assert all(isinstance(v, int) for v in values) or all(round(v, 2) == v for v in values)
        exported = list(csv.reader(csv_bytes(data).decode("utf-8-sig").splitlines()))
        assert [r[i] for r in exported[1:]] == [str(v) for v in values]
    axis = [enc.get("axis", {}) for enc in _encodings(data["chart"]) if enc.get("type") == "quantitative"]
    assert {"labelExpr": money_axis_expr(language)}.items() <= axis[0].items(), axis
    ticks = re.findall(r">(-?¥[^<]*)</text>", chart_image(data["chart"], "svg").decode("utf-8"))
    assert len(ticks) >= 3, ticks  # the axis as drawn: each tick by its own size
    for tick in ticks:
        _check_abbreviations(tick.lstrip("-"), language)


def _encodings(spec: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(spec, dict):
        out += [e for e in (spec.get("encoding") or {}).values() if isinstance(e, dict)]
        for value in spec.values():
            out += _encodings(value)
    elif isinstance(spec, list):
        for value in spec:
            out += _encodings(value)
    return out


def test_web_table_and_excel_keep_the_cents_of_small_amounts() -> None:
    import io

    from openpyxl import load_workbook

    from chatbi.answer.exports import csv_bytes, xlsx_bytes
    from chatbi.semantic.loader import load_semantic_layer

    layer = load_semantic_layer()

    def sheet(table: dict[str, Any]) -> list[tuple[Any, str]]:
        book = load_workbook(io.BytesIO(xlsx_bytes({"table": table, "language": "zh"})))
        return [(c.value, c.number_format) for c in book.worksheets[0]["B"][1:]]

    small_amounts = label_table(["region", "gmv"], [["华东", 12.5], ["华南", 3.25]], layer, "zh").to_dict()
    assert small_amounts["rows"] == [["华东", "¥12.50"], ["华南", "¥3.25"]]
    assert web.money_steps(small_amounts) == {"GMV": 0.01}  # the yen preset would show ¥13
    assert sheet(small_amounts) == [(12.5, "#,##0.00"), (3.25, "#,##0.00")]
    assert csv_bytes({"table": small_amounts}).decode("utf-8-sig").splitlines()[1:] == ["华东,12.5", "华南,3.25"]
    large = label_table(["region", "gmv"], [["华东", 238794087.0], ["华南", 115635037.5]], layer, "zh").to_dict()
    assert large["rows"] == [["华东", "¥238,794,087"], ["华南", "¥115,635,038"]]
    assert web.money_steps(large) == {}
    assert [f for _, f in sheet(large)] == ["#,##0", "#,##0"]
