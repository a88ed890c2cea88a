"""Campaign copy: the ad-law word list, channel rules, and copy grounded in a real segment.

Segment facts are compared with plain SQL over ``user_profile`` / ``orders`` on the tiny
warehouse (tests/conftest.py ``tiny_db``), never with numbers written into the test.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from importlib import resources

import duckdb
import pytest
import yaml

from chatbi.answer.ad_rules import CHANNEL_RULES, check_copy, find_banned, has_opt_out
from chatbi.answer.copywriter import (
    ANGLES,
    CopyNotAllowedError,
    SegmentProfile,
    SegmentTooSmallError,
    angle_order,
    export_segment_ids,
    fallback_items,
    segment_ids_sql,
    signature,
    templates,
    write_copy,
    write_segment_csv,
)
from chatbi.answer.types import CopyItem
from chatbi.config import Settings
from chatbi.errors import GuardError, RefusedError
from chatbi.planner.types import CopyRequest
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.loader import load_semantic_layer
from chatbi.semantic.query import Filter
from chatbi.sql.executor import Executor
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role
from chatbi.warehouse.demo_reference import CATEGORY_NAMES

AS_OF = date(2026, 9, 30)
MARKETER = Role("marketer")
ANALYST = Role("analyst")
CHURN_WOMEN = CopyRequest(
    filters=(Filter(dimension="churn_risk_level", value="高"), Filter(dimension="gender", value="女")),
    channel="sms", count=3, segment_label="流失风险高的女性用户")
CHURN_WOMEN_SQL = "churn_risk >= 0.75 AND gender = '女'"


def _banned_list() -> dict:
    text = resources.files("chatbi.answer").joinpath("data/banned_words.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


# ---------------------------------------------------------------------------------------
# The word list and the checker
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("term", _banned_list()["terms"]["zh"])
def test_every_chinese_banned_term_is_flagged_in_a_sample(term: str) -> None:
    text = f"寄售好物，{term}的选择，快来看看"
    assert find_banned(text), term
    assert any(p.startswith("banned_word") for p in check_copy(text + "回T退订", "sms"))


@pytest.mark.parametrize("term", _banned_list()["terms"]["en"])
def test_every_english_banned_term_is_flagged_in_a_sample(term: str) -> None:
    assert find_banned(f"Shop now: {term} picks for you"), term


@pytest.mark.parametrize("text", [
    "最近上新了一批中古包", "最后一天，最终返场", "最初的心动", "最早到店的你", "第一次下单的你",
    "第一时间看到新品", "历史上的今天", "bestseller shelf", "a test of honesty",
])
def test_harmless_words_are_not_flagged(text: str) -> None:
    assert find_banned(text) == []


@pytest.mark.parametrize("text, expected", [
    ("全网最低价，史上最好", {"全网最低", "史上", "最好"}),
    ("你最爱的中古包", {"最爱"}),  # 最 + anything but a time word is a superlative
    ("１００％正品", {"100%"}),  # full-width forms are normalised
    ("最 好 的 选 择", {"最好"}),  # spaces do not hide a term
    ("No.1 vintage shop", {"no.1"}),
    ("这是第一品牌，第一次来的朋友", {"第一"}),  # 第一品牌 flagged, 第一次 not counted again
])
def test_checker_flags_each_banned_word(text: str, expected: set[str]) -> None:
    found = {h.term for h in find_banned(text)}
    assert expected <= found
    if "第一次" in text:
        assert len([h for h in find_banned(text) if h.term == "第一"]) == 1


def test_channel_rules_are_enforced() -> None:
    ok = "【chatbi】你关注的中古包上新了，回来看看吧。回T退订"
    assert check_copy(ok, "sms") == []
    long = "【chatbi】" + "好" * 60 + "回T退订"
    assert len(long) == 72 and any(p.startswith("too_long") for p in check_copy(long, "sms"))
    assert any(p.startswith("missing_opt_out") for p in check_copy("【chatbi】中古包上新了", "sms"))
    push = CopyItem(segment="s", channel="push", text="好" * 51, segment_size=100, title="题" * 21)
    problems = check_copy(push)
    assert any(p.startswith("too_long") for p in problems)
    assert any(p.startswith("title_too_long") for p in problems)
    assert any(p.startswith("missing_title")
               for p in check_copy(CopyItem("s", "push", "中古包上新", 100), "push"))
    assert any(p.startswith("placeholder") for p in check_copy("{category}上新回T退订", "sms"))
    assert any(p.startswith("personal_data") for p in check_copy("联系13812345678回T退订", "sms"))
    assert has_opt_out("... Reply T to opt out") and not has_opt_out("回复我")


def test_every_template_passes_the_rules_with_every_category() -> None:
    """All templates × languages × channels × the demo's categories (with a second favourite
    category, in the copy's language): every angle yields sendable texts naming the segment's
    categories. English names come from the semantic layer (value_labels_en)."""
    layer = load_semantic_layer(Settings.from_env().semantic_dir)
    english = layer.dimension("favorite_category")[1].value_labels_en
    checked = 0
    for i, category in enumerate(CATEGORY_NAMES):
        second = CATEGORY_NAMES[(i + 1) % len(CATEGORY_NAMES)]
        profile = SegmentProfile(size=500, top_categories=[(category, 100, 0.5), (second, 50, 0.25)],
                                 avg_order_value=100.0, coupon_usage_rate=0.2, price_sensitivity={},
                                 preferred_channel=None, preferred_channel_share=None, avg_churn_risk=0.1,
                                 value_tiers={})
        for language in ("zh", "en"):
            names = [english[category], english[second]] if language == "en" else [category, second]
            for channel in CHANNEL_RULES:
                family = "sms" if channel == "sms" else "push"
                pools = templates()[family][language]
                assert set(pools) == set(ANGLES)
                for theme in ("winback", "high_value", "price_sensitive", "default"):
                    items = fallback_items(profile, channel=channel, language=language, count=50,
                                           segment="s", theme=theme, categories=names)
                    assert {item.angle for item in items} == set(ANGLES), (category, language, channel, theme)
                    assert [item.angle for item in items[:3]] == list(angle_order(theme))
                    for item in items:
                        assert check_copy(item, channel) == [], item
                        assert any(n in item.text + (item.title or "") for n in names)
                        if language == "en":
                            assert not re.search(r"[\u4e00-\u9fff]", item.text + (item.title or "")), item
                        checked += 1
    assert checked > 1000


def test_llm_style_output_goes_through_the_same_checks() -> None:
    """A model's draft is checked like a template; a failing one is replaced by templates."""
    drafts = ["【chatbi】史上最低价！全网第一的中古包，绝对正品，快来抢购！回T退订",
              "【chatbi】中古包上新，来看看"]
    assert all(check_copy(d, "sms") for d in drafts)
    profile = SegmentProfile(size=80, top_categories=[("中古包", 40, 0.5)], avg_order_value=None,
                             coupon_usage_rate=None, price_sensitivity={}, preferred_channel=None,
                             preferred_channel_share=None, avg_churn_risk=None, value_tiers={})
    fallback = fallback_items(profile, channel="sms", language="zh", count=2, segment="s")
    assert len(fallback) == 2 and all(check_copy(i) == [] for i in fallback)


