"""Temporary staging tables every profile step reads (all as of the as-of date).

``_orders``      valid orders (status <> 'cancelled') with order date ≤ as-of, typed for math
``_event_days``  events per (user, day): views, favorites, carts, searches, purchases
``_products``    listings with listing / sale dates
``_users``       users with an effective signup (signup_date, or the first order if earlier)
``_cutoffs``     the dates features are computed at, with flags: the as-of date (is_asof), the
                 two churn training cut-offs (is_train), the last 12 month ends (is_snapshot)
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from chatbi.profiles import rules


def sql_date(d: date) -> str:
    """A DuckDB DATE literal (dates come from Python ``date`` objects, never from text)."""
    return f"DATE '{d.isoformat()}'"


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The single value a query returns (None for no row)."""
    row = con.execute(sql).fetchone()
    return None if row is None else row[0]


def resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: date | None) -> date:
    """The given as-of date, else the date of the latest order (else of the latest signup)."""
    if as_of is not None:
        return as_of
    value: date = scalar(con, "SELECT coalesce((SELECT max(order_ts)::DATE FROM orders),"
                              " (SELECT max(signup_date) FROM users), current_date)")
    return value


def month_ends(as_of: date, n: int = rules.HISTORY_MONTHS) -> list[date]:
    """The ``n`` most recent month-end dates on or before ``as_of``, oldest first."""
    first_of_month = as_of.replace(day=1)
    nxt = (first_of_month + timedelta(days=32)).replace(day=1)
    end = nxt - timedelta(days=1)
    if end > as_of:
        end = first_of_month - timedelta(days=1)
    ends = []
    for _ in range(n):
        ends.append(end)
        end = end.replace(day=1) - timedelta(days=1)
    return sorted(ends)


def training_cutoffs(as_of: date) -> tuple[date, date]:
    """T1 = as_of − 180 days and T2 = as_of − 90 days (labels: the 90 days after each)."""
    w = rules.CHURN_WINDOW_DAYS
    return as_of - timedelta(days=2 * w), as_of - timedelta(days=w)


def create_staging(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Create the ``_orders``, ``_event_days``, ``_products``, ``_users``, ``_cutoffs`` tables."""
    a = sql_date(as_of)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _orders AS
        SELECT order_id, user_id, merchant_id, order_ts, CAST(order_ts AS DATE) AS d,
               CAST(coalesce(pay_amount, 0) AS DOUBLE) AS pay,
               CAST(coalesce(discount_amount, 0) AS DOUBLE) AS discount,
               coupon_id IS NOT NULL AS has_coupon, channel, device,
               status IN ('returned', 'refunded') AS is_returned,
               coalesce(is_disputed, false) AS is_disputed,
               isodow(order_ts) >= 6 AS is_weekend
        FROM orders
        WHERE status <> 'cancelled' AND order_ts < {a} + 1 AND user_id IS NOT NULL
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _event_days AS
        SELECT user_id, CAST(event_ts AS DATE) AS d,
               count(*) FILTER (WHERE event_type = 'view') AS views,
               count(*) FILTER (WHERE event_type = 'favorite') AS favorites,
               count(*) FILTER (WHERE event_type = 'add_to_cart') AS carts,
               count(*) FILTER (WHERE event_type = 'search') AS searches,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases
        FROM events
        WHERE event_ts < {a} + 1 AND user_id IS NOT NULL
        GROUP BY ALL
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _products AS
        SELECT product_id, merchant_id, category, status,
               CAST(listed_at AS DATE) AS listed_d,
               CASE WHEN status = 'sold' THEN CAST(sold_at AS DATE) END AS sold_d
        FROM products
        WHERE merchant_id IS NOT NULL AND (listed_at IS NULL OR listed_at < {a} + 1)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _users AS
        WITH f AS (SELECT user_id, min(d) AS first_d FROM _orders GROUP BY user_id)
        SELECT u.*, CASE WHEN f.first_d IS NOT NULL AND (u.signup_date IS NULL
                                                    OR f.first_d < u.signup_date)
                         THEN f.first_d ELSE u.signup_date END AS eff_signup
        FROM (SELECT DISTINCT ON (user_id) * FROM users WHERE user_id IS NOT NULL) u
        LEFT JOIN f USING (user_id)
    """)
    t1, t2 = training_cutoffs(as_of)
    snaps = set(month_ends(as_of))
    dates = sorted({as_of, t1, t2, *snaps})
    values = ", ".join(
        f"({sql_date(d)}, {d == as_of}, {d in (t1, t2)}, {d in snaps})" for d in dates
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _cutoffs AS SELECT * FROM (VALUES "
                f"{values}) t(cutoff, is_asof, is_train, is_snapshot)")

