-- dialect: duckdb
WITH agg_order_lines AS (
  SELECT
    products.category AS category,
    CASE
      WHEN users.birth_year IS NULL
      THEN NULL
      WHEN 2026 - users.birth_year < 18
      THEN '18岁以下'
      WHEN 2026 - users.birth_year <= 24
      THEN '18-24岁'
      WHEN 2026 - users.birth_year <= 29
      THEN '25-29岁'
      WHEN 2026 - users.birth_year <= 34
      THEN '30-34岁'
      WHEN 2026 - users.birth_year <= 39
      THEN '35-39岁'
      WHEN 2026 - users.birth_year <= 49
      THEN '40-49岁'
      ELSE '50岁及以上'
    END AS age_band,
    COUNT(
      DISTINCT CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.user_id END
    ) AS buyer_count,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(
      DISTINCT CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.order_id END
    ) AS order_count
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
    order_lines.order_date BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category,
    CASE
      WHEN users.birth_year IS NULL
      THEN NULL
      WHEN 2026 - users.birth_year < 18
      THEN '18岁以下'
      WHEN 2026 - users.birth_year <= 24
      THEN '18-24岁'
      WHEN 2026 - users.birth_year <= 29
      THEN '25-29岁'
      WHEN 2026 - users.birth_year <= 34
      THEN '30-34岁'
      WHEN 2026 - users.birth_year <= 39
      THEN '35-39岁'
      WHEN 2026 - users.birth_year <= 49
      THEN '40-49岁'
      ELSE '50岁及以上'
    END
)
SELECT
  agg_order_lines.category AS category,
  agg_order_lines.age_band AS age_band,
  agg_order_lines.buyer_count AS buyer_count,
  CAST(agg_order_lines.gmv AS DOUBLE) / NULLIF(agg_order_lines.order_count, 0) AS avg_order_value
FROM agg_order_lines
ORDER BY
  buyer_count DESC,
  category ASC,
  age_band ASC

-- dialect: postgres
WITH agg_order_lines AS (
  SELECT
    products.category AS category,
    CASE
      WHEN users.birth_year IS NULL
      THEN NULL
      WHEN 2026 - users.birth_year < 18
      THEN '18岁以下'
      WHEN 2026 - users.birth_year <= 24
      THEN '18-24岁'
      WHEN 2026 - users.birth_year <= 29
      THEN '25-29岁'
      WHEN 2026 - users.birth_year <= 34
      THEN '30-34岁'
      WHEN 2026 - users.birth_year <= 39
      THEN '35-39岁'
      WHEN 2026 - users.birth_year <= 49
      THEN '40-49岁'
      ELSE '50岁及以上'
    END AS age_band,
    COUNT(
      DISTINCT CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.user_id END
    ) AS buyer_count,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(
      DISTINCT CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.order_id END
    ) AS order_count
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
    order_lines.order_date BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category,
    CASE
      WHEN users.birth_year IS NULL
      THEN NULL
      WHEN 2026 - users.birth_year < 18
      THEN '18岁以下'
      WHEN 2026 - users.birth_year <= 24
      THEN '18-24岁'
      WHEN 2026 - users.birth_year <= 29
      THEN '25-29岁'
      WHEN 2026 - users.birth_year <= 34
      THEN '30-34岁'
      WHEN 2026 - users.birth_year <= 39
      THEN '35-39岁'
      WHEN 2026 - users.birth_year <= 49
      THEN '40-49岁'
      ELSE '50岁及以上'
    END
)
SELECT
  agg_order_lines.category AS category,
  agg_order_lines.age_band AS age_band,
  agg_order_lines.buyer_count AS buyer_count,
  CAST(agg_order_lines.gmv AS DOUBLE PRECISION) / NULLIF(agg_order_lines.order_count, 0) AS avg_order_value
FROM agg_order_lines
ORDER BY
  buyer_count DESC NULLS LAST,
  category ASC,
  age_band ASC

