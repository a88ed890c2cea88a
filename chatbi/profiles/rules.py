"""Every rule threshold of the profile build, in one place (docs/profiles.md explains each).

Days are calendar days counted back from the as-of date (the as-of day itself included).
"""

from __future__ import annotations

# --- lifecycle_stage -------------------------------------------------------------------
NEW_DAYS = 30            # 新客: first valid order (or, without orders, signup) within 30 days
ACTIVE_DAYS = 90         # 活跃: last valid order within 90 days
SILENT_DAYS = 180        # 沉默: last valid order 91..180 days ago; older → 流失

# --- RFM -------------------------------------------------------------------------------
RFM_HIGH_SCORE = 3       # a score ≥ 3 counts as 高 when naming the eight RFM segments
RFM_SEGMENTS = {         # (R 高, F 高, M 高) → segment
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}

# --- churn model -----------------------------------------------------------------------
CHURN_WINDOW_DAYS = 90   # label: no valid order in the 90 days after the cut-off
CHURN_MAX_TRAIN_ROWS = 100_000   # users per training cut-off (hash sample above this)
CHURN_HIGH = 0.75        # churn_risk ≥ 0.75 → "高流失风险" tag and 流失风险型 candidate

# --- value_tier ------------------------------------------------------------------------
HIGH_VALUE_M_SCORE = 4   # 高价值: m_score ≥ 4 and f_score ≥ 3 and churn_risk < CHURN_HIGH
HIGH_VALUE_F_SCORE = 3
AT_RISK_MIN_SCORE = 3    # 流失风险型: churn_risk ≥ CHURN_HIGH, not yet 流失, m or f score ≥ 3
POTENTIAL_MIN_VIEWS_30D = 5   # 潜力型 without orders: new user with ≥ 5 views in 30 days

# --- price sensitivity -----------------------------------------------------------------
PRICE_HIGH_COUPON_RATE = 0.5     # 高: ≥ 50% of orders used a coupon, or discount share ≥ 10%
PRICE_HIGH_DISCOUNT_SHARE = 0.10
PRICE_LOW_COUPON_RATE = 0.2      # 低: < 20% of orders with a coupon and discount share < 3%
PRICE_LOW_DISCOUNT_SHARE = 0.03

# --- user behaviour tags ---------------------------------------------------------------
TAG_COUPON_MIN_ORDERS = 2        # 优惠券偏好: coupon_usage_rate ≥ 0.5 with ≥ 2 orders
TAG_WEEKEND_SHARE = 0.6          # 周末购物型: ≥ 60% of orders on Sat/Sun with ≥ 3 orders
TAG_WEEKEND_MIN_ORDERS = 3
TAG_HIGH_AOV_QUANTILE = 0.8      # 高客单价: AOV in the top 20% of buyers
TAG_DISPUTE_MIN = 2              # 纠纷用户: ≥ 2 disputed orders
TAG_BROWSER_VIEWS_30D = 10       # 只逛不买: ≥ 10 views in 30 days and no order in 90 days
TAG_LOYAL_MIN_ORDERS = 5         # 忠实复购: ≥ 5 valid orders

# --- age bands -------------------------------------------------------------------------
AGE_BANDS = ((0, 17, "18岁以下"), (18, 24, "18-24岁"), (25, 29, "25-29岁"), (30, 34, "30-34岁"),
             (35, 39, "35-39岁"), (40, 49, "40-49岁"), (50, 200, "50岁及以上"))

# --- CLV -------------------------------------------------------------------------------
CLV_HORIZON_DAYS = 365
CLV_MAX_FIT_ROWS = 50_000        # customers sampled to fit BG/NBD and Gamma-Gamma
CLV_PENALIZERS = (0.001, 0.01, 0.1)   # tried in order until both models converge
CLV_MIN_CUSTOMERS = 50           # fewer → naive fallback

