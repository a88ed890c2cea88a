"""The set-based SQL that turns staged Olist files (schema ``src``) into the raw tables.

Window ``ORDER BY`` keys are never NULL (``coalesce`` to a sentinel, or a 0/1 priority
column): with DuckDB 2.0.0, ``row_number() … = 1`` over a NULL-able key (``NULLS LAST``
included) sometimes picks the NULL row — seen on ``UNION ALL`` inputs with NULL literals,
likely the top-N window rewrite of duckdb/duckdb#23677.

Run in order on the new warehouse's connection after ``olist_mapping.register``. Steps
named ``s_*`` build typed temporary tables; the ``INSERT`` steps fill the contract tables
(created beforehand with ``create_table_sql`` plus the extra columns in ``EXTRA_COLUMNS``).
Every rule here is documented in docs/import.md.
"""

from __future__ import annotations

from chatbi.warehouse.importers.olist_mapping import CITY_KEY_SQL, CITY_TITLE_SQL
from chatbi.warehouse.importers.validate import cast_sql

# Columns added to the contract tables (allowed by DATA_CONTRACT.md: add, never rename).
EXTRA_COLUMNS: dict[str, dict[str, str]] = {
    "users": {"source_customer_unique_id": "VARCHAR", "province_code": "VARCHAR"},
    "merchants": {"source_seller_id": "VARCHAR", "province_code": "VARCHAR",
                  "main_category_en": "VARCHAR"},
    "products": {"source_product_id": "VARCHAR", "category_en": "VARCHAR",
                 "category_pt": "VARCHAR"},
    "orders": {"source_order_id": "VARCHAR", "source_status": "VARCHAR",
               "freight_amount": "DECIMAL(12,2)"},
    "reviews": {"source_review_id": "VARCHAR", "content_lang": "VARCHAR"},
}


def _t(col: str) -> str:
    return f"nullif(trim({col}), '')"


def _ts(col: str) -> str:
    return cast_sql(col, "TIMESTAMP")


def _money(col: str) -> str:
    return cast_sql(col, "DECIMAL(12,2)")


CITY_KEY = CITY_KEY_SQL.format(col="city_raw")
CITY_TITLE = CITY_TITLE_SQL.format(col=CITY_KEY)

