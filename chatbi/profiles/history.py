"""``tag_history``: user and merchant tags at each of the last 12 month ends.

All snapshots come from the same set-based state tables as the profile (``_us``, ``_ms``),
computed for every month end at once. ``tag_group`` says what kind of tag a row is:
lifecycle_stage, value_tier, rfm_segment, behavior (user tags) or merchant_tag.
Example — users who moved from 活跃 to 沉默 last month::

    SELECT count(*) FROM tag_history a JOIN tag_history b USING (entity_type, entity_id)
    WHERE a.entity_type = 'user' AND a.snapshot_date = DATE '2026-07-31' AND a.tag = '活跃'
      AND b.snapshot_date = DATE '2026-08-31' AND b.tag = '沉默'
"""

from __future__ import annotations

import duckdb


def create_tag_history(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``tag_history`` table from ``_us`` and ``_ms`` (snapshot cut-offs only)."""
    snap = "cutoff IN (SELECT cutoff FROM _cutoffs WHERE is_snapshot)"
    con.execute(f"""
    CREATE OR REPLACE TABLE tag_history AS
    WITH u AS (SELECT * FROM _us WHERE {snap}),
         m AS (SELECT * FROM _ms WHERE {snap})
    SELECT snapshot_date, entity_type, entity_id, tag, tag_group FROM (
        SELECT cutoff AS snapshot_date, 'user' AS entity_type, user_id AS entity_id,
               lifecycle_stage AS tag, 'lifecycle_stage' AS tag_group FROM u
        UNION ALL
        SELECT cutoff, 'user', user_id, value_tier, 'value_tier' FROM u
        UNION ALL
        SELECT cutoff, 'user', user_id, rfm_segment, 'rfm_segment' FROM u
        WHERE rfm_segment IS NOT NULL
        UNION ALL
        SELECT cutoff, 'user', user_id, unnest(behavior_tags), 'behavior' FROM u
        UNION ALL
        SELECT cutoff, 'merchant', merchant_id, unnest(tags), 'merchant_tag' FROM m
    )
    """)
