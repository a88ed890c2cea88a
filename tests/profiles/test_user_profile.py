"""user_profile: RFM, lifecycle, value tiers and preferences follow the documented rules."""

from __future__ import annotations

from chatbi.profiles import rules as R
from chatbi.profiles.contract import LIFECYCLE_STAGES, PRICE_SENSITIVITY, RFM_SEGMENTS, VALUE_TIERS

VALID = "status <> 'cancelled'"


def test_rfm_basics_match_raw_orders(con) -> None:
    diff = con.execute(f"""
        WITH o AS (SELECT user_id, count(*) AS n, sum(pay_amount) AS m,
                          min(order_ts)::DATE AS f, max(order_ts)::DATE AS l
                   FROM orders WHERE {VALID} GROUP BY user_id)
        SELECT count(*) FROM user_profile p LEFT JOIN o USING (user_id)
        WHERE p.frequency <> coalesce(o.n, 0) OR p.monetary <> coalesce(o.m, 0)
           OR p.first_order_date IS DISTINCT FROM o.f OR p.last_order_date IS DISTINCT FROM o.l
           OR p.recency_days IS DISTINCT FROM (p.profile_date - o.l)
    """).fetchone()[0]
    assert diff == 0


def test_scores_are_quintiles_and_segments_the_eight_names(con) -> None:
    rows = con.execute("""
        SELECT min(r_score), max(r_score), min(f_score), max(f_score), min(m_score), max(m_score),
               count(*) FILTER (WHERE frequency > 0 AND (r_score IS NULL OR rfm_segment IS NULL)),
               count(*) FILTER (WHERE frequency = 0 AND (r_score IS NOT NULL OR rfm_segment IS NOT NULL))
        FROM user_profile""").fetchone()
    assert rows[:6] == (1, 5, 1, 5, 1, 5)
    assert rows[6:] == (0, 0)
    segments = {r[0] for r in con.execute(
        "SELECT DISTINCT rfm_segment FROM user_profile WHERE rfm_segment IS NOT NULL").fetchall()}
    assert segments == set(RFM_SEGMENTS)
    # quintiles: each score holds roughly a fifth of buyers (ties may shift it)
    shares = con.execute("""SELECT m_score, count(*) / sum(count(*)) OVER () FROM user_profile
                            WHERE frequency > 0 GROUP BY 1""").fetchall()
    assert all(0.15 <= share <= 0.25 for _, share in shares)


def test_segment_follows_high_low_scores(con) -> None:
    hi = R.RFM_HIGH_SCORE
    for (r, f, m), name in R.RFM_SEGMENTS.items():
        bad = con.execute(
            f"SELECT count(*) FROM user_profile WHERE rfm_segment = ? AND NOT ("
            f"(r_score >= {hi}) = {r} AND (f_score >= {hi}) = {f} AND (m_score >= {hi}) = {m})",
            [name]).fetchone()[0]
        assert bad == 0, name


def test_recency_score_orders_users(con) -> None:
    """A more recent buyer never gets a lower r_score (same for frequency and monetary)."""
    for score, value in (("r_score", "-recency_days"), ("f_score", "frequency"),
                         ("m_score", "monetary")):
        bad = con.execute(f"""
            SELECT count(*) FROM (
                SELECT {score} AS s, {value} AS v,
                       max({score}) OVER (ORDER BY {value} RANGE BETWEEN UNBOUNDED PRECEDING
                                          AND CURRENT ROW) AS best_below
                FROM user_profile WHERE frequency > 0)
            WHERE best_below > s""").fetchone()[0]
        assert bad == 0, score


def test_lifecycle_rules(con) -> None:
    bad = con.execute(f"""
        SELECT count(*) FROM user_profile WHERE lifecycle_stage IS DISTINCT FROM CASE
            WHEN frequency = 0 THEN CASE
                WHEN profile_date - signup_date < {R.NEW_DAYS} THEN '新客'
                WHEN profile_date - signup_date < {R.SILENT_DAYS} THEN '沉默' ELSE '流失' END
            WHEN profile_date - first_order_date < {R.NEW_DAYS} THEN '新客'
            WHEN recency_days < {R.ACTIVE_DAYS} THEN '活跃'
            WHEN recency_days < {R.SILENT_DAYS} THEN '沉默' ELSE '流失' END
    """).fetchone()[0]
    assert bad == 0
    stages = {r[0] for r in con.execute("SELECT DISTINCT lifecycle_stage FROM user_profile").fetchall()}
    assert stages == set(LIFECYCLE_STAGES)


