"""Privacy over the whole evaluation set: no PII for marketers and merchants, anywhere.

Every question of tests/eval/questions_*.yaml (multi-turn cases in one conversation) is
asked as ``marketer`` and as a merchant (the merchant id rotates). The full answer JSON
(rows, chart spec with inline data, finding, copy, SQL, notes), the CSV the Streamlit app
offers for download, and every log line must hold no phone number and no user name of the
users table, and no result column may be a PII column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chatbi.channels import web
from chatbi.eval import load_question_set
from tests.reliability.hostile import Secrets, blob_of

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval"
MERCHANTS = (3, 7, 15, 22, 41)
PII_COLUMNS = {"phone", "user_name"}


class PiiScanner:
    """Finds phone numbers (any 11-digit run that is a real phone) and user names."""

    def __init__(self, secrets: Secrets):
        self.phones = set(secrets.phones)
        self.names = set(secrets.names)
        long_names = sorted((n for n in self.names if len(n) >= 3), key=len, reverse=True)
        self._names = re.compile("|".join(map(re.escape, long_names)))

    def scan(self, text: str, rows: list[list[Any]] | None = None) -> list[str]:
        found = [m for m in re.findall(r"(?<!\d)1\d{10}(?!\d)", text) if m in self.phones]
        found += self._names.findall(text)
        found += [str(c) for row in rows or [] for c in row if isinstance(c, str) and c in self.names]
        return found[:5]


@pytest.fixture(scope="module")
def scanner(secrets: Secrets) -> PiiScanner:
    return PiiScanner(secrets)


def test_the_scanner_finds_what_an_admin_may_see(tiny_pipeline, scanner) -> None:
    """The control: the same checks do find PII in an admin's answer (so they can fail)."""
    answer = tiny_pipeline.run_sql("SELECT user_name, phone FROM users LIMIT 5", role="admin").to_dict()
    assert answer["error"] is None
    assert scanner.scan(blob_of(answer), answer["rows"])


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role_kind", ["marketer", "merchant"])
def test_no_pii_for_marketers_and_merchants(language, role_kind, tiny_pipeline, scanner, all_logs) -> None:
    question_set = load_question_set(EVAL_DIR / f"questions_{language}.yaml")
    problems, asked, answered = [], 0, 0
    for index, case in enumerate(question_set.cases):
        role = "marketer" if role_kind == "marketer" else f"merchant:{MERCHANTS[index % len(MERCHANTS)]}"
        conversation = tiny_pipeline.new_conversation()
        for turn in case.turns:
            all_logs.clear()
            answer = tiny_pipeline.ask(turn.question, role=role, conversation=conversation).to_dict()
            asked += 1
            answered += answer["error"] is None
            csv = web.csv_bytes(web.answer_frame(answer)).decode("utf-8-sig")
            found = scanner.scan(blob_of(answer, csv, all_logs.text), answer["rows"])
            columns = PII_COLUMNS & {c.lower() for c in answer["columns"]}
            if found or columns:
                problems.append(f"{case.id} as {role}: {turn.question!r}: {found or columns}")
    assert asked >= 100 and answered >= asked // 3, (asked, answered)
    assert not problems, problems[:10]


def test_merchant_sql_errors_do_not_quote_data(tiny_pipeline) -> None:
    """DuckDB's error for a failing cast quotes the first bad value, which may come from a row
    the merchant's filter hides (here user 1, who never bought from merchant 3)."""
    sql = "SELECT count(*) AS n FROM users u WHERE CAST(CAST(u.user_id AS VARCHAR) AS DATE) IS NULL"
    admin = tiny_pipeline.run_sql(sql, role="admin").to_dict()
    assert admin["error"]["code"] == "sql_error" and "Conversion Error" in admin["error"]["message"]
    merchant = tiny_pipeline.run_sql(sql, role="merchant:3").to_dict()
    assert merchant["error"]["code"] == "sql_error"
    assert "Conversion Error" not in merchant["error"]["message"] and '"' not in merchant["error"]["message"]