STAGE_SQL: tuple[tuple[str, str], ...] = (
    ("s_orders", f"""
        SELECT {_t('order_id')} AS oid, {_t('customer_id')} AS cid,
               lower({_t('order_status')}) AS src_status, {_ts('order_purchase_timestamp')} AS ts
        FROM src.orders WHERE {_t('order_id')} IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY oid ORDER BY rowid) = 1"""),
    ("s_customers", f"""
        SELECT {_t('customer_id')} AS cid, {_t('customer_unique_id')} AS uid,
               {_t('customer_city')} AS city_raw, upper({_t('customer_state')}) AS state
        FROM src.customers WHERE {_t('customer_id')} IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY cid ORDER BY rowid) = 1"""),
    ("s_items", f"""
        SELECT {_t('order_id')} AS oid, {_t('product_id')} AS pid, {_t('seller_id')} AS sid,
               {_money('price')} AS price, {_money('freight_value')} AS freight
        FROM src.order_items WHERE {_t('order_id')} IN (SELECT oid FROM s_orders)"""),
    ("s_payments", f"""
        SELECT {_t('order_id')} AS oid, lower({_t('payment_type')}) AS ptype,
               {_money('payment_value')} AS value
        FROM src.payments"""),
    ("s_sellers", f"""
        SELECT sid, city_raw, state FROM (
            SELECT {_t('seller_id')} AS sid, {_t('seller_city')} AS city_raw,
                   upper({_t('seller_state')}) AS state, 0 AS k, rowid AS r FROM src.sellers
            UNION ALL
            SELECT DISTINCT sid, NULL, NULL, 1, 0 FROM s_items WHERE sid IS NOT NULL)
        WHERE sid IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY sid ORDER BY k, r) = 1"""),
    ("s_categories", """
        SELECT m.pt, coalesce(t.en, m.en) AS en, m.zh FROM map_categories m
        LEFT JOIN s_translation t ON t.pt = m.pt
        UNION ALL
        SELECT t.pt, t.en, t.en FROM s_translation t
        WHERE t.pt NOT IN (SELECT pt FROM map_categories)"""),
    ("s_products_src", f"""
        SELECT pid, category_pt FROM (
            SELECT {_t('product_id')} AS pid, lower({_t('product_category_name')}) AS category_pt,
                   0 AS k, rowid AS r FROM src.products
            UNION ALL
            SELECT DISTINCT pid, NULL, 1, 0 FROM s_items WHERE pid IS NOT NULL)
        WHERE pid IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY pid ORDER BY k, r) = 1"""),
    # One row per distinct (state, city) of customers and sellers: display name, tier, region.
    ("s_places", f"""
        WITH p AS (SELECT DISTINCT state, city_raw FROM (
                       SELECT state, city_raw FROM s_customers
                       UNION ALL SELECT state, city_raw FROM s_sellers))
        SELECT p.state, p.city_raw,
               CASE WHEN p.city_raw IS NULL THEN NULL
                    ELSE coalesce(mc.display, {CITY_TITLE}) END AS city,
               CASE WHEN p.city_raw IS NULL THEN NULL ELSE coalesce(mc.tier, 5) END AS city_tier,
               coalesce(ms.name, p.state) AS province, ms.region
        FROM p
        LEFT JOIN map_cities mc ON mc.state = p.state AND mc.city_key = {CITY_KEY.replace('city_raw', 'p.city_raw')}
        LEFT JOIN map_states ms ON ms.code = p.state"""),
    ("s_order_ids", """
        SELECT row_number() OVER (ORDER BY coalesce(ts, TIMESTAMP '9999-12-31'), oid) AS order_id,
               oid FROM s_orders"""),
    ("s_order_status", """
        SELECT o.oid, o.src_status, coalesce(ms.status, 'completed') AS status
        FROM s_orders o LEFT JOIN map_statuses ms ON ms.source = o.src_status"""),
    ("s_users", """
        WITH co AS (SELECT c.uid, c.cid, c.state, c.city_raw, o.oid, o.ts
                    FROM s_customers c LEFT JOIN s_orders o USING (cid)
                    WHERE c.uid IS NOT NULL),
             latest AS (SELECT uid, state, city_raw FROM co
                        QUALIFY row_number() OVER (
                            PARTITION BY uid ORDER BY coalesce(ts, TIMESTAMP '0001-01-01') DESC,
                                                      coalesce(oid, ''), cid) = 1),
             firsts AS (SELECT uid, min(ts) AS first_ts FROM co GROUP BY uid)
        SELECT row_number() OVER (ORDER BY coalesce(f.first_ts, TIMESTAMP '9999-12-31'), f.uid)
                   AS user_id,
               f.uid, f.first_ts, l.state, l.city_raw
        FROM firsts f JOIN latest l USING (uid)"""),
    ("s_products", """
        WITH lines AS (
                SELECT i.pid, i.sid, i.price, o.ts, st.status <> 'cancelled' AS valid
                FROM s_items i JOIN s_orders o USING (oid) JOIN s_order_status st USING (oid)),
             seller AS (
                SELECT pid, sid FROM (SELECT pid, sid, count(*) AS n, min(ts) AS first_ts
                                      FROM lines WHERE sid IS NOT NULL GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY pid ORDER BY n DESC, first_ts, sid) = 1),
             stats AS (
                SELECT pid, round(avg(price), 2) AS list_price, bool_or(valid) AS sold,
                       min(ts) FILTER (WHERE valid) AS sold_at
                FROM lines GROUP BY pid)
        SELECT row_number() OVER (ORDER BY p.pid) AS product_id, p.pid, p.category_pt,
               CASE WHEN p.category_pt IS NULL THEN (SELECT zh FROM map_uncategorized)
                    ELSE coalesce(c.zh, c.en, p.category_pt) END AS category,
               CASE WHEN p.category_pt IS NULL THEN (SELECT en FROM map_uncategorized)
                    ELSE coalesce(c.en, p.category_pt) END AS category_en,
               s.sid, st.list_price, coalesce(st.sold, false) AS sold, st.sold_at
        FROM s_products_src p
        LEFT JOIN s_categories c ON c.pt = p.category_pt
        LEFT JOIN seller s USING (pid)
        LEFT JOIN stats st USING (pid)"""),
    ("s_merchants", """
        WITH first_sale AS (
                SELECT i.sid, min(o.ts) AS first_ts FROM s_items i JOIN s_orders o USING (oid)
                GROUP BY i.sid),
             cat AS (
                SELECT sid, category, category_en FROM (
                    SELECT i.sid, p.category, p.category_en, count(*) AS n, sum(i.price) AS amount
                    FROM s_items i JOIN s_products p USING (pid) GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY sid ORDER BY n DESC, amount DESC,
                                           category) = 1)
        SELECT row_number() OVER (ORDER BY s.sid) AS merchant_id, s.sid, s.state, s.city_raw,
               'seller-' || CASE WHEN count(*) OVER (PARTITION BY left(s.sid, 8)) > 1 THEN s.sid
                                 ELSE left(s.sid, 8) END AS merchant_name,
               f.first_ts, c.category AS main_category, c.category_en AS main_category_en
        FROM s_sellers s LEFT JOIN first_sale f USING (sid) LEFT JOIN cat c USING (sid)"""),
)

