"""``alerts``: anomalies found at the as-of date, each against a baseline with a minimum volume.

Three families (docs/profiles.md explains each rule with its numbers):

* merchant 纠纷率 / 退货率: last 30 days vs the 180 days before them;
* new-user conversion (the semantic layer's ``conversion_rate`` of the users who signed up
  in a quarter, the definition the why-analysis decomposes) by region, by signup channel and
  by region × channel: 上个季度 vs the quarter before; a region alert names the channel that
  drove the drop;
* category GMV: last 30 days vs the 90 days before them, per day, and relative to the
  platform's order trend (so a seasonal dip of everything does not alert).

SQL gathers the counts of every candidate that has enough volume and a large enough change;
Python computes one p-value per candidate on arrays (exact conditional binomial tests for
counts, a two-proportion z-test for conversion) and keeps those below a Bonferroni threshold
(5% / candidates tested in the family), so a quiet warehouse raises few alerts however many
merchants it has. Messages are written in SQL with the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pyarrow as pa
from scipy.stats import binom, norm

from chatbi.errors import ChatBIError
from chatbi.profiles import rules as R
from chatbi.profiles.staging import scalar, sql_date
from chatbi.semantic.query import Filter, SemanticQuery, TimeRange


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"


def quarters(as_of: date) -> tuple[Period, Period]:
    """上个季度 (the calendar quarter before the one containing ``as_of``) and the one before.

    This is the same "last quarter" the question answering uses (docs/semantic_layer.md, result columns):
    for as_of 2026-09-30 it is 2026-04-01..2026-06-30, compared with 2026-01-01..03-31.
    """
    current = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    recent_end = current - timedelta(days=1)
    recent_start = date(recent_end.year, recent_end.month - 2, 1)
    prev_end = recent_start - timedelta(days=1)
    prev_start = date(prev_end.year, prev_end.month - 2, 1)
    return Period(recent_start, recent_end), Period(prev_start, prev_end)


_PCT = "CREATE OR REPLACE TEMP MACRO _pct(x) AS printf('%.1f%%', 100 * x)"


def _merchant_rates(as_of: date) -> str:
    """Candidates: merchants whose dispute / return rate at least doubled (family per metric)."""
    a = sql_date(as_of)
    rec, base = R.ALERT_RECENT_DAYS, R.ALERT_BASELINE_DAYS
    parts = []
    for metric, flag, label in (("dispute_rate", "is_disputed", "纠纷率"),
                                ("return_rate", "is_returned", "退货率")):
        parts.append(f"""
        SELECT '{metric}' AS metric, '{label}' AS label, merchant_id,
               count(*) FILTER (WHERE d > {a} - {rec}) AS n1,
               count(*) FILTER (WHERE d > {a} - {rec} AND {flag}) AS x1,
               count(*) FILTER (WHERE d <= {a} - {rec}) AS n0,
               count(*) FILTER (WHERE d <= {a} - {rec} AND {flag}) AS x0
        FROM _orders WHERE d > {a} - {rec + base} AND merchant_id IS NOT NULL
        GROUP BY merchant_id""")
    return f"""
    WITH c AS ({" UNION ALL ".join(parts)}),
    t AS (
        SELECT *, x1 / n1 AS p1, x0 / n0 AS p0,
               count(*) OVER (PARTITION BY metric) AS tested
        FROM c WHERE n1 >= {R.ALERT_RATE_MIN_ORDERS} AND n0 >= {R.ALERT_RATE_MIN_BASE_ORDERS}
    )
    SELECT 'merchant_' || t.metric AS family, 'merchant' AS entity_type,
           CAST(t.merchant_id AS VARCHAR) AS entity_id, t.merchant_id, t.metric,
           t.p1 AS value, t.p0 AS baseline, t.n1 AS sample_size, t.tested,
           'rate_up' AS test, t.x1, t.n1, t.x0, t.n0,
           t.p1 / greatest(t.p0, 0.001) AS effect,
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
      AND t.p1 >= {R.ALERT_RATE_MIN_RATIO} * t.p0 AND t.p1 >= t.p0 + {R.ALERT_RATE_MIN_DELTA}"""


@dataclass(frozen=True)
class CohortMetric:
    """An alert metric that is a semantic-layer metric for the users who signed up in the period.

    The alert and the why-analysis both compute ``metric`` (weighted by ``weight``, its
    denominator) with ``cohort_filter``: one definition, so a why-question about an alert
    reports the alert's own rates.
    """

    alert_metric: str
    metric: str
    weight: str


NEW_USER_CONVERSION = CohortMetric("new_user_conversion_rate", "conversion_rate", "active_users")
SIGNUP_DATE = "signup_date"


def cohort_filter(start: date, end: date) -> Filter:
    """Users who signed up between ``start`` and ``end`` (the new users of that period)."""
    return Filter(dimension=SIGNUP_DATE, op="between", value=[start.isoformat(), end.isoformat()])


def _conversion_counts(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    """``_conv_counts``: per region × signup channel and quarter, the semantic layer's
    conversion rate of the quarter's new users as counts (x converted of n). False when the
    layer or the warehouse cannot compute it (no ``events`` table, a layer without the metric)."""
    from chatbi.semantic.compiler import compile_query
    from chatbi.semantic.loader import load_semantic_layer

    frames = []
    try:
        layer = load_semantic_layer()
        for name, period in zip(("recent", "prev"), quarters(as_of), strict=True):
            window = TimeRange(start=period.start, end=period.end)
            query = SemanticQuery(
                metrics=[NEW_USER_CONVERSION.metric, NEW_USER_CONVERSION.weight],
                dimensions=["region", "signup_channel"],
                filters=[cohort_filter(period.start, period.end)], time_range=window)
            sql = compile_query(query, layer, as_of=as_of).sql
            frames.append(f"SELECT '{name}' AS q, region, signup_channel, "
                          f"round({NEW_USER_CONVERSION.metric} * {NEW_USER_CONVERSION.weight}) AS x, "
                          f"{NEW_USER_CONVERSION.weight} AS n FROM ({sql})")
        con.execute("CREATE OR REPLACE TEMP TABLE _conv_counts AS " + " UNION ALL ".join(frames))
    except (ChatBIError, duckdb.CatalogException, duckdb.BinderException):
        return False
    return True


def _conversion(con: duckdb.DuckDBPyConnection, as_of: date) -> str:
    """Candidates: regions / channels / region × channel whose new-user conversion fell.

    New-user conversion is the semantic layer's ``conversion_rate`` (users with a purchase ÷
    users with any event in the quarter) of the users who signed up in that quarter, exactly
    what 为什么华南新用户转化率下降了 decomposes.
    """
    recent, prev = quarters(as_of)
    r0, r1, p0, p1 = (sql_date(d) for d in (recent.start, recent.end, prev.start, prev.end))
    n_min = R.ALERT_CONVERSION_MIN_USERS
    counts = ("_conv_counts" if _conversion_counts(con, as_of) else
              "(SELECT NULL AS q, NULL AS region, NULL AS signup_channel, 0 AS x, 0 AS n WHERE false)")
    return f"""
    WITH g AS (
        SELECT CASE WHEN GROUPING(region) = 1 THEN 'channel'
                    WHEN GROUPING(signup_channel) = 1 THEN 'region'
                    ELSE 'region_channel' END AS dim,
               region, signup_channel,
               coalesce(sum(n) FILTER (WHERE q = 'recent'), 0) AS n1,
               coalesce(sum(x) FILTER (WHERE q = 'recent'), 0) AS x1,
               coalesce(sum(n) FILTER (WHERE q = 'prev'), 0) AS n0,
               coalesce(sum(x) FILTER (WHERE q = 'prev'), 0) AS x0
        FROM {counts}
        GROUP BY GROUPING SETS ((region), (signup_channel), (region, signup_channel))
    ), driver AS (
        SELECT region, arg_max(signup_channel, (x0 / n0 - x1 / n1) * n1) AS channel,
               arg_max(x0 / n0, (x0 / n0 - x1 / n1) * n1) AS c0,
               arg_max(x1 / n1, (x0 / n0 - x1 / n1) * n1) AS c1
        FROM g WHERE dim = 'region_channel' AND n0 > 0 AND n1 > 0
        GROUP BY region
    ), t AS (
        SELECT g.*, x1 / n1 AS p1, x0 / n0 AS p0, count(*) OVER (PARTITION BY dim) AS tested
        FROM g
        WHERE n1 >= {n_min} AND n0 >= {n_min}
          AND (dim = 'channel' OR region IS NOT NULL)
          AND (dim = 'region' OR signup_channel IS NOT NULL)
    ), s AS (
        SELECT t.*, 1 - p1 / nullif(p0, 0) AS drop,
               CASE dim WHEN 'region' THEN region WHEN 'channel' THEN signup_channel
                        ELSE region || '/' || signup_channel END AS entity_id,
               CASE dim WHEN 'region' THEN region || '大区'
                        WHEN 'channel' THEN '注册渠道「' || signup_channel || '」'
                        ELSE region || '大区经渠道「' || signup_channel || '」注册的' END AS who,
               CASE WHEN dim = 'region' THEN driver.channel END AS channel,
               driver.c0, driver.c1
        FROM t LEFT JOIN driver USING (region)
    )
    SELECT 'conversion_' || dim AS family, dim AS entity_type, entity_id,
           CAST(NULL AS BIGINT) AS merchant_id, '{NEW_USER_CONVERSION.alert_metric}' AS metric,
           p1 AS value, p0 AS baseline, n1 AS sample_size, tested,
           'proportion_down' AS test, x1, n1, x0, n0, drop AS effect,
           {r0} AS window_start, {r1} AS window_end, {p0} AS baseline_start, {p1} AS baseline_end,
           who || '新用户转化率 {recent.label} 为 ' || _pct(p1) || '（当季注册且有行为的 '
           || CAST(n1 AS BIGINT) || ' 人中 ' || CAST(x1 AS BIGINT) || ' 人购买），较 {prev.label} 的 '
           || _pct(p0) || '（' || CAST(x0 AS BIGINT) || '/' || CAST(n0 AS BIGINT)
           || ' 人）下降 ' || printf('%.0f%%', 100 * drop)
           || coalesce('；主要来自注册渠道「' || channel || '」（' || _pct(c0) || ' → ' || _pct(c1) || '）', '')
               AS message
    FROM s
    WHERE p0 > 0 AND drop >= {R.ALERT_CONVERSION_MIN_DROP}
      AND p0 - p1 >= {R.ALERT_CONVERSION_MIN_DELTA}"""


def _category_gmv(as_of: date) -> str:
    """Candidates: categories whose GMV per day fell by 30%+ and faster than the platform."""
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
        SELECT g.*, plat.*, 1 - g1 / g0 AS drop, n0 * pn1 / greatest(pn0, 1) AS e1,
               count(*) OVER () AS tested
        FROM g, plat WHERE n0 >= {R.ALERT_CATEGORY_MIN_BASE_ORDERS} AND g0 > 0
    )
    SELECT 'category_gmv' AS family, 'category' AS entity_type, category AS entity_id,
           CAST(NULL AS BIGINT) AS merchant_id, 'gmv' AS metric, g1 AS value, g0 AS baseline,
           n1 AS sample_size, tested, 'count_down' AS test,
           n1 AS x1, pn1 AS n1, n0 AS x0, pn0 AS n0, drop AS effect,
           {a} - {rec - 1} AS window_start, {a} AS window_end,
           {a} - {rec + base - 1} AS baseline_start, {a} - {rec} AS baseline_end,
           '品类「' || category || '」近{rec}天 GMV ' || _money(g1) || '（' || n1
           || ' 单），按前{base}天日均折算的基线为 ' || _money(g0)
           || '，下降 ' || printf('%.0f%%', 100 * drop) || '；按全平台订单走势应有约 '
           || printf('%.0f', e1) || ' 单' AS message
    FROM t
    WHERE drop >= {R.ALERT_CATEGORY_MIN_DROP} AND n1 <= (1 - {R.ALERT_CATEGORY_MIN_SHARE_DROP}) * e1"""


