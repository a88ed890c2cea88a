-- dialect: duckdb
WITH agg_users AS (
  SELECT
    user_profile.value_tier AS value_tier,
    COUNT(*) AS users
  FROM users
  LEFT JOIN user_profile
    ON users.user_id = user_profile.user_id
  GROUP BY
    user_profile.value_tier
), metric_values AS (
  SELECT
    agg_users.value_tier AS value_tier,
    agg_users.users AS user_count
  FROM agg_users
), shares AS (
  SELECT
    *,
    CAST(user_count AS DOUBLE) / NULLIF(SUM(user_count) OVER (), 0) AS user_count_share
  FROM metric_values
)
SELECT
  shares.value_tier AS value_tier,
  shares.user_count AS user_count,
  shares.user_count_share AS user_count_share
FROM shares
ORDER BY
  shares.user_count DESC,
  shares.value_tier ASC

-- dialect: postgres
WITH agg_users AS (
  SELECT
    user_profile.value_tier AS value_tier,
    COUNT(*) AS users
  FROM users
  LEFT JOIN user_profile
    ON users.user_id = user_profile.user_id
  GROUP BY
    user_profile.value_tier
), metric_values AS (
  SELECT
    agg_users.value_tier AS value_tier,
    agg_users.users AS user_count
  FROM agg_users
), shares AS (
  SELECT
    *,
    CAST(user_count AS DOUBLE PRECISION) / NULLIF(SUM(user_count) OVER (), 0) AS user_count_share
  FROM metric_values
)
SELECT
  shares.value_tier AS value_tier,
  shares.user_count AS user_count,
  shares.user_count_share AS user_count_share
FROM shares
ORDER BY
  shares.user_count DESC NULLS LAST,
  shares.value_tier ASC

-- dialect: trino
WITH agg_users AS (
  SELECT
    user_profile.value_tier AS value_tier,
    COUNT(*) AS users
  FROM users
  LEFT JOIN user_profile
    ON users.user_id = user_profile.user_id
  GROUP BY
    user_profile.value_tier
), metric_values AS (
  SELECT
    agg_users.value_tier AS value_tier,
    agg_users.users AS user_count
  FROM agg_users
), shares AS (
  SELECT
    *,
    CAST(user_count AS DOUBLE) / NULLIF(SUM(user_count) OVER (), 0) AS user_count_share
  FROM metric_values
)
SELECT
  shares.value_tier AS value_tier,
  shares.user_count AS user_count,
  shares.user_count_share AS user_count_share
FROM shares
ORDER BY
  shares.user_count DESC,
  shares.value_tier ASC

-- dialect: spark
WITH agg_users AS (
  SELECT
    user_profile.value_tier AS value_tier,
    COUNT(*) AS users
  FROM users
  LEFT JOIN user_profile
    ON users.user_id = user_profile.user_id
  GROUP BY
    user_profile.value_tier
), metric_values AS (
  SELECT
    agg_users.value_tier AS value_tier,
    agg_users.users AS user_count
  FROM agg_users
), shares AS (
  SELECT
    *,
    CAST(user_count AS DOUBLE) / NULLIF(SUM(user_count) OVER (), 0) AS user_count_share
  FROM metric_values
)
SELECT
  shares.value_tier AS value_tier,
  shares.user_count AS user_count,
  shares.user_count_share AS user_count_share
FROM shares
ORDER BY
  shares.user_count DESC,
  shares.value_tier ASC NULLS LAST
