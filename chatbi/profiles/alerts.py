"""``alerts``: anomalies found at the as-of date, each against a baseline with a minimum volume.

Three families (docs/profiles.md explains each rule with its numbers):

* merchant 纠纷率 / 退货率: last 30 days vs the 180 days before them;
* new-user conversion (share of users who sign up in a quarter and place a valid order in
  that same quarter) by region, by signup channel and by region × channel: 上个季度 vs the
  quarter before; a region alert names the channel that drove the drop;
* category GMV: last 30 days vs the 90 days before them, per day, and relative to the
  platform (so a seasonal dip of everything does not alert).

Every candidate needs enough volume, a large relative change, and a z-score above a
Bonferroni-corrected critical value (at least 3): with m candidates tested in a family the
chance of any false alarm in that family stays near 5%, so a quiet warehouse raises few
alerts however many merchants it has. Severity grows with the size of the change and drops
one level when the z-score is less than 0.5 above its critical value.
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


_MACROS = (
    # t = sqrt(-2 ln(α/m)); z_crit = Φ⁻¹(1 − α/m) by Abramowitz & Stegun 26.2.23, at least Z_MIN
    f"CREATE OR REPLACE TEMP MACRO _zt(m) AS sqrt(-2 * ln({R.ALERT_FAMILY_ALPHA} / greatest(m, 1)))",
    f"""CREATE OR REPLACE TEMP MACRO _z_crit(m) AS greatest({R.ALERT_Z_MIN}, _zt(m)
        - (2.515517 + 0.802853 * _zt(m) + 0.010328 * _zt(m) * _zt(m))
        / (1 + 1.432788 * _zt(m) + 0.189269 * _zt(m) * _zt(m) + 0.001308 * pow(_zt(m), 3)))""",
    "CREATE OR REPLACE TEMP MACRO _pct(x) AS printf('%.1f%%', 100 * x)",
)


def _level(value: str, high: float, medium: float, z: str, tested: str) -> str:
    """high / medium / low by the size of the change, one level lower when barely significant."""
    step = (f"(CASE WHEN {value} >= {high} THEN 0 WHEN {value} >= {medium} THEN 1 ELSE 2 END"
            f" + CASE WHEN {z} < _z_crit({tested}) + {R.ALERT_MARGINAL_Z} THEN 1 ELSE 0 END)")
    return f"(['high', 'medium', 'low'])[1 + least(2, {step})]"


def _merchant_rates(as_of: date) -> str:
    a = sql_date(as_of)
    rec, base = R.ALERT_RECENT_DAYS, R.ALERT_BASELINE_DAYS
    parts = []
    for metric, flag, label in (("dispute_rate", "is_disputed", "纠纷率"),
                                ("return_rate", "is_returned", "退货率")):
        parts.append(f"""
        SELECT '{metric}' AS metric, merchant_id,
               count(*) FILTER (WHERE d > {a} - {rec}) AS n1,
               count(*) FILTER (WHERE d > {a} - {rec} AND {flag}) AS x1,
               count(*) FILTER (WHERE d <= {a} - {rec}) AS n0,
               count(*) FILTER (WHERE d <= {a} - {rec} AND {flag}) AS x0,
               '{label}' AS label
        FROM _orders WHERE d > {a} - {rec + base} AND merchant_id IS NOT NULL
        GROUP BY merchant_id""")
    counts = " UNION ALL ".join(parts)
    return f"""
    WITH c AS ({counts}),
    t AS (
        SELECT *, x1 / n1 AS p1, x0 / n0 AS p0,
               (x1 / n1 - x0 / n0) / sqrt(greatest(x0 / n0, {R.ALERT_RATE_FLOOR})
                                          * (1 - least(x0 / n0, 0.99)) / n1) AS z,
               count(*) OVER (PARTITION BY metric) AS tested
        FROM c WHERE n1 >= {R.ALERT_RATE_MIN_ORDERS} AND n0 >= {R.ALERT_RATE_MIN_BASE_ORDERS}
    )
    SELECT 'merchant' AS entity_type, CAST(t.merchant_id AS VARCHAR) AS entity_id,
           t.merchant_id, t.metric, t.p1 AS value, t.p0 AS baseline, t.n1 AS sample_size, t.z,
           {_level("t.p1 / greatest(t.p0, 0.001)", R.ALERT_RATE_HIGH_RATIO,
                  R.ALERT_RATE_MEDIUM_RATIO, "t.z", "t.tested")}
               AS severity,
           {a} - {rec - 1} AS window_start, {a} AS window_end,
           {a} - {rec + base - 1} AS baseline_start, {a} - {rec} AS baseline_end,
           '商户「' || coalesce(m.merchant_name, '') || '」(ID ' || t.merchant_id || ') 近{rec}天'
           || t.label || ' ' || _pct(t.p1) || '（' || t.x1 || '/' || t.n1 || ' 单），前{base}天基线 '
           || _pct(t.p0) || '（' || t.x0 || '/' || t.n0 || ' 单），为基线的 '
           || printf('%.1f', t.p1 / greatest(t.p0, 0.001)) || ' 倍' AS message
    FROM t
    LEFT JOIN (SELECT DISTINCT ON (merchant_id) merchant_id, merchant_name FROM merchants) m
      ON m.merchant_id = t.merchant_id
    WHERE t.x1 >= {R.ALERT_RATE_MIN_EVENTS}
      AND t.p1 >= {R.ALERT_RATE_MIN_RATIO} * t.p0 AND t.p1 >= t.p0 + {R.ALERT_RATE_MIN_DELTA}
      AND t.z >= _z_crit(t.tested)"""


def _conversion(as_of: date) -> str:
    recent, prev = quarters(as_of)
    r0, r1, p0, p1 = (sql_date(d) for d in (recent.start, recent.end, prev.start, prev.end))
    n_min = R.ALERT_CONVERSION_MIN_USERS
    return f"""
    WITH nu AS (
        SELECT u.user_id, u.region, u.signup_channel,
               u.signup_date >= {r0} AS is_recent,
               EXISTS (SELECT 1 FROM _orders o WHERE o.user_id = u.user_id
                       AND o.d >= u.signup_date
                       AND o.d <= CASE WHEN u.signup_date >= {r0} THEN {r1} ELSE {p1} END)
                   AS converted
        FROM _users u WHERE u.signup_date BETWEEN {p0} AND {r1}
    ), g AS (
        SELECT CASE WHEN region IS NULL THEN 'channel' WHEN signup_channel IS NULL THEN 'region'
                    ELSE 'region_channel' END AS dim,
               region, signup_channel,
               count(*) FILTER (WHERE is_recent) AS n1,
               count(*) FILTER (WHERE is_recent AND converted) AS x1,
               count(*) FILTER (WHERE NOT is_recent) AS n0,
               count(*) FILTER (WHERE NOT is_recent AND converted) AS x0
        FROM nu
        GROUP BY GROUPING SETS ((region), (signup_channel), (region, signup_channel))
        HAVING NOT (GROUPING(region) = 0 AND region IS NULL)
           AND NOT (GROUPING(signup_channel) = 0 AND signup_channel IS NULL)
    ), driver AS (
        SELECT region, arg_max(signup_channel, (x0 / n0 - x1 / n1) * n1) AS channel,
               arg_max(x0 / n0, (x0 / n0 - x1 / n1) * n1) AS c0,
               arg_max(x1 / n1, (x0 / n0 - x1 / n1) * n1) AS c1
        FROM g WHERE dim = 'region_channel' AND n0 > 0 AND n1 > 0
        GROUP BY region
    ), t AS (
        SELECT g.*, x1 / n1 AS p1, x0 / n0 AS p0, (x0 + x1) / (n0 + n1) AS pp,
               count(*) OVER (PARTITION BY dim) AS tested
        FROM g WHERE n1 >= {n_min} AND n0 >= {n_min}
    ), s AS (
        SELECT t.*, (p0 - p1) / sqrt(greatest(pp * (1 - pp), 1e-6) * (1.0 / n0 + 1.0 / n1)) AS z,
               1 - p1 / nullif(p0, 0) AS drop,
               CASE dim WHEN 'region' THEN region WHEN 'channel' THEN signup_channel
                        ELSE region || '/' || signup_channel END AS entity_id,
               CASE dim WHEN 'region' THEN region || '大区'
                        WHEN 'channel' THEN '渠道「' || signup_channel || '」'
                        ELSE region || '大区经渠道「' || signup_channel || '」注册的' END AS who,
               CASE WHEN dim = 'region' THEN driver.channel END AS channel,
               driver.c0, driver.c1
        FROM t LEFT JOIN driver USING (region)
    )
    SELECT dim AS entity_type, entity_id, CAST(NULL AS BIGINT) AS merchant_id,
           'new_user_conversion_rate' AS metric, p1 AS value, p0 AS baseline,
           n1 AS sample_size, z,
           {_level("drop", R.ALERT_HIGH_DROP, R.ALERT_MEDIUM_DROP, "z", "tested")} AS severity,
           {r0} AS window_start, {r1} AS window_end, {p0} AS baseline_start, {p1} AS baseline_end,
           who || '新用户转化率 {recent.label} 为 ' || _pct(p1) || '（' || x1 || '/' || n1
           || ' 人当季下单），较 {prev.label} 的 ' || _pct(p0) || '（' || x0 || '/' || n0
           || ' 人）下降 ' || printf('%.0f%%', 100 * drop)
           || coalesce('；主要来自渠道「' || channel || '」（' || _pct(c0) || ' → ' || _pct(c1) || '）', '')
               AS message
    FROM s
    WHERE p0 > 0 AND drop >= {R.ALERT_CONVERSION_MIN_DROP} AND p0 - p1 >= {R.ALERT_CONVERSION_MIN_DELTA}
      AND z >= _z_crit(tested)"""


def _category_gmv(as_of: date) -> str:
    a = sql_date(as_of)
    rec, base = R.ALERT_RECENT_DAYS, R.ALERT_CATEGORY_BASELINE_DAYS
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
    ), plat AS (
        SELECT count(*) FILTER (WHERE d > {a} - {rec}) AS pn1,
               count(*) FILTER (WHERE d <= {a} - {rec}) AS pn0
        FROM _orders WHERE d > {a} - {rec + base}
    ), t AS (
        SELECT g.*, 1 - g1 / g0 AS drop,
               n0 * pn1 / greatest(pn0, 1) AS e1,
               count(*) OVER () AS tested
        FROM g, plat WHERE n0 >= {R.ALERT_CATEGORY_MIN_BASE_ORDERS} AND g0 > 0
    ), s AS (
        SELECT *, (e1 - n1) / sqrt(greatest(e1, 1)) AS z FROM t
    )
    SELECT 'category' AS entity_type, category AS entity_id, CAST(NULL AS BIGINT) AS merchant_id,
           'gmv' AS metric, g1 AS value, g0 AS baseline, n1 AS sample_size, z,
           {_level("drop", R.ALERT_HIGH_DROP, R.ALERT_MEDIUM_DROP, "z", "tested")} AS severity,
           {a} - {rec - 1} AS window_start, {a} AS window_end,
           {a} - {rec + base - 1} AS baseline_start, {a} - {rec} AS baseline_end,
           '品类「' || category || '」近{rec}天 GMV ¥' || format('{{:,.0f}}', g1) || '（' || n1
           || ' 单），按前{base}天日均折算的基线为 ¥' || format('{{:,.0f}}', g0)
           || '，下降 ' || printf('%.0f%%', 100 * drop) || '；按全平台订单走势应有约 '
           || printf('%.0f', e1) || ' 单' AS message
    FROM s
    WHERE drop >= {R.ALERT_CATEGORY_MIN_DROP} AND n1 <= (1 - {R.ALERT_CATEGORY_MIN_SHARE_DROP}) * e1
      AND z >= _z_crit(tested)"""


def create_alerts(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """Create the ``alerts`` table and return how many alerts it holds."""
    for macro in _MACROS:
        con.execute(macro)
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