_PLACE_JOIN = ("LEFT JOIN s_places pl ON pl.state IS NOT DISTINCT FROM {a}.state "
               "AND pl.city_raw IS NOT DISTINCT FROM {a}.city_raw")

INSERT_SQL: tuple[tuple[str, str], ...] = (
    ("users", f"""
        INSERT INTO users (user_id, user_name, phone, gender, birth_year, province, city,
                           city_tier, region, signup_date, signup_channel,
                           source_customer_unique_id, province_code)
        SELECT u.user_id, NULL, NULL, NULL, NULL, pl.province, pl.city, pl.city_tier, pl.region,
               CAST(u.first_ts AS DATE), NULL, u.uid, u.state
        FROM s_users u {_PLACE_JOIN.format(a='u')} ORDER BY u.user_id"""),
    ("merchants", f"""
        INSERT INTO merchants (merchant_id, merchant_name, main_category, province, city, region,
                               join_date, is_certified, source_seller_id, province_code,
                               main_category_en)
        SELECT m.merchant_id, m.merchant_name, m.main_category, pl.province, pl.city, pl.region,
               CAST(m.first_ts AS DATE), NULL, m.sid, m.state, m.main_category_en
        FROM s_merchants m {_PLACE_JOIN.format(a='m')} ORDER BY m.merchant_id"""),
    ("products", """
        INSERT INTO products (product_id, merchant_id, category, brand, title, style,
                              item_condition, list_price, listed_at, status, sold_at,
                              source_product_id, category_en, category_pt)
        SELECT p.product_id, m.merchant_id, p.category, NULL, p.category || ' #' || left(p.pid, 8),
               NULL, NULL, p.list_price, NULL,
               CASE WHEN p.sold THEN 'sold' ELSE 'withdrawn' END, p.sold_at,
               p.pid, p.category_en, p.category_pt
        FROM s_products p LEFT JOIN s_merchants m USING (sid) ORDER BY p.product_id"""),
    ("orders", """
        INSERT INTO orders (order_id, user_id, merchant_id, order_ts, pay_amount, discount_amount,
                            coupon_id, channel, device, status, is_disputed, source_order_id,
                            source_status, freight_amount)
        WITH pay AS (SELECT oid, sum(value) AS paid,
                            sum(value) FILTER (WHERE ptype = 'voucher') AS voucher
                     FROM s_payments GROUP BY oid),
             items AS (SELECT oid, sum(price) AS price_total, sum(freight) AS freight_total
                       FROM s_items GROUP BY oid),
             dominant AS (SELECT oid, sid FROM (SELECT oid, sid, sum(price) AS amount
                                                FROM s_items GROUP BY ALL)
                          QUALIFY row_number() OVER (PARTITION BY oid ORDER BY amount DESC, sid) = 1)
        SELECT ids.order_id, u.user_id, m.merchant_id, o.ts,
               CAST(coalesce(pay.paid, it.price_total + coalesce(it.freight_total, 0), 0)
                    AS DECIMAL(12,2)),
               CAST(coalesce(pay.voucher, 0) AS DECIMAL(12,2)),
               CASE WHEN pay.voucher IS NOT NULL THEN 1 END,
               NULL, NULL, st.status, false, o.oid, o.src_status, it.freight_total
        FROM s_orders o
        JOIN s_order_ids ids USING (oid)
        JOIN s_order_status st USING (oid)
        LEFT JOIN s_customers c USING (cid)
        LEFT JOIN s_users u ON u.uid = c.uid
        LEFT JOIN pay USING (oid)
        LEFT JOIN items it USING (oid)
        LEFT JOIN dominant d USING (oid)
        LEFT JOIN s_merchants m ON m.sid = d.sid
        ORDER BY ids.order_id"""),
    ("order_items", """
        INSERT INTO order_items (order_id, product_id, merchant_id, price, quantity)
        SELECT ids.order_id, p.product_id, m.merchant_id,
               CAST(round(avg(i.price), 2) AS DECIMAL(12,2)), CAST(count(*) AS INTEGER)
        FROM s_items i
        JOIN s_order_ids ids USING (oid)
        LEFT JOIN s_products p ON p.pid = i.pid
        LEFT JOIN s_merchants m ON m.sid = i.sid
        GROUP BY ids.order_id, p.product_id, m.merchant_id
        ORDER BY ids.order_id, p.product_id, m.merchant_id"""),
)

