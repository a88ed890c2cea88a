-- dialect: duckdb
WITH agg_events AS (
  SELECT
    events.channel AS channel,
    COUNT(DISTINCT CASE WHEN events.event_type = 'view' THEN events.user_id END) AS view_users,
    COUNT(DISTINCT CASE WHEN events.event_type = 'add_to_cart' THEN events.user_id END) AS cart_users,
    COUNT(DISTINCT CASE WHEN events.event_type = 'purchase' THEN events.user_id END) AS purchase_users,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events
  WHERE
    CAST(events.event_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    events.channel
)
SELECT
  agg_events.channel AS channel,
  agg_events.view_users AS view_users,
  agg_events.cart_users AS cart_users,
  agg_events.purchase_users AS purchase_event_users,
  CAST(agg_events.cart_users AS DOUBLE) / NULLIF(agg_events.view_users, 0) AS view_to_cart_rate,
  CAST(agg_events.purchase_users AS DOUBLE) / NULLIF(agg_events.cart_users, 0) AS cart_to_purchase_rate,
  CAST(agg_events.purchase_users AS DOUBLE) / NULLIF(agg_events.active_users, 0) AS conversion_rate
FROM agg_events
ORDER BY
  view_users DESC,
  channel ASC

-- dialect: postgres
WITH agg_events AS (
  SELECT
    events.channel AS channel,
    COUNT(DISTINCT CASE WHEN events.event_type = 'view' THEN events.user_id END) AS view_users,
    COUNT(DISTINCT CASE WHEN events.event_type = 'add_to_cart' THEN events.user_id END) AS cart_users,
    COUNT(DISTINCT CASE WHEN events.event_type = 'purchase' THEN events.user_id END) AS purchase_users,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events
  WHERE
    CAST(events.event_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    events.channel
)
SELECT
  agg_events.channel AS channel,
  agg_events.view_users AS view_users,
  agg_events.cart_users AS cart_users,
  agg_events.purchase_users AS purchase_event_users,
  CAST(agg_events.cart_users AS DOUBLE PRECISION) / NULLIF(agg_events.view_users, 0) AS view_to_cart_rate,
  CAST(agg_events.purchase_users AS DOUBLE PRECISION) / NULLIF(agg_events.cart_users, 0) AS cart_to_purchase_rate,
  CAST(agg_events.purchase_users AS DOUBLE PRECISION) / NULLIF(agg_events.active_users, 0) AS conversion_rate
FROM agg_events
ORDER BY
  view_users DESC NULLS LAST,
  channel ASC

-- dialect: trino
WITH agg_events AS (
  SELECT
    events.channel AS channel,
    COUNT(DISTINCT CASE WHEN events.event_type = 'view' THEN events.user_id END) AS view_users,
    COUNT(DISTINCT CASE WHEN events.event_type = 'add_to_cart' THEN events.user_id END) AS cart_users,
    COUNT(DISTINCT CASE WHEN events.event_type = 'purchase' THEN events.user_id END) AS purchase_users,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events
  WHERE
    CAST(events.event_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    events.channel
)
SELECT
  agg_events.channel AS channel,
  agg_events.view_users AS view_users,
  agg_events.cart_users AS cart_users,
  agg_events.purchase_users AS purchase_event_users,
  CAST(agg_events.cart_users AS DOUBLE) / NULLIF(agg_events.view_users, 0) AS view_to_cart_rate,
  CAST(agg_events.purchase_users AS DOUBLE) / NULLIF(agg_events.cart_users, 0) AS cart_to_purchase_rate,
  CAST(agg_events.purchase_users AS DOUBLE) / NULLIF(agg_events.active_users, 0) AS conversion_rate
FROM agg_events
ORDER BY
  view_users DESC,
  channel ASC

-- dialect: spark
WITH agg_events AS (
  SELECT
    events.channel AS channel,
    COUNT(DISTINCT CASE WHEN events.event_type = 'view' THEN events.user_id END) AS view_users,
    COUNT(DISTINCT CASE WHEN events.event_type = 'add_to_cart' THEN events.user_id END) AS cart_users,
    COUNT(DISTINCT CASE WHEN events.event_type = 'purchase' THEN events.user_id END) AS purchase_users,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events
  WHERE
    CAST(events.event_ts AS DATE) BETWEEN CAST('2026-07-01' AS DATE) AND CAST('2026-09-30' AS DATE)
  GROUP BY
    events.channel
)
SELECT
  agg_events.channel AS channel,
  agg_events.view_users AS view_users,
  agg_events.cart_users AS cart_users,
  agg_events.purchase_users AS purchase_event_users,
  CAST(agg_events.cart_users AS DOUBLE) / NULLIF(agg_events.view_users, 0) AS view_to_cart_rate,
  CAST(agg_events.purchase_users AS DOUBLE) / NULLIF(agg_events.cart_users, 0) AS cart_to_purchase_rate,
  CAST(agg_events.purchase_users AS DOUBLE) / NULLIF(agg_events.active_users, 0) AS conversion_rate
FROM agg_events
ORDER BY
  view_users DESC,
  channel ASC NULLS LAST
