"""Every word accounted for (issue 16): unknown words are resolved and stated, asked about,
or refused when the data does not hold them; the interpretation shows how a question was
read; follow-ups never leak a failed, refused or clarified turn."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.planner.context import Conversation
from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.unknown import NearMatcher, Unknown, find_unknowns, not_in_data
from tests.planner.conftest import AS_OF


# ------------------------------------------------------------------ near matches
@pytest.mark.parametrize(("question", "dimension", "typed"), [
    ("上个月各品内的订单量", "category", "品内"),  # n/l merged by sound, one character shared
    ("各大曲的GMV", "region", "大曲"),  # a homophone
    ("GMV by categroy last month", "category", "categroy"),  # a typo
])
def test_a_near_match_is_used_and_stated(demo_planner: OfflinePlanner, question: str, dimension: str, typed: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.intent == "query" and plan.query is not None, plan
    assert dimension in plan.query.dimensions
    assert any(typed in note for note in plan.notes), plan.notes
    roles = {r.role for r in plan.interpretation.readings}
    assert "near_match" in roles


# ------------------------------------------------------------------ unknown words
@pytest.mark.parametrize("question", ["上个月的复够金额是多少", "各省份的 flibbertigibbet", "上个月GMV按鬼畜维度看"])
def test_an_unknown_word_is_named_in_a_clarifying_question(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.intent == "clarify" and plan.query is None, plan
    unknown = [r.text for r in plan.interpretation.readings if r.role == "unknown"]
    assert unknown and all(word in (plan.message or "") for word in unknown[:1]), (plan.message, unknown)


def test_filler_is_not_unknown(demo_planner: OfflinePlanner) -> None:
    for question in ("麻烦帮我看一下上个月各大区的GMV分别是多少，谢谢", "hey can you quickly pull GMV by region for last month please"):
        plan = demo_planner.plan(question, as_of=AS_OF)
        assert plan.intent == "query" and plan.query is not None, plan
        assert plan.query.dimensions == ["region"]


# ------------------------------------------------------------------ not in the data
@pytest.mark.parametrize(("question", "concept"), [
    ("高价值用户的平均身高是多少", "personal_attributes"),
    ("what's the average income of our buyers", "personal_attributes"),
    ("上个月的快递平均送达时长", "logistics"),
    ("竞争对手上个月的GMV", "other_companies"),
    ("上个月的利润率", "company_internals"),
    ("明年的GMV会是多少", "future"),
    ("what will GMV be next month", "future"),
])
def test_a_concept_the_data_does_not_hold_is_refused(demo_planner: OfflinePlanner, question: str, concept: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.intent == "refuse" and plan.query is None, plan
    found = not_in_data(demo_planner.layer, question.lower())
    assert found is not None and found[0].name == concept
    assert found[1] in (plan.message or "")


def test_a_period_after_the_data_is_refused(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("2027年各大区的GMV", as_of=AS_OF)
    assert plan.intent == "refuse" and "2026-09-30" in (plan.message or "")


def test_not_in_data_words_are_not_layer_words(demo_planner: OfflinePlanner) -> None:
    """A word refused as outside the data must not also be a metric, dimension or value."""
    lexicon = demo_planner.lexicon
    clashes = [w for c in demo_planner.layer.not_in_data for w in c.words if lexicon.entries(w)]
    assert clashes == []


def test_unknown_words_keep_their_positions(demo_planner: OfflinePlanner) -> None:
    from chatbi.planner.understand import understand

    u = understand("上个月鬼畜指数的GMV", date(2026, 9, 30), demo_planner.lexicon)
    assert [(x.text, x.start, x.end) for x in find_unknowns(u, u.masked)] == [("鬼畜指数", 3, 7)]
    assert NearMatcher(demo_planner.lexicon).resolve(Unknown("鬼畜指数", 3, 7)) is None


# ------------------------------------------------------------------ interpretation
def test_the_interpretation_names_every_part(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("上个季度华南大区GMV前10的商户", as_of=AS_OF)
    text = plan.interpretation.text
    assert text.startswith("我理解为：")
    for part in ("上个季度", "2026-04-01", "华南", "GMV", "前 10", "商户"):
        assert part in text, text
    roles = {r.role for r in plan.interpretation.readings}
    assert {"time", "value", "metric"} <= roles


def test_the_interpretation_says_what_a_followup_kept(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("上个月各大区的GMV", as_of=AS_OF, conversation=conversation)
    plan = demo_planner.plan("换成订单数", as_of=AS_OF, conversation=conversation)
    assert plan.query is not None and plan.query.metrics == ["order_count"]
    kept = plan.interpretation.inherited
    assert "上个月" in kept and "大区" in kept and "GMV" not in kept


# ------------------------------------------------------------------ conversations
def test_an_unknown_metric_in_a_followup_does_not_take_the_previous_one(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("上个月GMV", as_of=AS_OF, conversation=conversation)
    for question in ("那利润呢", "那复够金额呢", "asdf呢"):
        plan = demo_planner.plan(question, as_of=AS_OF, conversation=conversation)
        assert plan.intent in ("clarify", "refuse") and plan.query is None, (question, plan)


def test_a_clarification_or_refusal_does_not_carry_into_the_next_turn(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("上个月各大区的GMV", as_of=AS_OF, conversation=conversation)
    demo_planner.plan("删除所有订单", as_of=AS_OF, conversation=conversation)
    plan = demo_planner.plan("按月看", as_of=AS_OF, conversation=conversation)
    assert plan.intent == "clarify" and not plan.followup, plan


def test_a_failed_turn_does_not_carry_into_the_next(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    first = demo_planner.plan("上个月各大区的GMV", as_of=AS_OF, conversation=conversation)
    conversation.mark_last(failed=True)
    plan = demo_planner.plan("那华南呢", as_of=AS_OF, conversation=conversation)
    assert not plan.followup
    assert plan.query is None or plan.query.dimensions != first.query.dimensions or plan.query.time_range is None


def test_the_quarter_before_moves_the_period(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("今年Q2各品类的GMV", as_of=AS_OF, conversation=conversation)
    for question, start, end in (("上一个季度呢", "2026-01-01", "2026-03-31"), ("and the quarter before?", "2025-10-01", "2025-12-31")):
        plan = demo_planner.plan(question, as_of=AS_OF, conversation=conversation)
        assert plan.query is not None and plan.followup
        assert (plan.query.time_range.start.isoformat(), plan.query.time_range.end.isoformat()) == (start, end)
        assert plan.query.dimensions == ["category"]


def test_a_new_grain_after_a_top_n_keeps_the_same_entities(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    top = demo_planner.plan("top 3 merchants by GMV last quarter", as_of=AS_OF, conversation=conversation)
    assert top.query is not None and top.query.limit == 3
    conversation.mark_last(shown_keys=("merchant_id", (11, 12, 13)))
    plan = demo_planner.plan("by month", as_of=AS_OF, conversation=conversation)
    assert plan.query is not None and plan.query.grain == "month"
    assert plan.query.limit is None
    assert any(f.dimension == "merchant_id" and f.op == "in" and f.value == [11, 12, 13] for f in plan.query.filters)
    again = demo_planner.plan("top 5 instead", as_of=AS_OF, conversation=conversation)
    assert again.query is not None and again.query.limit == 5


# ------------------------------------------------------------------ constructions
@pytest.mark.parametrize(("question", "unit"), [
    ("上个月平均每天卖多少钱", "day"), ("avg gmv per day this month", "day"),
    ("How many orders did merchant 91 get per day on average in September?", "day"), ("今年月均订单数", "month"),
])
def test_a_per_period_average_is_not_a_series(demo_planner: OfflinePlanner, question: str, unit: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.per_period == unit and plan.query.grain is None, plan
    assert plan.query.time_range is not None


def test_a_per_day_average_of_a_distinct_count_is_asked_about(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("上个月日均买家数", as_of=AS_OF)
    assert plan.intent == "clarify" and plan.query is None


@pytest.mark.parametrize(("question", "part", "kept"), [
    ("沉默用户里男性占几成", ("gender", "男"), [("lifecycle_stage", "沉默")]),
    ("what share of last month's orders came from 小红书", ("channel", "小红书"), []),
    ("what % of shop 91's buyers are women", ("gender", "女"), [("merchant_id", 91)]),
    ("what % of orders used a coupon last month", ("used_coupon", True), []),
])
def test_part_of_a_whole_is_a_share_not_an_amount(demo_planner: OfflinePlanner, question: str, part: tuple, kept: list) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    q = plan.query
    assert q is not None and q.share_of_total and q.share_part is not None, plan
    assert (q.share_part.dimension, q.share_part.value) == part
    assert [(f.dimension, f.value) for f in q.filters] == kept
    assert q.dimensions == [part[0]]


@pytest.mark.parametrize(("question", "comparison", "start"), [
    ("今年q2比q1订单量涨了百分之几", "previous_period", "2026-04-01"),
    ("Compare net sales in H1 2026 with H2 2025.", "previous_period", "2026-01-01"),
    ("buyers this month vs same month last yr", "same_period_last_year", "2026-09-01"),
])
def test_two_periods_compare_the_later_with_the_earlier(demo_planner: OfflinePlanner, question: str,
                                                       comparison: str, start: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.comparison == comparison, plan
    assert plan.query.time_range.start.isoformat() == start
    assert not plan.query.share_of_total


def test_two_unrelated_periods_are_asked_about(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("2026年Q2和2025年Q4的GMV", as_of=AS_OF)
    assert plan.intent == "clarify" and "2025年Q4" in (plan.message or "")


@pytest.mark.parametrize("question", ["上个月GMV排名", "top 5 by orders last month"])
def test_a_ranking_with_nothing_to_rank_is_asked_about(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.intent == "clarify" and plan.query is None, plan


@pytest.mark.parametrize(("question", "dims", "limit", "descending"), [
    ("去年订单数前5的省", ["province"], 5, True),
    ("订单最少的3个省", ["province"], 3, False),
    ("去年gmv最高的5家店", ["merchant_id", "merchant_name"], 5, True),
])
def test_top_and_bottom_n_in_every_phrasing(demo_planner: OfflinePlanner, question: str, dims: list, limit: int,
                                            descending: bool) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.dimensions == dims and plan.query.limit == limit, plan
    assert plan.query.order_by[0].descending is descending


def test_the_biggest_entity_inside_a_segment(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("滞销风险型商户里哪家GMV最高", as_of=AS_OF)
    assert plan.query is not None and plan.query.dimensions[:1] == ["merchant_id"], plan
    assert any(f.op == "has_tag" and f.value == "滞销风险型" for f in plan.query.filters)


def test_a_snapshot_metric_with_a_period_is_asked_about(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("去年的用户数", as_of=AS_OF)
    assert plan.intent == "clarify" and "新用户数" in (plan.message or "")


def test_yes_no_dimensions_and_negated_tags_filter(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("未使用优惠券的订单数", as_of=AS_OF)
    assert [(f.dimension, f.value) for f in plan.query.filters] == [("used_coupon", False)]
    plan = demo_planner.plan("没有平台认证的商户有多少家", as_of=AS_OF)
    assert [(f.dimension, f.op, f.value) for f in plan.query.filters] in (
        [("merchant_tag", "ne", "平台认证")], [("merchant_certified", "eq", False)])


def test_two_asks_in_one(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("shop 91 orders and buyers last month", as_of=AS_OF)
    assert plan.query is not None and plan.query.metrics == ["order_count", "buyer_count"]


def test_a_pronoun_keeps_the_earlier_subject_past_a_clarification(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("高价值用户有多少", as_of=AS_OF, conversation=conversation)
    demo_planner.plan("他们花了多少钱呀嘛", as_of=AS_OF, conversation=conversation)
    plan = demo_planner.plan("avg order value for them", as_of=AS_OF, conversation=conversation)
    assert plan.query is not None and plan.query.metrics == ["avg_order_value"]
    assert [(f.dimension, f.value) for f in plan.query.filters] == [("value_tier", "高价值")]
    fresh = Conversation()
    assert demo_planner.plan("他们的客单价", as_of=AS_OF, conversation=fresh).intent == "clarify"


@pytest.mark.parametrize(("question", "n"), [
    ("ppl who ordered 3+ times this year how many", 3), ("下单3次以上的用户有多少", 3),
    ("how many buyers bought twice or more", 2), ("customers with at least 4 orders", 4),
])
def test_people_counted_by_how_often_they_ordered(demo_planner: OfflinePlanner, question: str, n: int) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    q = plan.query
    assert q is not None and q.count_as == "buyer_count" and q.dimensions[-1] == "user_id", plan
    assert [(h.metric, h.op, h.value) for h in q.having] == [("order_count", "gte", float(n))]


def test_my_shop_needs_a_merchant(demo_planner: OfflinePlanner) -> None:
    from chatbi.sql.policy import Role

    plan = demo_planner.plan("我们店复购率多少", as_of=AS_OF)
    assert plan.intent == "clarify" and plan.query is None
    plan = demo_planner.plan("我们店复购率多少", as_of=AS_OF, role=Role.parse("merchant:15"))
    assert plan.intent == "query"


def test_whose_place_is_said(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("按买家所在大区看，纠纷率最高的是哪个大区？", as_of=AS_OF)
    assert plan.query is not None and plan.query.dimensions == ["region"]
    plan = demo_planner.plan("各大区的商户数", as_of=AS_OF)
    assert plan.query is not None and plan.query.dimensions == ["merchant_region"]
    assert any("商户所在大区" in note for note in plan.notes)


def test_copy_for_them_uses_the_earlier_segment(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("高价值用户有多少", as_of=AS_OF, conversation=conversation)
    plan = demo_planner.plan("给他们写三条短信", as_of=AS_OF, conversation=conversation)
    assert plan.intent == "copy" and plan.copy_request is not None
    assert [(f.dimension, f.value) for f in plan.copy_request.filters] == [("value_tier", "高价值")]
    assert "高价值" in plan.copy_request.segment_label


def test_a_ranked_rate_leaves_out_tiny_denominators(demo_planner: OfflinePlanner) -> None:
    from chatbi.planner.build import MIN_RATE_BASE

    plan = demo_planner.plan("纠纷率最高的5个商户", as_of=AS_OF)
    assert plan.query is not None
    assert [(h.metric, h.op, h.value) for h in plan.query.having] == [("order_count", "gte", float(MIN_RATE_BASE))]
    assert any(str(MIN_RATE_BASE) in note for note in plan.notes)
    plain = demo_planner.plan("各大区的纠纷率", as_of=AS_OF)  # a breakdown, not a ranking: every group
    assert plain.query is not None and plain.query.having == []


@pytest.mark.parametrize("question", ["开年以来的GMV", "GMV the last few weeks"])
def test_time_words_the_parser_cannot_read_are_asked_about(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.intent == "clarify" and plan.query is None, plan


def test_a_value_slot_after_a_dimension_word_is_never_dropped(demo_planner: OfflinePlanner) -> None:
    """地区为话中: 中 is a stop character, but the slot after 为 holds a value (华中 by sound)."""
    plan = demo_planner.plan("买家地区为话中的GMV", as_of=AS_OF)
    assert plan.query is not None and [(f.dimension, f.value) for f in plan.query.filters] == [("region", "华中")]
    plan = demo_planner.plan("大区为火星的GMV", as_of=AS_OF)
    assert plan.intent == "clarify" and "火星" in (plan.message or "")


def test_english_filters_with_is_and_which_n(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("gmv by category where region is east china", as_of=AS_OF)
    assert plan.query is not None and plan.query.dimensions == ["category"]
    assert [(f.dimension, f.value) for f in plan.query.filters] == [("region", "华东")]
    plan = demo_planner.plan("which 4 categories had the lowest GMV last month?", as_of=AS_OF)
    assert plan.query is not None and plan.query.limit == 4 and plan.query.order_by[0].descending is False
    plan = demo_planner.plan("GMV排名后3的品类", as_of=AS_OF)
    assert plan.query is not None and plan.query.order_by[0].descending is False


@pytest.mark.parametrize(("question", "metric"), [
    ("今年营销活动一共花了多少钱？", "campaign_spend"),  # campaigns spend
    ("高价值用户今年花了多少钱", "gmv"),  # people pay
    ("触达了多少人", "touched_users"),  # an action and a people count: the people who did it
    ("有多少用户关注了商户144？", "follower_users"),
])
def test_whose_action_decides_the_metric(demo_planner: OfflinePlanner, question: str, metric: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.metrics == [metric], plan


def test_a_bare_measure_after_a_question_keeps_its_subject(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("上个月各大区的GMV", as_of=AS_OF, conversation=conversation)
    plan = demo_planner.plan("客单价", as_of=AS_OF, conversation=conversation)
    assert plan.followup and plan.query is not None and plan.query.metrics == ["avg_order_value"]
    assert plan.query.dimensions == ["region"] and plan.query.time_range.label == "上个月"
    fresh = demo_planner.plan("今年华东的客单价", as_of=AS_OF, conversation=conversation)  # its own subject
    assert not fresh.followup and fresh.query.dimensions == []


def test_that_channel_points_at_the_earlier_answers_top_one(demo_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    demo_planner.plan("Which channel brought the most buyers last year?", as_of=AS_OF, conversation=conversation)
    conversation.mark_last(shown_keys=("channel", ("抖音", "微信")))
    plan = demo_planner.plan("Which age group led in that channel?", as_of=AS_OF, conversation=conversation)
    assert plan.query is not None and plan.query.dimensions == ["age_band"]
    assert [(f.dimension, f.op, f.value) for f in plan.query.filters] == [("channel", "eq", "抖音"), ("age_band", "ne", None)]


def test_the_word_tag_prefers_the_tag_list(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("How many users carry the 流失风险型 tag?", as_of=AS_OF)
    assert plan.query is not None
    assert [(f.dimension, f.op) for f in plan.query.filters] == [("user_tag", "has_tag")]
