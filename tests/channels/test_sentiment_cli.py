"""`chatbi sentiment FILE.csv --text-column COL` through typer's CliRunner on real CSV files:
progress as rows done / total, the output beside the input by default, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chatbi.channels.cli import app

runner = CliRunner()
REVIEWS = ["质量很好，非常满意，还会回购", "太差了，假货，要退款", "物流很快，包装完好，好评"]


def _csv(path: Path, rows: int) -> Path:
    texts = [REVIEWS[i % len(REVIEWS)] for i in range(rows)]
    pd.DataFrame({"id": range(1, rows + 1), "content": texts}).to_csv(path, index=False, encoding="utf-8")
    return path


def test_progress_counts_rows_and_output_defaults_beside_the_input(tmp_path: Path) -> None:
    source = _csv(tmp_path / "reviews.csv", 3)
    result = runner.invoke(app, ["sentiment", str(source), "--text-column", "content"])
    assert result.exit_code == 0, result.output
    assert "3/3" in result.stdout and "100%" in result.stdout  # the bar shows rows done / total
    written = tmp_path / "reviews_sentiment.csv"
    assert str(written) in result.stdout.replace("\n", "")
    scored = pd.read_csv(written)
    assert list(scored["sentiment"]) == ["positive", "negative", "positive"]
    assert scored["sentiment_score"].between(0, 1).all()
    assert pd.read_csv(source).columns.tolist() == ["id", "content"]  # the input is untouched


def test_progress_after_each_chunk(tmp_path: Path) -> None:
    source = _csv(tmp_path / "many.csv", 6001)  # two chunks of the classifier
    out = tmp_path / "out" / "scored.csv"
    result = runner.invoke(app, ["sentiment", str(source), "--text-column", "content", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "6001/6001" in result.stdout
    assert len(pd.read_csv(out)) == 6001


@pytest.mark.parametrize(("case", "message"), [
    ("missing_file", r"file not found"),
    ("missing_column", r"column 'nope' not found.*available columns: id, content"),
    ("not_a_csv", r"file not found|unreadable CSV"),
])
def test_bad_input_is_a_clear_error(tmp_path: Path, case: str, message: str) -> None:
    source = _csv(tmp_path / "reviews.csv", 3)
    target = {"missing_file": tmp_path / "none.csv", "missing_column": source, "not_a_csv": tmp_path}[case]
    column = "nope" if case == "missing_column" else "content"
    result = runner.invoke(app, ["sentiment", str(target), "--text-column", column])
    assert result.exit_code == 2, result.output
    assert re.search(message, " ".join(result.stderr.split())), result.stderr
    assert "Traceback" not in result.output
    assert "%" not in result.stdout  # no progress bar for work that never started
    assert not (tmp_path / "reviews_sentiment.csv").exists()