def test_value_tiers_follow_their_rules(con) -> None:
    tiers = dict(con.execute("SELECT value_tier, count(*) FROM user_profile GROUP BY 1").fetchall())
    assert set(tiers) == set(VALUE_TIERS)
    checks = {
        "高价值": f"frequency > 0 AND m_score >= {R.HIGH_VALUE_M_SCORE} AND f_score >= "
                  f"{R.HIGH_VALUE_F_SCORE} AND churn_risk < {R.CHURN_HIGH} AND lifecycle_stage <> '流失'",
        "流失风险型": f"frequency > 0 AND churn_risk >= {R.CHURN_HIGH} AND lifecycle_stage <> '流失' "
                    f"AND (m_score >= {R.AT_RISK_MIN_SCORE} OR f_score >= {R.AT_RISK_MIN_SCORE})",
        "潜力型": f"lifecycle_stage IN ('新客', '活跃') AND coalesce(churn_risk, 0) < {R.CHURN_HIGH}",
    }
    for tier, cond in checks.items():
        bad = con.execute(f"SELECT count(*) FROM user_profile WHERE value_tier = ? AND NOT ({cond})",
                          [tier]).fetchone()[0]
        assert bad == 0, tier
    lost_valuable = con.execute(
        "SELECT count(*) FROM user_profile WHERE lifecycle_stage = '流失' AND value_tier <> '一般'"
    ).fetchone()[0]
    assert lost_valuable == 0


def test_users_without_orders_get_a_row(con) -> None:
    rows = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE monetary = 0 AND predicted_clv = 0
                                          AND favorite_category IS NULL AND tags IS NOT NULL)
        FROM user_profile WHERE frequency = 0""").fetchone()
    never = con.execute(f"SELECT count(*) FROM users WHERE user_id NOT IN "
                        f"(SELECT user_id FROM orders WHERE {VALID})").fetchone()[0]
    assert rows[0] == never > 0
    assert rows[1] == rows[0]


def test_preferences_match_raw_data(con) -> None:
    bad_merchant = con.execute(f"""
        WITH c AS (SELECT user_id, merchant_id, count(*) AS n FROM orders WHERE {VALID}
                   GROUP BY ALL),
             top AS (SELECT user_id, max(n) AS n FROM c GROUP BY user_id)
        SELECT count(*) FROM user_profile p JOIN top USING (user_id)
        WHERE (SELECT n FROM c WHERE c.user_id = p.user_id
               AND c.merchant_id = p.favorite_merchant_id) IS DISTINCT FROM top.n
    """).fetchone()[0]
    assert bad_merchant == 0
    bad_channel = con.execute(f"""
        WITH c AS (SELECT user_id, channel, count(*) AS n FROM orders WHERE {VALID} GROUP BY ALL)
        SELECT count(*) FROM user_profile p
        WHERE p.frequency > 0 AND (SELECT max(n) FROM c WHERE c.user_id = p.user_id)
              <> (SELECT n FROM c WHERE c.user_id = p.user_id AND c.channel = p.preferred_channel)
    """).fetchone()[0]
    assert bad_channel == 0
    weekend = con.execute(f"""
        WITH w AS (SELECT user_id, avg(CASE WHEN isodow(order_ts) >= 6 THEN 1 ELSE 0 END) AS s
                   FROM orders WHERE {VALID} GROUP BY user_id)
        SELECT max(abs(p.weekend_share - w.s)) FROM user_profile p JOIN w USING (user_id)
    """).fetchone()[0]
    assert weekend < 1e-3


def test_price_sensitivity_and_coupon_rate(con) -> None:
    levels = {r[0] for r in con.execute(
        "SELECT DISTINCT price_sensitivity FROM user_profile WHERE frequency > 0").fetchall()}
    assert levels == set(PRICE_SENSITIVITY)
    bad = con.execute(f"""
        SELECT count(*) FROM user_profile WHERE price_sensitivity = '高'
        AND coupon_usage_rate < {R.PRICE_HIGH_COUPON_RATE} AND discount_share < {R.PRICE_HIGH_DISCOUNT_SHARE}
    """).fetchone()[0]
    assert bad == 0
    rate = con.execute(f"""
        WITH c AS (SELECT user_id, avg(CASE WHEN coupon_id IS NOT NULL THEN 1 ELSE 0 END) AS r
                   FROM orders WHERE {VALID} GROUP BY user_id)
        SELECT max(abs(p.coupon_usage_rate - c.r)) FROM user_profile p JOIN c USING (user_id)
    """).fetchone()[0]
    assert rate < 1e-3


def test_tags_hold_lifecycle_and_tier(con) -> None:
    bad = con.execute("""SELECT count(*) FROM user_profile
                         WHERE NOT list_contains(tags, lifecycle_stage)
                            OR NOT list_contains(tags, value_tier)""").fetchone()[0]
    assert bad == 0


def test_age_and_band(con) -> None:
    bad = con.execute("""SELECT count(*) FROM user_profile
                         WHERE age <> year(profile_date) - birth_year
                            OR (age BETWEEN 25 AND 29) <> (age_band = '25-29岁')""").fetchone()[0]
    assert bad == 0


def test_repurchase_cycle(con) -> None:
    bad = con.execute("""SELECT count(*) FROM user_profile WHERE
        (frequency >= 2 AND abs(repurchase_cycle_days
            - (last_order_date - first_order_date) / (frequency - 1)) > 0.051)
        OR (frequency < 2 AND repurchase_cycle_days IS NOT NULL)""").fetchone()[0]
    assert bad == 0