-- dialect: trino
WITH agg_order_lines AS (
  SELECT
    products.category AS category,
    CASE
      WHEN users.birth_year IS NULL
      THEN NULL
      WHEN 2026 - users.birth_year < 18
      THEN '18岁以下'
      WHEN 2026 - users.birth_year <= 24
      THEN '18-24岁'
      WHEN 2026 - users.birth_year <= 29
      THEN '25-29岁'
      WHEN 2026 - users.birth_year <= 34
      THEN '30-34岁'
      WHEN 2026 - users.birth_year <= 39
      THEN '35-39岁'
      WHEN 2026 - users.birth_year <= 49
      THEN '40-49岁'
      ELSE '50岁及以上'
    END AS age_band,
    COUNT(
      DISTINCT CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.user_id END
    ) AS buyer_count,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(
      DISTINCT CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.order_id END
    ) AS order_count
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
    order_lines.order_date BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category,
    CASE
      WHEN users.birth_year IS NULL
      THEN NULL
      WHEN 2026 - users.birth_year < 18
      THEN '18岁以下'
      WHEN 2026 - users.birth_year <= 24
      THEN '18-24岁'
      WHEN 2026 - users.birth_year <= 29
      THEN '25-29岁'
      WHEN 2026 - users.birth_year <= 34
      THEN '30-34岁'
      WHEN 2026 - users.birth_year <= 39
      THEN '35-39岁'
      WHEN 2026 - users.birth_year <= 49
      THEN '40-49岁'
      ELSE '50岁及以上'
    END
)
SELECT
  agg_order_lines.category AS category,
  agg_order_lines.age_band AS age_band,
  agg_order_lines.buyer_count AS buyer_count,
  CAST(agg_order_lines.gmv AS DOUBLE) / NULLIF(agg_order_lines.order_count, 0) AS avg_order_value
FROM agg_order_lines
ORDER BY
  buyer_count DESC,
  category ASC,
  age_band ASC

-- dialect: spark
WITH agg_order_lines AS (
  SELECT
    products.category AS category,
    CASE
      WHEN users.birth_year IS NULL
      THEN NULL
      WHEN 2026 - users.birth_year < 18
      THEN '18岁以下'
      WHEN 2026 - users.birth_year <= 24
      THEN '18-24岁'
      WHEN 2026 - users.birth_year <= 29
      THEN '25-29岁'
      WHEN 2026 - users.birth_year <= 34
      THEN '30-34岁'
      WHEN 2026 - users.birth_year <= 39
      THEN '35-39岁'
      WHEN 2026 - users.birth_year <= 49
      THEN '40-49岁'
      ELSE '50岁及以上'
    END AS age_band,
    COUNT(
      DISTINCT CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.user_id END
    ) AS buyer_count,
    CAST(SUM(
      CAST(CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.allocated_amount END AS DECIMAL(38, 6))
    ) AS DECIMAL(38, 2)) AS gmv,
    COUNT(
      DISTINCT CASE WHEN order_lines.status <> 'cancelled' THEN order_lines.order_id END
    ) AS order_count
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
    order_lines.order_date BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
    AND order_lines.status <> 'cancelled'
  GROUP BY
    products.category,
    CASE
      WHEN users.birth_year IS NULL
      THEN NULL
      WHEN 2026 - users.birth_year < 18
      THEN '18岁以下'
      WHEN 2026 - users.birth_year <= 24
      THEN '18-24岁'
      WHEN 2026 - users.birth_year <= 29
      THEN '25-29岁'
      WHEN 2026 - users.birth_year <= 34
      THEN '30-34岁'
      WHEN 2026 - users.birth_year <= 39
      THEN '35-39岁'
      WHEN 2026 - users.birth_year <= 49
      THEN '40-49岁'
      ELSE '50岁及以上'
    END
)
SELECT
  agg_order_lines.category AS category,
  agg_order_lines.age_band AS age_band,
  agg_order_lines.buyer_count AS buyer_count,
  CAST(agg_order_lines.gmv AS DOUBLE) / NULLIF(agg_order_lines.order_count, 0) AS avg_order_value
FROM agg_order_lines
ORDER BY
  buyer_count DESC,
  category ASC NULLS LAST,
  age_band ASC NULLS LAST
