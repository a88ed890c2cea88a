-- dialect: duckdb
WITH agg_merchant_profile AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    AVG(merchant_profile.sell_through_rate) AS sell_through,
    AVG(merchant_profile.inventory_turnover_days) AS turnover_days
  FROM merchant_profile
  LEFT JOIN merchants
    ON merchant_profile.merchant_id = merchants.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), agg_orders AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(CASE WHEN orders.status IN ('returned', 'refunded') THEN 1 END) AS returned_orders,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count,
    COUNT(CASE WHEN orders.status <> 'cancelled' AND orders.is_disputed THEN 1 END) AS disputed_orders
  FROM orders
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON orders.merchant_id = merchant_profile.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
    AND (
      (
        orders.status IN ('returned', 'refunded')
      )
      OR (
        orders.status <> 'cancelled'
      )
      OR (
        orders.status <> 'cancelled' AND orders.is_disputed
      )
    )
  GROUP BY
    merchants.merchant_name
), agg_user_merchant_relation AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(
      DISTINCT CASE
        WHEN CAST(user_merchant_relation.is_repeat_buyer AS BOOLEAN)
        THEN user_merchant_relation.user_id
      END
    ) AS relation_repeat_buyers,
    COUNT(
      DISTINCT CASE
        WHEN user_merchant_relation.order_count > 0
        THEN user_merchant_relation.user_id
      END
    ) AS relation_buyers
  FROM user_merchant_relation
  LEFT JOIN merchants
    ON user_merchant_relation.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON user_merchant_relation.merchant_id = merchant_profile.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
    AND (
      (
        CAST(user_merchant_relation.is_repeat_buyer AS BOOLEAN)
      )
      OR (
        user_merchant_relation.order_count > 0
      )
    )
  GROUP BY
    merchants.merchant_name
), agg_reviews AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    AVG(reviews.rating) AS rating
  FROM reviews
  LEFT JOIN merchants
    ON reviews.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON reviews.merchant_id = merchant_profile.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), agg_review_sentiments AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(CASE WHEN review_sentiments.sentiment = 'negative' THEN 1 END) AS negative_reviews,
    COUNT(*) AS classified_reviews
  FROM (
    SELECT
      s.review_id,
      s.sentiment,
      s.sentiment_score,
      r.order_id,
      r.user_id,
      r.merchant_id,
      r.review_ts
    FROM review_sentiment AS s
    JOIN reviews AS r
      ON r.review_id = s.review_id
  ) AS review_sentiments
  LEFT JOIN merchants
    ON review_sentiments.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON review_sentiments.merchant_id = merchant_profile.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), dimension_keys AS (
  SELECT
    agg_merchant_profile.merchant_name
  FROM agg_merchant_profile
  UNION
  SELECT
    agg_orders.merchant_name
  FROM agg_orders
  UNION
  SELECT
    agg_user_merchant_relation.merchant_name
  FROM agg_user_merchant_relation
  UNION
  SELECT
    agg_reviews.merchant_name
  FROM agg_reviews
  UNION
  SELECT
    agg_review_sentiments.merchant_name
  FROM agg_review_sentiments
)
SELECT
  dimension_keys.merchant_name AS merchant_name,
  agg_merchant_profile.sell_through AS sell_through_rate,
  agg_merchant_profile.turnover_days AS inventory_turnover_days,
  CAST(COALESCE(agg_orders.returned_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS return_rate,
  CAST(COALESCE(agg_orders.disputed_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS dispute_rate,
  CAST(COALESCE(agg_user_merchant_relation.relation_repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_user_merchant_relation.relation_buyers, 0), 0) AS repeat_buyer_share,
  agg_reviews.rating AS avg_rating,
  CAST(COALESCE(agg_review_sentiments.negative_reviews, 0) AS DOUBLE) / NULLIF(COALESCE(agg_review_sentiments.classified_reviews, 0), 0) AS negative_review_share
FROM dimension_keys
LEFT JOIN agg_merchant_profile
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_merchant_profile.merchant_name
LEFT JOIN agg_orders
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_orders.merchant_name
LEFT JOIN agg_user_merchant_relation
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_user_merchant_relation.merchant_name
LEFT JOIN agg_reviews
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_reviews.merchant_name
LEFT JOIN agg_review_sentiments
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_review_sentiments.merchant_name
ORDER BY
  sell_through_rate DESC,
  merchant_name ASC

-- dialect: postgres
WITH agg_merchant_profile AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    AVG(merchant_profile.sell_through_rate) AS sell_through,
    AVG(merchant_profile.inventory_turnover_days) AS turnover_days
  FROM merchant_profile
  LEFT JOIN merchants
    ON merchant_profile.merchant_id = merchants.merchant_id
  WHERE
    CASE
      WHEN '滞销风险型' IS NULL
      THEN NULL
      ELSE COALESCE('滞销风险型' = ANY(
        merchant_profile.tags
      ), FALSE)
    END
  GROUP BY
    merchants.merchant_name
), agg_orders AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(CASE WHEN orders.status IN ('returned', 'refunded') THEN 1 END) AS returned_orders,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count,
    COUNT(CASE WHEN orders.status <> 'cancelled' AND orders.is_disputed THEN 1 END) AS disputed_orders
  FROM orders
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON orders.merchant_id = merchant_profile.merchant_id
  WHERE
    CASE
      WHEN '滞销风险型' IS NULL
      THEN NULL
      ELSE COALESCE('滞销风险型' = ANY(
        merchant_profile.tags
      ), FALSE)
    END
    AND (
      (
        orders.status IN ('returned', 'refunded')
      )
      OR (
        orders.status <> 'cancelled'
      )
      OR (
        orders.status <> 'cancelled' AND orders.is_disputed
      )
    )
  GROUP BY
    merchants.merchant_name
), agg_user_merchant_relation AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(
      DISTINCT CASE
        WHEN CAST(user_merchant_relation.is_repeat_buyer AS BOOLEAN)
        THEN user_merchant_relation.user_id
      END
    ) AS relation_repeat_buyers,
    COUNT(
      DISTINCT CASE
        WHEN user_merchant_relation.order_count > 0
        THEN user_merchant_relation.user_id
      END
    ) AS relation_buyers
  FROM user_merchant_relation
  LEFT JOIN merchants
    ON user_merchant_relation.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON user_merchant_relation.merchant_id = merchant_profile.merchant_id
  WHERE
    CASE
      WHEN '滞销风险型' IS NULL
      THEN NULL
      ELSE COALESCE('滞销风险型' = ANY(
        merchant_profile.tags
      ), FALSE)
    END
    AND (
      (
        CAST(user_merchant_relation.is_repeat_buyer AS BOOLEAN)
      )
      OR (
        user_merchant_relation.order_count > 0
      )
    )
  GROUP BY
    merchants.merchant_name
), agg_reviews AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    AVG(reviews.rating) AS rating
  FROM reviews
  LEFT JOIN merchants
    ON reviews.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON reviews.merchant_id = merchant_profile.merchant_id
  WHERE
    CASE
      WHEN '滞销风险型' IS NULL
      THEN NULL
      ELSE COALESCE('滞销风险型' = ANY(
        merchant_profile.tags
      ), FALSE)
    END
  GROUP BY
    merchants.merchant_name
), agg_review_sentiments AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(CASE WHEN review_sentiments.sentiment = 'negative' THEN 1 END) AS negative_reviews,
    COUNT(*) AS classified_reviews
  FROM (
    SELECT
      s.review_id,
      s.sentiment,
      s.sentiment_score,
      r.order_id,
      r.user_id,
      r.merchant_id,
      r.review_ts
    FROM review_sentiment AS s
    JOIN reviews AS r
      ON r.review_id = s.review_id
  ) AS review_sentiments
  LEFT JOIN merchants
    ON review_sentiments.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON review_sentiments.merchant_id = merchant_profile.merchant_id
  WHERE
    CASE
      WHEN '滞销风险型' IS NULL
      THEN NULL
      ELSE COALESCE('滞销风险型' = ANY(
        merchant_profile.tags
      ), FALSE)
    END
  GROUP BY
    merchants.merchant_name
), dimension_keys AS (
  SELECT
    agg_merchant_profile.merchant_name
  FROM agg_merchant_profile
  UNION
  SELECT
    agg_orders.merchant_name
  FROM agg_orders
  UNION
  SELECT
    agg_user_merchant_relation.merchant_name
  FROM agg_user_merchant_relation
  UNION
  SELECT
    agg_reviews.merchant_name
  FROM agg_reviews
  UNION
  SELECT
    agg_review_sentiments.merchant_name
  FROM agg_review_sentiments
)
SELECT
  dimension_keys.merchant_name AS merchant_name,
  agg_merchant_profile.sell_through AS sell_through_rate,
  agg_merchant_profile.turnover_days AS inventory_turnover_days,
  CAST(COALESCE(agg_orders.returned_orders, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS return_rate,
  CAST(COALESCE(agg_orders.disputed_orders, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS dispute_rate,
  CAST(COALESCE(agg_user_merchant_relation.relation_repeat_buyers, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_user_merchant_relation.relation_buyers, 0), 0) AS repeat_buyer_share,
  agg_reviews.rating AS avg_rating,
  CAST(COALESCE(agg_review_sentiments.negative_reviews, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(agg_review_sentiments.classified_reviews, 0), 0) AS negative_review_share
FROM dimension_keys
LEFT JOIN agg_merchant_profile
  ON COALESCE(CAST(dimension_keys.merchant_name AS TEXT), '<null>') = COALESCE(CAST(agg_merchant_profile.merchant_name AS TEXT), '<null>')
LEFT JOIN agg_orders
  ON COALESCE(CAST(dimension_keys.merchant_name AS TEXT), '<null>') = COALESCE(CAST(agg_orders.merchant_name AS TEXT), '<null>')
LEFT JOIN agg_user_merchant_relation
  ON COALESCE(CAST(dimension_keys.merchant_name AS TEXT), '<null>') = COALESCE(CAST(agg_user_merchant_relation.merchant_name AS TEXT), '<null>')
LEFT JOIN agg_reviews
  ON COALESCE(CAST(dimension_keys.merchant_name AS TEXT), '<null>') = COALESCE(CAST(agg_reviews.merchant_name AS TEXT), '<null>')
LEFT JOIN agg_review_sentiments
  ON COALESCE(CAST(dimension_keys.merchant_name AS TEXT), '<null>') = COALESCE(CAST(agg_review_sentiments.merchant_name AS TEXT), '<null>')
ORDER BY
  sell_through_rate DESC NULLS LAST,
  merchant_name ASC

-- dialect: trino
WITH agg_merchant_profile AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    AVG(merchant_profile.sell_through_rate) AS sell_through,
    AVG(merchant_profile.inventory_turnover_days) AS turnover_days
  FROM merchant_profile
  LEFT JOIN merchants
    ON merchant_profile.merchant_id = merchants.merchant_id
  WHERE
    CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), agg_orders AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(CASE WHEN orders.status IN ('returned', 'refunded') THEN 1 END) AS returned_orders,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count,
    COUNT(CASE WHEN orders.status <> 'cancelled' AND orders.is_disputed THEN 1 END) AS disputed_orders
  FROM orders
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON orders.merchant_id = merchant_profile.merchant_id
  WHERE
    CONTAINS(merchant_profile.tags, '滞销风险型')
    AND (
      (
        orders.status IN ('returned', 'refunded')
      )
      OR (
        orders.status <> 'cancelled'
      )
      OR (
        orders.status <> 'cancelled' AND orders.is_disputed
      )
    )
  GROUP BY
    merchants.merchant_name
), agg_user_merchant_relation AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(
      DISTINCT CASE
        WHEN CAST(user_merchant_relation.is_repeat_buyer AS BOOLEAN)
        THEN user_merchant_relation.user_id
      END
    ) AS relation_repeat_buyers,
    COUNT(
      DISTINCT CASE
        WHEN user_merchant_relation.order_count > 0
        THEN user_merchant_relation.user_id
      END
    ) AS relation_buyers
  FROM user_merchant_relation
  LEFT JOIN merchants
    ON user_merchant_relation.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON user_merchant_relation.merchant_id = merchant_profile.merchant_id
  WHERE
    CONTAINS(merchant_profile.tags, '滞销风险型')
    AND (
      (
        CAST(user_merchant_relation.is_repeat_buyer AS BOOLEAN)
      )
      OR (
        user_merchant_relation.order_count > 0
      )
    )
  GROUP BY
    merchants.merchant_name
), agg_reviews AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    AVG(reviews.rating) AS rating
  FROM reviews
  LEFT JOIN merchants
    ON reviews.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON reviews.merchant_id = merchant_profile.merchant_id
  WHERE
    CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), agg_review_sentiments AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(CASE WHEN review_sentiments.sentiment = 'negative' THEN 1 END) AS negative_reviews,
    COUNT(*) AS classified_reviews
  FROM (
    SELECT
      s.review_id,
      s.sentiment,
      s.sentiment_score,
      r.order_id,
      r.user_id,
      r.merchant_id,
      r.review_ts
    FROM review_sentiment AS s
    JOIN reviews AS r
      ON r.review_id = s.review_id
  ) AS review_sentiments
  LEFT JOIN merchants
    ON review_sentiments.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON review_sentiments.merchant_id = merchant_profile.merchant_id
  WHERE
    CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), dimension_keys AS (
  SELECT
    agg_merchant_profile.merchant_name
  FROM agg_merchant_profile
  UNION
  SELECT
    agg_orders.merchant_name
  FROM agg_orders
  UNION
  SELECT
    agg_user_merchant_relation.merchant_name
  FROM agg_user_merchant_relation
  UNION
  SELECT
    agg_reviews.merchant_name
  FROM agg_reviews
  UNION
  SELECT
    agg_review_sentiments.merchant_name
  FROM agg_review_sentiments
)
SELECT
  dimension_keys.merchant_name AS merchant_name,
  agg_merchant_profile.sell_through AS sell_through_rate,
  agg_merchant_profile.turnover_days AS inventory_turnover_days,
  CAST(COALESCE(agg_orders.returned_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS return_rate,
  CAST(COALESCE(agg_orders.disputed_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS dispute_rate,
  CAST(COALESCE(agg_user_merchant_relation.relation_repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_user_merchant_relation.relation_buyers, 0), 0) AS repeat_buyer_share,
  agg_reviews.rating AS avg_rating,
  CAST(COALESCE(agg_review_sentiments.negative_reviews, 0) AS DOUBLE) / NULLIF(COALESCE(agg_review_sentiments.classified_reviews, 0), 0) AS negative_review_share
FROM dimension_keys
LEFT JOIN agg_merchant_profile
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_merchant_profile.merchant_name
LEFT JOIN agg_orders
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_orders.merchant_name
LEFT JOIN agg_user_merchant_relation
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_user_merchant_relation.merchant_name
LEFT JOIN agg_reviews
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_reviews.merchant_name
LEFT JOIN agg_review_sentiments
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_review_sentiments.merchant_name
ORDER BY
  sell_through_rate DESC,
  merchant_name ASC

-- dialect: spark
WITH agg_merchant_profile AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    AVG(merchant_profile.sell_through_rate) AS sell_through,
    AVG(merchant_profile.inventory_turnover_days) AS turnover_days
  FROM merchant_profile
  LEFT JOIN merchants
    ON merchant_profile.merchant_id = merchants.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), agg_orders AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(CASE WHEN orders.status IN ('returned', 'refunded') THEN 1 END) AS returned_orders,
    COUNT(CASE WHEN orders.status <> 'cancelled' THEN 1 END) AS order_count,
    COUNT(CASE WHEN orders.status <> 'cancelled' AND orders.is_disputed THEN 1 END) AS disputed_orders
  FROM orders
  LEFT JOIN merchants
    ON orders.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON orders.merchant_id = merchant_profile.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
    AND (
      (
        orders.status IN ('returned', 'refunded')
      )
      OR (
        orders.status <> 'cancelled'
      )
      OR (
        orders.status <> 'cancelled' AND orders.is_disputed
      )
    )
  GROUP BY
    merchants.merchant_name
), agg_user_merchant_relation AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(
      DISTINCT CASE
        WHEN CAST(user_merchant_relation.is_repeat_buyer AS BOOLEAN)
        THEN user_merchant_relation.user_id
      END
    ) AS relation_repeat_buyers,
    COUNT(
      DISTINCT CASE
        WHEN user_merchant_relation.order_count > 0
        THEN user_merchant_relation.user_id
      END
    ) AS relation_buyers
  FROM user_merchant_relation
  LEFT JOIN merchants
    ON user_merchant_relation.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON user_merchant_relation.merchant_id = merchant_profile.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
    AND (
      (
        CAST(user_merchant_relation.is_repeat_buyer AS BOOLEAN)
      )
      OR (
        user_merchant_relation.order_count > 0
      )
    )
  GROUP BY
    merchants.merchant_name
), agg_reviews AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    AVG(reviews.rating) AS rating
  FROM reviews
  LEFT JOIN merchants
    ON reviews.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON reviews.merchant_id = merchant_profile.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), agg_review_sentiments AS (
  SELECT
    merchants.merchant_name AS merchant_name,
    COUNT(CASE WHEN review_sentiments.sentiment = 'negative' THEN 1 END) AS negative_reviews,
    COUNT(*) AS classified_reviews
  FROM (
    SELECT
      s.review_id,
      s.sentiment,
      s.sentiment_score,
      r.order_id,
      r.user_id,
      r.merchant_id,
      r.review_ts
    FROM review_sentiment AS s
    JOIN reviews AS r
      ON r.review_id = s.review_id
  ) AS review_sentiments
  LEFT JOIN merchants
    ON review_sentiments.merchant_id = merchants.merchant_id
  LEFT JOIN merchant_profile
    ON review_sentiments.merchant_id = merchant_profile.merchant_id
  WHERE
    ARRAY_CONTAINS(merchant_profile.tags, '滞销风险型')
  GROUP BY
    merchants.merchant_name
), dimension_keys AS (
  SELECT
    agg_merchant_profile.merchant_name
  FROM agg_merchant_profile
  UNION
  SELECT
    agg_orders.merchant_name
  FROM agg_orders
  UNION
  SELECT
    agg_user_merchant_relation.merchant_name
  FROM agg_user_merchant_relation
  UNION
  SELECT
    agg_reviews.merchant_name
  FROM agg_reviews
  UNION
  SELECT
    agg_review_sentiments.merchant_name
  FROM agg_review_sentiments
)
SELECT
  dimension_keys.merchant_name AS merchant_name,
  agg_merchant_profile.sell_through AS sell_through_rate,
  agg_merchant_profile.turnover_days AS inventory_turnover_days,
  CAST(COALESCE(agg_orders.returned_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS return_rate,
  CAST(COALESCE(agg_orders.disputed_orders, 0) AS DOUBLE) / NULLIF(COALESCE(agg_orders.order_count, 0), 0) AS dispute_rate,
  CAST(COALESCE(agg_user_merchant_relation.relation_repeat_buyers, 0) AS DOUBLE) / NULLIF(COALESCE(agg_user_merchant_relation.relation_buyers, 0), 0) AS repeat_buyer_share,
  agg_reviews.rating AS avg_rating,
  CAST(COALESCE(agg_review_sentiments.negative_reviews, 0) AS DOUBLE) / NULLIF(COALESCE(agg_review_sentiments.classified_reviews, 0), 0) AS negative_review_share
FROM dimension_keys
LEFT JOIN agg_merchant_profile
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_merchant_profile.merchant_name
LEFT JOIN agg_orders
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_orders.merchant_name
LEFT JOIN agg_user_merchant_relation
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_user_merchant_relation.merchant_name
LEFT JOIN agg_reviews
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_reviews.merchant_name
LEFT JOIN agg_review_sentiments
  ON dimension_keys.merchant_name IS NOT DISTINCT FROM agg_review_sentiments.merchant_name
ORDER BY
  sell_through_rate DESC,
  merchant_name ASC NULLS LAST
