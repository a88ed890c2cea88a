-- dialect: duckdb
WITH agg_orders_repeat_buyers AS (
  SELECT
    occurrences.month AS month,
    COUNT(*) AS repeat_buyers
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
      orders.user_id AS counted_value,
      COUNT(DISTINCT orders.order_id) AS occurrences_count
    FROM orders
    WHERE
      CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
      AND orders.status <> 'cancelled'
      AND NOT orders.user_id IS NULL
    GROUP BY
      CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE),
      orders.user_id
  ) AS occurrences
  WHERE
    occurrences.occurrences_count >= 2
  GROUP BY
    occurrences.month
), agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE)
), dimension_keys AS (
  SELECT
    agg_orders_repeat_buyers.month
  FROM agg_orders_repeat_buyers
  UNION
  SELECT
    agg_orders.month
  FROM agg_orders
)
SELECT
  dimension_keys.month AS month,
  CAST(COALESCE(agg_orders_repeat_buyers.repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.buyer_count, 0), 0) AS repurchase_rate
FROM dimension_keys
LEFT JOIN agg_orders_repeat_buyers
  ON dimension_keys.month IS NOT DISTINCT FROM agg_orders_repeat_buyers.month
LEFT JOIN agg_orders
  ON dimension_keys.month IS NOT DISTINCT FROM agg_orders.month
ORDER BY
  month ASC

-- dialect: postgres
WITH agg_orders_repeat_buyers AS (
  SELECT
    occurrences.month AS month,
    COUNT(*) AS repeat_buyers
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
      orders.user_id AS counted_value,
      COUNT(DISTINCT orders.order_id) AS occurrences_count
    FROM orders
    WHERE
      CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
      AND orders.status <> 'cancelled'
      AND NOT orders.user_id IS NULL
    GROUP BY
      CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE),
      orders.user_id
  ) AS occurrences
  WHERE
    occurrences.occurrences_count >= 2
  GROUP BY
    occurrences.month
), agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE)
), dimension_keys AS (
  SELECT
    agg_orders_repeat_buyers.month
  FROM agg_orders_repeat_buyers
  UNION
  SELECT
    agg_orders.month
  FROM agg_orders
)
SELECT
  dimension_keys.month AS month,
  CAST(COALESCE(agg_orders_repeat_buyers.repeat_buyers, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_orders.buyer_count, 0), 0) AS repurchase_rate
FROM dimension_keys
LEFT JOIN agg_orders_repeat_buyers
  ON COALESCE(CAST(dimension_keys.month AS TEXT), '<null>') = COALESCE(CAST(agg_orders_repeat_buyers.month AS TEXT), '<null>')
LEFT JOIN agg_orders
  ON COALESCE(CAST(dimension_keys.month AS TEXT), '<null>') = COALESCE(CAST(agg_orders.month AS TEXT), '<null>')
ORDER BY
  month ASC

-- dialect: trino
WITH agg_orders_repeat_buyers AS (
  SELECT
    occurrences.month AS month,
    COUNT(*) AS repeat_buyers
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
      orders.user_id AS counted_value,
      COUNT(DISTINCT orders.order_id) AS occurrences_count
    FROM orders
    WHERE
      CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
      AND orders.status <> 'cancelled'
      AND NOT orders.user_id IS NULL
    GROUP BY
      CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE),
      orders.user_id
  ) AS occurrences
  WHERE
    occurrences.occurrences_count >= 2
  GROUP BY
    occurrences.month
), agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE)
), dimension_keys AS (
  SELECT
    agg_orders_repeat_buyers.month
  FROM agg_orders_repeat_buyers
  UNION
  SELECT
    agg_orders.month
  FROM agg_orders
)
SELECT
  dimension_keys.month AS month,
  CAST(COALESCE(agg_orders_repeat_buyers.repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.buyer_count, 0), 0) AS repurchase_rate
FROM dimension_keys
LEFT JOIN agg_orders_repeat_buyers
  ON dimension_keys.month IS NOT DISTINCT FROM agg_orders_repeat_buyers.month
LEFT JOIN agg_orders
  ON dimension_keys.month IS NOT DISTINCT FROM agg_orders.month
ORDER BY
  month ASC

-- dialect: spark
WITH agg_orders_repeat_buyers AS (
  SELECT
    occurrences.month AS month,
    COUNT(*) AS repeat_buyers
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
      orders.user_id AS counted_value,
      COUNT(DISTINCT orders.order_id) AS occurrences_count
    FROM orders
    WHERE
      CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
      AND orders.status <> 'cancelled'
      AND NOT orders.user_id IS NULL
    GROUP BY
      CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE),
      orders.user_id
  ) AS occurrences
  WHERE
    occurrences.occurrences_count >= 2
  GROUP BY
    occurrences.month
), agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
    COUNT(DISTINCT CASE WHEN orders.status <> 'cancelled' THEN orders.user_id END) AS buyer_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE)
), dimension_keys AS (
  SELECT
    agg_orders_repeat_buyers.month
  FROM agg_orders_repeat_buyers
  UNION
  SELECT
    agg_orders.month
  FROM agg_orders
)
SELECT
  dimension_keys.month AS month,
  CAST(COALESCE(agg_orders_repeat_buyers.repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.buyer_count, 0), 0) AS repurchase_rate
FROM dimension_keys
LEFT JOIN agg_orders_repeat_buyers
  ON dimension_keys.month IS NOT DISTINCT FROM agg_orders_repeat_buyers.month
LEFT JOIN agg_orders
  ON dimension_keys.month IS NOT DISTINCT FROM agg_orders.month
ORDER BY
  month ASC NULLS LAST
