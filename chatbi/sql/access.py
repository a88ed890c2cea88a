"""The default access policy (every contract table and column) and merchant row links.

``default_policy()`` allows every raw table of ``chatbi.warehouse.schema`` and every profile
table of DATA_CONTRACT.md with exactly its contract columns, marks PII, and names the column
that ties a row to a merchant (``merchant_id``) on each table that has one.

Merchant roles (``merchant:<id>``) see a table only if its rows can be tied to the merchant:

* a table with a security column is filtered to ``<column> = <id>``;
* a table without one may be tied through a ``MerchantLink``:

  - ``users``: only buyers who ordered from the merchant
    (``user_id IN (SELECT user_id FROM orders WHERE merchant_id = <id>)``);
  - ``review_sentiment``: sentiment of the merchant's own reviews (through ``reviews``);
  - ``campaign_touches``: touches that converted into one of the merchant's orders;
  - ``follows``: follows of the merchant itself (``target_type = 'merchant'``);
  - ``tag_history`` and ``alerts``: rows about the merchant itself (``entity_type = 'merchant'``);

* every other table is refused: ``user_profile`` (its RFM, CLV, favourite merchant… are
  computed over all merchants' orders), ``campaigns`` and ``kols`` (platform data).

``AccessPolicy`` (lead-owned) has no field for links yet, so ``GuardPolicy`` adds
``merchant_links``; the guard reads it with ``getattr`` and works with a plain
``AccessPolicy`` too (then untied tables are simply refused for merchants).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatbi.sql.policy import AccessPolicy
from chatbi.warehouse.schema import PII_COLUMNS, RAW_TABLES

_USER_DIMENSIONS = (
    "user_name", "phone", "gender", "birth_year", "province", "city", "city_tier", "region",
    "signup_date", "signup_channel",
)
_MERCHANT_DIMENSIONS = (
    "merchant_name", "main_category", "province", "city", "region", "join_date",
    "is_certified",
)

# Contract columns of the profile tables (DATA_CONTRACT.md, "Profile tables"), in order.
PROFILE_TABLES: dict[str, tuple[str, ...]] = {
    "user_profile": (
        "user_id", *_USER_DIMENSIONS, "first_order_date", "last_order_date", "recency_days",
        "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment", "value_tier",
        "lifecycle_stage", "churn_risk", "avg_order_value", "coupon_usage_rate",
        "price_sensitivity", "repurchase_cycle_days", "favorite_category",
        "favorite_merchant_id", "preferred_channel", "weekend_share", "predicted_clv", "tags",
        "profile_date",
    ),
    "merchant_profile": (
        "merchant_id", *_MERCHANT_DIMENSIONS, "gmv", "order_count", "buyer_count",
        "avg_order_value", "sell_through_rate", "inventory_turnover_days", "return_rate",
        "dispute_rate", "repeat_buyer_rate", "new_listings_30d", "avg_rating",
        "positive_review_share", "negative_review_share", "tags", "profile_date",
    ),
    "user_merchant_relation": (
        "user_id", "merchant_id", "order_count", "gmv", "first_order_ts", "last_order_ts",
        "is_repeat_buyer", "view_count", "favorite_count", "follows", "dispute_count",
        "loyalty_score",
    ),
    "review_sentiment": ("review_id", "sentiment", "sentiment_score"),
    "tag_history": ("snapshot_date", "entity_type", "entity_id", "tag"),
    "alerts": (
        "alert_id", "detected_at", "entity_type", "entity_id", "metric", "value", "baseline",
        "severity", "message",
    ),
}

# Column order used when the guard spells out a table's columns (``SELECT *``).
CONTRACT_COLUMN_ORDER: dict[str, tuple[str, ...]] = {
    **{table: tuple(cols) for table, cols in RAW_TABLES.items()},
    **PROFILE_TABLES,
}


@dataclass(frozen=True)
class MerchantLink:
    """How rows of a table without a security column are tied to one merchant.

    With ``via_table`` the filter is ``column IN (SELECT via_column FROM via_table WHERE
    <via_table's security column> = <id>)``; without it ``column = <id>``. ``when`` adds an
    equality condition ``(column, value)``, e.g. ``("entity_type", "merchant")``.
    """

    column: str
    via_table: str | None = None
    via_column: str | None = None
    when: tuple[str, str] | None = None


@dataclass(frozen=True)
class GuardPolicy(AccessPolicy):
    """``AccessPolicy`` plus the merchant links of tables without a security column."""

    merchant_links: dict[str, MerchantLink] = field(default_factory=dict)
    # Small groups (``chatbi.sql.small_groups``): 0 switches the rules off.
    min_group_size: int = 0
    user_key: str = "user_id"
    merchant_people_tables: frozenset[str] = frozenset({"users"})


DEFAULT_MERCHANT_LINKS: dict[str, MerchantLink] = {
    "users": MerchantLink("user_id", via_table="orders", via_column="user_id"),
    "review_sentiment": MerchantLink("review_id", via_table="reviews", via_column="review_id"),
    "campaign_touches": MerchantLink("order_id", via_table="orders", via_column="order_id"),
    "follows": MerchantLink("target_id", when=("target_type", "merchant")),
    "tag_history": MerchantLink("entity_id", when=("entity_type", "merchant")),
    "alerts": MerchantLink("entity_id", when=("entity_type", "merchant")),
}


def merchant_links(policy: AccessPolicy) -> dict[str, MerchantLink]:
    """The policy's merchant links (empty for a plain ``AccessPolicy``)."""
    return dict(getattr(policy, "merchant_links", None) or {})


def default_policy(max_rows: int = 1000) -> GuardPolicy:
    """Every contract table and column, PII marked, merchant_id as the security column."""
    tables = {table: frozenset(cols) for table, cols in CONTRACT_COLUMN_ORDER.items()}
    security = {table: "merchant_id" for table, cols in tables.items() if "merchant_id" in cols}
    pii = {table: cols for table, cols in PII_COLUMNS.items() if table in tables}
    return GuardPolicy(
        tables=tables,
        pii=pii,
        security_columns=security,
        max_rows=max_rows,
        merchant_links=dict(DEFAULT_MERCHANT_LINKS),
    )


def column_order(table: str, columns: frozenset[str] | set[str]) -> list[str]:
    """``columns`` in contract order, then any others alphabetically."""
    known = CONTRACT_COLUMN_ORDER.get(table, ())
    ordered = [c for c in known if c in columns]
    return ordered + sorted(set(columns) - set(ordered))
