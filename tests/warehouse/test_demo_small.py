"""Story 2 (华南 new-user conversion drop via 抖音) needs the small scale: ~15 s to build."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from chatbi.warehouse.demo import DemoSummary, generate_demo

pytestmark = pytest.mark.slow

# New users of a quarter (signup_date in it) and whether they had a purchase event in it,
# among those with any event in it: the contract's conversion_rate restricted to new users.
NEW_USER_CONVERSION = """
WITH quarters(q, q_start, q_end) AS (VALUES ('previous', DATE '2026-01-01', DATE '2026-04-01'),
                                            ('last', DATE '2026-04-01', DATE '2026-07-01')),
new_users AS (
    SELECT u.user_id, u.region, u.signup_channel, q.q, q.q_start, q.q_end
    FROM users u JOIN quarters q ON u.signup_date >= q.q_start AND u.signup_date < q.q_end
),
active AS (
    SELECT n.user_id, n.region, n.signup_channel, n.q, max((e.event_type = 'purchase')::INT) AS bought
    FROM new_users n JOIN events e ON e.user_id = n.user_id AND e.event_ts >= n.q_start AND e.event_ts < n.q_end
    GROUP BY ALL
)
SELECT region, q, count(*) AS users, avg(bought) AS conversion,
       avg(bought) FILTER (WHERE signup_channel <> '抖音') AS conversion_without_douyin,
       avg((signup_channel = '抖音')::INT) AS douyin_share
FROM active GROUP BY 1, 2
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return generate_demo(tmp_path_factory.mktemp("small") / "small.duckdb", scale="small", seed=7)


@pytest.fixture()
def con(small: DemoSummary) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(small.path), read_only=True)
    yield connection
    connection.close()


def test_small_scale_sizes_and_speed(small: DemoSummary) -> None:
    counts = small.row_counts
    assert counts["orders"] == 200_000
    assert 18_000 <= counts["users"] <= 23_000 and counts["merchants"] == 500
    assert 1_600_000 <= counts["events"] <= 2_400_000
    assert small.elapsed_seconds < 60


def test_story2_south_china_new_user_conversion_drops_because_of_douyin(con) -> None:
    result = {(r[0], r[1]): r[2:] for r in con.execute(NEW_USER_CONVERSION).fetchall()}
    users_prev, conv_prev, clean_prev, dy_prev = result[("华南", "previous")]
    users_last, conv_last, clean_last, dy_last = result[("华南", "last")]
    assert users_prev >= 150 and users_last > 1.4 * users_prev
    assert conv_last < 0.8 * conv_prev  # the drop
    assert clean_last > 0.8 * clean_prev  # without 抖音 sign-ups: no real drop
    assert dy_last > dy_prev + 0.2  # the new traffic is 抖音
    douyin_last = con.execute("""
        SELECT avg(bought) FROM (
            SELECT u.user_id, max((e.event_type = 'purchase')::INT) AS bought
            FROM users u JOIN events e USING (user_id)
            WHERE u.region = '华南' AND u.signup_channel = '抖音'
              AND u.signup_date >= DATE '2026-04-01' AND u.signup_date < DATE '2026-07-01'
              AND e.event_ts >= TIMESTAMP '2026-04-01' AND e.event_ts < TIMESTAMP '2026-07-01'
            GROUP BY 1)""").fetchall()[0][0]
    assert douyin_last < 0.5 * clean_last  # they view but rarely buy
    # no other sizeable region drops like that
    ratios = {region: result[(region, "last")][1] / result[(region, "previous")][1]
              for region, q in result if q == "previous" and result[(region, q)][0] >= 150}
    assert len(ratios) >= 4 and min(ratios, key=ratios.get) == "华南", ratios


def test_stories_hold_at_small_scale_too(con) -> None:
    from tests.warehouse.test_demo_stories import CATEGORY_GROWTH

    growth = {r[0]: float(r[3]) for r in con.execute(
        CATEGORY_GROWTH, ["华东", "2026-01-01", "2026-04-01", "2026-04-01", "2026-07-01"]).fetchall()}
    assert max(growth, key=growth.get) == "中古包" and 0.35 <= growth["中古包"] <= 0.40
    assert -0.08 <= growth["家居"] <= -0.01
    n = dict(con.execute("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall())
    assert 0.08 <= n["add_to_cart"] / n["view"] <= 0.12
    assert 0.25 <= n["purchase"] / n["add_to_cart"] <= 0.35
