"""The shipped semantic layer's coverage and the Catalog lookups other modules rely on."""

from __future__ import annotations

import re

import pytest

from chatbi.semantic.catalog import Catalog
from chatbi.semantic.contract import CONTRACT_TABLES
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.validation import normalize_term

CJK = re.compile(r"[\u4e00-\u9fff]")

CORE_DEFINITIONS = {
    "gmv": "SUM(pay_amount) FROM orders WHERE status <> 'cancelled'",
    "net_sales": "SUM(pay_amount) FROM orders WHERE status = 'completed'",
    "order_count": "COUNT(*) FROM orders WHERE status <> 'cancelled'",
    "buyer_count": "COUNT(DISTINCT user_id) FROM orders WHERE status <> 'cancelled'",
    "return_rate": "(COUNT(*) FROM orders WHERE status IN ('returned', 'refunded')) / "
                   "(COUNT(*) FROM orders WHERE status <> 'cancelled')",
    "dispute_rate": "(COUNT(*) FROM orders WHERE status <> 'cancelled' AND is_disputed) / "
                    "(COUNT(*) FROM orders WHERE status <> 'cancelled')",
    "conversion_rate": "(COUNT(DISTINCT user_id) FROM events WHERE event_type = 'purchase') / "
                       "(COUNT(DISTINCT user_id) FROM events)",
    "new_users": "COUNT(*) FROM users [time: signup_date]",
}

PRODUCT_METRICS = [
    "gmv", "net_sales", "order_count", "buyer_count", "avg_order_value", "return_rate", "dispute_rate",
    "repurchase_rate", "conversion_rate", "new_users", "campaign_roi", "user_count", "avg_churn_risk",
    "avg_clv", "sell_through_rate", "inventory_turnover_days", "repeat_buyer_share", "avg_rating",
    "positive_review_share", "negative_review_share", "avg_loyalty_score", "view_users", "cart_users",
    "purchase_event_users", "view_to_cart_rate", "cart_to_purchase_rate", "touch_count", "open_rate",
    "click_rate", "touch_conversion_rate", "campaign_spend", "search_count", "alert_count",
    "tagged_user_count",
]

DIMENSIONS = [
    "region", "merchant_region", "category", "brand", "style", "channel", "device", "gender", "age_band",
    "city_tier", "province", "city", "value_tier", "lifecycle_stage", "rfm_segment", "price_sensitivity",
    "favorite_category", "preferred_channel", "user_tag", "merchant_tag", "merchant_id", "merchant_name",
    "user_id", "order_status", "event_type", "search_query", "campaign_name", "kol_name", "order_date",
    "signup_date", "signup_channel", "merchant_main_category", "merchant_city", "merchant_province",
    "item_condition", "product_status", "sentiment", "review_stars", "target_segment", "alert_severity",
    "snapshot_tag", "churn_risk_level", "is_repeat_buyer",
]


@pytest.fixture(scope="module")
def catalog(layer: SemanticLayer) -> Catalog:
    return Catalog(layer)


def test_core_metrics_have_their_pinned_definitions(catalog: Catalog) -> None:
    for name, sql in CORE_DEFINITIONS.items():
        assert catalog.metric_definition(name).sql == sql
    aov = catalog.metric_definition("avg_order_value").sql
    assert aov.startswith("gmv / order_count;")
    roi = catalog.metric_definition("campaign_roi")
    assert "campaign_touches" in roi.sql and "SUM(campaigns.spend)" in roi.sql
    repurchase = catalog.metric_definition("repurchase_rate").sql
    assert "COUNT(DISTINCT order_id) >= 2" in repurchase


def test_product_metrics_and_dimensions_exist(catalog: Catalog) -> None:
    assert not [m for m in PRODUCT_METRICS if catalog.get_metric(m) is None]
    assert not [d for d in DIMENSIONS if catalog.get_dimension(d) is None]