REVIEWS_SQL = f"""
    INSERT INTO reviews (review_id, order_id, user_id, merchant_id, review_ts, rating, content,
                         source_review_id, content_lang)
    WITH r AS (
        SELECT {_t('review_id')} AS rid, {_t('order_id')} AS oid,
               {cast_sql('review_score', 'INTEGER')} AS rating,
               {_t('review_comment_title')} AS title, {_t('review_comment_message')} AS message,
               {_ts('review_creation_date')} AS created
        FROM src.reviews WHERE {_t('review_id')} IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY rid, oid ORDER BY rowid) = 1)
    SELECT row_number() OVER (ORDER BY coalesce(r.created, TIMESTAMP '9999-12-31'), r.rid, r.oid),
           o.order_id, o.user_id,
           o.merchant_id, r.created, r.rating,
           CASE WHEN r.title IS NOT NULL AND r.message IS NOT NULL THEN r.title || ' - ' || r.message
                ELSE coalesce(r.message, r.title) END,
           r.rid, CASE WHEN coalesce(r.message, r.title) IS NOT NULL THEN 'pt' END
    FROM r JOIN orders o ON o.source_order_id = r.oid
    ORDER BY 1"""

# Counts behind the report's notes: (SQL returning one number, note template).
CHECK_SQL: tuple[tuple[str, str], ...] = (
    ("SELECT count(*) FROM src.orders", "orders_in_file"),
    ("SELECT count(*) FROM s_orders", "orders_kept"),
    ("SELECT count(*) FROM src.order_items WHERE "
     f"{_t('order_id')} NOT IN (SELECT oid FROM s_orders)", "items_without_order"),
    ("SELECT count(*) FROM s_orders WHERE oid NOT IN (SELECT oid FROM s_payments)",
     "orders_without_payments"),
    ("SELECT count(*) FROM s_orders WHERE cid NOT IN (SELECT cid FROM s_customers)",
     "orders_without_customer"),
    ("SELECT count(*) FROM s_orders o JOIN s_order_status st USING (oid) "
     "WHERE st.status = 'completed' AND o.src_status <> 'delivered'", "in_flight"),
    ("SELECT count(*) FROM (SELECT oid FROM s_items GROUP BY oid "
     "HAVING count(DISTINCT sid) > 1)", "multi_seller_orders"),
    ("SELECT count(*) FROM s_orders WHERE oid NOT IN (SELECT oid FROM s_items)",
     "orders_without_items"),
    ("SELECT count(*) FROM s_sellers WHERE state IS NULL", "sellers_not_in_file"),
    ("SELECT count(*) FROM s_products_src p WHERE p.category_pt IS NOT NULL "
     "AND p.category_pt NOT IN (SELECT pt FROM s_categories)", "unknown_categories"),
    ("SELECT count(*) FROM s_products_src WHERE category_pt IS NULL", "uncategorized_products"),
    ("SELECT count(DISTINCT state) FROM s_places WHERE state IS NOT NULL "
     "AND state NOT IN (SELECT code FROM map_states)", "unknown_states"),
    ("SELECT count(*) FROM s_payments WHERE ptype = 'voucher'", "voucher_payments"),
)
