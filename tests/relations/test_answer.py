"""A RelationResult fills an Answer that serialises to the INTERFACES.md JSON."""

from __future__ import annotations

import json

from chatbi.answer.types import Answer
from chatbi.relations import fill_answer


def test_fill_answer_serialises(ask):
    result = ask("上个月从浏览到购买的转化漏斗")
    answer = fill_answer(Answer(question="上个月从浏览到购买的转化漏斗"), result)
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert data["intent"] == "query" and data["error"] is None
    assert data["columns"] == list(result.frame.columns)
    assert [row[data["columns"].index("users")] for row in data["rows"]] == result.frame["users"].tolist()
    assert data["chart"]["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")
    assert data["finding"] == result.finding and data["sql"] == result.sql
    assert data["time_range"].startswith("上个月 = 2026-08-01")
    assert [d["name"] for d in data["definitions"]] == ["funnel"]


def test_network_answer_serialises(ask):
    result = ask("和商户12共享客户最多的商户", "analyst")
    answer = fill_answer(Answer(question="q"), result)
    text = json.dumps(answer.to_dict(), ensure_ascii=False)
    assert "merchant_links" in text and "shared_buyers" in text


def test_missing_tables_give_a_clear_error(rel_db, tmp_path, policy, values):
    import shutil

    import duckdb
    import pytest

    from chatbi.relations import RelationsNotBuiltError, answer_relation, detect_relation_question
    from chatbi.sql.executor import Executor
    from chatbi.sql.policy import Role
    from tests.relations.conftest import AS_OF

    path = tmp_path / "old.duckdb"
    shutil.copyfile(rel_db, path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE merchant_links")
    con.close()
    request = detect_relation_question("和商户12共享客户最多的商户", None, values)
    with Executor(path) as executor, pytest.raises(RelationsNotBuiltError) as info:
        answer_relation(request, executor=executor, policy=policy, role=Role.parse("admin"), as_of=AS_OF)
    assert info.value.exit_code == 2 and "profile" in info.value.message
