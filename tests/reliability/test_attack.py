"""Issue 18, "safe under attack": the hostile inputs of the outside attack, kept in the suite.

Resource limits through the real ``chatbi sql`` command (a subprocess, its own peak memory
measured) and ``Pipeline.run_sql``; dates out of range through the CLI, the HTTP API and the
time parser. The limits are generous so the suite stays stable on a busy 2-core machine: the
statements must stop within 2× the time limit (plus the CLI's start-up) and under 1.5 GB.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chatbi.answer.pipeline import MAX_AS_OF, MIN_AS_OF
from chatbi.channels.api import create_app
from chatbi.channels.cli import app as cli_app
from chatbi.planner.time_parser import parse_time

CHATBI = Path(sys.executable).with_name("chatbi")
QUERY_TIMEOUT_S = 5.0
STARTUP_ALLOWANCE_S = 15.0  # importing the CLI on a loaded CI machine
PEAK_RSS_LIMIT_MB = 1500

# The statements of the attack report (each grew to GBs or ran past the time limit).
ISSUE_STATEMENTS = [
    "SELECT len(range(100000000))",
    "SELECT repeat('x', 1000000) AS s FROM range(1000)",
    "SELECT length(repeat('x', 2000000000))",
    "SELECT damerau_levenshtein(repeat('a', 24000), repeat('b', 24000))",
]


@pytest.mark.parametrize("sql", ISSUE_STATEMENTS[:2])
def test_chatbi_sql_stops_the_attack_statements(sql: str, tiny_db: Path) -> None:
    env = {**os.environ, "CHATBI_QUERY_TIMEOUT": str(QUERY_TIMEOUT_S), "CHATBI_PLANNER": "offline"}
    started = time.perf_counter()
    # The CLI runs under a small Python that reports its child's peak memory: a child forked
    # straight from this (large, late in the suite) pytest process would inherit pytest's
    # high-water mark across exec, and wait4 would report that instead of the CLI's own.
    peak = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(r.returncode)")
    proc = subprocess.run(
        [sys.executable, "-c", peak, str(CHATBI), "sql", sql, "--role", "marketer", "--db", str(tiny_db), "--json"],
        capture_output=True, env=env, timeout=120)
    elapsed = time.perf_counter() - started
    out = proc.stdout.decode()
    assert proc.returncode == 2, out[-400:]
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["error"]["code"] == "sql_resource_limit"
    assert elapsed < 2 * QUERY_TIMEOUT_S + STARTUP_ALLOWANCE_S
    peak_kb = int(re.findall(r"PEAK_KB (\d+)", proc.stderr.decode())[-1])
    assert peak_kb / 1024 < PEAK_RSS_LIMIT_MB


@pytest.mark.parametrize("sql", ISSUE_STATEMENTS + [
    "SELECT * FROM range(100000000)",
    "SELECT levenshtein(repeat('a', 100000), repeat('b', 100000))",
    "SELECT repeat(s, 1000) FROM (SELECT string_agg(region, '') AS s FROM users) AS t",
])
@pytest.mark.parametrize("role", ["marketer", "admin", "merchant:3"])
def test_run_sql_refuses_with_the_reason(sql: str, role: str, tiny_pipeline) -> None:
    started = time.perf_counter()
    answer = tiny_pipeline.run_sql(sql, role=role).to_dict()
    assert time.perf_counter() - started < 2 * QUERY_TIMEOUT_S
    assert answer["error"] is not None and answer["error"]["code"] in (
        "sql_resource_limit", "sql_table_not_allowed")
    assert " / " in answer["error"]["message"]


# ---------------------------------------------------------------------------- dates out of range

BAD_DATES = ["9999-12-31", "0001-02-01", "0001-01-01", "1899-12-31", "3000-01-01"]


@pytest.mark.parametrize("as_of", BAD_DATES)
def test_cli_refuses_dates_out_of_range(as_of: str, tiny_db: Path, cli_on_session_pipeline) -> None:
    result = CliRunner().invoke(cli_app, ["ask", "上个季度各大区的GMV", "--as-of", as_of, "--json",
                                          "--db", str(tiny_db)])
    assert result.exit_code == 2, result.stdout[-300:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["error"]["code"] == "invalid_date"
    assert as_of in answer["error"]["message"] and "internal" not in result.stdout.lower()


def test_cli_accepts_the_ends_of_the_range(tiny_db: Path, cli_on_session_pipeline) -> None:
    for as_of in (MIN_AS_OF, MAX_AS_OF):
        result = CliRunner().invoke(cli_app, ["ask", "上个季度各大区的GMV", "--as-of", as_of.isoformat(),
                                              "--json", "--db", str(tiny_db)])
        assert result.exit_code in (0, 2), result.stdout[-300:]
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        assert answer["error"] is None or answer["error"]["code"] != "invalid_date"


def test_api_answers_422_for_dates_out_of_range(tiny_settings, tiny_pipeline) -> None:
    settings = dataclasses.replace(tiny_settings, api_keys={"key-a": "admin"})
    client = TestClient(create_app(settings, pipeline=tiny_pipeline), raise_server_exceptions=False,
                        headers={"Authorization": "Bearer key-a"})
    for as_of in BAD_DATES:
        response = client.post("/ask", json={"question": "上个季度各大区的GMV", "as_of": as_of})
        assert response.status_code == 422, response.text[-300:]
        assert response.json()["error"]["code"] == "invalid_date"
    good = client.post("/ask", json={"question": "上个季度各大区的GMV", "as_of": "2025-06-30"})
    assert good.status_code == 200 and good.json()["error"] is None


@pytest.mark.parametrize("as_of", [date(1, 1, 1), date(1, 2, 1), date(9999, 12, 31), MIN_AS_OF, MAX_AS_OF])
@pytest.mark.parametrize("text", ["上个季度", "去年同期", "下个月", "明年", "近2100年", "last 3000 years",
                                  "过去99999天", "9999年", "本周", "next quarter", "上半年"])
def test_time_parser_never_raises_at_the_ends_of_time(text: str, as_of: date) -> None:
    result = parse_time(text, as_of)
    assert result is None or result.range is None or result.range.start <= result.range.end


# ---------------------------------------------------------------------------- servers isolate queries

def test_the_api_keeps_answering_while_a_runaway_runs(tiny_settings) -> None:
    """The real uvicorn server opens its pipeline as a server does (queries in worker
    processes). A runaway that got past the guard (injected straight into the server's
    executor, as a model-written statement would reach it) is killed within 2× the time
    limit; meanwhile other clients are answered promptly and the server does not grow."""
    import resource
    import threading
    import urllib.request

    import uvicorn

    from chatbi.errors import QueryTimeoutError
    from chatbi.sql.isolated import IsolatedExecutor
    from tests.channels.conftest import free_port

    settings = dataclasses.replace(tiny_settings, api_keys={}, query_workers=2, query_timeout_s=3.0,
                                   memory_limit="2GB")
    app = create_app(settings)
    pipeline = app.state.holder.get()
    assert isinstance(pipeline.executor, IsolatedExecutor)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)

    def ask(question: str) -> tuple[int, float, dict]:
        started = time.perf_counter()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/ask", method="POST",
                                         data=json.dumps({"question": question}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, time.perf_counter() - started, json.loads(response.read())

    try:
        assert ask("各大区的GMV")[0] == 200  # warm: the pipeline, a worker, the planner
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        outcome: dict[str, object] = {}

        def runaway() -> None:
            started = time.perf_counter()
            try:
                pipeline.executor.run("SELECT levenshtein(repeat('a', 200000), repeat('b', 200000))")
            except QueryTimeoutError as exc:
                outcome["error"] = exc
            outcome["seconds"] = time.perf_counter() - started

        bad = threading.Thread(target=runaway)
        bad.start()
        time.sleep(0.3)
        answers = [ask(q) for q in ("各大区的GMV", "各渠道GMV占比", "高价值用户有多少？")]
        bad.join(60)
        assert all(status == 200 and body["error"] is None for status, _, body in answers), answers
        assert max(seconds for _, seconds, _ in answers) < 2 * settings.query_timeout_s
        assert isinstance(outcome.get("error"), QueryTimeoutError)
        assert float(outcome["seconds"]) < 2 * settings.query_timeout_s + 1
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before < 300
        assert ask("各大区的GMV")[0] == 200  # and afterwards
    finally:
        server.should_exit = True
        thread.join(15)
        app.state.holder.close()


# ---------------------------------------------------------------------------- small groups in chatbi sql

@pytest.mark.parametrize(("sql", "code"), [
    ("SELECT user_id, sum(pay_amount) AS spend FROM orders GROUP BY user_id", "sql_user_level_refused"),
    ("SELECT gender, count(*) AS n FROM users WHERE city = (SELECT city FROM users GROUP BY city "
     "ORDER BY count(*), city LIMIT 1) GROUP BY gender", "small_group_suppressed"),
    ("SELECT gender, birth_year, city FROM users", "sql_small_group_refused"),
])
@pytest.mark.parametrize("role", ["marketer", "merchant:3"])
def test_chatbi_sql_small_groups(sql: str, code: str, role: str, tiny_db: Path, cli_on_session_pipeline) -> None:
    result = CliRunner().invoke(cli_app, ["sql", sql, "--role", role, "--json", "--db", str(tiny_db)])
    assert result.exit_code == 2, result.stdout[-300:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["error"]["code"] == code and " / " in answer["error"]["message"]
    admin = CliRunner().invoke(cli_app, ["sql", sql, "--json", "--db", str(tiny_db)])
    assert admin.exit_code == 0, admin.stdout[-300:]
