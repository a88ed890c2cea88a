"""default_policy: every contract table and column, PII, security columns and merchant links."""

from __future__ import annotations

from chatbi.sql.access import PROFILE_TABLES, GuardPolicy, column_order, default_policy
from chatbi.sql.policy import AccessPolicy
from chatbi.warehouse.schema import PII_COLUMNS, RAW_TABLES


def test_default_policy_covers_the_data_contract() -> None:
    policy = default_policy()
    assert isinstance(policy, AccessPolicy) and isinstance(policy, GuardPolicy)
    assert set(policy.tables) == set(RAW_TABLES) | set(PROFILE_TABLES)
    for table, cols in RAW_TABLES.items():
        assert policy.tables[table] == frozenset(cols)
    assert {"rfm_segment", "churn_risk", "tags", "phone"} <= policy.tables["user_profile"]
    assert {"sell_through_rate", "tags"} <= policy.tables["merchant_profile"]
    assert policy.pii == {t: cols for t, cols in PII_COLUMNS.items()}
    assert policy.max_rows == 1000 and default_policy(50).max_rows == 50


def test_security_columns_are_every_merchant_id() -> None:
    policy = default_policy()
    with_merchant = {t for t, cols in policy.tables.items() if "merchant_id" in cols}
    assert set(policy.security_columns) == with_merchant
    assert set(policy.security_columns.values()) == {"merchant_id"}
    assert {"orders", "merchants", "merchant_profile", "user_merchant_relation"} <= with_merchant


def test_merchant_links_point_at_secured_tables() -> None:
    policy = default_policy()
    untied = set(policy.tables) - set(policy.security_columns) - set(policy.merchant_links)
    assert untied == {"user_profile", "campaigns", "kols"}
    for table, link in policy.merchant_links.items():
        assert link.column in policy.tables[table]
        if link.via_table:
            assert link.via_table in policy.security_columns
            assert link.via_column in policy.tables[link.via_table]
        if link.when:
            assert link.when[0] in policy.tables[table]


def test_column_order_follows_the_contract() -> None:
    assert column_order("orders", frozenset({"status", "order_id", "user_id"})) == [
        "order_id", "user_id", "status",
    ]
    assert column_order("custom", {"b", "a"}) == ["a", "b"]