def test_every_metric_and_dimension_is_named_in_both_languages(layer: SemanticLayer) -> None:
    missing = []
    for metric in layer.metrics:
        words = [metric.label, *metric.synonyms]
        if not metric.label_en or not metric.synonyms or not metric.description:
            missing.append(metric.name)
        elif not any(CJK.search(w) for w in words):
            missing.append(metric.name)
    for _, dim in layer.all_dimensions():
        if not CJK.search(dim.label) or not dim.label_en or not dim.synonyms:
            missing.append(dim.name)
        elif not any(CJK.search(w) for w in dim.synonyms) and not CJK.search(dim.label):
            missing.append(dim.name)
    assert missing == []


def test_synonyms_resolve_to_one_thing(catalog: Catalog) -> None:
    assert catalog.find("销售额") == ("metric", "gmv")
    assert catalog.find("Revenue") == ("metric", "gmv")
    assert catalog.find("大区") == ("dimension", "region")
    assert catalog.find("area") == ("dimension", "region")
    assert catalog.find("商户所在大区") == ("dimension", "merchant_region")
    assert catalog.find("动销率") == ("metric", "sell_through_rate")
    assert catalog.find("复购用户占比") == ("metric", "repeat_buyer_share")
    assert catalog.find_metric("客单价").name == "avg_order_value"
    assert catalog.find_dimension("年龄段").name == "age_band"
    assert catalog.find("没有这个词") is None
    terms = catalog.terms()
    assert terms[normalize_term("GMV")] == ("metric", "gmv")


def test_pii_and_value_indexing(layer: SemanticLayer, catalog: Catalog) -> None:
    pii = {d.name for _, d in layer.all_dimensions() if d.pii}
    assert pii == {"user_name", "phone"}
    indexed = {d.name for _, d in layer.all_dimensions() if d.index_values}
    assert {"region", "channel", "category", "value_tier", "lifecycle_stage", "rfm_segment", "device",
            "gender", "user_tag", "merchant_tag"} <= indexed
    assert not indexed & {"user_id", "merchant_id", "user_name", "phone", "search_query", "product_title"}
    assert catalog.dimension("age_band").values[0] == "18岁以下"


def test_access_policy(catalog: Catalog) -> None:
    policy = catalog.access_policy(max_rows=50)
    assert policy.max_rows == 50
    for table, columns in CONTRACT_TABLES.items():
        assert set(columns) <= policy.tables[table], table
    assert policy.pii["users"] == frozenset({"user_name", "phone"})
    assert policy.pii["user_profile"] == frozenset({"user_name", "phone"})
    assert policy.security_columns == {t: "merchant_id" for t in (
        "events", "merchant_profile", "merchants", "order_items", "orders", "products", "reviews",
        "user_merchant_relation")}
    links = getattr(policy, "merchant_links", {})
    if links:  # the guard's GuardPolicy: tables without a merchant column are tied through links
        assert links["users"].via_table == "orders"
        assert "user_profile" not in links and "campaigns" not in links


def test_time_dimension_and_reachable_dimensions(catalog: Catalog) -> None:
    assert catalog.time_dimension_for("gmv") == "order_date"
    assert catalog.time_dimension_for("avg_order_value") == "order_date"
    assert catalog.time_dimension_for("new_users") == "signup_date"
    assert catalog.time_dimension_for("conversion_rate") == "event_date"
    assert catalog.time_dimension_for("avg_churn_risk") is None
    gmv_dims = catalog.dimensions_for("gmv")
    assert {"region", "merchant_region", "category", "brand", "style", "channel", "device", "age_band",
            "value_tier", "user_tag", "merchant_tag"} <= set(gmv_dims)
    assert "campaign_name" not in gmv_dims
    roi_dims = catalog.dimensions_for("campaign_roi")
    assert "channel" in roi_dims and "campaign_name" in roi_dims and "region" not in roi_dims
    assert "category" not in catalog.dimensions_for("sell_through_rate")
    assert "gmv" in catalog.metrics_for_dimension("category")


def test_dimension_values_sql_runs(catalog: Catalog, warehouse) -> None:
    values = [r[0] for r in warehouse.execute(catalog.dimension_values_sql("channel")).fetchall()]
    assert values == sorted(["小红书", "微信", "抖音"])
    tags = [r[0] for r in warehouse.execute(catalog.dimension_values_sql("user_tag")).fetchall()]
    assert set(tags) == {"优惠券偏好", "周末购物型", "高流失风险"}
