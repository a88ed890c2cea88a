-- dialect: duckdb
WITH cur_agg_order_lines AS (
  SELECT
    products.category AS category,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM (
    SELECT
      order_id,
      user_id,
      merchant_id,
      channel,
      device,
      status,
      is_disputed,
      coupon_id,
      order_date,
      product_id,
      quantity,
      CAST(CASE
        WHEN item_order_id IS NULL
        THEN pay_amount
        WHEN SUM(price * quantity) OVER (PARTITION BY order_date, order_id) > 0
        THEN pay_amount * (
          price * quantity
        ) / SUM(price * quantity) OVER (PARTITION BY order_date, order_id)
        ELSE pay_amount / COUNT(item_order_id) OVER (PARTITION BY order_date, order_id)
      END AS DOUBLE) AS allocated_amount
    FROM (
      SELECT
        o.order_id,
        o.user_id,
        o.merchant_id,
        o.channel,
        o.device,
        o.status,
        o.is_disputed,
        o.coupon_id,
        o.pay_amount,
        CAST(o.order_ts AS DATE) AS order_date,
        oi.order_id AS item_order_id,
        oi.product_id,
        oi.quantity,
        oi.price
      FROM orders AS o
      LEFT JOIN order_items AS oi
        ON oi.order_id = o.order_id
    ) AS lines
  ) AS order_lines
  LEFT JOIN products
    ON order_lines.product_id = products.product_id
  LEFT JOIN users
    ON order_lines.user_id = users.user_id
  WHERE
    order_lines.order_date BETWEEN CAST('2026-04-01' AS DATE) AND CAST('2026-06-30' AS DATE)
    AND users.region = '华东'
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category
), current_period AS (
  SELECT
    cur_agg_order_lines.category AS category,
    cur_agg_order_lines.gmv AS gmv
  FROM cur_agg_order_lines
), prev_agg_order_lines AS (
  SELECT
    products.category AS category,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM (
    SELECT
      order_id,
      user_id,
      merchant_id,
      channel,
      device,
      status,
      is_disputed,
      coupon_id,
      order_date,
      product_id,
      quantity,
      CAST(CASE
        WHEN item_order_id IS NULL
        THEN pay_amount
        WHEN SUM(price * quantity) OVER (PARTITION BY order_date, order_id) > 0
        THEN pay_amount * (
          price * quantity
        ) / SUM(price * quantity) OVER (PARTITION BY order_date, order_id)
        ELSE pay_amount / COUNT(item_order_id) OVER (PARTITION BY order_date, order_id)
      END AS DOUBLE) AS allocated_amount
    FROM (
      SELECT
        o.order_id,
        o.user_id,
        o.merchant_id,
        o.channel,
        o.device,
        o.status,
        o.is_disputed,
        o.coupon_id,
        o.pay_amount,
        CAST(o.order_ts AS DATE) AS order_date,
        oi.order_id AS item_order_id,
        oi.product_id,
        oi.quantity,
        oi.price
      FROM orders AS o
      LEFT JOIN order_items AS oi
        ON oi.order_id = o.order_id
    ) AS lines
  ) AS order_lines
  LEFT JOIN products
    ON order_lines.product_id = products.product_id
  LEFT JOIN users
    ON order_lines.user_id = users.user_id
  WHERE
    order_lines.order_date BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-03-31' AS DATE)
    AND users.region = '华东'
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category
), previous_period AS (
  SELECT
    prev_agg_order_lines.category AS category,
    prev_agg_order_lines.gmv AS gmv
  FROM prev_agg_order_lines
), compared_keys AS (
  SELECT
    current_period.category
  FROM current_period
  UNION
  SELECT
    previous_period.category
  FROM previous_period
), compared AS (
  SELECT
    compared_keys.category AS category,
    current_period.gmv AS gmv,
    previous_period.gmv AS gmv_previous,
    CAST((
      current_period.gmv - previous_period.gmv
    ) AS DOUBLE) / NULLIF(previous_period.gmv, 0) AS gmv_growth
  FROM compared_keys
  LEFT JOIN current_period
    ON compared_keys.category IS NOT DISTINCT FROM current_period.category
  LEFT JOIN previous_period
    ON compared_keys.category IS NOT DISTINCT FROM previous_period.category
)
SELECT
  compared.category AS category,
  compared.gmv AS gmv,
  compared.gmv_previous AS gmv_previous,
  compared.gmv_growth AS gmv_growth
FROM compared
ORDER BY
  compared.gmv_growth DESC,
  compared.category ASC
LIMIT 10

