"""Behaviour journeys from ``events``: ordered funnels, session paths, exits, dwell time.

Every builder returns one SELECT over raw tables (``events``, and ``users`` for buyer
dimensions) that the SQL guard accepts; for merchant roles the guard limits ``events`` to the
merchant's own rows (search events, which name no merchant, then drop out).

**Funnel** (unit: user). A user reaches step 1 with any event of that type in the period and
step k when they have an event of step k at or after the time they reached step k−1 (the
earliest such time: a greedy match, which finds an ordered path whenever one exists). The
default steps are 浏览 → 加购 → 购买; 收藏 is inserted after 浏览 when the question names it
(most buyers never favourite, so a mandatory favourite step would hide most purchases). With
a dimension, the funnel is computed within each value: per event for ``channel`` and
``category`` (all steps in that channel/category), per user for buyer dimensions.

**Paths** (unit: session). A session's path is its event types in time order with
consecutive repeats collapsed (浏览 > 浏览 > 加购 → 浏览 > 加购); "before a purchase" keeps the
sessions with a purchase, up to their first purchase.

**Exits**: sessions without a purchase, by the last step before leaving.
**Dwell**: dwell_seconds of view events by category (mean, median, 90th percentile).
"""

from __future__ import annotations

from datetime import date

from chatbi.relations.affinity import quote

STEP_LABELS = {
    "zh": {"view": "浏览", "favorite": "收藏", "add_to_cart": "加购", "purchase": "购买", "search": "搜索"},
    "en": {"view": "view", "favorite": "favourite", "add_to_cart": "add to cart", "purchase": "purchase",
           "search": "search"},
}
DEFAULT_STEPS = ("view", "add_to_cart", "purchase")
FULL_STEPS = ("view", "favorite", "add_to_cart", "purchase")
# dimension -> (SQL over events ``e`` / users ``u``, needs the users join)
FUNNEL_DIMENSIONS = {
    "channel": ("e.channel", False),
    "category": ("e.category", False),
    "region": ("u.region", True),
    "gender": ("u.gender", True),
    "city_tier": ("CAST(u.city_tier AS VARCHAR)", True),
    "signup_channel": ("u.signup_channel", True),
}
EVENT_DIMENSIONS = ("channel", "category")
DIMENSION_TITLES = {
    "channel": ("渠道", "channel"), "category": ("品类", "category"), "region": ("大区", "region"),
    "gender": ("性别", "gender"), "city_tier": ("城市等级", "city tier"),
    "signup_channel": ("注册渠道", "signup channel"),
}


def _period(column: str, start: date, end: date) -> str:
    return (f"{column} >= DATE '{start.isoformat()}' AND {column} < DATE '{end.isoformat()}' + 1")


def _label_case(column: str, language: str) -> str:
    labels = STEP_LABELS["en" if language == "en" else "zh"]
    whens = " ".join(f"WHEN {quote(k)} THEN {quote(v)}" for k, v in labels.items())
    return f"CASE {column} {whens} ELSE {column} END"


def funnel_sql(start: date, end: date, *, steps: tuple[str, ...] = DEFAULT_STEPS,
               dimension: str | None = None, language: str = "zh") -> str:
    """Users reaching each step in order: (dim?, step_no, step, step_label, users,
    step_conversion, overall_conversion, lost_users, drop_rate)."""
    dim_expr, needs_users = FUNNEL_DIMENSIONS[dimension] if dimension else ("NULL", False)
    join = " LEFT JOIN users u ON u.user_id = e.user_id" if needs_users else ""
    types = ", ".join(quote(s) for s in steps)
    ctes = [f"""ev AS (
        SELECT e.user_id, e.event_type, e.event_ts, coalesce({dim_expr}, '(未知)') AS dim
        FROM events e{join}
        WHERE {_period('e.event_ts', start, end)} AND e.user_id IS NOT NULL
          AND e.event_type IN ({types}))"""]
    ctes.append(f"""s1 AS (
        SELECT dim, user_id, min(event_ts) AS t FROM ev WHERE event_type = {quote(steps[0])}
        GROUP BY dim, user_id)""")
    for k in range(2, len(steps) + 1):
        ctes.append(f"""s{k} AS (
        SELECT p.dim, p.user_id, min(ev.event_ts) AS t
        FROM s{k - 1} p JOIN ev ON ev.user_id = p.user_id AND ev.dim = p.dim
         AND ev.event_type = {quote(steps[k - 1])} AND ev.event_ts >= p.t
        GROUP BY p.dim, p.user_id)""")
    counts = " UNION ALL ".join(
        f"SELECT dim, {k} AS step_no, {quote(step)} AS step, count(*) AS users FROM s{k} GROUP BY dim"
        for k, step in enumerate(steps, start=1))
    step_rows = " UNION ALL ".join(f"SELECT {k} AS step_no, {quote(step)} AS step"
                                   for k, step in enumerate(steps, start=1))
    ctes.append("dims AS (SELECT DISTINCT dim FROM s1)")
    ctes.append(f"st AS ({step_rows})")
    ctes.append(f"""c AS (
        SELECT d.dim, st.step_no, st.step, coalesce(x.users, 0) AS users
        FROM dims d CROSS JOIN st
        LEFT JOIN ({counts}) x ON x.dim = d.dim AND x.step_no = st.step_no)""")
    dim_col = f"dim AS {dimension}, " if dimension else ""
    window = "PARTITION BY dim ORDER BY step_no"
    return f"""
    WITH {', '.join(ctes)}
    SELECT {dim_col}step_no, step, {_label_case('step', language)} AS step_label,
           CAST(users AS INTEGER) AS users,
           users / NULLIF(lag(users) OVER ({window}), 0) AS step_conversion,
           users / NULLIF(first_value(users) OVER ({window}), 0) AS overall_conversion,
           CAST(lag(users) OVER ({window}) - users AS INTEGER) AS lost_users,
           1 - users / NULLIF(lag(users) OVER ({window}), 0) AS drop_rate
    FROM c
    ORDER BY {'dim, ' if dimension else ''}step_no"""


