""""People who bought X also bought Y": association rules over buyers of categories, brands
and styles.

A buyer "bought" an item (a category, a brand or a style) when one of their valid orders
(status <> 'cancelled') holds a product of it. For an antecedent A and consequent B:

- ``antecedent_buyers`` = buyers of A, ``consequent_buyers`` = buyers of B,
  ``both_buyers`` = buyers of both, ``total_buyers`` = all buyers;
- ``confidence`` = both / antecedent buyers (share of A's buyers who also bought B);
- ``lift`` = confidence / (consequent buyers / total buyers): how much more likely A's
  buyers are to buy B than buyers in general (1 = no relation).

Pairs kept: items of the same type, category → style, category → brand, style → category.
``affinity_sql`` is plain SQL over ``orders``, ``order_items`` and ``products``: the profile
build materialises it as ``category_affinity``, and answers for merchant roles run it through
the SQL guard, which limits every table to the merchant's own rows.
"""

from __future__ import annotations

from datetime import date

ITEM_TYPES = ("category", "brand", "style")
MIN_BOTH_BUYERS = 3  # rules with fewer shared buyers are not kept


def quote(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def affinity_sql(as_of: date, *, start: date | None = None, antecedent_type: str | None = None,
                 antecedent: str | None = None, consequent_type: str | None = None,
                 min_both: int = MIN_BOTH_BUYERS) -> str:
    """The rules as a SELECT (optionally for one antecedent and one consequent type)."""
    a = f"DATE '{as_of.isoformat()}'"
    since = f" AND o.order_ts >= DATE '{start.isoformat()}'" if start else ""
    where = ["(a.item_type = b.item_type OR a.item_type = 'category'"
             " OR (a.item_type = 'style' AND b.item_type = 'category'))"]
    if antecedent_type is not None:
        where.append(f"a.item_type = {quote(antecedent_type)}")
    if antecedent is not None:
        where.append(f"a.item = {quote(antecedent)}")
    if consequent_type is not None:
        where.append(f"b.item_type = {quote(consequent_type)}")
    return f"""
    WITH lines AS (
        SELECT o.user_id, p.category, p.brand, p.style
        FROM orders o JOIN order_items i ON i.order_id = o.order_id
        JOIN products p ON p.product_id = i.product_id
        WHERE o.status <> 'cancelled' AND o.order_ts < {a} + 1{since} AND o.user_id IS NOT NULL),
    ui AS (
        SELECT DISTINCT user_id, 'category' AS item_type, category AS item FROM lines
        WHERE category IS NOT NULL
        UNION
        SELECT DISTINCT user_id, 'brand' AS item_type, brand AS item FROM lines
        WHERE brand IS NOT NULL
        UNION
        SELECT DISTINCT user_id, 'style' AS item_type, style AS item FROM lines
        WHERE style IS NOT NULL),
    total AS (SELECT count(DISTINCT user_id) AS n FROM ui),
    counts AS (SELECT item_type, item, count(*) AS buyers FROM ui GROUP BY item_type, item),
    pairs AS (
        SELECT a.item_type AS antecedent_type, a.item AS antecedent,
               b.item_type AS consequent_type, b.item AS consequent, count(*) AS both_buyers
        FROM ui a JOIN ui b ON a.user_id = b.user_id
         AND NOT (a.item_type = b.item_type AND a.item = b.item)
        WHERE {' AND '.join(where)}
        GROUP BY a.item_type, a.item, b.item_type, b.item)
    SELECT p.antecedent_type, p.antecedent, p.consequent_type, p.consequent,
           CAST(ca.buyers AS INTEGER) AS antecedent_buyers,
           CAST(cb.buyers AS INTEGER) AS consequent_buyers,
           CAST(p.both_buyers AS INTEGER) AS both_buyers, CAST(t.n AS INTEGER) AS total_buyers,
           p.both_buyers / ca.buyers AS confidence,
           (p.both_buyers / ca.buyers) / (cb.buyers / t.n) AS lift
    FROM pairs p
    JOIN counts ca ON ca.item_type = p.antecedent_type AND ca.item = p.antecedent
    JOIN counts cb ON cb.item_type = p.consequent_type AND cb.item = p.consequent
    CROSS JOIN total t
    WHERE p.both_buyers >= {int(min_both)}"""