-- dialect: postgres
WITH cur_agg_order_lines AS (
  SELECT
    products.category AS category,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM (
    SELECT
      order_id,
      user_id,
      merchant_id,
      channel,
      device,
      status,
      is_disputed,
      coupon_id,
      order_date,
      product_id,
      quantity,
      CAST(CASE
        WHEN item_order_id IS NULL
        THEN pay_amount
        WHEN SUM(price * quantity) OVER (PARTITION BY order_date, order_id) > 0
        THEN CAST(pay_amount * (
          price * quantity
        ) AS DOUBLE PRECISION) / SUM(price * quantity) OVER (PARTITION BY order_date, order_id)
        ELSE CAST(pay_amount AS DOUBLE PRECISION) / COUNT(item_order_id) OVER (PARTITION BY order_date, order_id)
      END AS DOUBLE PRECISION) AS allocated_amount
    FROM (
      SELECT
        o.order_id,
        o.user_id,
        o.merchant_id,
        o.channel,
        o.device,
        o.status,
        o.is_disputed,
        o.coupon_id,
        o.pay_amount,
        CAST(o.order_ts AS DATE) AS order_date,
        oi.order_id AS item_order_id,
        oi.product_id,
        oi.quantity,
        oi.price
      FROM orders AS o
      LEFT JOIN order_items AS oi
        ON oi.order_id = o.order_id
    ) AS lines
  ) AS order_lines
  LEFT JOIN products
    ON order_lines.product_id = products.product_id
  LEFT JOIN users
    ON order_lines.user_id = users.user_id
  WHERE
    order_lines.order_date BETWEEN CAST('2026-04-01' AS DATE) AND CAST('2026-06-30' AS DATE)
    AND users.region = '华东'
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category
), current_period AS (
  SELECT
    cur_agg_order_lines.category AS category,
    cur_agg_order_lines.gmv AS gmv
  FROM cur_agg_order_lines
), prev_agg_order_lines AS (
  SELECT
    products.category AS category,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM (
    SELECT
      order_id,
      user_id,
      merchant_id,
      channel,
      device,
      status,
      is_disputed,
      coupon_id,
      order_date,
      product_id,
      quantity,
      CAST(CASE
        WHEN item_order_id IS NULL
        THEN pay_amount
        WHEN SUM(price * quantity) OVER (PARTITION BY order_date, order_id) > 0
        THEN CAST(pay_amount * (
          price * quantity
        ) AS DOUBLE PRECISION) / SUM(price * quantity) OVER (PARTITION BY order_date, order_id)
        ELSE CAST(pay_amount AS DOUBLE PRECISION) / COUNT(item_order_id) OVER (PARTITION BY order_date, order_id)
      END AS DOUBLE PRECISION) AS allocated_amount
    FROM (
      SELECT
        o.order_id,
        o.user_id,
        o.merchant_id,
        o.channel,
        o.device,
        o.status,
        o.is_disputed,
        o.coupon_id,
        o.pay_amount,
        CAST(o.order_ts AS DATE) AS order_date,
        oi.order_id AS item_order_id,
        oi.product_id,
        oi.quantity,
        oi.price
      FROM orders AS o
      LEFT JOIN order_items AS oi
        ON oi.order_id = o.order_id
    ) AS lines
  ) AS order_lines
  LEFT JOIN products
    ON order_lines.product_id = products.product_id
  LEFT JOIN users
    ON order_lines.user_id = users.user_id
  WHERE
    order_lines.order_date BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-03-31' AS DATE)
    AND users.region = '华东'
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category
), previous_period AS (
  SELECT
    prev_agg_order_lines.category AS category,
    prev_agg_order_lines.gmv AS gmv
  FROM prev_agg_order_lines
), compared_keys AS (
  SELECT
    current_period.category
  FROM current_period
  UNION
  SELECT
    previous_period.category
  FROM previous_period
), compared AS (
  SELECT
    compared_keys.category AS category,
    current_period.gmv AS gmv,
    previous_period.gmv AS gmv_previous,
    CAST((
      current_period.gmv - previous_period.gmv
    ) AS DOUBLE PRECISION) / NULLIF(previous_period.gmv, 0) AS gmv_growth
  FROM compared_keys
  LEFT JOIN current_period
    ON COALESCE(CAST(compared_keys.category AS TEXT), '<null>') = COALESCE(CAST(current_period.category AS TEXT), '<null>')
  LEFT JOIN previous_period
    ON COALESCE(CAST(compared_keys.category AS TEXT), '<null>') = COALESCE(CAST(previous_period.category AS TEXT), '<null>')
)
SELECT
  compared.category AS category,
  compared.gmv AS gmv,
  compared.gmv_previous AS gmv_previous,
  compared.gmv_growth AS gmv_growth
