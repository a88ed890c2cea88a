"""KOLs and their followers' purchases (``follows`` with target_type 'kol', ``kols``, orders).

Followers are users with a follow of the KOL up to the as-of date. Their purchases are the
items of their valid orders (status <> 'cancelled') in the period; an order's ``pay_amount``
is split over its items in proportion to ``price * quantity`` (as GMV by category is in the
semantic layer), so a follower's GMV by category adds up to their GMV.

- ``kol_ranking_sql``: per KOL, followers, buying followers, follower GMV, GMV per follower,
  the top category (by GMV) and the **signature style**: the style whose share of the
  followers' items is highest relative to its share of all items bought (lift ≥ 1 means the
  followers over-buy it; only styles with ≥ ``MIN_STYLE_ITEMS`` follower items).
- ``kol_preferences_sql``: for the followers of a domain's KOLs (or of one KOL), the share of
  each style (or category) among their items against everyone else's, and the lift.
- ``kol_for_item_sql``: for buyers of a style/category/brand, the KOLs they follow most,
  against the share of all buyers following each KOL.
"""

from __future__ import annotations

from datetime import date

from chatbi.relations.affinity import quote

MIN_STYLE_ITEMS = 5
MIN_FOLLOWERS = 20  # per-follower rankings only compare KOLs with this many followers here
ITEM_COLUMNS = {"style": "p.style", "category": "p.category", "brand": "p.brand"}


def _lines(as_of: date, start: date | None) -> str:
    since = f" AND o.order_ts >= DATE '{start.isoformat()}'" if start else ""
    return f"""lines AS (
        SELECT o.order_id, o.user_id, p.category, p.style, p.brand,
               o.pay_amount * (i.price * i.quantity)
                 / NULLIF(sum(i.price * i.quantity) OVER (PARTITION BY o.order_id), 0) AS gmv
        FROM orders o JOIN order_items i ON i.order_id = o.order_id
        JOIN products p ON p.product_id = i.product_id
        WHERE o.status <> 'cancelled' AND o.order_ts < DATE '{as_of.isoformat()}' + 1{since}
          AND o.user_id IS NOT NULL)"""


def _follows(as_of: date, where: str = "") -> str:
    return f"""f AS (
        SELECT DISTINCT fo.user_id, fo.target_id AS kol_id FROM follows fo
        JOIN kols k ON k.kol_id = fo.target_id
        WHERE fo.target_type = 'kol' AND fo.followed_at < DATE '{as_of.isoformat()}' + 1{where})"""


def kol_ranking_sql(as_of: date, *, start: date | None = None, order_by: str = "follower_gmv",
                    domain: str | None = None, limit: int = 10) -> str:
    """KOLs ranked by their followers' purchases (``order_by``: follower_gmv|gmv_per_follower)."""
    where = f" AND k.domain = {quote(domain)}" if domain else ""
    order = "gmv_per_follower" if order_by == "gmv_per_follower" else "follower_gmv"
    return f"""
    WITH {_lines(as_of, start)}, {_follows(as_of, where)},
    fl AS (SELECT f.kol_id, l.user_id, l.category, l.style, l.gmv
           FROM f JOIN lines l ON l.user_id = f.user_id),
    kf AS (SELECT kol_id, count(*) AS followers FROM f GROUP BY kol_id),
    kb AS (SELECT kol_id, count(DISTINCT user_id) AS buying_followers, sum(gmv) AS follower_gmv,
                  count(*) AS items FROM fl GROUP BY kol_id),
    cat AS (SELECT kol_id, category,
                   row_number() OVER (PARTITION BY kol_id ORDER BY sum(gmv) DESC, category) AS rn
            FROM fl WHERE category IS NOT NULL GROUP BY kol_id, category),
    base AS (SELECT style, count(*) / sum(count(*)) OVER () AS base_share FROM lines
             WHERE style IS NOT NULL GROUP BY style),
    sty AS (SELECT kol_id, style, count(*) AS n,
                   count(*) / sum(count(*)) OVER (PARTITION BY kol_id) AS share
            FROM fl WHERE style IS NOT NULL GROUP BY kol_id, style),
    sig AS (SELECT sty.kol_id, sty.style, sty.share, sty.share / base.base_share AS lift,
                   row_number() OVER (PARTITION BY sty.kol_id
                                      ORDER BY sty.share / base.base_share DESC, sty.style) AS rn
            FROM sty JOIN base ON base.style = sty.style WHERE sty.n >= {MIN_STYLE_ITEMS})
    SELECT k.kol_id, k.kol_name, k.domain AS kol_domain, k.platform AS kol_platform,
           CAST(kf.followers AS INTEGER) AS followers,
           CAST(coalesce(kb.buying_followers, 0) AS INTEGER) AS buying_followers,
           coalesce(kb.follower_gmv, 0) AS follower_gmv,
           coalesce(kb.follower_gmv, 0) / kf.followers AS gmv_per_follower,
           cat.category AS top_category, sig.style AS signature_style,
           sig.share AS signature_style_share, sig.lift AS signature_style_lift
    FROM kf JOIN kols k ON k.kol_id = kf.kol_id
    LEFT JOIN kb ON kb.kol_id = kf.kol_id
    LEFT JOIN cat ON cat.kol_id = kf.kol_id AND cat.rn = 1
    LEFT JOIN sig ON sig.kol_id = kf.kol_id AND sig.rn = 1
    WHERE kf.followers >= {MIN_FOLLOWERS if order == "gmv_per_follower" else 1}
    ORDER BY {order} DESC, k.kol_id
    LIMIT {int(limit)}"""


