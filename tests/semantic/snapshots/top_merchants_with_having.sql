-- dialect: duckdb
WITH agg_orders AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    merchants.merchant_name
)
SELECT
  agg_orders.merchant_name AS merchant_name,
  agg_orders.gmv AS gmv
FROM agg_orders
WHERE
  agg_orders.order_count >= 2.0
ORDER BY
  gmv DESC,
  merchant_name ASC
LIMIT 3

-- dialect: postgres
WITH agg_orders AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    merchants.merchant_name
)
SELECT
  agg_orders.merchant_name AS merchant_name,
  agg_orders.gmv AS gmv
FROM agg_orders
WHERE
  agg_orders.order_count >= 2.0
ORDER BY
  gmv DESC NULLS LAST,
  merchant_name ASC
LIMIT 3

-- dialect: trino
WITH agg_orders AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    merchants.merchant_name
)
SELECT
  agg_orders.merchant_name AS merchant_name,
  agg_orders.gmv AS gmv
FROM agg_orders
WHERE
  agg_orders.order_count >= 2.0
ORDER BY
  gmv DESC,
  merchant_name ASC
LIMIT 3

-- dialect: spark
WITH agg_orders AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND orders.status <> 'cancelled'
  GROUP BY
    merchants.merchant_name
)
SELECT
  agg_orders.merchant_name AS merchant_name,
  agg_orders.gmv AS gmv
FROM agg_orders
WHERE
  agg_orders.order_count >= 2.0
ORDER BY
  gmv DESC,
  merchant_name ASC NULLS LAST
LIMIT 3