FROM compared
ORDER BY
  compared.gmv_growth DESC NULLS LAST,
  compared.category ASC
LIMIT 10

-- dialect: trino
WITH cur_agg_order_lines AS (
  SELECT
    products.category AS category,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM (
    SELECT
      order_id,
      user_id,
      merchant_id,
      channel,
      device,
      status,
      is_disputed,
      coupon_id,
      order_date,
      product_id,
      quantity,
      CAST(CASE
        WHEN item_order_id IS NULL
        THEN pay_amount
        WHEN SUM(price * quantity) OVER (PARTITION BY order_date, order_id) > 0
        THEN CAST(pay_amount * (
          price * quantity
        ) AS DOUBLE) / SUM(price * quantity) OVER (PARTITION BY order_date, order_id)
        ELSE CAST(pay_amount AS DOUBLE) / COUNT(item_order_id) OVER (PARTITION BY order_date, order_id)
      END AS DOUBLE) AS allocated_amount
    FROM (
      SELECT
        o.order_id,
        o.user_id,
        o.merchant_id,
        o.channel,
        o.device,
        o.status,
        o.is_disputed,
        o.coupon_id,
        o.pay_amount,
        CAST(o.order_ts AS DATE) AS order_date,
        oi.order_id AS item_order_id,
        oi.product_id,
        oi.quantity,
        oi.price
      FROM orders AS o
      LEFT JOIN order_items AS oi
        ON oi.order_id = o.order_id
    ) AS lines
  ) AS order_lines
  LEFT JOIN products
    ON order_lines.product_id = products.product_id
  LEFT JOIN users
    ON order_lines.user_id = users.user_id
  WHERE
    order_lines.order_date BETWEEN CAST('2026-04-01' AS DATE) AND CAST('2026-06-30' AS DATE)
    AND users.region = '华东'
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category
), current_period AS (
  SELECT
    cur_agg_order_lines.category AS category,
    cur_agg_order_lines.gmv AS gmv
  FROM cur_agg_order_lines
), prev_agg_order_lines AS (
  SELECT
    products.category AS category,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM (
    SELECT
      order_id,
      user_id,
      merchant_id,
      channel,
      device,
      status,
      is_disputed,
      coupon_id,
      order_date,
      product_id,
      quantity,
      CAST(CASE
        WHEN item_order_id IS NULL
        THEN pay_amount
        WHEN SUM(price * quantity) OVER (PARTITION BY order_date, order_id) > 0
        THEN CAST(pay_amount * (
          price * quantity
        ) AS DOUBLE) / SUM(price * quantity) OVER (PARTITION BY order_date, order_id)
        ELSE CAST(pay_amount AS DOUBLE) / COUNT(item_order_id) OVER (PARTITION BY order_date, order_id)
      END AS DOUBLE) AS allocated_amount
    FROM (
      SELECT
        o.order_id,
        o.user_id,
        o.merchant_id,
        o.channel,
        o.device,
        o.status,
        o.is_disputed,
        o.coupon_id,
        o.pay_amount,
        CAST(o.order_ts AS DATE) AS order_date,
        oi.order_id AS item_order_id,
        oi.product_id,
        oi.quantity,
        oi.price
      FROM orders AS o
      LEFT JOIN order_items AS oi
        ON oi.order_id = o.order_id
    ) AS lines
  ) AS order_lines
  LEFT JOIN products
    ON order_lines.product_id = products.product_id
  LEFT JOIN users
    ON order_lines.user_id = users.user_id
  WHERE
    order_lines.order_date BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-03-31' AS DATE)
    AND users.region = '华东'
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category
), previous_period AS (
  SELECT
    prev_agg_order_lines.category AS category,
    prev_agg_order_lines.gmv AS gmv
  FROM prev_agg_order_lines
), compared_keys AS (
  SELECT
    current_period.category
  FROM current_period
  UNION
  SELECT
    previous_period.category
  FROM previous_period
), compared AS (
  SELECT
    compared_keys.category AS category,
    current_period.gmv AS gmv,
    previous_period.gmv AS gmv_previous,
    CAST((
      current_period.gmv - previous_period.gmv
    ) AS DOUBLE) / NULLIF(previous_period.gmv, 0) AS gmv_growth
  FROM compared_keys
  LEFT JOIN current_period
    ON compared_keys.category IS NOT DISTINCT FROM current_period.category
  LEFT JOIN previous_period
    ON compared_keys.category IS NOT DISTINCT FROM previous_period.category
)
SELECT
  compared.category AS category,
  compared.gmv AS gmv,
  compared.gmv_previous AS gmv_previous,
  compared.gmv_growth AS gmv_growth