# --- merchant metrics and tags ---------------------------------------------------------
SELL_THROUGH_DAYS = 90           # 动销率 and 库存周转 window
MERCHANT_NEW_DAYS = 90           # 新入驻: joined within 90 days
TAG_TOP_QUANTILE = 0.8           # "top 20% of merchants" for the relative tags below
TAG_NEW_LISTINGS_MIN = 5         # 高频上新型: new_listings_30d in the top 20% and ≥ 5
TAG_MERCHANT_MIN_ORDERS = 10     # 高客单价型: AOV in the top 20% of merchants with ≥ 10 orders
TAG_STALE_MIN_STOCK = 10         # 滞销风险型: ≥ 10 listings on sale and (no sale in 90 days
TAG_STALE_SELL_THROUGH_RATIO = 0.5  #   or 动销率 < half the median merchant's 动销率)
TAG_REPEAT_MIN_BUYERS = 20       # 高复购型: ≥ 20 buyers, repeat_buyer_rate in the top 20%
TAG_REPEAT_RATE_MIN = 0.2        #   and ≥ 20%
TAG_DISPUTE_RATE = 0.05          # 高纠纷风险型: 90-day dispute rate ≥ 5% and ≥ 2× platform, ≥ 20 orders
TAG_DISPUTE_RATIO = 2.0
TAG_DISPUTE_MIN_ORDERS = 20
TAG_RETURN_RATE = 0.15           # 高退货型: return rate ≥ 15% with ≥ 20 orders
TAG_GOOD_REVIEW_SHARE = 0.9      # 口碑优质型: positive share ≥ 90% with ≥ 20 reviews
TAG_BAD_REVIEW_SHARE = 0.2       # 差评预警: negative share ≥ 20% with ≥ 20 reviews
TAG_MIN_REVIEWS = 20

# --- relation loyalty score (weights add up to 100) ------------------------------------
LOYALTY_ORDERS_CAP = 5

# --- tag history -----------------------------------------------------------------------
HISTORY_MONTHS = 12

# --- alerts ----------------------------------------------------------------------------
ALERT_FAMILY_ALPHA = 0.05        # alert when p < 5% / (candidates tested in the family)
ALERT_RECENT_DAYS = 30           # merchant rates and category GMV: last 30 days …
ALERT_BASELINE_DAYS = 180        # … merchant rates against the 180 days before them
ALERT_RATE_MIN_ORDERS = 30       # ≥ 30 valid orders in the last 30 days
ALERT_RATE_MIN_BASE_ORDERS = 30  # ≥ 30 valid orders in the baseline window
ALERT_RATE_MIN_EVENTS = 5        # ≥ 5 disputed / returned orders in the last 30 days
ALERT_RATE_MIN_RATIO = 2.0       # rate ≥ 2 × baseline
ALERT_RATE_MIN_DELTA = 0.05      # and ≥ baseline + 5 percentage points
ALERT_CONVERSION_MIN_USERS = 30  # ≥ 30 new users in each quarter
ALERT_CONVERSION_MIN_DROP = 0.25 # conversion ≥ 25% lower (relative) …
ALERT_CONVERSION_MIN_DELTA = 0.05  # … and ≥ 5 percentage points lower
ALERT_CATEGORY_BASELINE_DAYS = 90  # category GMV: last 30 days vs the 90 days before, per day
ALERT_CATEGORY_MIN_BASE_ORDERS = 50  # ≥ 50 orders of the category in the baseline window
ALERT_CATEGORY_MIN_DROP = 0.30   # GMV per day ≥ 30% below baseline …
ALERT_CATEGORY_MIN_SHARE_DROP = 0.20  # … and orders ≥ 20% below what the platform trend implies
ALERT_LARGE_RATIO = 3.0          # severity: a "large" change is a rate ≥ 3 × baseline …
ALERT_LARGE_DROP = 0.35          # … or a drop ≥ 35%;
ALERT_STRONG_FACTOR = 100        # "far beyond chance": p ≤ alert threshold / 100
