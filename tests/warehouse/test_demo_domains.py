"""Value domains and realistic distributions of the tiny demo warehouse."""

from __future__ import annotations

import re

from chatbi.warehouse.demo_reference import (
    CATEGORY_NAMES,
    CITIES,
    CONDITIONS,
    KOL_DOMAINS,
    KOL_PLATFORMS,
    PROVINCE_REGION,
    STYLES,
)
from chatbi.warehouse.schema import CHANNELS, DEVICES, EVENT_TYPES, ORDER_STATUSES, REGIONS
from tests.warehouse.conftest import rows, scalar


def values(con, sql: str) -> set:
    return {r[0] for r in rows(con, sql)}


def test_categorical_columns_stay_in_their_domains(con) -> None:
    assert values(con, "SELECT DISTINCT status FROM orders") == set(ORDER_STATUSES)
    assert values(con, "SELECT DISTINCT event_type FROM events") == set(EVENT_TYPES)
    assert values(con, "SELECT DISTINCT region FROM users") == set(REGIONS)
    assert values(con, "SELECT DISTINCT region FROM merchants") <= set(REGIONS)
    assert values(con, "SELECT DISTINCT gender FROM users") == {"女", "男"}
    assert values(con, "SELECT DISTINCT channel FROM orders") == set(CHANNELS)
    assert values(con, "SELECT DISTINCT signup_channel FROM users") == set(CHANNELS)
    assert values(con, "SELECT DISTINCT channel FROM events") <= set(CHANNELS)
    assert values(con, "SELECT DISTINCT device FROM orders") == set(DEVICES)
    assert values(con, "SELECT DISTINCT city_tier FROM users") == {1, 2, 3, 4, 5}
    assert values(con, "SELECT DISTINCT category FROM products") == set(CATEGORY_NAMES)
    assert values(con, "SELECT DISTINCT main_category FROM merchants") == set(CATEGORY_NAMES)
    assert values(con, "SELECT DISTINCT style FROM products") == set(STYLES)
    assert values(con, "SELECT DISTINCT item_condition FROM products") == set(CONDITIONS)
    assert values(con, "SELECT DISTINCT target_type FROM follows") == {"merchant", "kol"}
    assert values(con, "SELECT DISTINCT platform FROM kols") <= set(KOL_PLATFORMS)
    assert values(con, "SELECT DISTINCT domain FROM kols") <= set(KOL_DOMAINS)
    assert values(con, "SELECT DISTINCT rating FROM reviews") == {1, 2, 3, 4, 5}
    assert {"高价值", "流失风险型", "价格敏感"} <= values(con, "SELECT DISTINCT target_segment FROM campaigns")


def test_geography_is_real_and_consistent(con) -> None:
    known = {(c.province, c.name, c.tier, c.region) for c in CITIES}
    for table in ("users", "merchants"):
        tier = "city_tier" if table == "users" else "NULL"
        seen = rows(con, f"SELECT DISTINCT province, city, {tier}, region FROM {table}")
        for province, city, city_tier, region in seen:
            assert PROVINCE_REGION[province] == region, (province, region)
            if table == "users":
                assert (province, city, city_tier, region) in known
    assert {"上海", "北京", "广州", "深圳", "杭州", "成都"} <= values(con, "SELECT DISTINCT city FROM users")
    # population-weighted: the east is the biggest region, the north-west/north-east the smallest
    by_region = dict(rows(con, "SELECT region, count(*) FROM users GROUP BY 1"))
    assert max(by_region, key=by_region.get) == "华东"
    assert by_region["华东"] > 2 * by_region["西北"] and by_region["华东"] > 2 * by_region["东北"]


def test_people_look_real(con) -> None:
    women = scalar(con, "SELECT avg((gender = '女')::INT) FROM users")
    assert 0.6 < women < 0.75
    ages = rows(con, "SELECT min(2026 - birth_year), median(2026 - birth_year), max(2026 - birth_year) FROM users")[0]
    assert ages[0] >= 18 and 24 <= ages[1] <= 36 and ages[2] <= 62
    phones = [r[0] for r in rows(con, "SELECT phone FROM users")]
    assert all(re.fullmatch(r"1[358]\d{9}", p) for p in phones)
    assert len(set(phones)) == len(phones)
    names = [r[0] for r in rows(con, "SELECT user_name FROM users")]
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", n) for n in names)
    assert scalar(con, "SELECT count(*) - count(DISTINCT merchant_name) FROM merchants") == 0
    assert scalar(con, "SELECT count(*) - count(DISTINCT kol_name) FROM kols") == 0


