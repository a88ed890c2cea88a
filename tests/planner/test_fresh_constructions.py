"""Constructions found in the fresh development questions (issue 16), each a general
mechanism: a count asked as a rate, breakdowns by a number, two rates side by side, a
group described in place, the same N entities after 这几个, and whole questions that do
not complete a pending clarification."""

from __future__ import annotations

import pytest

from chatbi.planner.context import Conversation
from chatbi.planner.offline import OfflinePlanner
from tests.planner.conftest import AS_OF, plan_conversation


@pytest.mark.parametrize(("question", "metric"), [
    ("what % of august orders got cancelled, app vs web vs mini program", "cancel_rate"),
    ("各渠道取消订单占比", "cancel_rate"),
    ("which categories had the most returns last qtr, as a rate", "return_rate"),
])
def test_a_count_asked_as_a_share_is_its_rate(demo_planner: OfflinePlanner, question: str, metric: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.metrics == [metric], plan
    assert not plan.query.share_of_total and plan.query.share_part is None


def test_a_share_of_a_count_by_a_value_stays_a_share(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("退货订单里华东占几成", as_of=AS_OF)
    assert plan.query is not None and plan.query.metrics == ["returned_order_count"]
    assert plan.query.share_part is not None and plan.query.share_part.value == "华东"


@pytest.mark.parametrize("question", ["按年龄看用户数", "age breakdown of store 179's buyers ytd"])
def test_a_breakdown_by_a_number_uses_its_bands(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.dimensions == ["age_band"], plan


@pytest.mark.parametrize(("question", "metrics"), [
    ("短信渠道的打开率点击率各多少", ["open_rate", "click_rate"]),
    ("how many orders and how many buyers did 华南 have in july", ["order_count", "buyer_count"]),
    ("商户149今年收了多少条评价 平均几分", ["review_count", "avg_rating"]),
])
def test_two_measures_side_by_side_are_two_asks(demo_planner: OfflinePlanner, question: str, metrics: list[str]) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.metrics == metrics, plan


def test_a_rate_glued_to_a_population_still_qualifies_it(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("为什么华南区新用户转化率下降了", as_of=AS_OF)
    assert plan.intent == "why" and plan.why_request is not None
    assert plan.why_request.metric == "conversion_rate" and plan.why_request.cohort == "new_users"


def test_regions_ranked_by_growth_rank_by_the_change(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("regions ranked by mom gmv growth in sept", as_of=AS_OF)
    assert plan.query is not None and plan.query.order_by[0].field == "gmv_growth"


def test_a_group_described_in_place_is_not_a_reference_back(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("对价格特别敏感的那批人 下单时用券的比例有多高", as_of=AS_OF, conversation=Conversation())
    assert plan.intent == "query" and plan.query is not None, plan
    assert any(f.dimension == "price_sensitivity" and f.value == "高" for f in plan.query.filters)


def test_these_few_keep_the_earlier_top_n(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("今年gmv最高的5个城市", as_of=AS_OF, conversation=conversation)
    conversation.mark_last(shown_keys=("city", ("上海", "重庆", "北京", "深圳", "广州")))
    plan = demo_planner.plan("这几个城市的客单价呢", as_of=AS_OF, conversation=conversation)
    assert plan.query is not None and plan.query.metrics == ["avg_order_value"]
    assert any(f.dimension == "city" and f.op == "in" and len(f.value) == 5 for f in plan.query.filters)
    assert plan.query.limit is None


def test_a_whole_question_does_not_complete_a_pending_clarification(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    first = demo_planner.plan("各品类的情况怎么样", as_of=AS_OF, conversation=conversation)
    assert first.intent == "clarify"
    conversation.mark_last()
    plan = demo_planner.plan("有多少用户关注了达人", as_of=AS_OF, conversation=conversation)
    assert plan.query is not None and plan.query.metrics == ["kol_follower_users"] and not plan.query.dimensions


def test_a_ranking_word_inside_a_metric_synonym_still_ranks(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("粉丝最多的3个kol", as_of=AS_OF)
    assert plan.query is not None and plan.query.limit == 3 and plan.query.order_by


def test_colloquial_numbers_count_in_rankings(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("上季度下单最少的仨省分", as_of=AS_OF)
    assert plan.query is not None and plan.query.limit == 3 and plan.query.dimensions == ["province"]
    assert plan.query.order_by[0].descending is False


def test_a_later_clause_points_at_an_earlier_clause(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("滞销风险型的商户有几家 它们库存周转平均多少天", as_of=AS_OF, conversation=Conversation())
    assert plan.query is not None and plan.query.metrics == ["merchant_count", "inventory_turnover_days"], plan


def test_a_demonstrative_after_what_names_the_group_is_descriptive(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("2025年618年中大促那几个活动分别花了多少钱？", as_of=AS_OF, conversation=Conversation())
    assert plan.query is not None and plan.query.metrics == ["campaign_spend"], plan
    assert "campaign_id" in plan.query.dimensions


def test_only_a_value_and_its_noun_keeps_the_measure(demo_planner: OfflinePlanner) -> None:
    *_, last = plan_conversation(demo_planner, "gmv by quarter this year", "only app orders")
    assert last.query is not None and last.query.metrics == ["gmv"] and last.query.grain == "quarter"
    assert any(f.dimension == "device" and f.value == "app" for f in last.query.filters)


def test_only_a_one_character_value_filters(demo_planner: OfflinePlanner) -> None:
    *_, last = plan_conversation(demo_planner, "how many people in each value tier?", "only 女")
    assert last.query is not None and ("gender", "eq", "女") in {(f.dimension, f.op, f.value) for f in last.query.filters}


def test_each_of_those_keeps_the_breakdown(demo_planner: OfflinePlanner) -> None:
    *_, last = plan_conversation(demo_planner, "Top 3 campaigns by attributed revenue this year", "How much did each of those spend?",
                    shown=("campaign_id", (69, 68, 63)))
    assert last.query is not None and last.query.metrics == ["campaign_spend"]
    assert "campaign_id" in last.query.dimensions


@pytest.mark.parametrize("question", ["ok new topic - how many KOLs do we have in the outdoor space", "另外问下 整个平台注册用户总共多少"])
def test_a_turn_that_says_it_starts_afresh_inherits_nothing(demo_planner: OfflinePlanner, question: str) -> None:
    _, last = plan_conversation(demo_planner, "商户42上个月的GMV", question)
    assert last.intent == "query" and last.query is not None, last
    assert not any(f.dimension == "merchant_id" for f in last.query.filters)
    assert last.query.time_range is None


def test_where_people_usually_buy_is_their_preferred_channel(demo_planner: OfflinePlanner) -> None:
    _, last = plan_conversation(demo_planner, "北京的女性用户有多少", "她们最常在哪个渠道买")
    assert last.query is not None and last.query.dimensions == ["preferred_channel"]


def test_a_filter_word_does_not_split_a_longer_value(demo_planner: OfflinePlanner) -> None:
    _, last = plan_conversation(demo_planner, "各品类gmv", "只看中古包")
    assert last.query is not None and ("category", "中古包") in {(f.dimension, f.value) for f in last.query.filters}


def test_a_yes_no_dimension_said_both_ways_is_compared(demo_planner: OfflinePlanner) -> None:
    for question in ("sell-through for certified vs non-certified merchants", "今年用了券的订单跟没用券的订单 客单价各是多少"):
        plan = demo_planner.plan(question, as_of=AS_OF)
        assert plan.query is not None and len(plan.query.dimensions) == 1, plan
        assert not any(isinstance(f.value, bool) for f in plan.query.filters)


def test_values_said_together_are_one_group(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("whats the spend per buyer in tier 1 + tier 2 cities this yr (both together)", as_of=AS_OF)
    assert plan.query is not None and not plan.query.dimensions
    assert any(f.dimension == "city_tier" and f.op == "in" for f in plan.query.filters)


def test_merchants_with_at_least_n_orders_is_a_condition(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("top 10 merchants by return rate in q3 - only count ones with at least 30 orders", as_of=AS_OF)
    assert plan.query is not None and plan.query.count_as is None and plan.query.limit == 10
    assert [(h.metric, h.op, h.value) for h in plan.query.having] == [("order_count", "gte", 30.0)]


def test_which_one_is_not_a_top_one(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("store 417, gmv by channel last qtr - which one brings the most?", as_of=AS_OF)
    assert plan.query is not None and plan.query.limit is None and plan.query.dimensions == ["channel"]


def test_a_shop_id_before_a_month_is_the_shop(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("商户179 9月份的gmv环比变化多少", as_of=AS_OF)
    assert plan.query is not None and ("merchant_id", 179) in {(f.dimension, f.value) for f in plan.query.filters}


def test_one_number_for_a_question_asked_per_group_is_asked_about(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("今年GMV各多少", as_of=AS_OF)
    assert plan.intent == "clarify" and "分别" in (plan.message or "")


def test_a_value_the_answer_would_not_use_is_asked_about(demo_planner: OfflinePlanner) -> None:
    from chatbi.planner.offline import _shape_matches_the_ask
    from chatbi.planner.types import Plan
    from chatbi.planner.understand import understand
    from chatbi.semantic.query import SemanticQuery

    u = understand("华东的GMV", AS_OF, demo_planner.lexicon)
    dropped = Plan(intent="query", language="zh", query=SemanticQuery(metrics=["gmv"]))  # a plan that lost 华东
    plan = _shape_matches_the_ask(dropped, u)
    assert plan.intent == "clarify" and "华东" in (plan.message or "")
    kept = Plan(intent="query", language="zh", query=SemanticQuery(metrics=["gmv"], filters=[
        {"dimension": "region", "op": "eq", "value": "华东"}]))
    assert _shape_matches_the_ask(kept, u) is kept


def test_ok_before_a_follow_up_word_is_still_a_follow_up(demo_planner: OfflinePlanner) -> None:
    *_, last = plan_conversation(demo_planner, "can i see ytd revenue split across traffic sources", "ok now only the app orders")
    assert last.query is not None and last.query.metrics == ["gmv"] and last.query.dimensions == ["channel"]


def test_the_same_split_keeps_the_breakdown(demo_planner: OfflinePlanner) -> None:
    *_, last = plan_conversation(demo_planner, "sell-through for certified vs non-certified merchants", "ok and return rate w/ the same split, q3 only")
    assert last.query is not None and last.query.metrics == ["return_rate"] and len(last.query.dimensions) == 1


def test_each_of_the_entities_groups_by_them(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("open rate + click rate for each of this year's 618 campaigns?", as_of=AS_OF)
    assert plan.query is not None and "campaign_id" in plan.query.dimensions


@pytest.mark.parametrize("question", ["net sales by where the sellers are based (merchant region) for 2025 - which region leads",
                                      "按商户所在大区看 哪个区的店铺评分最拉胯"])
def test_a_breakdown_by_the_entitys_own_place_is_not_per_entity(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.dimensions == ["merchant_region"], plan


@pytest.mark.parametrize("question", ["为什么华南抖音渠道新用户转化率下降了", "为什么华南大区抖音注册的新用户转化率下降了"])
def test_new_users_channel_is_where_they_signed_up(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.intent == "why" and plan.why_request is not None, plan
    assert ("signup_channel", "抖音") in {(f.dimension, f.value) for f in plan.why_request.filters}


def test_two_asks_with_one_measure_recognised_are_asked_about(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("今年营销一共砸了多少钱进去 整体roi多少", as_of=AS_OF)
    assert plan.intent == "clarify" and "两件事" in (plan.message or "")
    assert demo_planner.plan("618那几天卖了多少", as_of=AS_OF).intent == "query"  # 几天 is no second ask


def test_a_part_said_after_of_them_is_a_share(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("高价值用户有多少 其中女性多少", as_of=AS_OF)
    assert plan.query is not None and plan.query.share_part is not None and plan.query.share_part.value == "女"


def test_an_age_range_can_be_the_part(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("25到29岁这批年轻买家今年贡献了多少比例的gmv", as_of=AS_OF)
    assert plan.query is not None and plan.query.share_part is not None and plan.query.share_part.op == "between"


@pytest.mark.parametrize(("question", "check"), [
    ("Dispute rate by the merchant's own region over the last 30 days.", "merchant_region"),
    ("which city tier grew gmv the fastest yoy this qtr?", "gmv_growth"),
])
def test_owned_places_and_growth_said_around_the_metric(demo_planner: OfflinePlanner, question: str, check: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF, conversation=Conversation())
    assert plan.query is not None, plan
    assert check in plan.query.dimensions or (plan.query.order_by and plan.query.order_by[0].field == check)


def test_a_sudden_jump_asked_with_za_is_a_why(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("商户54这个月纠纷率咋突然飙上去了", as_of=AS_OF)
    assert plan.intent == "why"


@pytest.mark.parametrize("question", ["how many negative reviews did shops based in 华南 get in q3", "gmv of merchants located in 华东"])
def test_where_shops_are_based_is_their_own_region(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and any(f.dimension == "merchant_region" for f in plan.query.filters), plan
