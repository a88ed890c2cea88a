"""KOLs: followers' purchasing power and the planted 家居 KOL → 设计师联名 story."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def follower_lines(raw):
    """Independent: items of valid orders with allocated GMV, and KOL follows."""
    lines = raw.execute("""
        SELECT o.order_id, o.user_id, p.style, p.category,
               o.pay_amount * i.price * i.quantity / sum(i.price * i.quantity) OVER (PARTITION BY o.order_id) AS gmv
        FROM orders o JOIN order_items i ON i.order_id = o.order_id JOIN products p ON p.product_id = i.product_id
        WHERE o.status <> 'cancelled' AND o.order_ts < DATE '2026-10-01'""").df()
    follows = raw.execute("SELECT DISTINCT f.user_id, f.target_id AS kol_id, k.domain FROM follows f "
                          "JOIN kols k ON k.kol_id = f.target_id WHERE f.target_type = 'kol'").df()
    return lines, follows


def test_home_kol_followers_prefer_designer_collabs(ask, follower_lines):
    result = ask("关注家居博主的用户偏好什么风格？")
    assert result.kind == "kol_preferences"
    frame = result.frame.set_index("style")
    lines, follows = follower_lines
    fans = set(follows.loc[follows["domain"] == "家居", "user_id"])
    mine = lines[lines["user_id"].isin(fans)]
    others = lines[~lines["user_id"].isin(fans)]
    share = (mine["style"] == "设计师联名").mean()
    other_share = (others["style"] == "设计师联名").mean()
    assert frame.loc["设计师联名", "follower_items"] == (mine["style"] == "设计师联名").sum()
    assert frame.loc["设计师联名", "follower_share"] == pytest.approx(share)
    assert frame.loc["设计师联名", "other_share"] == pytest.approx(other_share)
    # the planted story: ≈35–48% vs ≈9%
    assert 0.3 < share < 0.55 and other_share < 0.15
    assert frame["lift"].idxmax() == "设计师联名"
    assert "设计师联名" in result.finding and result.check.ok


def test_kol_ranking_follower_gmv(ask, follower_lines):
    result = ask("哪些KOL的粉丝买得最多？")
    assert result.kind == "kol_ranking"
    lines, follows = follower_lines
    per_kol = follows.merge(lines, on="user_id").groupby("kol_id")["gmv"].sum().sort_values(ascending=False)
    frame = result.frame
    assert int(frame["kol_id"].iloc[0]) == int(per_kol.index[0])
    assert frame["follower_gmv"].iloc[0] == pytest.approx(per_kol.iloc[0])
    assert str(frame["kol_name"].iloc[0]) in result.finding and result.check.ok


def test_home_kols_signature_style_is_designer(ask):
    result = ask("家居博主中哪个KOL的粉丝购买力最强？")
    frame = result.frame
    assert len(frame) >= 3 and (frame["kol_domain"] == "家居").all()
    styles = frame["signature_style"].dropna()
    assert (styles == "设计师联名").mean() >= 0.75
    assert frame["gmv_per_follower"].is_monotonic_decreasing


def test_designer_buyers_follow_home_kols(ask):
    result = ask("设计师联名款的买家关注了哪些KOL？")
    assert result.kind == "kol_for_item"
    frame = result.frame
    best = frame.loc[frame["lift"].idxmax()]
    assert best.kol_domain == "家居" and best.lift > 1.3
    assert result.check.ok
