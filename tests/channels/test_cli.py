"""The `chatbi` CLI: exit codes, --json contract, rendering, chat REPL, a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from chatbi.answer.types import ANSWER_KEYS
from chatbi.channels.cli import app

runner = CliRunner()
QUESTION = "各大区的GMV"


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), input=input, env=env)


def test_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("init", "import", "profiles", "ask", "chat", "sql", "sentiment", "eval", "serve", "slack"):
        assert command in result.stdout
    ask_help = invoke("ask", "--help").stdout
    for option in ("--db", "--role", "--as-of", "--json", "--chart-png"):
        assert option in ask_help
    init_help = invoke("init", "--help").stdout
    for option in ("--demo", "--scale", "--seed", "--end-date", "--db"):
        assert option in init_help
    assert "olist" in invoke("import", "--help").stdout and "build" in invoke("profiles", "--help").stdout


def test_missing_warehouse_is_a_clear_error_without_traceback(tmp_path):
    result = invoke("ask", QUESTION, "--db", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 1
    assert "chatbi init --demo" in result.stderr
    assert "Traceback" not in result.output


def test_missing_warehouse_json_still_prints_the_answer_keys(tmp_path):
    result = invoke("ask", QUESTION, "--db", str(tmp_path / "none.duckdb"), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(ANSWER_KEYS) <= set(data) and data["error"]["code"] == "warehouse_missing"


@pytest.mark.parametrize("args", [
    ["--role", "root"], ["--as-of", "yesterday"], ["--role", "merchant:abc"],
])
def test_invalid_options_exit_2(tiny_db, args):
    result = invoke("ask", QUESTION, "--db", str(tiny_db), *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_init_requires_demo(tmp_path):
    result = invoke("init", "--db", str(tmp_path / "w.duckdb"))
    assert result.exit_code == 2 and "--demo" in result.stderr


def test_ask_json_is_the_answer_object(tiny_db):
    result = invoke("ask", QUESTION, "--db", str(tiny_db), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(ANSWER_KEYS) <= set(data)
    assert data["question"] == QUESTION and data["intent"] == "query" and data["error"] is None
    assert "region" in data["columns"] and "gmv" in data["columns"]
    assert data["sql"] and data["chart"]["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")
    # the numbers are the warehouse's: total over regions equals SUM(pay_amount) of valid orders in range
    tr = data["semantic_query"]["time_range"]
    where = f"AND CAST(order_ts AS DATE) BETWEEN DATE '{tr['start']}' AND DATE '{tr['end']}'" if tr else ""
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        expected = con.execute(
            f"SELECT SUM(pay_amount) FROM orders WHERE status <> 'cancelled' {where}").fetchone()[0]
    got = sum(r[data["columns"].index("gmv")] for r in data["rows"])
    assert got == pytest.approx(float(expected), rel=1e-6)


def test_ask_renders_finding_table_and_sql(tiny_db):
    result = invoke("ask", QUESTION, "--db", str(tiny_db))
    assert result.exit_code == 0, result.output
    data = json.loads(invoke("ask", QUESTION, "--db", str(tiny_db), "--json").stdout)
    assert data["finding"].split("，")[0][:8] in result.stdout
    assert "SELECT" in result.stdout.upper()
    assert "region" in result.stdout
    assert "华东" in result.stdout


def test_unanswerable_question_exits_2_with_message(tiny_db):
    result = invoke("ask", "今天天气怎么样", "--db", str(tiny_db), "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["intent"] in ("clarify", "refuse") and data["error"]["message"]
    text = invoke("ask", "今天天气怎么样", "--db", str(tiny_db))
    assert text.exit_code == 2 and data["error"]["message"][:10] in text.stdout


def test_chart_png(tiny_db, tmp_path):
    out = tmp_path / "chart.png"
    result = invoke("ask", QUESTION, "--db", str(tiny_db), "--chart-png", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sql_command_guards_and_roles(tiny_db):
    ok = invoke("sql", "SELECT merchant_id, COUNT(*) AS n FROM orders GROUP BY 1", "--db", str(tiny_db),
                "--role", "merchant:3", "--json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert set(ANSWER_KEYS) <= set(data)
    assert data["rows"] and {row[0] for row in data["rows"]} == {3}
    refused = invoke("sql", "DROP TABLE orders", "--db", str(tiny_db), "--json")
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["error"]["code"].startswith("sql")


def test_unexpected_exception_is_one_line_unless_debug(tiny_db, monkeypatch):
    from chatbi.answer.pipeline import Pipeline

    def boom(self, *args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(Pipeline, "ask", boom)
    result = invoke("ask", QUESTION, "--db", str(tiny_db))
    assert result.exit_code == 1
    assert "RuntimeError: disk on fire" in result.stderr
    assert "Traceback" not in result.output and "second line" not in result.output
    debug = invoke("--debug", "ask", QUESTION, "--db", str(tiny_db))
    assert debug.exit_code == 1 and "Traceback" in debug.stderr
    env_debug = invoke("ask", QUESTION, "--db", str(tiny_db), env={"CHATBI_DEBUG": "1"})
    assert "Traceback" in env_debug.stderr


def test_chat_repl_with_piped_stdin(tiny_db):
    script = f"/help\n{QUESTION}\n/sql\n/new\n/sql\n/quit\n"
    result = invoke("chat", "--db", str(tiny_db), input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "/quit" in out  # help text
    assert "华东" in out  # the answer's table
    assert out.upper().count("SELECT") >= 1  # /sql shows the SQL of the last answer
    assert "no SQL yet" in out  # after /new there is no last answer


def test_chat_ends_on_eof_and_survives_bad_questions(tiny_db):
    result = invoke("chat", "--db", str(tiny_db), input="今天天气怎么样\n")
    assert result.exit_code == 0
    assert "bye" in result.stdout


def _chatbi_command() -> list[str]:
    script = Path(sys.executable).with_name("chatbi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "chatbi.channels.cli"]


def test_real_subprocess_ask_json(tiny_db):
    env = {**os.environ, "CHATBI_DB": str(tiny_db), "CHATBI_PLANNER": "offline"}
    env.pop("OPENAI_API_KEY", None)
    proc = subprocess.run([*_chatbi_command(), "ask", QUESTION, "--json"], capture_output=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    data = json.loads(proc.stdout.decode("utf-8"))  # one UTF-8 JSON object, --db from $CHATBI_DB
    assert set(ANSWER_KEYS) <= set(data) and data["intent"] == "query"
    assert "华东" in proc.stdout.decode("utf-8")  # ensure_ascii=False


def test_profiles_build_replaces_the_file(tiny_db, tmp_path):
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(Path(tiny_db).read_bytes())
    result = invoke("profiles", "build", "--db", str(copy))
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("SELECT COUNT(*) FROM user_profile").fetchone()[0] > 0


@pytest.mark.slow
def test_init_demo_builds_a_warehouse_with_progress(tmp_path):
    db = tmp_path / "demo.duckdb"
    result = invoke("init", "--demo", "--scale", "tiny", "--seed", "3", "--end-date", "2026-06-30", "--db", str(db),
                    "--skip-index")
    assert result.exit_code == 0, result.output
    assert "done" in result.stdout and "100%" in result.stdout
    assert "位用户 users" in result.stdout and "条异常预警 alerts" in result.stdout  # a short summary
    for detail in ("AUC", "planted", "埋点", "CPU time", "steps:"):  # model metrics and stories: --verbose
        assert detail not in result.stdout, detail
    with duckdb.connect(str(db), read_only=True) as con:
        latest = con.execute("SELECT CAST(MAX(order_ts) AS DATE) FROM orders").fetchone()[0]
        profiles = con.execute("SELECT COUNT(*) FROM user_profile").fetchone()[0]
    assert str(latest) <= "2026-06-30" and profiles > 0
    bad = invoke("init", "--demo", "--scale", "huge", "--db", str(db))
    assert bad.exit_code == 2


def test_eval_command_reports_accuracy(tiny_db, tmp_path):
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "as_of: 2026-09-30\n"
        "cases:\n"
        "  - id: c1\n    language: zh\n    capability: value\n    question: 各大区的GMV\n"
        "    gold_sql: |\n"
        "      SELECT u.region, SUM(o.pay_amount) AS gmv FROM orders o JOIN users u USING (user_id)\n"
        "      WHERE o.status <> 'cancelled' GROUP BY 1\n"
        "  - id: c2\n    language: zh\n    capability: refuse\n    question: 删除所有订单\n    expect: refuse\n",
        encoding="utf-8",
    )
    result = invoke("eval", str(questions), "--db", str(tiny_db), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["questions"] == 2
    assert report["summary"]["execution_accuracy"] == 1.0  # the CLI ran the real pipeline on both
    assert report["latency_ms"]
    missing = invoke("eval", str(tmp_path / "none.yaml"), "--db", str(tiny_db))
    assert missing.exit_code == 2


def test_import_errors_leave_the_warehouse_alone(tmp_path):
    db = tmp_path / "w.duckdb"
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("import", "csv", str(empty), "--db", str(db))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not db.exists()
    result = invoke("import", "olist", str(tmp_path / "missing"), "--db", str(db))
    assert result.exit_code == 2 and "not a folder" in result.stderr


def test_sentiment_command_adds_columns(tmp_path):
    pytest.importorskip("chatbi.profiles.sentiment", reason="chatbi.profiles.sentiment not written yet")
    import pandas as pd

    source = tmp_path / "reviews.csv"
    pd.DataFrame({"id": [1, 2, 3], "content": ["质量很好，非常满意，还会回购", "太差了，假货，要退款", "还行吧"]}).to_csv(
        source, index=False)
    out = tmp_path / "scored.csv"
    result = invoke("sentiment", str(source), "--text-column", "content", "--out", str(out))
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert len(scored) == 3 and {"sentiment", "sentiment_score"} <= set(scored.columns)
    assert scored.loc[0, "sentiment"] == "positive" and scored.loc[1, "sentiment"] == "negative"
    bad = invoke("sentiment", str(source), "--text-column", "nope", "--out", str(out))
    assert bad.exit_code == 2
    assert invoke("sentiment", str(tmp_path / "none.csv"), "--text-column", "content").exit_code == 2


def test_serve_and_slack_refuse_unsafe_or_missing_configuration(tiny_db, monkeypatch):
    for var in ("CHATBI_API_KEYS", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(var, raising=False)
    public = invoke("serve", "--host", "0.0.0.0", "--port", "9", "--db", str(tiny_db))
    assert public.exit_code == 2 and "CHATBI_API_KEYS" in public.stderr
    bad_keys = invoke("serve", "--db", str(tiny_db), env={"CHATBI_API_KEYS": "k1=root"})
    assert bad_keys.exit_code == 2 and "CHATBI_API_KEYS" in bad_keys.stderr
    slack = invoke("slack", "--db", str(tiny_db))
    assert slack.exit_code == 2 and "SLACK_BOT_TOKEN" in slack.stderr
    http_mode = invoke("slack", "--db", str(tiny_db), env={"SLACK_BOT_TOKEN": "xoxb-1"})
    assert http_mode.exit_code == 2 and "SLACK_SIGNING_SECRET" in http_mode.stderr


def test_every_answer_carries_its_interpretation(tiny_db):
    """Issue 16: how the question was read, in the JSON (additive key) and on screen."""
    data = json.loads(invoke("ask", "上个季度华南大区GMV前3的商户", "--db", str(tiny_db), "--json").stdout)
    reading = data["interpretation"]
    assert reading["text"].startswith("我理解为：")
    for part in ("上个季度", "华南", "GMV", "前 3", "商户"):
        assert part in reading["text"], reading["text"]
    assert {"time", "value", "metric"} <= {r["role"] for r in reading["readings"]}
    shown = invoke("ask", "上个季度华南大区GMV前3的商户", "--db", str(tiny_db))
    assert reading["text"] in shown.stdout.replace("\n", "")
    english = json.loads(invoke("ask", "GMV of East China last month", "--db", str(tiny_db), "--json").stdout)
    assert english["interpretation"]["text"].startswith("I read this as:")
