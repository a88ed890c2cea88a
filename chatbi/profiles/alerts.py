"""``alerts``: anomalies found at the as-of date, each against a baseline with a minimum volume.

* merchant dispute / return rate: last 30 days vs the 180 days before them (binomial z-test);
* region / signup channel new-user conversion: 上个季度 (the calendar quarter before the
  as-of date's) vs the quarter before it (two-proportion z-test); a region alert names the
  signup channel that drove the drop;
* category GMV: last 30 days vs the 90 days before them, per day (Poisson z-test on orders).

An alert needs enough volume, a large relative change and a z-score ≥ 3, so a quiet
warehouse raises few. Severity: high (z ≥ 5 and a big change), medium (z ≥ 4), else low.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from chatbi.profiles import rules as R
from chatbi.profiles.staging import sql_date


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"


def quarters(as_of: date) -> tuple[Period, Period]:
    """上个季度 (the calendar quarter before the one containing ``as_of``) and the one before.

    This is the same "last quarter" the question answering uses (docs/dev/TEAM_RULES.md):
    for as_of 2026-09-30 it is 2026-04-01..2026-06-30, compared with 2026-01-01..03-31.
    """
    current = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    recent_end = current - timedelta(days=1)
    recent_start = date(recent_end.year, recent_end.month - 2, 1)
    prev_end = recent_start - timedelta(days=1)
    prev_start = date(prev_end.year, prev_end.month - 2, 1)
    return Period(recent_start, recent_end), Period(prev_start, prev_end)


def _severity(z: str, big: str) -> str:
    return (f"CASE WHEN {z} >= {R.ALERT_SEVERITY_HIGH_Z} AND {big} THEN 'high' "
            f"WHEN {z} >= {R.ALERT_SEVERITY_MEDIUM_Z} THEN 'medium' ELSE 'low' END")


def _merchant_rates(as_of: date) -> str:
    a = sql_date(as_of)
    rec, base = R.ALERT_RECENT_DAYS, R.ALERT_BASELINE_DAYS
    parts = []
    for metric, flag, label in (("dispute_rate", "is_disputed", "纠纷率"),
                                ("return_rate", "is_returned", "退货率")):
        parts.append(f"""
        SELECT 'merchant' AS entity_type, CAST(s.merchant_id AS VARCHAR) AS entity_id,
               s.merchant_id, '{metric}' AS metric, s.p1 AS value, s.p0 AS baseline,
               s.n1 AS sample_size, s.z,
               {_severity("s.z", f"s.p1 >= 3 * s.p0")} AS severity,
               {a} - {rec - 1} AS window_start, {a} AS window_end,
               {a} - {rec + base - 1} AS baseline_start, {a} - {rec} AS baseline_end,
               '商户「' || coalesce(m.merchant_name, '') || '」(ID ' || s.merchant_id || ') 近{rec}天{label} '
               || printf('%.1f%%', 100 * s.p1) || '（' || s.x1 || '/' || s.n1 || ' 单），前{base}天基线 '
               || printf('%.1f%%', 100 * s.p0) || '（' || s.x0 || '/' || s.n0 || ' 单），为基线的 '
               || printf('%.1f', s.p1 / greatest(s.p0, 0.001)) || ' 倍' AS message
        FROM (
            SELECT *, x1 / n1 AS p1, x0 / n0 AS p0,
                   (x1 / n1 - x0 / n0) / sqrt(greatest(x0 / n0, 0.01) * (1 - least(x0 / n0, 0.99)) / n1) AS z
            FROM (
                SELECT merchant_id,
                       count(*) FILTER (WHERE d > {a} - {rec}) AS n1,
                       count(*) FILTER (WHERE d > {a} - {rec} AND {flag}) AS x1,
                       count(*) FILTER (WHERE d <= {a} - {rec}) AS n0,
                       count(*) FILTER (WHERE d <= {a} - {rec} AND {flag}) AS x0
                FROM _orders WHERE d > {a} - {rec + base} AND merchant_id IS NOT NULL
                GROUP BY merchant_id)
            WHERE n1 >= {R.ALERT_RATE_MIN_ORDERS} AND n0 >= {R.ALERT_RATE_MIN_BASE_ORDERS}
        ) s
        LEFT JOIN (SELECT DISTINCT ON (merchant_id) merchant_id, merchant_name FROM merchants) m
          ON m.merchant_id = s.merchant_id
        WHERE s.p1 >= {R.ALERT_RATE_MIN_RATIO} * s.p0 AND s.p1 >= s.p0 + {R.ALERT_RATE_MIN_DELTA}
          AND s.z >= {R.ALERT_Z_MIN}""")
    return " UNION ALL ".join(parts)


def _conversion(as_of: date) -> str:
    recent, prev = quarters(as_of)
    r0, r1, p0, p1 = (sql_date(d) for d in (recent.start, recent.end, prev.start, prev.end))
    drop = R.ALERT_CONVERSION_MIN_DROP
    n_min = R.ALERT_CONVERSION_MIN_USERS
    return f"""
    WITH nu AS (
        SELECT u.user_id, u.region, u.signup_channel,
               CASE WHEN u.signup_date BETWEEN {r0} AND {r1} THEN 1 ELSE 0 END AS is_recent,
               EXISTS (SELECT 1 FROM _orders o WHERE o.user_id = u.user_id
                       AND o.d >= u.signup_date
                       AND o.d <= CASE WHEN u.signup_date >= {r0} THEN {r1} ELSE {p1} END) AS converted
        FROM _users u WHERE u.signup_date BETWEEN {p0} AND {r1}
    ), g AS (
        SELECT dim, key, channel,
               count(*) FILTER (WHERE is_recent = 1) AS n1,
               count(*) FILTER (WHERE is_recent = 1 AND converted) AS x1,
               count(*) FILTER (WHERE is_recent = 0) AS n0,
               count(*) FILTER (WHERE is_recent = 0 AND converted) AS x0
        FROM (SELECT *, 'region' AS dim, region AS key, signup_channel AS channel FROM nu
              UNION ALL
              SELECT *, 'channel', signup_channel, NULL FROM nu)
        WHERE key IS NOT NULL
        GROUP BY GROUPING SETS ((dim, key), (dim, key, channel))
    ), tot AS (
        SELECT dim, key, n1, x1, n0, x0, x1 / n1 AS p1, x0 / n0 AS p0,
               (x0 + x1) / (n0 + n1) AS pp
        FROM g WHERE channel IS NULL AND n1 >= {n_min} AND n0 >= {n_min}
    ), driver AS (
        SELECT g.dim, g.key, arg_max(g.channel, (g.x0 / g.n0 - g.x1 / g.n1) * g.n1) AS channel,
               arg_max(g.x1 / g.n1, (g.x0 / g.n0 - g.x1 / g.n1) * g.n1) AS c1,
               arg_max(g.x0 / g.n0, (g.x0 / g.n0 - g.x1 / g.n1) * g.n1) AS c0
        FROM g WHERE g.channel IS NOT NULL AND g.n1 > 0 AND g.n0 > 0 AND g.dim = 'region'
        GROUP BY g.dim, g.key
    ), s AS (
        SELECT tot.*, (p0 - p1) / sqrt(greatest(pp * (1 - pp), 1e-6) * (1.0 / n0 + 1.0 / n1)) AS z,
               driver.channel, driver.c1, driver.c0
        FROM tot LEFT JOIN driver USING (dim, key)
    )
    SELECT dim AS entity_type, key AS entity_id, CAST(NULL AS BIGINT) AS merchant_id,
           'new_user_conversion_rate' AS metric, p1 AS value, p0 AS baseline, n1 AS sample_size, z,
           {_severity("z", f"p1 <= (1 - {R.ALERT_SEVERITY_HIGH_DROP}) * p0")} AS severity,
           {r0} AS window_start, {r1} AS window_end, {p0} AS baseline_start, {p1} AS baseline_end,
           CASE dim WHEN 'region' THEN key || '大区' ELSE '渠道「' || key || '」' END
           || '新用户转化率 {recent.label} 为 ' || printf('%.1f%%', 100 * p1) || '（' || x1 || '/' || n1
           || ' 人），较 {prev.label} 的 ' || printf('%.1f%%', 100 * p0) || '（' || x0 || '/' || n0
           || ' 人）下降 ' || printf('%.0f%%', 100 * (1 - p1 / p0))
           || coalesce('；主要来自渠道「' || channel || '」（' || printf('%.1f%%', 100 * c0) || ' → '
                       || printf('%.1f%%', 100 * c1) || '）', '') AS message
    FROM s
    WHERE p0 > 0 AND p1 <= (1 - {drop}) * p0 AND z >= {R.ALERT_Z_MIN}"""


def _category_gmv(as_of: date) -> str:
    a = sql_date(as_of)
    rec, base = R.ALERT_RECENT_DAYS, 90
    return f"""
    WITH items AS (
        SELECT o.order_id, o.d, p.category,
               o.pay * CAST(oi.price AS DOUBLE) * coalesce(oi.quantity, 1)
                 / nullif(sum(CAST(oi.price AS DOUBLE) * coalesce(oi.quantity, 1))
                          OVER (PARTITION BY o.order_id), 0) AS gmv
        FROM _orders o
        JOIN order_items oi ON oi.order_id = o.order_id
        JOIN products p ON p.product_id = oi.product_id
        WHERE o.d > {a} - {rec + base} AND p.category IS NOT NULL
    ), g AS (
        SELECT category,
               coalesce(sum(gmv) FILTER (WHERE d > {a} - {rec}), 0) AS g1,
               coalesce(sum(gmv) FILTER (WHERE d <= {a} - {rec}), 0) * {rec} / {base} AS g0,
               count(DISTINCT order_id) FILTER (WHERE d > {a} - {rec}) AS n1,
               count(DISTINCT order_id) FILTER (WHERE d <= {a} - {rec}) AS n0
        FROM items GROUP BY category
    ), s AS (
        SELECT *, n0 * {rec} / {base} AS e1,
               (n0 * {rec} / {base} - n1) / sqrt(greatest(n0 * {rec} / {base}, 1)) AS z
        FROM g WHERE n0 >= {R.ALERT_CATEGORY_MIN_BASE_ORDERS} AND g0 > 0
    )
    SELECT 'category' AS entity_type, category AS entity_id, CAST(NULL AS BIGINT) AS merchant_id,
           'gmv' AS metric, g1 AS value, g0 AS baseline, n1 AS sample_size, z,
           {_severity("z", f"g1 <= (1 - {R.ALERT_SEVERITY_HIGH_DROP}) * g0")} AS severity,
           {a} - {rec - 1} AS window_start, {a} AS window_end,
           {a} - {rec + base - 1} AS baseline_start, {a} - {rec} AS baseline_end,
           '品类「' || category || '」近{rec}天 GMV ¥' || format('{{:,.0f}}', g1) || '（' || n1
           || ' 单），按前{base}天日均折算的基线为 ¥' || format('{{:,.0f}}', g0) || '（约 '
           || printf('%.0f', e1) || ' 单），下降 ' || printf('%.0f%%', 100 * (1 - g1 / g0)) AS message
    FROM s
    WHERE g1 <= (1 - {R.ALERT_CATEGORY_MIN_DROP}) * g0 AND z >= {R.ALERT_Z_MIN}"""


def create_alerts(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """Create the ``alerts`` table and return how many alerts it holds."""
    a = sql_date(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE alerts AS
    WITH c AS (SELECT * FROM ({_merchant_rates(as_of)})
               UNION ALL BY NAME SELECT * FROM ({_conversion(as_of)})
               UNION ALL BY NAME SELECT * FROM ({_category_gmv(as_of)}))
    SELECT CAST(row_number() OVER (ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1
                                   ELSE 2 END, z DESC, entity_type, entity_id, metric) AS BIGINT)
               AS alert_id,
           CAST({a} AS TIMESTAMP) AS detected_at, entity_type, entity_id, metric,
           round(value, 4) AS value, round(baseline, 4) AS baseline, severity, message,
           merchant_id, CAST(sample_size AS INTEGER) AS sample_size, round(z, 2) AS z_score,
           CAST(window_start AS DATE) AS window_start, CAST(window_end AS DATE) AS window_end,
           CAST(baseline_start AS DATE) AS baseline_start,
           CAST(baseline_end AS DATE) AS baseline_end
    FROM c
    ORDER BY alert_id
    """)
    return con.execute("SELECT count(*) FROM alerts").fetchone()[0]
