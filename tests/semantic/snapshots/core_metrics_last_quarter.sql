-- dialect: duckdb
WITH agg_orders AS (
  SELECT
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    CAST(SUM(
      CAST(CASE WHEN orders.status = 'completed' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS net_sales,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count,
    COUNT(CASE WHEN orders.status IN ('returned', 'refunded') THEN 1 END) AS returned_orders,
    COUNT(CASE WHEN orders.status <> 'cancelled' AND orders.is_disputed THEN 1 END) AS disputed_orders
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
), agg_orders_repeat_buyers AS (
  SELECT
    COUNT(*) AS repeat_buyers
  FROM (
    SELECT
      orders.user_id AS counted_value,
      COUNT(DISTINCT orders.order_id) AS occurrences_count
    FROM orders
    WHERE
      CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
      AND orders.status <> 'cancelled'
      AND NOT orders.user_id IS NULL
    GROUP BY
      orders.user_id
  ) AS occurrences
  WHERE
    occurrences.occurrences_count >= 2
)
SELECT
  agg_orders.gmv AS gmv,
  agg_orders.net_sales AS net_sales,
  COALESCE(agg_orders.order_count, 0) AS order_count,
  COALESCE(agg_orders.buyer_count, 0) AS buyer_count,
  CAST(agg_orders.gmv AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS avg_order_value,
  CAST(COALESCE(agg_orders.returned_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS return_rate,
  CAST(COALESCE(agg_orders.disputed_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS dispute_rate,
  CAST(COALESCE(agg_orders_repeat_buyers.repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.buyer_count, 0), 0) AS repurchase_rate
FROM agg_orders
CROSS JOIN agg_orders_repeat_buyers
ORDER BY
  gmv DESC

-- dialect: postgres
WITH agg_orders AS (
  SELECT
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    CAST(SUM(
      CAST(CASE WHEN orders.status = 'completed' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS net_sales,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count,
    COUNT(CASE WHEN orders.status IN ('returned', 'refunded') THEN 1 END) AS returned_orders,
    COUNT(CASE WHEN orders.status <> 'cancelled' AND orders.is_disputed THEN 1 END) AS disputed_orders
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
), agg_orders_repeat_buyers AS (
  SELECT
    COUNT(*) AS repeat_buyers
  FROM (
    SELECT
      orders.user_id AS counted_value,
      COUNT(DISTINCT orders.order_id) AS occurrences_count
    FROM orders
    WHERE
      CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
      AND orders.status <> 'cancelled'
      AND NOT orders.user_id IS NULL
    GROUP BY
      orders.user_id
  ) AS occurrences
  WHERE
    occurrences.occurrences_count >= 2
)
SELECT
  agg_orders.gmv AS gmv,
  agg_orders.net_sales AS net_sales,
  COALESCE(agg_orders.order_count, 0) AS order_count,
  COALESCE(agg_orders.buyer_count, 0) AS buyer_count,
  CAST(agg_orders.gmv AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS avg_order_value,
  CAST(COALESCE(agg_orders.returned_orders, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS return_rate,
  CAST(COALESCE(agg_orders.disputed_orders, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS dispute_rate,
  CAST(COALESCE(agg_orders_repeat_buyers.repeat_buyers, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_orders.buyer_count, 0), 0) AS repurchase_rate
FROM agg_orders
CROSS JOIN agg_orders_repeat_buyers
ORDER BY
  gmv DESC NULLS LAST

-- dialect: trino
WITH agg_orders AS (
  SELECT
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    CAST(SUM(
      CAST(CASE WHEN orders.status = 'completed' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS net_sales,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count,
    COUNT(CASE WHEN orders.status IN ('returned', 'refunded') THEN 1 END) AS returned_orders,
    COUNT(CASE WHEN orders.status <> 'cancelled' AND orders.is_disputed THEN 1 END) AS disputed_orders
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
), agg_orders_repeat_buyers AS (
  SELECT
    COUNT(*) AS repeat_buyers
  FROM (
    SELECT
      orders.user_id AS counted_value,
      COUNT(DISTINCT orders.order_id) AS occurrences_count
    FROM orders
    WHERE
      CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
      AND orders.status <> 'cancelled'
      AND NOT orders.user_id IS NULL
    GROUP BY
      orders.user_id
  ) AS occurrences
  WHERE
    occurrences.occurrences_count >= 2
)
SELECT
  agg_orders.gmv AS gmv,
  agg_orders.net_sales AS net_sales,
  COALESCE(agg_orders.order_count, 0) AS order_count,
  COALESCE(agg_orders.buyer_count, 0) AS buyer_count,
  CAST(agg_orders.gmv AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS avg_order_value,
  CAST(COALESCE(agg_orders.returned_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS return_rate,
  CAST(COALESCE(agg_orders.disputed_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS dispute_rate,
  CAST(COALESCE(agg_orders_repeat_buyers.repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.buyer_count, 0), 0) AS repurchase_rate
FROM agg_orders
CROSS JOIN agg_orders_repeat_buyers
ORDER BY
  gmv DESC

-- dialect: spark
WITH agg_orders AS (
  SELECT
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    CAST(SUM(
      CAST(CASE WHEN orders.status = 'completed' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS net_sales,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count,
    COUNT(CASE WHEN orders.status IN ('returned', 'refunded') THEN 1 END) AS returned_orders,
    COUNT(CASE WHEN orders.status <> 'cancelled' AND orders.is_disputed THEN 1 END) AS disputed_orders
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
), agg_orders_repeat_buyers AS (
  SELECT
    COUNT(*) AS repeat_buyers
  FROM (
    SELECT
      orders.user_id AS counted_value,
      COUNT(DISTINCT orders.order_id) AS occurrences_count
    FROM orders
    WHERE
      CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
      AND orders.status <> 'cancelled'
      AND NOT orders.user_id IS NULL
    GROUP BY
      orders.user_id
  ) AS occurrences
  WHERE
    occurrences.occurrences_count >= 2
)
SELECT
  agg_orders.gmv AS gmv,
  agg_orders.net_sales AS net_sales,
  COALESCE(agg_orders.order_count, 0) AS order_count,
  COALESCE(agg_orders.buyer_count, 0) AS buyer_count,
  CAST(agg_orders.gmv AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS avg_order_value,
  CAST(COALESCE(agg_orders.returned_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS return_rate,
  CAST(COALESCE(agg_orders.disputed_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS dispute_rate,
  CAST(COALESCE(agg_orders_repeat_buyers.repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.buyer_count, 0), 0) AS repurchase_rate
FROM agg_orders
CROSS JOIN agg_orders_repeat_buyers
ORDER BY
  gmv DESC