def kol_preferences_sql(as_of: date, *, item_type: str = "style", domain: str | None = None,
                        kol_id: int | None = None, start: date | None = None) -> str:
    """(<item_type>, follower_items, follower_share, other_items, other_share, lift)."""
    column = {"style": "style", "category": "category", "brand": "brand"}[item_type]
    where = ""
    if domain:
        where += f" AND k.domain = {quote(domain)}"
    if kol_id is not None:
        where += f" AND k.kol_id = {int(kol_id)}"
    return f"""
    WITH {_lines(as_of, start)}, {_follows(as_of, where)},
    fans AS (SELECT DISTINCT user_id FROM f),
    t AS (SELECT l.{column} AS item,
                 count(*) FILTER (WHERE fans.user_id IS NOT NULL) AS follower_items,
                 count(*) FILTER (WHERE fans.user_id IS NULL) AS other_items
          FROM lines l LEFT JOIN fans ON fans.user_id = l.user_id
          WHERE l.{column} IS NOT NULL GROUP BY l.{column}),
    s AS (SELECT item, follower_items, other_items,
                 follower_items / NULLIF(sum(follower_items) OVER (), 0) AS follower_share,
                 other_items / NULLIF(sum(other_items) OVER (), 0) AS other_share,
                 (SELECT count(*) FROM fans) AS followers
          FROM t)
    SELECT item AS {column}, CAST(follower_items AS INTEGER) AS follower_items, follower_share,
           CAST(other_items AS INTEGER) AS other_items, other_share,
           follower_share / NULLIF(other_share, 0) AS lift, CAST(followers AS INTEGER) AS followers
    FROM s ORDER BY follower_share DESC, item"""


def kol_for_item_sql(as_of: date, *, item_type: str, item: str, start: date | None = None,
                     limit: int = 10) -> str:
    """KOLs followed by buyers of ``item``: (kol..., item_buyers_following, share_of_item_buyers,
    share_of_all_buyers, lift)."""
    column = ITEM_COLUMNS[item_type].split(".")[1]
    return f"""
    WITH {_lines(as_of, start)}, {_follows(as_of)},
    ib AS (SELECT DISTINCT user_id FROM lines WHERE {column} = {quote(item)}),
    ab AS (SELECT DISTINCT user_id FROM lines),
    n AS (SELECT (SELECT count(*) FROM ib) AS item_buyers, (SELECT count(*) FROM ab) AS all_buyers),
    c AS (SELECT f.kol_id,
                 count(DISTINCT f.user_id) FILTER (WHERE ib.user_id IS NOT NULL) AS item_buyers_following,
                 count(DISTINCT f.user_id) FILTER (WHERE ab.user_id IS NOT NULL) AS buyers_following
          FROM f LEFT JOIN ib ON ib.user_id = f.user_id LEFT JOIN ab ON ab.user_id = f.user_id
          GROUP BY f.kol_id)
    SELECT k.kol_id, k.kol_name, k.domain AS kol_domain,
           CAST(c.item_buyers_following AS INTEGER) AS item_buyers_following,
           c.item_buyers_following / NULLIF(n.item_buyers, 0) AS share_of_item_buyers,
           c.buyers_following / NULLIF(n.all_buyers, 0) AS share_of_all_buyers,
           (c.item_buyers_following / NULLIF(n.item_buyers, 0))
             / NULLIF(c.buyers_following / NULLIF(n.all_buyers, 0), 0) AS lift,
           CAST(n.item_buyers AS INTEGER) AS item_buyers
    FROM c JOIN kols k ON k.kol_id = c.kol_id CROSS JOIN n
    WHERE c.item_buyers_following > 0
    ORDER BY item_buyers_following DESC, lift DESC, k.kol_id
    LIMIT {int(limit)}"""
