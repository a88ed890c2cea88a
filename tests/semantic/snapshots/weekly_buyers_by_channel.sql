-- dialect: duckdb
WITH agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', CAST(orders.order_ts AS DATE)) AS DATE) AS week,
    orders.channel AS channel,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-09-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    CAST(DATE_TRUNC('WEEK', CAST(orders.order_ts AS DATE)) AS DATE),
    orders.channel
)
SELECT
  agg_orders.week AS week,
  agg_orders.channel AS channel,
  agg_orders.buyer_count AS buyer_count
FROM agg_orders
ORDER BY
  week ASC,
  channel ASC

-- dialect: postgres
WITH agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', CAST(orders.order_ts AS DATE)) AS DATE) AS week,
    orders.channel AS channel,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-09-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    CAST(DATE_TRUNC('WEEK', CAST(orders.order_ts AS DATE)) AS DATE),
    orders.channel
)
SELECT
  agg_orders.week AS week,
  agg_orders.channel AS channel,
  agg_orders.buyer_count AS buyer_count
FROM agg_orders
ORDER BY
  week ASC,
  channel ASC

-- dialect: trino
WITH agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', CAST(orders.order_ts AS DATE)) AS DATE) AS week,
    orders.channel AS channel,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-09-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    CAST(DATE_TRUNC('WEEK', CAST(orders.order_ts AS DATE)) AS DATE),
    orders.channel
)
SELECT
  agg_orders.week AS week,
  agg_orders.channel AS channel,
  agg_orders.buyer_count AS buyer_count
FROM agg_orders
ORDER BY
  week ASC,
  channel ASC

-- dialect: spark
WITH agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', CAST(orders.order_ts AS DATE)) AS DATE) AS week,
    orders.channel AS channel,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-09-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    CAST(DATE_TRUNC('WEEK', CAST(orders.order_ts AS DATE)) AS DATE),
    orders.channel
)
SELECT
  agg_orders.week AS week,
  agg_orders.channel AS channel,
  agg_orders.buyer_count AS buyer_count
FROM agg_orders
ORDER BY
  week ASC NULLS LAST,
  channel ASC NULLS LAST