def p_values(test: np.ndarray, x1: np.ndarray, n1: np.ndarray, x0: np.ndarray,
             n0: np.ndarray) -> np.ndarray:
    """One-sided p-value of each candidate's change (vectorised).

    rate_up:        the x1 + x0 events split between windows in proportion to their orders
                    (n1 : n0) unless the recent rate rose — P(X ≥ x1), X ~ Bin(x1+x0, n1/(n1+n0)).
    count_down:     the category's x1 + x0 orders split like the platform's n1 : n0 orders
                    unless the category fell — P(X ≤ x1).
    proportion_down: two-proportion z-test that the recent conversion x1/n1 is lower.
    """
    p = np.ones(len(test))
    share = n1 / np.maximum(n1 + n0, 1)
    total = x1 + x0
    up = test == "rate_up"
    p[up] = binom.sf(x1[up] - 1, total[up], share[up])
    down = test == "count_down"
    p[down] = binom.cdf(x1[down], total[down], share[down])
    prop = test == "proportion_down"
    if prop.any():
        r1, r0 = x1[prop] / n1[prop], x0[prop] / n0[prop]
        pooled = total[prop] / (n1[prop] + n0[prop])
        se = np.sqrt(np.maximum(pooled * (1 - pooled), 1e-9) * (1 / n0[prop] + 1 / n1[prop]))
        p[prop] = norm.sf((r0 - r1) / se)
    return p


