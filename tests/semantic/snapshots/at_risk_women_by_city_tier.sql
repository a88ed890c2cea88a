-- dialect: duckdb
WITH agg_users AS (
  SELECT
    users.city_tier AS city_tier,
    COUNT(*) AS users
  FROM users
  LEFT JOIN user_profile
    ON users.user_id = user_profile.user_id
  WHERE
    users.gender = '女'
    AND ARRAY_CONTAINS(user_profile.tags, '高流失风险')
    AND users.city_tier IN (1, 2)
  GROUP BY
    users.city_tier
), agg_user_profile AS (
  SELECT
    users.city_tier AS city_tier,
    AVG(CAST(user_profile.predicted_clv AS DECIMAL(38, 6))) AS predicted_clv
  FROM user_profile
  LEFT JOIN users
    ON user_profile.user_id = users.user_id
  WHERE
    users.gender = '女'
    AND ARRAY_CONTAINS(user_profile.tags, '高流失风险')
    AND users.city_tier IN (1, 2)
  GROUP BY
    users.city_tier
), dimension_keys AS (
  SELECT
    agg_users.city_tier
  FROM agg_users
  UNION
  SELECT
    agg_user_profile.city_tier
  FROM agg_user_profile
)
SELECT
  dimension_keys.city_tier AS city_tier,
  COALESCE(agg_users.users, 0) AS user_count,
  agg_user_profile.predicted_clv AS avg_clv
FROM dimension_keys
LEFT JOIN agg_users
  ON dimension_keys.city_tier IS NOT DISTINCT FROM agg_users.city_tier
LEFT JOIN agg_user_profile
  ON dimension_keys.city_tier IS NOT DISTINCT FROM agg_user_profile.city_tier
ORDER BY
  user_count DESC,
  city_tier ASC

-- dialect: postgres
WITH agg_users AS (
  SELECT
    users.city_tier AS city_tier,
    COUNT(*) AS users
  FROM users
  LEFT JOIN user_profile
    ON users.user_id = user_profile.user_id
  WHERE
    users.gender = '女'
    AND CASE
      WHEN '高流失风险' IS NULL
      THEN NULL
      ELSE COALESCE('高流失风险' = ANY(
        user_profile.tags
      ), FALSE)
    END
    AND users.city_tier IN (1, 2)
  GROUP BY
    users.city_tier
), agg_user_profile AS (
  SELECT
    users.city_tier AS city_tier,
    AVG(CAST(user_profile.predicted_clv AS DECIMAL(38, 6))) AS predicted_clv
  FROM user_profile
  LEFT JOIN users
    ON user_profile.user_id = users.user_id
  WHERE
    users.gender = '女'
    AND CASE
      WHEN '高流失风险' IS NULL
      THEN NULL
      ELSE COALESCE('高流失风险' = ANY(
        user_profile.tags
      ), FALSE)
    END
    AND users.city_tier IN (1, 2)
  GROUP BY
    users.city_tier
), dimension_keys AS (
  SELECT
    agg_users.city_tier
  FROM agg_users
  UNION
  SELECT
    agg_user_profile.city_tier
  FROM agg_user_profile
)
SELECT
  dimension_keys.city_tier AS city_tier,
  COALESCE(agg_users.users, 0) AS user_count,
  agg_user_profile.predicted_clv AS avg_clv
FROM dimension_keys
LEFT JOIN agg_users
  ON COALESCE(CAST(dimension_keys.city_tier AS TEXT), '<null>') = COALESCE(CAST(agg_users.city_tier AS TEXT), '<null>')
LEFT JOIN agg_user_profile
  ON COALESCE(CAST(dimension_keys.city_tier AS TEXT), '<null>') = COALESCE(CAST(agg_user_profile.city_tier AS TEXT), '<null>')
ORDER BY
  user_count DESC NULLS LAST,
  city_tier ASC

-- dialect: trino
WITH agg_users AS (
  SELECT
    users.city_tier AS city_tier,
    COUNT(*) AS users
  FROM users
  LEFT JOIN user_profile
    ON users.user_id = user_profile.user_id
  WHERE
    users.gender = '女'
    AND CONTAINS(user_profile.tags, '高流失风险')
    AND users.city_tier IN (1, 2)
  GROUP BY
    users.city_tier
), agg_user_profile AS (
  SELECT
    users.city_tier AS city_tier,
    AVG(CAST(user_profile.predicted_clv AS DECIMAL(38, 6))) AS predicted_clv
  FROM user_profile
  LEFT JOIN users
    ON user_profile.user_id = users.user_id
  WHERE
    users.gender = '女'
    AND CONTAINS(user_profile.tags, '高流失风险')
    AND users.city_tier IN (1, 2)
  GROUP BY
    users.city_tier
), dimension_keys AS (
  SELECT
    agg_users.city_tier
  FROM agg_users
  UNION
  SELECT
    agg_user_profile.city_tier
  FROM agg_user_profile
)
SELECT
  dimension_keys.city_tier AS city_tier,
  COALESCE(agg_users.users, 0) AS user_count,
  agg_user_profile.predicted_clv AS avg_clv
FROM dimension_keys
LEFT JOIN agg_users
  ON dimension_keys.city_tier IS NOT DISTINCT FROM agg_users.city_tier
LEFT JOIN agg_user_profile
  ON dimension_keys.city_tier IS NOT DISTINCT FROM agg_user_profile.city_tier
ORDER BY
  user_count DESC,
  city_tier ASC

-- dialect: spark
WITH agg_users AS (
  SELECT
    users.city_tier AS city_tier,
    COUNT(*) AS users
  FROM users
  LEFT JOIN user_profile
    ON users.user_id = user_profile.user_id
  WHERE
    users.gender = '女'
    AND ARRAY_CONTAINS(user_profile.tags, '高流失风险')
    AND users.city_tier IN (1, 2)
  GROUP BY
    users.city_tier
), agg_user_profile AS (
  SELECT
    users.city_tier AS city_tier,
    AVG(CAST(user_profile.predicted_clv AS DECIMAL(38, 6))) AS predicted_clv
  FROM user_profile
  LEFT JOIN users
    ON user_profile.user_id = users.user_id
  WHERE
    users.gender = '女'
    AND ARRAY_CONTAINS(user_profile.tags, '高流失风险')
    AND users.city_tier IN (1, 2)
  GROUP BY
    users.city_tier
), dimension_keys AS (
  SELECT
    agg_users.city_tier
  FROM agg_users
  UNION
  SELECT
    agg_user_profile.city_tier
  FROM agg_user_profile
)
SELECT
  dimension_keys.city_tier AS city_tier,
  COALESCE(agg_users.users, 0) AS user_count,
  agg_user_profile.predicted_clv AS avg_clv
FROM dimension_keys
LEFT JOIN agg_users
  ON dimension_keys.city_tier IS NOT DISTINCT FROM agg_users.city_tier
LEFT JOIN agg_user_profile
  ON dimension_keys.city_tier IS NOT DISTINCT FROM agg_user_profile.city_tier
ORDER BY
  user_count DESC,
  city_tier ASC NULLS LAST
