"""The entry point writes the report (keeping the hand-written intro), plots and results."""

from __future__ import annotations

import json

import pytest

from benchmarks import others, plots, report, run
from benchmarks.common import Goal, Section, loglog_slope, percentile


def test_helpers():
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3 and percentile([1, 2, 3, 4], 0.95) == 4
    assert loglog_slope([1, 10, 100], [2, 20, 200]) == pytest.approx(1.0)
    assert loglog_slope([1], [1]) is None
    assert Goal("g", "≤ 1 s").verdict == "n/a"


def test_report_keeps_intro_and_lists_goals(tmp_path):
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nhand-written\n\n" + report.MARKER + "\nold figures\n", encoding="utf-8")
    section = Section("x", "X", header=["a", "b"], rows=[["1", "2|3"]], notes=["line\nbreak"],
                      goals=[Goal("speed", "≤ 1 s", "2 s", False, "CPU")])
    report.write(out, report.render([section], [], {"CPU": "test"}, "python -m benchmarks.run", out, 60))
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nhand-written") and "old figures" not in text
    assert "| speed | ≤ 1 s | 2 s | **MISS** | CPU |" in text and "2\\|3" in text and "- line break" in text


def test_first_run_keeps_a_hand_written_file_without_marker(tmp_path):
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nintro only\n", encoding="utf-8")
    report.write(out, report.render([], [], {}, "cmd", out, 1))
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nintro only") and report.MARKER in text


def test_plot_is_written(tmp_path):
    path = plots.line_chart(tmp_path / "p.png", "t", "orders", "s", {"a": [(1, 1), (10, 5)]})
    assert path is not None and path.read_bytes()[:4] == b"\x89PNG"
    assert plots.line_chart(tmp_path / "q.png", "t", "x", "y", {"a": [(1, 1)]}) is None


def test_run_writes_markdown_and_results(bench_ctx, tmp_path):
    out = tmp_path / "bench.md"
    common = ["--scales", "tiny", "--quick", "--seed", "7", "--cache-dir", str(bench_ctx.cache_dir),
              "--out", str(out)]
    assert run.main([*common, "--only", "rfm"]) == 0
    assert "review sentiment accuracy" not in out.read_text(encoding="utf-8")
    # --update re-runs one section and keeps the others from results.json
    assert run.main([*common, "--only", "sentiment", "--update"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "sections re-measured in this run | sentiment" in text
    assert "## Goals" in text and "RFM summary" in text and "| DuckDB | " in text
    assert "review sentiment accuracy" in text and "excluded (in training data)" in text
    results = json.loads((tmp_path / "benchmarks" / "results.json").read_text())
    assert "rfm" in results["results"] and results["machine"]["cores"]


def test_unknown_benchmark_is_refused():
    with pytest.raises(SystemExit):
        run.selected(run.parse_args(["--only", "nope"]))


@pytest.mark.slow
def test_recommender_output_is_included(bench_ctx):
    section = others.recommender(bench_ctx)
    assert "hit rate" in section.markdown or "not present" in section.markdown
