"""Behaviour journeys: funnel, drop-off, exits and paths equal independent computations."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

AUG = (date(2026, 8, 1), date(2026, 8, 31))
LABELS = {"view": "浏览", "favorite": "收藏", "add_to_cart": "加购", "purchase": "购买", "search": "搜索"}


@pytest.fixture(scope="module")
def august(raw) -> pd.DataFrame:
    return raw.execute(
        "SELECT event_id, user_id, session_id, event_ts, event_type, channel FROM events "
        "WHERE event_ts >= DATE '2026-08-01' AND event_ts < DATE '2026-09-01' "
        "ORDER BY event_ts, event_id").df()


def ordered_funnel(events: pd.DataFrame, steps: tuple[str, ...]) -> list[int]:
    """Independent: per user, the earliest time of each step at or after the previous one."""
    counts = [0] * len(steps)
    for _, group in events.groupby("user_id"):
        last_time = None
        for k, step in enumerate(steps):
            times = group.loc[group["event_type"] == step, "event_ts"]
            if last_time is not None:
                times = times[times >= last_time]
            if times.empty:
                break
            last_time = times.min()
            counts[k] += 1
    return counts


@pytest.fixture(scope="module")
def default_counts(august) -> list[int]:
    return ordered_funnel(august, ("view", "add_to_cart", "purchase"))


def test_funnel_counts_equal_independent(ask, default_counts):
    result = ask("上个月从浏览到购买的转化漏斗")
    assert result.kind == "funnel"
    frame = result.frame
    assert frame["step"].tolist() == ["view", "add_to_cart", "purchase"]
    expected = default_counts
    assert frame["users"].tolist() == expected
    assert frame["overall_conversion"].iloc[-1] == pytest.approx(expected[-1] / expected[0])
    assert frame["lost_users"].iloc[1] == expected[0] - expected[1]
    assert result.check.ok
    assert "2026-08-01" in result.finding and f"{expected[0]:,}" in result.finding
    assert result.chart is not None


def test_funnel_with_favourite_step(ask, august):
    result = ask("上个月 浏览→收藏→加购→购买 的完整漏斗")
    assert result.frame["step"].tolist() == ["view", "favorite", "add_to_cart", "purchase"]
    assert result.frame["users"].tolist() == ordered_funnel(
        august, ("view", "favorite", "add_to_cart", "purchase"))
    assert result.frame["users"].is_monotonic_decreasing


def test_funnel_by_channel(ask, august):
    result = ask("按渠道看上个月的转化漏斗")
    frame = result.frame
    assert result.kind == "funnel" and "channel" in frame.columns
    for channel in ("抖音", "微信"):
        sub = august[august["channel"] == channel]
        got = frame[frame["channel"] == channel].sort_values("step_no")["users"].tolist()
        assert got == ordered_funnel(sub, ("view", "add_to_cart", "purchase"))
    assert result.check.ok


def test_dropoff_names_the_biggest_loss(ask, default_counts):
    result = ask("上个月用户在哪一步流失最多？")
    assert result.kind == "dropoff"
    counts = default_counts
    losses = [counts[i - 1] - counts[i] for i in range(1, len(counts))]
    assert f"{max(losses):,}" in result.finding
    assert result.check.ok


def collapsed_paths(events: pd.DataFrame, before_purchase: bool) -> pd.Series:
    paths = []
    for _, group in events.sort_values(["event_ts", "event_id"]).groupby("session_id"):
        types = group["event_type"].tolist()
        if before_purchase:
            if "purchase" not in types:
                continue
            types = types[:types.index("purchase") + 1]
        collapsed = [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]
        paths.append(" > ".join(LABELS[t] for t in collapsed))
    return pd.Series(paths).value_counts()


def test_paths_before_purchase_equal_independent(ask, august):
    result = ask("上个月购买前最常见的行为路径")
    assert result.kind == "paths"
    expected = collapsed_paths(august, before_purchase=True)
    frame = result.frame
    assert frame["path"].iloc[0] == expected.index[0]
    assert frame["sessions"].iloc[0] == expected.iloc[0]
    assert frame["total_sessions"].iloc[0] == expected.sum()
    assert result.check.ok


def test_common_paths_all_sessions(ask, august):
    result = ask("上个月最常见的会话路径有哪些")
    expected = collapsed_paths(august, before_purchase=False)
    got = dict(zip(result.frame["path"], result.frame["sessions"], strict=True))
    for path, n in expected.head(5).items():
        assert got[path] == n


def test_exits_cover_every_session_without_purchase(ask, august):
    result = ask("上个月没有购买的用户在哪一步离开？")
    assert result.kind == "exits"
    no_buy = august.groupby("session_id").filter(lambda g: (g["event_type"] != "purchase").all())
    last = no_buy.sort_values(["event_ts", "event_id"]).groupby("session_id")["event_type"].last()
    assert result.frame["sessions"].sum() == len(last)
    top = result.frame.iloc[0]
    assert top.sessions == last.value_counts().iloc[0]
    assert result.check.ok


def test_merchant_funnel_is_limited_to_its_events(ask, raw):
    result = ask("上个月从浏览到购买的转化漏斗", role="merchant:2")
    views = raw.execute("SELECT count(DISTINCT user_id) FROM events WHERE merchant_id = 2 "
                        "AND event_type = 'view' AND event_ts >= DATE '2026-08-01' "
                        "AND event_ts < DATE '2026-09-01'").fetchone()[0]
    assert result.frame["users"].iloc[0] == views
    assert "merchant_id = 2" in result.sql.replace('"', "")


def test_dwell_by_category(ask, raw):
    result = ask("上个月各品类浏览停留时长的中位数")
    assert result.kind == "dwell"
    expected = raw.execute("""
        SELECT category, median(dwell_seconds) FROM events WHERE event_type = 'view'
          AND event_ts >= DATE '2026-08-01' AND event_ts < DATE '2026-09-01'
          AND dwell_seconds IS NOT NULL GROUP BY 1""").fetchall()
    got = dict(zip(result.frame["category"], result.frame["median_dwell_seconds"], strict=True))
    for category, median in expected:
        assert got[category] == pytest.approx(median)
    assert result.check.ok


def test_funnel_png(ask, tmp_path: Path):
    from chatbi.answer.charts import chart_png

    result = ask("上个月从浏览到购买的转化漏斗")
    assert chart_png(result.chart, tmp_path / "funnel.png").stat().st_size > 5_000
