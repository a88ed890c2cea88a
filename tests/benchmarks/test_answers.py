"""Question latency and HTTP concurrency at tiny scale."""

from __future__ import annotations

from benchmarks import concurrency, questions


def test_question_latency_has_every_stage(bench_ctx):
    section = questions.run(bench_ctx)
    s = section.data["tiny"]
    assert s["questions"] >= 3 and s["errors"] == 0 and s["error_codes"] == {}
    assert 0 < s["with_sql"] <= s["questions"]
    for stage in questions.STAGES:
        assert s[f"{stage}_p50"] <= s[f"{stage}_p95"]
    assert s["total_p50"] >= s["sql_p50"] > 0
    assert {g.verdict for g in section.goals} <= {"PASS", "MISS"}


def test_http_api_under_concurrent_clients(bench_ctx):
    section = concurrency.run(bench_ctx)
    levels = section.data["levels"]
    assert [r["clients"] for r in levels] == [1, 4, 16]
    assert all(r["errors"] == 0 and r["requests"] >= r["clients"] for r in levels)
    assert section.goals[0].passed is True
