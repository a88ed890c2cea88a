-- dialect: duckdb
WITH agg_campaign_orders AS (
  SELECT
    campaign_orders.channel AS channel,
    CAST(SUM(CAST(campaign_orders.attributed_amount AS DECIMAL(38, 6))) AS DECIMAL(38, 2)) AS campaign_revenue
  FROM (
    SELECT
      t.campaign_id,
      c.channel,
      o.order_id,
      o.user_id,
      o.order_ts,
      CAST(o.pay_amount / COUNT(*) OVER (PARTITION BY o.order_id) AS DOUBLE) AS attributed_amount
    FROM (
      SELECT DISTINCT
        campaign_id,
        order_id
      FROM campaign_touches
      WHERE
        NOT order_id IS NULL
    ) AS t
    JOIN orders AS o
      ON o.order_id = t.order_id
    LEFT JOIN campaigns AS c
      ON c.campaign_id = t.campaign_id
  ) AS campaign_orders
  GROUP BY
    campaign_orders.channel
), agg_campaigns AS (
  SELECT
    campaigns.channel AS channel,
    CAST(SUM(CAST(campaigns.spend AS DECIMAL(38, 6))) AS DECIMAL(38, 2)) AS spend
  FROM campaigns
  GROUP BY
    campaigns.channel
), dimension_keys AS (
  SELECT
    agg_campaign_orders.channel
  FROM agg_campaign_orders
  UNION
  SELECT
    agg_campaigns.channel
  FROM agg_campaigns
)
SELECT
  dimension_keys.channel AS channel,
  CAST(agg_campaign_orders.campaign_revenue AS DOUBLE) / NULLIF(agg_campaigns.spend, 0) AS campaign_roi,
  agg_campaign_orders.campaign_revenue AS campaign_revenue,
  agg_campaigns.spend AS campaign_spend
FROM dimension_keys
LEFT JOIN agg_campaign_orders
  ON dimension_keys.channel IS NOT DISTINCT FROM agg_campaign_orders.channel
LEFT JOIN agg_campaigns
  ON dimension_keys.channel IS NOT DISTINCT FROM agg_campaigns.channel
ORDER BY
  campaign_roi DESC,
  channel ASC

-- dialect: postgres
WITH agg_campaign_orders AS (
  SELECT
    campaign_orders.channel AS channel,
    CAST(SUM(CAST(campaign_orders.attributed_amount AS DECIMAL(38, 6))) AS DECIMAL(38, 2)) AS campaign_revenue
  FROM (
    SELECT
      t.campaign_id,
      c.channel,
      o.order_id,
      o.user_id,
      o.order_ts,
      CAST(CAST(o.pay_amount AS DOUBLE PRECISION) / COUNT(*) OVER (PARTITION BY o.order_id) AS DOUBLE PRECISION) AS attributed_amount
    FROM (
      SELECT DISTINCT
        campaign_id,
        order_id
      FROM campaign_touches
      WHERE
        NOT order_id IS NULL
    ) AS t
    JOIN orders AS o
      ON o.order_id = t.order_id
    LEFT JOIN campaigns AS c
      ON c.campaign_id = t.campaign_id
  ) AS campaign_orders
  GROUP BY
    campaign_orders.channel
), agg_campaigns AS (
  SELECT
    campaigns.channel AS channel,
    CAST(SUM(CAST(campaigns.spend AS DECIMAL(38, 6))) AS DECIMAL(38, 2)) AS spend
  FROM campaigns
  GROUP BY
    campaigns.channel
), dimension_keys AS (
  SELECT
    agg_campaign_orders.channel
  FROM agg_campaign_orders
  UNION
  SELECT
    agg_campaigns.channel
  FROM agg_campaigns
)
SELECT
  dimension_keys.channel AS channel,
  CAST(agg_campaign_orders.campaign_revenue AS DOUBLE PRECISION) / NULLIF(agg_campaigns.spend, 0) AS campaign_roi,
  agg_campaign_orders.campaign_revenue AS campaign_revenue,
  agg_campaigns.spend AS campaign_spend
FROM dimension_keys
LEFT JOIN agg_campaign_orders
  ON COALESCE(CAST(dimension_keys.channel AS TEXT), '<null>') = COALESCE(CAST(agg_campaign_orders.channel AS TEXT), '<null>')
LEFT JOIN agg_campaigns
  ON COALESCE(CAST(dimension_keys.channel AS TEXT), '<null>') = COALESCE(CAST(agg_campaigns.channel AS TEXT), '<null>')
