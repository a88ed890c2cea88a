-- dialect: duckdb
WITH agg_orders AS (
  SELECT
    orders.device AS device,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  WHERE
    NOT orders.channel IN ('自然流量')
    AND CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND STRPOS(CAST(merchants.merchant_name AS TEXT), '寄售') > 0
    AND 2026 - users.birth_year >= 18
    AND orders.is_disputed <> TRUE
    AND orders.status <> 'cancelled'
  GROUP BY
    orders.device
)
SELECT
  agg_orders.device AS device,
  agg_orders.gmv AS gmv
FROM agg_orders
ORDER BY
  gmv DESC,
  device ASC

-- dialect: postgres
WITH agg_orders AS (
  SELECT
    orders.device AS device,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  WHERE
    NOT orders.channel IN ('自然流量')
    AND CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND POSITION('寄售' IN CAST(merchants.merchant_name AS VARCHAR)) > 0
    AND 2026 - users.birth_year >= 18
    AND orders.is_disputed <> TRUE
    AND orders.status <> 'cancelled'
  GROUP BY
    orders.device
)
SELECT
  agg_orders.device AS device,
  agg_orders.gmv AS gmv
FROM agg_orders
ORDER BY
  gmv DESC NULLS LAST,
  device ASC

-- dialect: trino
WITH agg_orders AS (
  SELECT
    orders.device AS device,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  WHERE
    NOT orders.channel IN ('自然流量')
    AND CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND STRPOS(CAST(merchants.merchant_name AS VARCHAR), '寄售') > 0
    AND 2026 - users.birth_year >= 18
    AND orders.is_disputed <> TRUE
    AND orders.status <> 'cancelled'
  GROUP BY
    orders.device
)
SELECT
  agg_orders.device AS device,
  agg_orders.gmv AS gmv
FROM agg_orders
ORDER BY
  gmv DESC,
  device ASC

-- dialect: spark
WITH agg_orders AS (
  SELECT
    orders.device AS device,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  WHERE
    NOT orders.channel IN ('自然流量')
    AND CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND LOCATE('寄售', CAST(merchants.merchant_name AS STRING)) > 0
    AND 2026 - users.birth_year >= 18
    AND orders.is_disputed <> TRUE
    AND orders.status <> 'cancelled'
  GROUP BY
    orders.device
)
SELECT
  agg_orders.device AS device,
  agg_orders.gmv AS gmv
FROM agg_orders
ORDER BY
  gmv DESC,
  device ASC NULLS LAST
