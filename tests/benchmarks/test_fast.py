"""The issue-20 benchmark (one-shot asks, why-questions, the same numbers) at tiny scale."""

from __future__ import annotations

from benchmarks import fast


def test_fast_answers_report_every_figure_beside_its_anchor(bench_ctx):
    section = fast.run(bench_ctx)
    tiny = section.data["tiny"]
    shot = tiny["one_shot"]
    assert shot["rows"] and all(r["error"] is None and r["statements"] >= 1 for r in shot["rows"])
    assert shot["wall_p50"] > 0 and shot["bare_p50_ms"] > 0
    why = tiny["why"]["rows"]
    assert why and all(r["same_finding"] for r in why)
    assert all(r["grouped"]["statements"] < r["separate"]["statements"] for r in why)
    assert tiny["same"] == {**tiny["same"], "asks": 4, "distinct": 1, "errors": []}
    assert {g.verdict for g in section.goals} <= {"PASS", "MISS", "n/a"}
