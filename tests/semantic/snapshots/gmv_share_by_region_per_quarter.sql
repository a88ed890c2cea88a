-- dialect: duckdb
WITH agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('QUARTER', CAST(orders.order_ts AS DATE)) AS DATE) AS quarter,
    users.region AS region,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    CAST(DATE_TRUNC('QUARTER', CAST(orders.order_ts AS DATE)) AS DATE),
    users.region
), metric_values AS (
  SELECT
    agg_orders.quarter AS quarter,
    agg_orders.region AS region,
    agg_orders.gmv AS gmv
  FROM agg_orders
), shares AS (
  SELECT
    *,
    CAST(gmv AS DOUBLE) / NULLIF(SUM(gmv) OVER (PARTITION BY quarter), 0) AS gmv_share
  FROM metric_values
)
SELECT
  shares.quarter AS quarter,
  shares.region AS region,
  shares.gmv AS gmv,
  shares.gmv_share AS gmv_share
FROM shares
ORDER BY
  shares.quarter ASC,
  shares.region ASC

-- dialect: postgres
WITH agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('QUARTER', CAST(orders.order_ts AS DATE)) AS DATE) AS quarter,
    users.region AS region,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    CAST(DATE_TRUNC('QUARTER', CAST(orders.order_ts AS DATE)) AS DATE),
    users.region
), metric_values AS (
  SELECT
    agg_orders.quarter AS quarter,
    agg_orders.region AS region,
    agg_orders.gmv AS gmv
  FROM agg_orders
), shares AS (
  SELECT
    *,
    CAST(gmv AS DOUBLE PRECISION) / NULLIF(SUM(gmv) OVER (PARTITION BY quarter), 0) AS gmv_share
  FROM metric_values
)
SELECT
  shares.quarter AS quarter,
  shares.region AS region,
  shares.gmv AS gmv,
  shares.gmv_share AS gmv_share
FROM shares
ORDER BY
  shares.quarter ASC,
  shares.region ASC

-- dialect: trino
WITH agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('QUARTER', CAST(orders.order_ts AS DATE)) AS DATE) AS quarter,
    users.region AS region,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    CAST(DATE_TRUNC('QUARTER', CAST(orders.order_ts AS DATE)) AS DATE),
    users.region
), metric_values AS (
  SELECT
    agg_orders.quarter AS quarter,
    agg_orders.region AS region,
    agg_orders.gmv AS gmv
  FROM agg_orders
), shares AS (
  SELECT
    *,
    CAST(gmv AS DOUBLE) / NULLIF(SUM(gmv) OVER (PARTITION BY quarter), 0) AS gmv_share
  FROM metric_values
)
SELECT
  shares.quarter AS quarter,
  shares.region AS region,
  shares.gmv AS gmv,
  shares.gmv_share AS gmv_share
FROM shares
ORDER BY
  shares.quarter ASC,
  shares.region ASC

-- dialect: spark
WITH agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('QUARTER', CAST(orders.order_ts AS DATE)) AS DATE) AS quarter,
    users.region AS region,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    CAST(DATE_TRUNC('QUARTER', CAST(orders.order_ts AS DATE)) AS DATE),
    users.region
), metric_values AS (
  SELECT
    agg_orders.quarter AS quarter,
    agg_orders.region AS region,
    agg_orders.gmv AS gmv
  FROM agg_orders
), shares AS (
  SELECT
    *,
    CAST(gmv AS DOUBLE) / NULLIF(SUM(gmv) OVER (PARTITION BY quarter), 0) AS gmv_share
  FROM metric_values
)
SELECT
  shares.quarter AS quarter,
  shares.region AS region,
  shares.gmv AS gmv,
  shares.gmv_share AS gmv_share
FROM shares
ORDER BY
  shares.quarter ASC NULLS LAST,
  shares.region ASC NULLS LAST