def severity(effect: np.ndarray, test: np.ndarray, p: np.ndarray,
             threshold: np.ndarray) -> np.ndarray:
    """high: a large change that is also far beyond chance; medium: one of the two; low: neither.

    Large: a rate ≥ 3 × its baseline, or a drop ≥ 35%. Far beyond chance: p-value at least
    100 × below the alert threshold.
    """
    large = np.where(test == "rate_up", effect >= R.ALERT_LARGE_RATIO, effect >= R.ALERT_LARGE_DROP)
    strong = p <= threshold / R.ALERT_STRONG_FACTOR
    return np.where(large & strong, "high", np.where(large | strong, "medium", "low"))


def _money_words(value: float | None) -> str:
    """An amount as every answer writes it (¥4,279 · ¥2.22万 · ¥2.39亿: ``format_money``)."""
    from chatbi.answer.numbers import format_money

    return format_money(value, "zh")


def create_alerts(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """Create the ``alerts`` table and return how many alerts it holds."""
    con.execute(_PCT)
    try:
        con.remove_function("_money")
    except (duckdb.InvalidInputException, duckdb.CatalogException):
        pass  # not registered on this connection yet
    con.create_function("_money", _money_words, ["DOUBLE"], "VARCHAR")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _alert_candidates AS
        SELECT row_number() OVER () AS cid, * FROM (
            SELECT * FROM ({_merchant_rates(as_of)})
            UNION ALL BY NAME SELECT * FROM ({_conversion(con, as_of)})
            UNION ALL BY NAME SELECT * FROM ({_category_gmv(as_of)}))
    """)
    c = con.execute("SELECT cid, test, x1, n1, x0, n0, tested, effect FROM _alert_candidates "
                    "ORDER BY cid").fetchnumpy()
    num = {k: np.asarray(c[k], dtype=float) for k in ("x1", "n1", "x0", "n0", "tested", "effect")}
    test = np.asarray(c["test"]).astype(str)
    p = p_values(test, num["x1"], num["n1"], num["x0"], num["n0"])
    threshold = R.ALERT_FAMILY_ALPHA / np.maximum(num["tested"], 1)
    keep = p < threshold
    result = pa.table({
        "cid": np.asarray(c["cid"], dtype=np.int64)[keep],
        "p_value": p[keep],
        "z": np.minimum(norm.isf(np.maximum(p[keep], 1e-300)), 40.0),
        "severity": severity(num["effect"], test, p, threshold)[keep].astype(str),
    })
    con.register("_alert_kept", result)
    a = sql_date(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE alerts AS
    SELECT CAST(row_number() OVER (ORDER BY CASE k.severity WHEN 'high' THEN 0
                                   WHEN 'medium' THEN 1 ELSE 2 END, k.p_value, c.family,
                                   c.entity_id) AS BIGINT) AS alert_id,
           CAST({a} AS TIMESTAMP) AS detected_at, c.entity_type, c.entity_id, c.metric,
           round(c.value, 4) AS value, round(c.baseline, 4) AS baseline, k.severity, c.message,
           c.merchant_id, CAST(c.sample_size AS INTEGER) AS sample_size,
           round(k.z, 2) AS z_score, k.p_value, CAST(c.tested AS INTEGER) AS tested,
           CAST(c.window_start AS DATE) AS window_start, CAST(c.window_end AS DATE) AS window_end,
           CAST(c.baseline_start AS DATE) AS baseline_start,
           CAST(c.baseline_end AS DATE) AS baseline_end
    FROM _alert_candidates c JOIN _alert_kept k USING (cid)
    ORDER BY alert_id
    """)
    con.unregister("_alert_kept")
    return int(scalar(con, "SELECT count(*) FROM alerts"))
