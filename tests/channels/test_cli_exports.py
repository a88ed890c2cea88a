"""chatbi ask … --csv/--xlsx/--chart-svg: exports people can use, from the command line."""

from __future__ import annotations

import csv

from typer.testing import CliRunner

from chatbi.channels.cli import app

runner = CliRunner()


def test_ask_writes_labelled_csv_excel_and_svg(tiny_db, tmp_path):
    from openpyxl import load_workbook

    out_csv, out_xlsx, out_svg = tmp_path / "a.csv", tmp_path / "a.xlsx", tmp_path / "a.svg"
    result = runner.invoke(app, ["ask", "GMV by region", "--db", str(tiny_db), "--csv", str(out_csv),
                                 "--xlsx", str(out_xlsx), "--chart-svg", str(out_svg)])
    assert result.exit_code == 0, result.output
    with out_csv.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Region", "GMV (¥)"]
    assert "East China" in {r[0] for r in rows[1:]}
    assert all(r[1].isdigit() for r in rows[1:])  # rounded, no 31330731.000000015
    sheet = load_workbook(out_xlsx).worksheets[0]
    assert [c.value for c in sheet[1]] == rows[0] and sheet.max_row == len(rows)
    assert out_svg.read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert "GMV" in result.output and "Region" in result.output  # the labelled table on screen


def test_export_of_an_answer_without_a_table_is_a_clear_error(tiny_db, tmp_path):
    result = runner.invoke(app, ["ask", "复购率怎么算？", "--db", str(tiny_db), "--csv", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "no table to export" in result.output + (result.stderr or "")
    assert not (tmp_path / "x.csv").exists()