ORDER BY
  campaign_roi DESC NULLS LAST,
  channel ASC

-- dialect: trino
WITH agg_campaign_orders AS (
  SELECT
    campaign_orders.channel AS channel,
    CAST(SUM(CAST(campaign_orders.attributed_amount AS DECIMAL(38, 6))) AS DECIMAL(38, 2)) AS campaign_revenue
  FROM (
    SELECT
      t.campaign_id,
      c.channel,
      o.order_id,
      o.user_id,
      o.order_ts,
      CAST(CAST(o.pay_amount AS DOUBLE) / COUNT(*) OVER (PARTITION BY o.order_id) AS DOUBLE) AS attributed_amount
    FROM (
      SELECT DISTINCT
        campaign_id,
        order_id
      FROM campaign_touches
      WHERE
        NOT order_id IS NULL
    ) AS t
    JOIN orders AS o
      ON o.order_id = t.order_id
    LEFT JOIN campaigns AS c
      ON c.campaign_id = t.campaign_id
  ) AS campaign_orders
  GROUP BY
    campaign_orders.channel
), agg_campaigns AS (
  SELECT
    campaigns.channel AS channel,
    CAST(SUM(CAST(campaigns.spend AS DECIMAL(38, 6))) AS DECIMAL(38, 2)) AS spend
  FROM campaigns
  GROUP BY
    campaigns.channel
), dimension_keys AS (
  SELECT
    agg_campaign_orders.channel
  FROM agg_campaign_orders
  UNION
  SELECT
    agg_campaigns.channel
  FROM agg_campaigns
)
SELECT
  dimension_keys.channel AS channel,
  CAST(agg_campaign_orders.campaign_revenue AS DOUBLE) / NULLIF(agg_campaigns.spend, 0) AS campaign_roi,
  agg_campaign_orders.campaign_revenue AS campaign_revenue,
  agg_campaigns.spend AS campaign_spend
FROM dimension_keys
LEFT JOIN agg_campaign_orders
  ON dimension_keys.channel IS NOT DISTINCT FROM agg_campaign_orders.channel
LEFT JOIN agg_campaigns
  ON dimension_keys.channel IS NOT DISTINCT FROM agg_campaigns.channel
ORDER BY
  campaign_roi DESC,
  channel ASC

-- dialect: spark
WITH agg_campaign_orders AS (
  SELECT
    campaign_orders.channel AS channel,
    CAST(SUM(CAST(campaign_orders.attributed_amount AS DECIMAL(38, 6))) AS DECIMAL(38, 2)) AS campaign_revenue
  FROM (
    SELECT
      t.campaign_id,
      c.channel,
      o.order_id,
      o.user_id,
      o.order_ts,
      CAST(o.pay_amount / COUNT(*) OVER (PARTITION BY o.order_id) AS DOUBLE) AS attributed_amount
    FROM (
      SELECT DISTINCT
        campaign_id,
        order_id
      FROM campaign_touches
      WHERE
        NOT order_id IS NULL
    ) AS t
    JOIN orders AS o
      ON o.order_id = t.order_id
    LEFT JOIN campaigns AS c
      ON c.campaign_id = t.campaign_id
  ) AS campaign_orders
  GROUP BY
    campaign_orders.channel
), agg_campaigns AS (
  SELECT
    campaigns.channel AS channel,
    CAST(SUM(CAST(campaigns.spend AS DECIMAL(38, 6))) AS DECIMAL(38, 2)) AS spend
  FROM campaigns
  GROUP BY
    campaigns.channel
), dimension_keys AS (
  SELECT
    agg_campaign_orders.channel
  FROM agg_campaign_orders
  UNION
  SELECT
    agg_campaigns.channel
  FROM agg_campaigns
)
SELECT
  dimension_keys.channel AS channel,
  CAST(agg_campaign_orders.campaign_revenue AS DOUBLE) / NULLIF(agg_campaigns.spend, 0) AS campaign_roi,
  agg_campaign_orders.campaign_revenue AS campaign_revenue,
  agg_campaigns.spend AS campaign_spend
FROM dimension_keys
LEFT JOIN agg_campaign_orders
  ON dimension_keys.channel IS NOT DISTINCT FROM agg_campaign_orders.channel
LEFT JOIN agg_campaigns
  ON dimension_keys.channel IS NOT DISTINCT FROM agg_campaigns.channel
ORDER BY
  campaign_roi DESC,
  channel ASC NULLS LAST
