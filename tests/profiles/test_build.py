"""build_profiles: atomic swap, progress, as-of date, report and build info."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from chatbi.profiles import PROFILE_TABLES, build_profiles
from chatbi.profiles.build import STEPS


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Boom(RuntimeError):
    pass


def test_failure_midway_keeps_the_old_file(raw_copy: Path) -> None:
    before = _digest(raw_copy)
    seen: list[str] = []

    def progress(label: str, fraction: float) -> None:
        seen.append(label)
        if label.startswith("商户画像"):     # profiles for users are done by now
            raise Boom("stop")

    with pytest.raises(Boom):
        build_profiles(raw_copy, progress=progress)
    assert _digest(raw_copy) == before
    assert any(label.startswith("用户画像") for label in seen)
    assert [p.name for p in raw_copy.parent.iterdir()] == [raw_copy.name]   # no temp left
    with duckdb.connect(str(raw_copy), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
    assert not tables & set(PROFILE_TABLES)


def test_progress_is_monotonic_and_reaches_one(raw_copy: Path) -> None:
    fractions: list[float] = []
    report = build_profiles(raw_copy, progress=lambda _label, f: fractions.append(f))
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and abs(fractions[-1] - 1.0) < 1e-9
    assert set(report.step_seconds) == {key for key, _, _ in STEPS}
    # a rebuild on an already built file gives the same tables
    again = build_profiles(raw_copy)
    assert again.row_counts == report.row_counts


def test_report_and_build_info(built) -> None:
    path, report = built
    lines = report.summary_lines()
    assert any("AUC" in line for line in lines) and any("CLV" in line for line in lines)
    assert report.row_counts["user_profile"] > 0 and report.alert_count == report.row_counts["alerts"]
    payload = json.loads(report.to_json())
    assert payload["as_of"] == report.as_of.isoformat()
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT as_of, churn_auc, baseline_auc, alert_count, sentiment_method, "
                          "built_at FROM profile_build_info").fetchall()
    assert len(row) == 1
    as_of, auc, base, alerts, method, built_at = row[0]
    assert (as_of, auc, base, alerts, method) == (report.as_of, report.churn.auc,
                                                  report.churn.baseline_auc, report.alert_count,
                                                  report.sentiment_method)
    assert built_at is not None


def test_explicit_as_of_ignores_later_orders(raw_copy: Path) -> None:
    as_of = date(2026, 6, 30)
    report = build_profiles(raw_copy, as_of=as_of)
    assert report.as_of == as_of
    with duckdb.connect(str(raw_copy), read_only=True) as con:
        later = con.execute("SELECT max(last_order_date), max(profile_date), count(*) "
                            "FROM user_profile").fetchone()
        signed = con.execute("SELECT count(*) FROM users WHERE signup_date <= ?",
                             [as_of]).fetchone()[0]
        snaps = con.execute("SELECT max(snapshot_date) FROM tag_history").fetchone()[0]
    assert later[0] <= as_of and later[1] == as_of
    assert later[2] == signed          # users who signed up after the as-of date do not exist yet
    assert snaps == as_of


def test_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    from chatbi.errors import WarehouseError

    with pytest.raises(WarehouseError) as info:
        build_profiles(tmp_path / "nope.duckdb")
    assert info.value.code == "warehouse_missing"


@pytest.mark.parametrize("overlap_max_rows", [0, 10**12])
def test_recommender_runs_alone_or_beside_the_other_steps(raw_copy: Path, monkeypatch,
                                                           overlap_max_rows: int) -> None:
    """Above OVERLAP_MAX_ROWS the recommender runs last in the main thread; either way its
    tables land with the profiles."""
    from chatbi.profiles import build as build_module
    from chatbi.profiles import recommender

    monkeypatch.setattr(build_module, "OVERLAP_MAX_ROWS", overlap_max_rows)
    threads: list[str] = []
    original = recommender.create_recommendations

    def spy(con, as_of, info=None):
        import threading
        threads.append(threading.current_thread().name)
        return original(con, as_of, info)

    monkeypatch.setattr(recommender, "create_recommendations", spy)
    report = build_profiles(raw_copy)
    assert threads == (["MainThread"] if overlap_max_rows == 0 else ["recommender"])
    assert report.extra_row_counts["user_next_merchant"] > 0
    assert report.step_seconds["recommender"] > 0
    with duckdb.connect(str(raw_copy), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM merchant_links").fetchone()[0] > 0