# ---------------------------------------------------------------------------------------
# On the tiny warehouse
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env(tiny_db):
    layer = load_semantic_layer(Settings.from_env().semantic_dir)
    catalog = Catalog(layer)
    executor = Executor(tiny_db)
    yield {"layer": layer, "catalog": catalog, "policy": catalog.access_policy(1000), "executor": executor}
    executor.close()


@pytest.fixture(scope="module")
def con(tiny_db):
    connection = duckdb.connect(str(tiny_db), read_only=True)
    yield connection
    connection.close()


def copy_for(env, request: CopyRequest, *, role: Role = MARKETER, language: str = "zh", **kwargs):
    return write_copy(request, layer=env["layer"], policy=env["policy"], role=role,
                      executor=env["executor"], as_of=AS_OF, language=language,
                      catalog=env["catalog"], **kwargs)


@pytest.fixture(scope="module")
def churn_women(env):
    return copy_for(env, CHURN_WOMEN)


def test_sms_for_churn_risk_women_obeys_every_rule(churn_women) -> None:
    r = churn_women
    assert len(r.items) == 3 and len({i.text for i in r.items}) == 3
    for item in r.items:
        assert len(item.text) <= 70 and item.text.endswith("回T退订") and item.text.startswith(signature(None, "zh"))
        assert find_banned(item.text) == [] and check_copy(item, "sms") == []
        assert item.segment == "流失风险高的女性用户" and item.segment_size == r.segment_size
        assert item.channel == "sms" and item.title is None
    assert r.theme == "winback"
    assert [i.angle for i in r.items] == ["reminder", "offer", "novelty"]  # three different pitches


