"""tag_history: 12 month-end snapshots, consistent with the profile and with raw orders."""

from __future__ import annotations

from datetime import date

from chatbi.profiles.staging import month_ends

LIFECYCLE_AT = """
    WITH o AS (SELECT user_id, min(order_ts)::DATE AS f, max(order_ts)::DATE AS l FROM orders
               WHERE status <> 'cancelled' AND order_ts::DATE <= $d GROUP BY user_id)
    SELECT u.user_id, CASE
        WHEN o.user_id IS NULL THEN CASE WHEN $d - u.signup_date < 30 THEN '新客'
                                        WHEN $d - u.signup_date < 180 THEN '沉默' ELSE '流失' END
        WHEN $d - o.f < 30 THEN '新客' WHEN $d - o.l < 90 THEN '活跃'
        WHEN $d - o.l < 180 THEN '沉默' ELSE '流失' END AS stage
    FROM users u LEFT JOIN o USING (user_id) WHERE u.signup_date <= $d
"""


def test_month_ends() -> None:
    assert month_ends(date(2026, 9, 30))[0] == date(2025, 10, 31)
    assert month_ends(date(2026, 9, 30))[-1] == date(2026, 9, 30)
    assert month_ends(date(2026, 9, 15))[-1] == date(2026, 8, 31)
    assert month_ends(date(2024, 3, 31))[:2] == [date(2023, 4, 30), date(2023, 5, 31)]


def test_twelve_month_end_snapshots(con) -> None:
    dates = [r[0] for r in con.execute(
        "SELECT DISTINCT snapshot_date FROM tag_history ORDER BY 1").fetchall()]
    assert dates == month_ends(date(2026, 9, 30))
    per = con.execute("""
        SELECT snapshot_date, tag_group, count(*) - count(DISTINCT entity_id) FROM tag_history
        WHERE tag_group IN ('lifecycle_stage', 'value_tier') GROUP BY ALL""").fetchall()
    assert per and all(dup == 0 for *_, dup in per)
    users_at = con.execute("""
        SELECT (SELECT count(*) FROM users WHERE signup_date <= DATE '2026-03-31'),
               (SELECT count(*) FROM tag_history WHERE snapshot_date = DATE '2026-03-31'
                AND tag_group = 'lifecycle_stage')""").fetchone()
    assert users_at[0] == users_at[1]


def test_last_snapshot_equals_the_profile(con) -> None:
    diff = con.execute("""
        WITH h AS (SELECT entity_id AS user_id, list_sort(list(tag)) AS tags FROM tag_history
                   WHERE entity_type = 'user' AND snapshot_date = DATE '2026-09-30'
                     AND tag_group <> 'rfm_segment' GROUP BY 1)
        SELECT count(*) FROM user_profile p FULL JOIN h USING (user_id)
        WHERE list_sort(p.tags) IS DISTINCT FROM h.tags""").fetchone()[0]
    assert diff == 0
    mdiff = con.execute("""
        WITH h AS (SELECT entity_id AS merchant_id, list_sort(list(tag)) AS tags FROM tag_history
                   WHERE entity_type = 'merchant' AND snapshot_date = DATE '2026-09-30' GROUP BY 1)
        SELECT count(*) FROM merchant_profile p JOIN h USING (merchant_id)
        WHERE list_sort(p.tags) <> h.tags""").fetchone()[0]
    assert mdiff == 0


def test_transition_query_matches_raw_orders(con) -> None:
    moved = con.execute("""
        SELECT count(*) FROM tag_history a JOIN tag_history b USING (entity_type, entity_id)
        WHERE a.entity_type = 'user' AND a.snapshot_date = DATE '2026-07-31' AND a.tag = '活跃'
          AND b.snapshot_date = DATE '2026-08-31' AND b.tag = '沉默'""").fetchone()[0]
    july = LIFECYCLE_AT.replace("$d", "DATE '2026-07-31'")
    august = LIFECYCLE_AT.replace("$d", "DATE '2026-08-31'")
    direct = con.execute(f"""
        SELECT count(*) FROM ({july}) j JOIN ({august}) a USING (user_id)
        WHERE j.stage = '活跃' AND a.stage = '沉默'""").fetchone()[0]
    assert moved == direct > 0