def test_order_outcomes_have_plausible_rates(con) -> None:
    share = dict(rows(con, "SELECT status, count(*) / sum(count(*)) OVER () FROM orders GROUP BY 1"))
    assert 0.03 <= share["cancelled"] <= 0.055
    assert 0.025 <= share["returned"] <= 0.055
    assert 0.012 <= share["refunded"] <= 0.03
    disputed = scalar(con, "SELECT avg(is_disputed::INT) FROM orders WHERE status <> 'cancelled'")
    assert 0.008 <= disputed <= 0.025
    assert scalar(con, "SELECT count(*) FROM orders WHERE status = 'cancelled' AND is_disputed") == 0
    coupon_share = scalar(con, "SELECT avg((coupon_id IS NOT NULL)::INT) FROM orders")
    assert 0.1 < coupon_share < 0.4


def test_prices_follow_the_category(con) -> None:
    median = dict(rows(con, """SELECT p.category, median(i.price) FROM order_items i JOIN products p USING (product_id)
                               GROUP BY 1"""))
    assert median["中古包"] > 2000 and median["腕表"] > 2000
    assert median["图书"] < 150 and median["时尚服饰"] < 600
    assert median["中古包"] > 20 * median["图书"]
    brands = values(con, "SELECT DISTINCT brand FROM products WHERE category = '中古包'")
    assert {"LV", "Chanel", "Hermès", "Gucci", "Prada"} <= brands
    assert scalar(con, "SELECT count(*) FROM products WHERE title NOT LIKE brand || ' %'") == 0


def test_funnel_rates_are_plausible(con) -> None:
    n = dict(rows(con, "SELECT event_type, count(*) FROM events GROUP BY 1"))
    view_to_cart = n["add_to_cart"] / n["view"]
    cart_to_purchase = n["purchase"] / n["add_to_cart"]
    assert 0.08 <= view_to_cart <= 0.12
    assert 0.25 <= cart_to_purchase <= 0.35
    assert n["favorite"] < n["add_to_cart"] < n["view"]
    queries = values(con, "SELECT DISTINCT search_query FROM events WHERE event_type = 'search'")
    assert len(queries) > 30 and all(re.search(r"[\u4e00-\u9fff]", q) or q.isascii() for q in queries)


def test_merchant_sizes_are_long_tailed(con) -> None:
    counts = sorted((r[0] for r in rows(con, "SELECT count(*) FROM orders GROUP BY merchant_id")), reverse=True)
    top_tenth = sum(counts[: max(1, len(counts) // 10)])
    assert top_tenth > 0.35 * sum(counts)
    assert counts[0] > 10 * counts[len(counts) // 2]


def test_review_text_matches_the_rating_and_includes_odd_content(con) -> None:
    praise = scalar(con, """SELECT avg((content SIMILAR TO '.*(好评|满意|推荐|回购|放心|很新|超高|很快|用心|专业|顺畅|满分|愉快).*')::INT)
                            FROM reviews WHERE rating = 5""")
    assert praise > 0.9
    complaints = scalar(con, """SELECT avg((content SIMILAR TO '.*(假货|高仿|正品|破损|磕坏|划痕|压坏|发货|物流|不符|成新|差很多|标错|客服|推脱|差评|避雷|失望).*')::INT)
                                FROM reviews WHERE rating <= 2""")
    assert complaints > 0.9
    assert scalar(con, "SELECT count(*) FROM reviews WHERE rating = 5 AND content LIKE '%差评%'") == 0
    assert scalar(con, "SELECT count(*) FROM reviews WHERE content LIKE '%忽略之前的指令%'") >= 1
    assert scalar(con, "SELECT count(*) FROM reviews WHERE regexp_matches(content, '[\\x{1F300}-\\x{1FAFF}]')") > 10
    assert scalar(con, "SELECT count(*) FROM reviews WHERE content IS NULL OR content = ''") == 0
