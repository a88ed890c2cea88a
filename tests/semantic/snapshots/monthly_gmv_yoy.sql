-- dialect: duckdb
WITH cur_agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE)
), current_period AS (
  SELECT
    cur_agg_orders.month AS month,
    cur_agg_orders.gmv AS gmv,
    cur_agg_orders.order_count AS order_count
  FROM cur_agg_orders
), prev_agg_orders AS (
  SELECT
    CAST(CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) + INTERVAL '1' YEAR AS DATE) AS month,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2025-01-01' AS DATE) AND CAST('2025-09-30' AS DATE)
  GROUP BY
    CAST(CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) + INTERVAL '1' YEAR AS DATE)
), previous_period AS (
  SELECT
    prev_agg_orders.month AS month,
    prev_agg_orders.gmv AS gmv,
    prev_agg_orders.order_count AS order_count
  FROM prev_agg_orders
), compared_keys AS (
  SELECT
    current_period.month
  FROM current_period
  UNION
  SELECT
    previous_period.month
  FROM previous_period
), compared AS (
  SELECT
    compared_keys.month AS month,
    current_period.gmv AS gmv,
    previous_period.gmv AS gmv_previous,
    CAST((
      current_period.gmv - previous_period.gmv
    ) AS DOUBLE) / NULLIF(previous_period.gmv, 0) AS gmv_growth,
    current_period.order_count AS order_count,
    previous_period.order_count AS order_count_previous,
    CAST((
      current_period.order_count - previous_period.order_count
    ) AS DOUBLE) / NULLIF(previous_period.order_count, 0) AS order_count_growth
  FROM compared_keys
  LEFT JOIN current_period
    ON compared_keys.month IS NOT DISTINCT FROM current_period.month
  LEFT JOIN previous_period
    ON compared_keys.month IS NOT DISTINCT FROM previous_period.month
)
SELECT
  compared.month AS month,
  compared.gmv AS gmv,
  compared.gmv_previous AS gmv_previous,
  compared.gmv_growth AS gmv_growth,
  compared.order_count AS order_count,
  compared.order_count_previous AS order_count_previous,
  compared.order_count_growth AS order_count_growth
FROM compared
ORDER BY
  compared.month ASC

-- dialect: postgres
WITH cur_agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE)
), current_period AS (
  SELECT
    cur_agg_orders.month AS month,
    cur_agg_orders.gmv AS gmv,
    cur_agg_orders.order_count AS order_count
  FROM cur_agg_orders
), prev_agg_orders AS (
  SELECT
    CAST(CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) + INTERVAL '1 YEAR' AS DATE) AS month,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2025-01-01' AS DATE) AND CAST('2025-09-30' AS DATE)
  GROUP BY
    CAST(CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) + INTERVAL '1 YEAR' AS DATE)
), previous_period AS (
  SELECT
    prev_agg_orders.month AS month,
    prev_agg_orders.gmv AS gmv,
    prev_agg_orders.order_count AS order_count
  FROM prev_agg_orders
), compared_keys AS (
  SELECT
    current_period.month
  FROM current_period
  UNION
  SELECT
    previous_period.month
  FROM previous_period
), compared AS (
  SELECT
    compared_keys.month AS month,
    current_period.gmv AS gmv,
    previous_period.gmv AS gmv_previous,
    CAST((
      current_period.gmv - previous_period.gmv
    ) AS DOUBLE PRECISION) / NULLIF(previous_period.gmv, 0) AS gmv_growth,
    current_period.order_count AS order_count,
    previous_period.order_count AS order_count_previous,
    CAST((
      current_period.order_count - previous_period.order_count
    ) AS DOUBLE PRECISION) / NULLIF(previous_period.order_count, 0) AS order_count_growth
  FROM compared_keys
  LEFT JOIN current_period
    ON COALESCE(CAST(compared_keys.month AS TEXT), '<null>') = COALESCE(CAST(current_period.month AS TEXT), '<null>')
  LEFT JOIN previous_period
    ON COALESCE(CAST(compared_keys.month AS TEXT), '<null>') = COALESCE(CAST(previous_period.month AS TEXT), '<null>')
)
SELECT
  compared.month AS month,
  compared.gmv AS gmv,
  compared.gmv_previous AS gmv_previous,
  compared.gmv_growth AS gmv_growth,
  compared.order_count AS order_count,
  compared.order_count_previous AS order_count_previous,
  compared.order_count_growth AS order_count_growth
FROM compared
ORDER BY
  compared.month ASC

