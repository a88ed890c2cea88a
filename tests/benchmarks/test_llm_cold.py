"""LLM prompt size (scripted server) and cold start at tiny scale: slower (SDK and model loads)."""

from __future__ import annotations

import pytest

from benchmarks import cold_start, llm_prompt


@pytest.mark.slow
def test_llm_mode_counts_calls_and_prompt_characters(bench_ctx):
    section = llm_prompt.run(bench_ctx)
    m = section.data
    assert m["questions"] >= 3 and m["calls"] >= m["questions"]
    assert m["fallbacks"] == 0 and m["same_plan"] == m["questions"]
    assert 0 < m["chars_mean"] < m["baseline_mean"]


@pytest.mark.slow
def test_cold_start_answers_in_a_new_process(bench_ctx):
    section = cold_start.run(bench_ctx)
    m = section.data["tiny"]
    assert m["offline"][1] == "offline" and m["llm"][1] == "llm"
    assert 0 < m["offline"][0] < 120
