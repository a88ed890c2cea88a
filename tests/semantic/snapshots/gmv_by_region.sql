-- dialect: duckdb
WITH agg_orders AS (
  SELECT
    users.region AS region,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  WHERE
    orders.status <> 'cancelled'
  GROUP BY
    users.region
)
SELECT
  agg_orders.region AS region,
  agg_orders.gmv AS gmv
FROM agg_orders
ORDER BY
  gmv DESC,
  region ASC

-- dialect: postgres
WITH agg_orders AS (
  SELECT
    users.region AS region,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  WHERE
    orders.status <> 'cancelled'
  GROUP BY
    users.region
)
SELECT
  agg_orders.region AS region,
  agg_orders.gmv AS gmv
FROM agg_orders
ORDER BY
  gmv DESC NULLS LAST,
  region ASC

-- dialect: trino
WITH agg_orders AS (
  SELECT
    users.region AS region,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  WHERE
    orders.status <> 'cancelled'
  GROUP BY
    users.region
)
SELECT
  agg_orders.region AS region,
  agg_orders.gmv AS gmv
FROM agg_orders
ORDER BY
  gmv DESC,
  region ASC

-- dialect: spark
WITH agg_orders AS (
  SELECT
    users.region AS region,
    CAST(SUM(
      CAST(CASE WHEN orders.status <> 'cancelled' THEN orders.pay_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM orders
  LEFT JOIN users
    ON orders.user_id = users.user_id
  WHERE
    orders.status <> 'cancelled'
  GROUP BY
    users.region
)
SELECT
  agg_orders.region AS region,
  agg_orders.gmv AS gmv
FROM agg_orders
ORDER BY
  gmv DESC,
  region ASC NULLS LAST
