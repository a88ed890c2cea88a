"""Every profile table has the columns DATA_CONTRACT.md requires, with the pinned types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatbi.profiles import PROFILE_TABLES
from chatbi.profiles.contract import PROFILE_CONTRACT
from chatbi.warehouse.schema import RAW_TABLES

CONTRACT_MD = Path(__file__).resolve().parents[3] / "shared" / "design" / "DATA_CONTRACT.md"


def _contract_doc_columns() -> dict[str, set[str]]:
    """Required columns per profile table, read from the markdown table of DATA_CONTRACT.md."""
    text = CONTRACT_MD.read_text(encoding="utf-8")
    section = text.split("## Profile tables", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        table = cells[0].strip("`")
        cols = set(re.findall(r"`([a-z_]+)`", cells[2]))
        for raw in ("users", "merchants"):
            if f"the `{raw}` dimensions" in cells[2]:
                cols.discard(raw)
                cols |= set(RAW_TABLES[raw])
        out[table] = cols
    return out


@pytest.mark.skipif(not CONTRACT_MD.exists(), reason="shared/design not beside the repo")
def test_pinned_contract_covers_data_contract_md() -> None:
    doc = _contract_doc_columns()
    assert set(doc) == set(PROFILE_TABLES)
    for table, cols in doc.items():
        missing = cols - set(PROFILE_CONTRACT[table])
        assert not missing, f"{table} lacks {missing}"


@pytest.mark.parametrize("table", sorted(PROFILE_CONTRACT))
def test_built_tables_have_contract_columns_and_types(con, table: str) -> None:
    actual = {name: typ for name, typ in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ?", [table]).fetchall()}
    assert actual, f"table {table} was not built"
    wrong = {c: (t, actual.get(c)) for c, t in PROFILE_CONTRACT[table].items()
             if actual.get(c) != t.replace(",", ", ") and actual.get(c) != t}
    assert not wrong, f"{table}: expected vs actual types {wrong}"


def test_one_row_per_user_and_merchant(con) -> None:
    users = con.execute("SELECT count(*), count(DISTINCT user_id) FROM users").fetchone()
    profile = con.execute("SELECT count(*), count(DISTINCT user_id) FROM user_profile").fetchone()
    assert profile == users
    merchants = con.execute("SELECT count(DISTINCT merchant_id) FROM merchants").fetchone()[0]
    assert con.execute("SELECT count(*) FROM merchant_profile").fetchone()[0] == merchants


def test_one_row_per_relation_pair_and_review(con) -> None:
    dup = con.execute("SELECT count(*) - count(DISTINCT (user_id, merchant_id)) "
                      "FROM user_merchant_relation").fetchone()[0]
    assert dup == 0
    assert con.execute("SELECT count(*) FROM review_sentiment").fetchone()[0] == \
        con.execute("SELECT count(DISTINCT review_id) FROM reviews").fetchone()[0]


def test_profile_date_is_the_as_of_date(con, built) -> None:
    as_of = built[1].as_of
    latest = con.execute("SELECT max(order_ts)::DATE FROM orders").fetchone()[0]
    assert as_of == latest
    for table in ("user_profile", "merchant_profile"):
        assert con.execute(f"SELECT DISTINCT profile_date FROM {table}").fetchall() == [(as_of,)]