-- dialect: trino
WITH cur_agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE)
), current_period AS (
  SELECT
    cur_agg_orders.month AS month,
    cur_agg_orders.gmv AS gmv,
    cur_agg_orders.order_count AS order_count
  FROM cur_agg_orders
), prev_agg_orders AS (
  SELECT
    CAST(CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) + INTERVAL '1' YEAR AS DATE) AS month,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2025-01-01' AS DATE) AND CAST('2025-09-30' AS DATE)
  GROUP BY
    CAST(CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) + INTERVAL '1' YEAR AS DATE)
), previous_period AS (
  SELECT
    prev_agg_orders.month AS month,
    prev_agg_orders.gmv AS gmv,
    prev_agg_orders.order_count AS order_count
  FROM prev_agg_orders
), compared_keys AS (
  SELECT
    current_period.month
  FROM current_period
  UNION
  SELECT
    previous_period.month
  FROM previous_period
), compared AS (
  SELECT
    compared_keys.month AS month,
    current_period.gmv AS gmv,
    previous_period.gmv AS gmv_previous,
    CAST((
      current_period.gmv - previous_period.gmv
    ) AS DOUBLE) / NULLIF(previous_period.gmv, 0) AS gmv_growth,
    current_period.order_count AS order_count,
    previous_period.order_count AS order_count_previous,
    CAST((
      current_period.order_count - previous_period.order_count
    ) AS DOUBLE) / NULLIF(previous_period.order_count, 0) AS order_count_growth
  FROM compared_keys
  LEFT JOIN current_period
    ON compared_keys.month IS NOT DISTINCT FROM current_period.month
  LEFT JOIN previous_period
    ON compared_keys.month IS NOT DISTINCT FROM previous_period.month
)
SELECT
  compared.month AS month,
  compared.gmv AS gmv,
  compared.gmv_previous AS gmv_previous,
  compared.gmv_growth AS gmv_growth,
  compared.order_count AS order_count,
  compared.order_count_previous AS order_count_previous,
  compared.order_count_growth AS order_count_growth
FROM compared
ORDER BY
  compared.month ASC

-- dialect: spark
WITH cur_agg_orders AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) AS month,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE)
), current_period AS (
  SELECT
    cur_agg_orders.month AS month,
    cur_agg_orders.gmv AS gmv,
    cur_agg_orders.order_count AS order_count
  FROM cur_agg_orders
), prev_agg_orders AS (
  SELECT
    CAST(CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) + INTERVAL '1' YEAR AS DATE) AS month,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count
  FROM orders
  WHERE
    CAST(orders.order_ts AS DATE) BETWEEN CAST('2025-01-01' AS DATE) AND CAST('2025-09-30' AS DATE)
  GROUP BY
    CAST(CAST(DATE_TRUNC('MONTH', CAST(orders.order_ts AS DATE)) AS DATE) + INTERVAL '1' YEAR AS DATE)
), previous_period AS (
  SELECT
    prev_agg_orders.month AS month,
    prev_agg_orders.gmv AS gmv,
    prev_agg_orders.order_count AS order_count
  FROM prev_agg_orders
), compared_keys AS (
  SELECT
    current_period.month
  FROM current_period
  UNION
  SELECT
    previous_period.month
  FROM previous_period
), compared AS (
  SELECT
    compared_keys.month AS month,
    current_period.gmv AS gmv,
    previous_period.gmv AS gmv_previous,
    CAST((
      current_period.gmv - previous_period.gmv
    ) AS DOUBLE) / NULLIF(previous_period.gmv, 0) AS gmv_growth,
    current_period.order_count AS order_count,
    previous_period.order_count AS order_count_previous,
    CAST((
      current_period.order_count - previous_period.order_count
    ) AS DOUBLE) / NULLIF(previous_period.order_count, 0) AS order_count_growth
  FROM compared_keys
  LEFT JOIN current_period
    ON compared_keys.month IS NOT DISTINCT FROM current_period.month
  LEFT JOIN previous_period
    ON compared_keys.month IS NOT DISTINCT FROM previous_period.month
)
SELECT
  compared.month AS month,
  compared.gmv AS gmv,
  compared.gmv_previous AS gmv_previous,
  compared.gmv_growth AS gmv_growth,
  compared.order_count AS order_count,
  compared.order_count_previous AS order_count_previous,
  compared.order_count_growth AS order_count_growth
FROM compared
ORDER BY
  compared.month ASC NULLS LAST
