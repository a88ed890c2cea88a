"""Merchants named the way people name them (``chatbi.planner.merchant_names``): by the shop's
name, whole or partial (no city, no generic suffix, a small typo), or by id in other wording
(179这家店, store 179's, 店铺id是179); a name several shops share is asked about, and the reply
("179", "潍坊那家", "第二家") completes the question. The result is the same merchant-id filter
as "商户179". Real semantic layer; names from the small demo warehouse."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from chatbi.planner.context import Conversation
from chatbi.planner.merchant_names import NAMES_KEY, MerchantNames
from chatbi.planner.merchant_refs import find_merchant_refs
from chatbi.planner.offline import OfflinePlanner
from tests.planner.conftest import AS_OF, real_layer
from tests.planner.layer_fixture import real_layer_values
from tests.planner.plan_checks import check

E = dict
AUG = ("2026-08-01", "2026-08-31")
YEAR = ("2026-01-01", "2026-09-30")

#: merchants of the small demo warehouse (seed 42), and two shops of one name as the medium
#: demo has them ("(2号店)" added to the second)
SHOPS = [
    (54, "西安·木子奢品寄卖"), (126, "上海·大熊3C回收小铺"), (179, "台州·青柠首饰铺小铺"),
    (209, "重庆·Vintage名包寄卖小铺"), (364, "成都·Vintage名包寄卖工作室"), (418, "石家庄·Vintage名包寄卖工作室"),
    (248, "潍坊·拾光古着店小铺"), (257, "重庆·拾光古着店店"), (306, "深圳·旧时光表行工作室"),
    (1001, "上海·Echo户外工作室"), (1002, "上海·Echo户外工作室(2号店)"), (1003, "南京·数码店"),
    (1004, "北京·半夏衣橱"), (1005, "北京·半夏衣橱"),  # two shops of one name, as in the medium demo
]


@pytest.fixture(scope="module")
def named_planner() -> OfflinePlanner:
    values: dict[str, list[Any]] = {**real_layer_values(), NAMES_KEY: [f"{i}\t{n}" for i, n in SHOPS]}
    return OfflinePlanner(real_layer(), values)


def _merchant_filter(plan: Any) -> Any:
    assert plan.query is not None, plan
    found = [f for f in plan.query.filters if f.dimension == "merchant_id"]
    assert len(found) == 1, plan.query.filters
    return found[0].value


# ------------------------------------------------------------------ names in questions
NAMED: list[tuple[str, int, dict[str, Any]]] = [
    ("台州·青柠首饰铺小铺的回头客占比是多少？", 179, E(metrics=["repeat_buyer_share"])),
    ("西安·木子奢品寄卖 上个月跟7月比纠纷单多了几单", 54, E(time=AUG, comparison="previous_period")),
    ("monthly order trend for 潍坊·拾光古着店小铺 in 2026", 248, E(metrics=["order_count"], grain="month", time=YEAR, lang="en")),
    ("I run 重庆·Vintage名包寄卖小铺. What share of my customers are repeat buyers?", 209, E(lang="en")),
    ("青柠首饰铺小铺上个月的GMV", 179, E(metrics=["gmv"], time=AUG)),  # no city
    ("青柠首饰铺今年订单数", 179, E(metrics=["order_count"], time=YEAR)),  # no generic suffix either
    ("木子奢品今年订单数", 54, E(metrics=["order_count"], time=YEAR)),
    ("台州青柠首饰铺小铺的GMV", 179, E(metrics=["gmv"])),  # the city glued on
    ("重庆的拾光古着店上个月GMV", 257, E(metrics=["gmv"], time=AUG)),  # the city picks one of two
    ("上海·大熊3C回收小铺 GMV last month", 126, E(metrics=["gmv"], time=AUG, lang="en")),
    ("上海·Echo户外工作室(2号店)的订单数", 1002, E(metrics=["order_count"])),  # not merchant 2
    ("上海·Echo户外工作室的订单数", 1001, E(metrics=["order_count"])),  # the exact name over the 2号店's base
]


@pytest.mark.parametrize(("question", "merchant", "expected"), NAMED, ids=[q for q, _, _ in NAMED])
def test_shop_names_filter_on_the_merchant(named_planner: OfflinePlanner, question: str, merchant: int,
                                           expected: dict[str, Any]) -> None:
    plan = named_planner.plan(question, as_of=AS_OF)
    check(plan, {"intent": "query", **expected})
    assert _merchant_filter(plan) == merchant
    name = dict(SHOPS)[merchant]
    assert name in plan.interpretation.text, plan.interpretation.text  # stated with the shop's name


def test_typo_in_a_shop_name_is_read_as_that_shop_and_said(named_planner: OfflinePlanner) -> None:
    plan = named_planner.plan("青柠首饰铺小普的回头客占比", as_of=AS_OF)
    assert plan.intent == "query" and _merchant_filter(plan) == 179
    assert any("青柠首饰铺小普" in n and "台州·青柠首饰铺小铺" in n for n in plan.notes), plan.notes


@pytest.mark.parametrize(("question", "candidates"), [
    ("拾光古着店上个月的GMV", (248, 257)),
    ("Vintage名包寄卖 GMV this year", (209, 364, 418)),
    ("Echo户外工作室的订单数", (1001, 1002)),
    ("北京·半夏衣橱今年订单数", (1004, 1005)),  # the very same name twice
    ("台州的木子奢品寄卖上个月GMV", (54,)),  # the one shop of that name is not in the city said
    ("拾光古着小普上个月GMV", (248, 257)),  # a typo two shops are as near to
])
def test_a_name_several_shops_share_is_asked_about(named_planner: OfflinePlanner, question: str,
                                                   candidates: tuple[int, ...]) -> None:
    plan = named_planner.plan(question, as_of=AS_OF)
    assert plan.intent == "clarify", plan
    for merchant in candidates:
        assert str(merchant) in plan.message and dict(SHOPS)[merchant] in plan.message, plan.message


@pytest.mark.parametrize(("reply", "merchant"), [
    ("248", 248), ("商户257", 257), ("店铺id是257", 257), ("潍坊那家", 248), ("第二家", 257),
    ("重庆·拾光古着店店", 257), ("小铺那个", 248),
])
def test_the_reply_to_which_shop_completes_the_question(named_planner: OfflinePlanner, reply: str,
                                                        merchant: int) -> None:
    conversation = Conversation()
    first = named_planner.plan("拾光古着店上个月的GMV", as_of=AS_OF, conversation=conversation)
    assert first.intent == "clarify"
    plan = named_planner.plan(reply, as_of=AS_OF, conversation=conversation)
    check(plan, E(intent="query", metrics=["gmv"], time=AUG))
    assert _merchant_filter(plan) == merchant


# ------------------------------------------------------------------ ids in other wording
IDS: list[tuple[str, dict[str, Any]]] = [
    ("179这家店今年的成交额跟订单量", E(metrics=["gmv", "order_count"], time=YEAR)),
    ("这家179上个月GMV", E(metrics=["gmv"], time=AUG)),
    ("age breakdown of store 179's buyers ytd", E(time=YEAR, lang="en")),
    ("shop #179 orders last month", E(metrics=["order_count"], time=AUG, lang="en")),
    ("商户号179今年GMV", E(metrics=["gmv"], time=YEAR)),
    ("id为179的店铺今年GMV", E(metrics=["gmv"], time=YEAR)),
]


@pytest.mark.parametrize(("question", "expected"), IDS, ids=[q for q, _ in IDS])
def test_merchant_ids_in_other_wording(named_planner: OfflinePlanner, question: str, expected: dict[str, Any]) -> None:
    plan = named_planner.plan(question, as_of=AS_OF)
    check(plan, {"intent": "query", **expected})
    assert _merchant_filter(plan) == 179


@pytest.mark.parametrize("question", ["这家店2025年的GMV", "这家店2025", "第3这家", "3家店的GMV", "这个月179单"])
def test_numbers_that_are_still_not_ids(question: str) -> None:
    assert find_merchant_refs(question) == []


def test_this_shop_with_its_id_is_not_a_pointer_back(named_planner: OfflinePlanner) -> None:
    """"179这家店" names the shop: not a follow-up of the previous answer, and never "who is meant?"."""
    conversation = Conversation()
    named_planner.plan("各大区的GMV", as_of=AS_OF, conversation=conversation)
    plan = named_planner.plan("179这家店今年的订单数", as_of=AS_OF, conversation=conversation)
    check(plan, E(intent="query", metrics=["order_count"], dims=[], time=YEAR))
    assert _merchant_filter(plan) == 179 and not plan.followup


# ------------------------------------------------------------------ "which shop?" after 我们店
@pytest.mark.parametrize("reply", ["店铺id是179", "是商户179", "179", "台州·青柠首饰铺小铺", "青柠首饰铺"])
def test_reply_naming_the_shop_completes_my_shop_question(named_planner: OfflinePlanner, reply: str) -> None:
    conversation = Conversation()
    first = named_planner.plan("我们店上个月卖了多少", as_of=AS_OF, conversation=conversation)
    assert first.intent == "clarify"
    plan = named_planner.plan(reply, as_of=AS_OF, conversation=conversation)
    check(plan, E(intent="query", metrics=["gmv"], time=AUG))
    assert _merchant_filter(plan) == 179


def test_a_full_question_after_which_shop_is_its_own(named_planner: OfflinePlanner) -> None:
    """商户179的订单数 after "which shop?" is a new question: its merchant is kept, never dropped."""
    conversation = Conversation()
    named_planner.plan("我们店上个月卖了多少", as_of=AS_OF, conversation=conversation)
    plan = named_planner.plan("商户179的订单数", as_of=AS_OF, conversation=conversation)
    check(plan, E(intent="query", metrics=["order_count"], time=None))
    assert _merchant_filter(plan) == 179


def test_a_number_after_another_clarifying_question_is_not_a_shop(named_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    first = named_planner.plan("各大区的情况", as_of=AS_OF, conversation=conversation)
    assert first.intent == "clarify"
    plan = named_planner.plan("179", as_of=AS_OF, conversation=conversation)
    assert plan.query is None or all(f.dimension != "merchant_id" for f in plan.query.filters)


# ------------------------------------------------------------------ the index itself
def test_partial_forms_are_never_layer_words() -> None:
    """A shop whose name without city and suffix is a layer word (数码) is found only by more."""
    names = MerchantNames([(1003, "南京·数码店"), (7, "杭州·数码优品小铺")], reserved=["数码", "数码优品"])
    assert names.find("数码的gmv") == []
    assert [h.shop.merchant_id for h in names.find("南京·数码店的gmv")] == [1003]


def test_scales_to_thousands_of_merchants() -> None:
    """3,000 generated demo-style names (the medium demo): built once, found in well under a
    millisecond or two per question."""
    from chatbi.warehouse.demo_catalog import SHOP_WORDS
    from chatbi.warehouse.demo_reference import CITY_NAMES, MERCHANT_NICKS, MERCHANT_SUFFIXES

    rng = random.Random(5)
    shops = [(i, f"{rng.choice(CITY_NAMES)}·{rng.choice(MERCHANT_NICKS)}{rng.choice(SHOP_WORDS)}{rng.choice(MERCHANT_SUFFIXES)}")
             for i in range(1, 3001)]
    started = time.perf_counter()
    names = MerchantNames(shops)
    built = time.perf_counter() - started
    questions = [f"{shops[i][1]}上个月的GMV是多少，按渠道看一下" for i in range(0, 3000, 30)]
    questions += ["上个季度华东大区哪个品类的销售额增长最快？"] * 100
    started = time.perf_counter()
    found = [names.find(q.lower()) for q in questions]
    per_question = (time.perf_counter() - started) / len(questions)
    assert built < 3.0 and per_question < 0.005, (built, per_question)
    assert all(hits and shops[i][0] in {s.merchant_id for s in hits[0].candidates}
               for hits, i in zip(found, range(0, 3000, 30), strict=False))
    assert all(not hits for hits in found[len(found) - 100:])


# ------------------------------------------------------------------ from a demo warehouse
def test_demo_warehouse_names_reach_the_planner_and_the_cache(tiny_pipeline: Any) -> None:
    """The names are read with the other dimension values, kept in the planning cache, and a
    shop said by its name without city is answered for that shop; a merchant role naming
    another shop by name is refused like "商户N"."""
    from chatbi.retrieval.planning_cache import load_planning

    values = tiny_pipeline.dimension_values()
    rows = [r.split("\t", 1) for r in values[NAMES_KEY]]
    assert len(rows) == tiny_pipeline.executor.run("SELECT COUNT(*) FROM merchants").rows[0][0]
    cached = load_planning(tiny_pipeline.settings.index_dir, tiny_pipeline.executor.version(), tiny_pipeline.layer)
    assert cached is None or NAMES_KEY in cached[1]
    names = tiny_pipeline.planner.lexicon.merchant_names
    unique = next((int(i), n) for i, n in rows
                  if len(hits := names.find(n.split("·", 1)[-1].lower())) == 1 and hits[0].shop is not None)
    merchant, name = unique
    answer = tiny_pipeline.ask(f"{name.split('·', 1)[-1]}上个月的订单数")
    assert answer.error is None, answer.error
    assert f"merchant_id = {merchant}" in answer.sql.replace("merchants.", "").replace("orders.", "")
    assert name in answer.interpretation["text"]
    other = next(int(i) for i, _ in rows if int(i) != merchant)
    refused = tiny_pipeline.ask(f"{name}上个月的订单数", role=f"merchant:{other}")
    assert refused.error is not None and refused.error["code"] == "other_merchant_refused", refused.error