def test_segment_facts_equal_plain_sql(churn_women, con) -> None:
    where = CHURN_WOMEN_SQL
    size = con.execute(f"SELECT count(*) FROM user_profile WHERE {where}").fetchone()[0]
    assert churn_women.segment_size == size
    top = con.execute(f"""SELECT favorite_category, count(*) FROM user_profile
                          WHERE {where} AND favorite_category IS NOT NULL
                          GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3""").fetchall()
    known = con.execute(f"SELECT count(favorite_category) FROM user_profile WHERE {where}").fetchone()[0]
    got = churn_women.profile["top_categories"]
    assert [c["category"] for c in got] == [c for c, _ in top]
    assert [c["users"] for c in got] == [n for _, n in top]
    assert got[0]["share"] == pytest.approx(top[0][1] / known)
    aov = con.execute(f"SELECT avg(avg_order_value) FROM user_profile WHERE {where}").fetchone()[0]
    assert churn_women.profile["avg_order_value"] == pytest.approx(float(aov))
    coupon = con.execute(f"""SELECT avg((o.coupon_id IS NOT NULL)::INT) FROM orders o
                             JOIN user_profile p USING (user_id)
                             WHERE o.status <> 'cancelled' AND {where.replace('churn', 'p.churn')
                                                                .replace('gender', 'p.gender')}""").fetchone()[0]
    assert churn_women.profile["coupon_usage_rate"] == pytest.approx(float(coupon))
    high = con.execute(f"""SELECT avg((price_sensitivity = '高')::INT) FROM user_profile
                           WHERE {where} AND price_sensitivity IS NOT NULL""").fetchone()[0]
    assert churn_women.profile["price_sensitivity"].get("高", 0.0) == pytest.approx(float(high))
    channel = con.execute(f"""SELECT preferred_channel FROM user_profile WHERE {where}
                              AND preferred_channel IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1
                              LIMIT 1""").fetchone()[0]
    assert churn_women.profile["preferred_channel"] == channel


def test_copy_mentions_the_segments_real_top_category(churn_women, con) -> None:
    top = con.execute(f"""SELECT favorite_category FROM user_profile WHERE {CHURN_WOMEN_SQL}
                          AND favorite_category IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1
                          LIMIT 1""").fetchone()[0]
    names = [c["category"] for c in churn_women.profile["top_categories"]]
    assert names[0] == top
    assert all(any(n in item.text for n in names) for item in churn_women.items)
    assert any(top in item.text for item in churn_women.items)
    assert any(n in item.text for item in churn_women.items for n in names[1:])  # beyond the first


def test_finding_states_the_profile_and_every_number_checks(churn_women) -> None:
    r = churn_women
    assert r.check.ok and f"{r.segment_size:,}" in r.finding
    assert r.profile["top_categories"][0]["category"] in r.finding and "3 条短信" in r.finding


def test_copy_is_deterministic_and_varies_by_segment(env, churn_women) -> None:
    again = copy_for(env, CHURN_WOMEN)
    assert [i.text for i in again.items] == [i.text for i in churn_women.items]
    men = copy_for(env, CopyRequest(filters=(Filter(dimension="churn_risk_level", value="高"),
                                             Filter(dimension="gender", value="男")), count=3))
    assert [i.text for i in men.items] != [i.text for i in churn_women.items]


def test_push_copy_in_english_keeps_title_and_body_limits(env) -> None:
    r = copy_for(env, CopyRequest(filters=(Filter(dimension="value_tier", value="高价值"),),
                                  channel="push", count=3, segment_label="high-value users"),
                 language="en")
    assert len(r.items) == 3 and r.theme == "high_value"
    for item in r.items:
        assert item.title and len(item.title) <= 20 and len(item.text) <= 50
        assert check_copy(item) == [] and not re.search(r"[\u4e00-\u9fff]", item.title + item.text)  # English
    assert r.finding.startswith("The segment")


def test_small_segment_is_refused_with_its_size(env, con) -> None:
    request = CopyRequest(filters=(Filter(dimension="user_tag", op="has_tag", value="高价值"),
                                   Filter(dimension="favorite_category", value="中古包")),
                          channel="push", segment_label="high-value users who love 中古包")
    size = con.execute("SELECT count(*) FROM user_profile WHERE list_contains(tags, '高价值') "
                       "AND favorite_category = '中古包'").fetchone()[0]
    minimum = size + 1  # whatever the data holds, one more than the segment
    with pytest.raises(SegmentTooSmallError) as info:  # an analyst may learn a small group's size
        copy_for(env, request, min_segment_size=minimum, role=ANALYST)
    assert isinstance(info.value, RefusedError) and info.value.code == "segment_too_small"
    assert info.value.segment_size == size and str(size) in info.value.message
    assert copy_for(env, request, min_segment_size=size, role=ANALYST).segment_size == size  # at the minimum
    with pytest.raises(SegmentTooSmallError):  # a marketer is refused too (small groups are hidden)
        copy_for(env, request, min_segment_size=minimum)


