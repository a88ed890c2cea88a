"""The web chat's tables and downloads speak business language (AppTest, tiny warehouse)."""

from __future__ import annotations

import csv
import io

from streamlit.testing.v1 import AppTest

from chatbi.answer.exports import csv_bytes, xlsx_bytes
from chatbi.answer.labels import is_identifier
from chatbi.channels import web

from .conftest import REPO_ROOT

APP = str(REPO_ROOT / "streamlit_app.py")


def test_english_question_gets_english_labelled_table_and_downloads(tiny_db, monkeypatch):
    monkeypatch.setenv("CHATBI_DB", str(tiny_db))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.chat_input[0].set_value("GMV by region").run()
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["Region", "GMV"]  # the ¥ is in the column's format
    assert "East China" in set(frame["Region"]) and "华东" not in set(frame["Region"])
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download Excel", "Download Chart PNG", "Download Chart SVG"]
    assert not any(is_identifier(str(c)) for c in frame.columns)


def test_exports_are_labelled_and_rounded(tiny_pipeline):
    from openpyxl import load_workbook

    data = tiny_pipeline.ask("各渠道GMV占比").to_dict()
    rows = list(csv.reader(io.StringIO(csv_bytes(data).decode("utf-8-sig"))))
    assert rows[0] == ["渠道", "GMV（元）", "GMV占比（%）"]
    assert all(len(r[1].split(".")) == 1 and len(r[2].split(".")[-1]) <= 1 for r in rows[1:])
    book = load_workbook(io.BytesIO(xlsx_bytes(data)))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == rows[0]
    assert isinstance(sheet["B2"].value, int) and sheet["B2"].number_format == "#,##0"
    assert book.worksheets[1]["A1"].value == "问题"
    frame, formats = web.table_view(data["table"])
    assert formats == {"GMV": "yen", "GMV占比": "%.1f%%"} and list(frame.columns) == ["渠道", "GMV", "GMV占比"]


def test_users_see_the_app_not_streamlits_developer_tools():
    import tomllib

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "viewer"  # no Deploy button, no developer menu
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"  # an SPDX string: no license-table warning on install
    assert any(r.startswith("setuptools>=77") for r in project["build-system"]["requires"])
    assert not (REPO_ROOT / "y.db").exists() and not (REPO_ROOT / "docs" / "dev" / "TEAM_RULES.md").exists()