FROM compared
ORDER BY
  compared.gmv_growth DESC,
  compared.category ASC
LIMIT 10

-- dialect: spark
WITH cur_agg_order_lines AS (
  SELECT
    products.category AS category,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM (
    SELECT
      order_id,
      user_id,
      merchant_id,
      channel,
      device,
      status,
      is_disputed,
      coupon_id,
      order_date,
      product_id,
      quantity,
      CAST(CASE
        WHEN item_order_id IS NULL
        THEN pay_amount
        WHEN SUM(price * quantity) OVER (PARTITION BY order_date, order_id) > 0
        THEN pay_amount * (
          price * quantity
        ) / SUM(price * quantity) OVER (PARTITION BY order_date, order_id)
        ELSE pay_amount / COUNT(item_order_id) OVER (PARTITION BY order_date, order_id)
      END AS DOUBLE) AS allocated_amount
    FROM (
      SELECT
        o.order_id,
        o.user_id,
        o.merchant_id,
        o.channel,
        o.device,
        o.status,
        o.is_disputed,
        o.coupon_id,
        o.pay_amount,
        CAST(o.order_ts AS DATE) AS order_date,
        oi.order_id AS item_order_id,
        oi.product_id,
        oi.quantity,
        oi.price
      FROM orders AS o
      LEFT JOIN order_items AS oi
        ON oi.order_id = o.order_id
    ) AS lines
  ) AS order_lines
  LEFT JOIN products
    ON order_lines.product_id = products.product_id
  LEFT JOIN users
    ON order_lines.user_id = users.user_id
  WHERE
    order_lines.order_date BETWEEN CAST('2026-04-01' AS DATE) AND CAST('2026-06-30' AS DATE)
    AND users.region = '华东'
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category
), current_period AS (
  SELECT
    cur_agg_order_lines.category AS category,
    cur_agg_order_lines.gmv AS gmv
  FROM cur_agg_order_lines
), prev_agg_order_lines AS (
  SELECT
    products.category AS category,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv
  FROM (
    SELECT
      order_id,
      user_id,
      merchant_id,
      channel,
      device,
      status,
      is_disputed,
      coupon_id,
      order_date,
      product_id,
      quantity,
      CAST(CASE
        WHEN item_order_id IS NULL
        THEN pay_amount
        WHEN SUM(price * quantity) OVER (PARTITION BY order_date, order_id) > 0
        THEN pay_amount * (
          price * quantity
        ) / SUM(price * quantity) OVER (PARTITION BY order_date, order_id)
        ELSE pay_amount / COUNT(item_order_id) OVER (PARTITION BY order_date, order_id)
      END AS DOUBLE) AS allocated_amount
    FROM (
      SELECT
        o.order_id,
        o.user_id,
        o.merchant_id,
        o.channel,
        o.device,
        o.status,
        o.is_disputed,
        o.coupon_id,
        o.pay_amount,
        CAST(o.order_ts AS DATE) AS order_date,
        oi.order_id AS item_order_id,
        oi.product_id,
        oi.quantity,
        oi.price
      FROM orders AS o
      LEFT JOIN order_items AS oi
        ON oi.order_id = o.order_id
    ) AS lines
  ) AS order_lines
  LEFT JOIN products
    ON order_lines.product_id = products.product_id
  LEFT JOIN users
    ON order_lines.user_id = users.user_id
  WHERE
    order_lines.order_date BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-03-31' AS DATE)
    AND users.region = '华东'
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category
), previous_period AS (
  SELECT
    prev_agg_order_lines.category AS category,
    prev_agg_order_lines.gmv AS gmv
  FROM prev_agg_order_lines
), compared_keys AS (
  SELECT
    current_period.category
  FROM current_period
  UNION
  SELECT
    previous_period.category
  FROM previous_period
), compared AS (
  SELECT
    compared_keys.category AS category,
    current_period.gmv AS gmv,
    previous_period.gmv AS gmv_previous,
    CAST((
      current_period.gmv - previous_period.gmv
    ) AS DOUBLE) / NULLIF(previous_period.gmv, 0) AS gmv_growth
  FROM compared_keys
  LEFT JOIN current_period
    ON compared_keys.category IS NOT DISTINCT FROM current_period.category
  LEFT JOIN previous_period
    ON compared_keys.category IS NOT DISTINCT FROM previous_period.category
)
SELECT
  compared.category AS category,
  compared.gmv AS gmv,
  compared.gmv_previous AS gmv_previous,
  compared.gmv_growth AS gmv_growth
FROM compared
ORDER BY
  compared.gmv_growth DESC,
  compared.category ASC NULLS LAST
LIMIT 10