def test_merchants_cannot_target_platform_users(env) -> None:
    merchant = Role("merchant", 15)
    with pytest.raises(CopyNotAllowedError) as info:
        copy_for(env, CHURN_WOMEN, role=merchant)
    assert info.value.code == "copy_not_allowed"
    with pytest.raises(CopyNotAllowedError):
        export_segment_ids(CHURN_WOMEN, layer=env["layer"], policy=env["policy"], role=merchant,
                           executor=env["executor"], as_of=AS_OF)
    # and the guard would refuse the segment SQL for a merchant anyway (user_profile is platform data)
    with pytest.raises(GuardError):
        guard_sql(segment_ids_sql(CHURN_WOMEN.filters, env["layer"], AS_OF), env["policy"], merchant)


def test_segment_ids_export_equals_plain_sql_and_has_no_pii(env, churn_women, con, tmp_path) -> None:
    sql = copy_for(env, CHURN_WOMEN, role=ANALYST).segment_user_ids_sql
    assert "phone" not in sql and "user_name" not in sql
    ids = export_segment_ids(CHURN_WOMEN, layer=env["layer"], policy=env["policy"], role=ANALYST,
                             executor=env["executor"], as_of=AS_OF)
    expected = [r[0] for r in con.execute(
        f"SELECT user_id FROM user_profile WHERE {CHURN_WOMEN_SQL} ORDER BY user_id").fetchall()]
    assert ids == expected and len(ids) == churn_women.segment_size
    result = env["executor"].run(sql, max_rows=len(ids))
    assert result.columns == ["user_id"] and [r[0] for r in result.rows] == expected
    path = write_segment_csv(ids, tmp_path / "segment.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["user_id"] and [int(r[0]) for r in rows[1:]] == expected


def test_topic_is_added_when_it_fits_and_dropped_when_banned(env) -> None:
    request = CopyRequest(filters=(Filter(dimension="price_sensitivity", value="高"),), count=2, topic="618")
    r = copy_for(env, request)
    assert r.theme == "price_sensitive" and all("618" in i.text for i in r.items)
    banned = copy_for(env, CopyRequest(filters=request.filters, count=2, topic="史上最低"))
    assert all("史上" not in i.text and check_copy(i) == [] for i in banned.items)


def test_a_segment_that_is_most_users_is_flagged_with_a_narrower_one(env, con) -> None:
    women = copy_for(env, CopyRequest(filters=(Filter(dimension="gender", value="女"),), count=3))
    total = con.execute("SELECT count(*) FROM users").fetchone()[0]
    share = women.segment_size / total
    assert women.base_size == total
    if share < 0.5:
        pytest.skip(f"women are {share:.0%} of the tiny demo's users")
    assert women.too_broad and women.narrower is not None and women.check.ok
    narrower = women.narrower
    dim, value = narrower["filter"]
    column = {"lifecycle_stage": "lifecycle_stage", "price_sensitivity": "price_sensitivity",
              "value_tier": "value_tier", "churn_risk_level": None}[dim]
    if column:
        size = con.execute(f"SELECT count(*) FROM user_profile WHERE gender = '女' AND {column} = ?",
                           [value]).fetchone()[0]
        assert narrower["size"] == size
    assert 50 <= narrower["size"] <= 0.3 * total
    assert "范围太大" in women.finding and narrower["segment"] in women.finding
    assert f"{narrower['size']:,}" in women.finding
    small = copy_for(env, CopyRequest(filters=(Filter(dimension="value_tier", value="高价值"),), count=3))
    assert not small.too_broad and small.narrower is None and "范围太大" not in small.finding


def test_brand_signs_the_sms_and_english_copy_stays_english(env) -> None:
    r = copy_for(env, CHURN_WOMEN, brand="闲鱼好物")
    assert all(i.text.startswith("【闲鱼好物】") for i in r.items)
    en = copy_for(env, CopyRequest(filters=CHURN_WOMEN.filters, count=3), language="en", brand="Relove")
    assert all(i.text.startswith("[Relove] ") and not re.search(r"[\u4e00-\u9fff]", i.text) for i in en.items)
    assert not re.search(r"[\u4e00-\u9fff]", en.finding)
    table = en.profile_table("en")
    assert not any(re.search(r"[\u4e00-\u9fff]", str(v)) for v in table["value"])