def paths_sql(start: date, end: date, *, before_purchase: bool = False, limit: int = 10,
              language: str = "zh") -> str:
    """The most common session paths: (path, steps, sessions, share)."""
    sep = " > "
    base = f"""ev AS (
        SELECT e.session_id, e.user_id, e.event_type, e.event_ts, e.event_id FROM events e
        WHERE {_period('e.event_ts', start, end)} AND e.session_id IS NOT NULL
          AND e.event_type IS NOT NULL)"""
    if before_purchase:
        scoped = """fp AS (SELECT session_id, min(event_ts) AS t FROM ev
                        WHERE event_type = 'purchase' GROUP BY session_id),
        sc AS (SELECT ev.session_id, ev.user_id, ev.event_type, ev.event_ts, ev.event_id
               FROM ev JOIN fp ON fp.session_id = ev.session_id AND ev.event_ts <= fp.t)"""
    else:
        scoped = "sc AS (SELECT session_id, user_id, event_type, event_ts, event_id FROM ev)"
    return f"""
    WITH {base}, {scoped},
    o AS (
        SELECT session_id, user_id, event_type, event_ts, event_id,
               lag(event_type) OVER (PARTITION BY session_id ORDER BY event_ts, event_id) AS prev
        FROM sc),
    p AS (  -- user_id kept (a session is one user's): paths of fewer than k people are left out
        SELECT session_id, user_id,
               string_agg({_label_case('event_type', language)}, {quote(sep)}
                          ORDER BY event_ts, event_id) AS path,
               count(*) AS steps
        FROM o WHERE prev IS NULL OR prev <> event_type GROUP BY session_id, user_id)
    SELECT path, CAST(steps AS INTEGER) AS steps, CAST(count(*) AS INTEGER) AS sessions,
           count(*) / sum(count(*)) OVER () AS share,
           CAST(sum(count(*)) OVER () AS INTEGER) AS total_sessions
    FROM p GROUP BY path, steps
    ORDER BY sessions DESC, path
    LIMIT {int(limit)}"""


def exits_sql(start: date, end: date, *, language: str = "zh") -> str:
    """Sessions without a purchase by their last step: (exit_step, sessions, share)."""
    return f"""
    WITH ev AS (
        SELECT e.session_id, e.user_id, e.event_type, e.event_ts, e.event_id FROM events e
        WHERE {_period('e.event_ts', start, end)} AND e.session_id IS NOT NULL
          AND e.event_type IS NOT NULL),
    nb AS (SELECT session_id, user_id FROM ev GROUP BY session_id, user_id
           HAVING count(*) FILTER (WHERE event_type = 'purchase') = 0),
    r AS (
        SELECT ev.session_id, ev.user_id, ev.event_type,
               row_number() OVER (PARTITION BY ev.session_id
                                  ORDER BY ev.event_ts DESC, ev.event_id DESC) AS rn
        FROM ev JOIN nb ON nb.session_id = ev.session_id),
    last AS (SELECT session_id, user_id, event_type AS exit_type FROM r WHERE rn = 1)
    SELECT {_label_case('exit_type', language)} AS exit_step, exit_type,
           CAST(count(*) AS INTEGER) AS sessions, count(*) / sum(count(*)) OVER () AS share,
           CAST(sum(count(*)) OVER () AS INTEGER) AS sessions_without_purchase
    FROM last GROUP BY exit_type ORDER BY sessions DESC, exit_type"""


def dwell_sql(start: date, end: date) -> str:
    """Dwell time of view events by category: views, mean, median, p90 (seconds)."""
    return f"""
    SELECT e.category, CAST(count(*) AS INTEGER) AS views,
           avg(e.dwell_seconds) AS avg_dwell_seconds,
           median(e.dwell_seconds) AS median_dwell_seconds,
           quantile_cont(e.dwell_seconds, 0.9) AS p90_dwell_seconds
    FROM events e
    WHERE {_period('e.event_ts', start, end)} AND e.event_type = 'view'
      AND e.dwell_seconds IS NOT NULL AND e.category IS NOT NULL
    GROUP BY e.category ORDER BY avg_dwell_seconds DESC, e.category"""
