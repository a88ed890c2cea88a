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

import duckdb
import pandas as pd

from chatbi.relations import cooccurrence

ITEM_TYPES = ("category", "brand", "style")
MIN_BOTH_BUYERS = 3  # rules with fewer shared buyers are not kept


def quote(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def _pair_filter(a_type: str, a_item: str, b_type: str, antecedent_type: str | None,
                 antecedent: str | None, consequent_type: str | None) -> str:
    """The kept pairs (see the module docstring) over the given column names."""
    where = [f"({a_type} = {b_type} OR {a_type} = 'category'"
             f" OR ({a_type} = 'style' AND {b_type} = 'category'))"]
    if antecedent_type is not None:
        where.append(f"{a_type} = {quote(antecedent_type)}")
    if antecedent is not None:
        where.append(f"{a_item} = {quote(antecedent)}")
    if consequent_type is not None:
        where.append(f"{b_type} = {quote(consequent_type)}")
    return " AND ".join(where)


def _user_items_sql(as_of: date, start: date | None) -> str:
    """Distinct (user_id, item_type, item) of buyers up to the as-of date."""
    a = f"DATE '{as_of.isoformat()}'"
    since = f" AND o.order_ts >= DATE '{start.isoformat()}'" if start else ""
    return f"""
    WITH lines AS (
        SELECT o.user_id, p.category, p.brand, p.style
        FROM orders o JOIN order_items i ON i.order_id = o.order_id
        JOIN products p ON p.product_id = i.product_id
        WHERE o.status <> 'cancelled' AND o.order_ts < {a} + 1{since} AND o.user_id IS NOT NULL)
    SELECT DISTINCT user_id, 'category' AS item_type, category AS item FROM lines
    WHERE category IS NOT NULL
    UNION
    SELECT DISTINCT user_id, 'brand' AS item_type, brand AS item FROM lines
    WHERE brand IS NOT NULL
    UNION
    SELECT DISTINCT user_id, 'style' AS item_type, style AS item FROM lines
    WHERE style IS NOT NULL"""


def _rules_sql(pairs: str, counts: str, total: str, min_both: int) -> str:
    """The rule columns over ``pairs`` (antecedent_type, antecedent, consequent_type,
    consequent, both_buyers), ``counts`` (item_type, item, buyers) and ``total`` (n)."""
    return f"""
    SELECT p.antecedent_type, p.antecedent, p.consequent_type, p.consequent,
           CAST(ca.buyers AS INTEGER) AS antecedent_buyers,
           CAST(cb.buyers AS INTEGER) AS consequent_buyers,
           CAST(p.both_buyers AS INTEGER) AS both_buyers, CAST(t.n AS INTEGER) AS total_buyers,
           p.both_buyers / ca.buyers AS confidence,
           (p.both_buyers / ca.buyers) / (cb.buyers / t.n) AS lift
    FROM {pairs} p
    JOIN {counts} ca ON ca.item_type = p.antecedent_type AND ca.item = p.antecedent
    JOIN {counts} cb ON cb.item_type = p.consequent_type AND cb.item = p.consequent
    CROSS JOIN {total} t
    WHERE p.both_buyers >= {int(min_both)}"""


def affinity_sql(as_of: date, *, start: date | None = None, antecedent_type: str | None = None,
                 antecedent: str | None = None, consequent_type: str | None = None,
                 min_both: int = MIN_BOTH_BUYERS) -> str:
    """The rules as a SELECT (optionally for one antecedent and one consequent type)."""
    where = _pair_filter("a.item_type", "a.item", "b.item_type", antecedent_type, antecedent,
                         consequent_type)
    return f"""
    WITH ui AS ({_user_items_sql(as_of, start)}),
    total AS (SELECT count(DISTINCT user_id) AS n FROM ui),
    counts AS (SELECT item_type, item, count(*) AS buyers FROM ui GROUP BY item_type, item),
    pairs AS (
        SELECT a.item_type AS antecedent_type, a.item AS antecedent,
               b.item_type AS consequent_type, b.item AS consequent, count(*) AS both_buyers
        FROM ui a JOIN ui b ON a.user_id = b.user_id
         AND NOT (a.item_type = b.item_type AND a.item = b.item)
        WHERE {where}
        GROUP BY a.item_type, a.item, b.item_type, b.item)
    {_rules_sql("pairs", "counts", "total", min_both)}"""


def affinity_frame(con: duckdb.DuckDBPyConnection, as_of: date,
                   min_both: int = MIN_BOTH_BUYERS) -> pd.DataFrame:
    """The rows of ``affinity_sql(as_of)`` with the pair counts from a sparse product
    (``cooccurrence``) instead of a self-join of every buyer's items."""
    counts = cooccurrence.pair_counts(con, _user_items_sql(as_of, None), ("item_type", "item"))
    types, items = counts.items["item_type"].to_numpy(), counts.items["item"].to_numpy()
    pairs = pd.DataFrame({"antecedent_type": types[counts.left], "antecedent": items[counts.left],
                          "consequent_type": types[counts.right],
                          "consequent": items[counts.right], "both_buyers": counts.shared})
    buyers = pd.DataFrame({"item_type": types, "item": items, "buyers": counts.item_users})
    total = pd.DataFrame({"n": [counts.users]})
    where = _pair_filter("antecedent_type", "antecedent", "consequent_type", None, None, None)
    for name, frame in (("_aff_pairs", pairs), ("_aff_counts", buyers), ("_aff_total", total)):
        con.register(name, frame)
    try:
        return con.execute(f"WITH kept AS (SELECT * FROM _aff_pairs WHERE {where}) "
                           + _rules_sql("kept", "_aff_counts", "_aff_total", min_both)).df()
    finally:
        for name in ("_aff_pairs", "_aff_counts", "_aff_total"):
            con.unregister(name)
