"""Questions about the imported Olist data, answered end to end by the offline Pipeline.

Expected values come from pandas over the CSV files (tests/importers/olist_reference.py).
Questions that do not work yet are listed in docs/import.md ("Known gaps"), not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from chatbi.warehouse.importers.olist_mapping import load_mapping
from tests.importers.olist_reference import OlistReference

STATE_NAMES = {s.code: s.name for s in load_mapping().states}
ZH_OF = {c.en: c.zh for c in load_mapping().categories}


@pytest.fixture(scope="module")
def pipeline(olist_db: Path) -> Iterator[object]:
    from chatbi.answer.pipeline import Pipeline
    from chatbi.config import Settings

    p = Pipeline(Settings(db_path=olist_db, planner="offline"))
    yield p
    p.close()


def ask(pipeline, question: str):
    answer = pipeline.ask(question)
    assert answer.error is None, (question, answer.error)
    return answer


def _plain(value):
    return float(value) if isinstance(value, Decimal) else value


def column(answer, name: str) -> list:
    i = answer.columns.index(name)
    return [_plain(row[i]) for row in answer.rows]


def test_total_gmv(pipeline, ref: OlistReference) -> None:
    answer = ask(pipeline, "GMV")
    assert _plain(answer.rows[0][0]) == pytest.approx(ref.gmv(), abs=0.01)


def test_state_with_most_repeat_buyers(pipeline, ref: OlistReference) -> None:
    answer = ask(pipeline, "which state has the most repeat buyers?")
    assert "province" in answer.columns
    expected = ref.repeat_buyers_by_state()
    top_state = max(expected, key=expected.get)
    states, counts = column(answer, "province"), answer.rows
    assert states[0] == STATE_NAMES[top_state]
    got = {row[answer.columns.index("province")]: row[-1] for row in counts}
    assert got == {STATE_NAMES[s]: n for s, n in expected.items()}


@pytest.mark.parametrize("question", ["top 10 sellers by GMV in 2018", "2018年GMV最高的10个商户"])
def test_top_sellers_by_gmv_in_2018(pipeline, ref: OlistReference, question: str) -> None:
    answer = ask(pipeline, question)
    expected = ref.seller_gmv(2018).head(10)
    names = column(answer, "merchant_name")
    assert len(names) == 10
    assert names == ["seller-" + sid[:8] for sid in expected.index]
    assert column(answer, "gmv") == pytest.approx(list(expected.values), abs=0.01)


def test_gmv_by_category_in_chinese(pipeline, ref: OlistReference) -> None:
    answer = ask(pipeline, "各品类的GMV")
    got = {c: v for c, v in zip(column(answer, "category"), column(answer, "gmv"), strict=True)
           if c is not None}
    expected = ref.category_gmv()
    assert max(got, key=got.get) == ZH_OF[expected.index[0]]
    for en, value in expected.head(5).items():
        assert got[ZH_OF[en]] == pytest.approx(value, abs=0.01)


def test_chinese_category_filter(pipeline, ref: OlistReference) -> None:
    answer = ask(pipeline, "美妆个护的GMV")
    assert _plain(answer.rows[0][0]) == pytest.approx(ref.category_gmv()["health_beauty"], abs=0.01)


def test_average_rating_by_state(pipeline, ref: OlistReference) -> None:
    answer = ask(pipeline, "average rating by state")
    got = dict(zip(column(answer, "province"), column(answer, "avg_rating"), strict=True))
    expected = {STATE_NAMES[s]: v for s, v in ref.avg_rating_by_state().items()}
    assert got == pytest.approx(expected)


def test_gmv_by_brazilian_region(pipeline, ref: OlistReference) -> None:
    answer = ask(pipeline, "各大区的GMV")
    got = dict(zip(column(answer, "region"), column(answer, "gmv"), strict=True))
    region_of = {s.code: s.region for s in load_mapping().states}
    df = ref.orders_full[ref.orders_full["valid"]]
    expected = df.groupby(df["buyer_state"].map(region_of))["pay"].sum().to_dict()
    assert got == pytest.approx(expected, abs=0.01)


def test_orders_by_state(pipeline, ref: OlistReference) -> None:
    answer = ask(pipeline, "orders by state")
    got = dict(zip(column(answer, "province"), column(answer, "order_count"), strict=True))
    assert got == {STATE_NAMES[s]: n for s, n in ref.valid_orders_by_state().items()}
