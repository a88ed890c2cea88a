"""The sparse-product pair counts give exactly the rows of the self-join SQL they replace."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pandas.testing as pdt

from chatbi.relations import cooccurrence, graph
from chatbi.relations.affinity import affinity_frame, affinity_sql
from tests.relations.conftest import AS_OF


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def test_merchant_links_frame_equals_sql(raw):
    keys = ["merchant_id", "link_rank"]
    fast = _sorted(graph.merchant_links_frame(raw, AS_OF), keys)
    slow = _sorted(raw.execute(graph.merchant_links_sql(AS_OF)).df(), keys)
    assert len(fast) > 100
    pdt.assert_frame_equal(fast, slow)


def test_merchant_links_frame_keeps_the_limit_and_tie_order(raw):
    fast = _sorted(graph.merchant_links_frame(raw, AS_OF, per_merchant=3), ["merchant_id", "link_rank"])
    slow = _sorted(raw.execute(graph.merchant_links_sql(AS_OF, per_merchant=3)).df(),
                   ["merchant_id", "link_rank"])
    assert fast["link_rank"].max() == 3
    pdt.assert_frame_equal(fast, slow)


def test_affinity_frame_equals_sql(raw):
    keys = ["antecedent_type", "antecedent", "consequent_type", "consequent"]
    fast = _sorted(affinity_frame(raw, AS_OF), keys)
    slow = _sorted(raw.execute(affinity_sql(AS_OF)).df(), keys)
    assert len(fast) > 20
    pdt.assert_frame_equal(fast, slow)


def test_pair_counts_on_a_small_hand_made_table():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (1, 'b'), (2, 'a'), (2, 'b'),"
                " (2, 'c'), (3, 'c'), (3, 'c'), (NULL, 'a')) v(user_id, item)")
    counts = cooccurrence.pair_counts(con, "SELECT * FROM t", ("item",))
    assert counts.items["item"].tolist() == ["a", "b", "c"]
    assert counts.users == 3 and counts.item_users.tolist() == [2, 2, 2]
    got = {(int(a), int(b)): int(n) for a, b, n in zip(counts.left, counts.right, counts.shared, strict=True)}
    assert got == {(0, 1): 2, (1, 0): 2, (0, 2): 1, (2, 0): 1, (1, 2): 1, (2, 1): 1}
    assert not np.any(counts.left == counts.right)


def test_pair_counts_of_no_rows():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (user_id BIGINT, item VARCHAR)")
    counts = cooccurrence.pair_counts(con, "SELECT * FROM t", ("item",))
    assert counts.users == 0 and len(counts.items) == 0 and len(counts.shared) == 0


def test_dense_codes_match_numpy_unique():
    from chatbi.relations.cooccurrence import dense_codes

    rng = np.random.default_rng(3)
    for ids in (rng.integers(0, 50, 200), rng.integers(-5, 5, 30), np.array([2**40, 7, 7, 2**40]),
                np.array([], dtype=np.int64)):
        ids = ids.astype(np.int64)
        distinct, inverse = dense_codes(ids)
        expected, expected_inverse = np.unique(ids, return_inverse=True)
        assert distinct.tolist() == expected.tolist()
        assert inverse.tolist() == expected_inverse.tolist()


def test_top_k_per_row_matches_a_full_sort():
    from chatbi.relations.recommend import top_k_per_row

    rng = np.random.default_rng(5)
    block = rng.integers(0, 6, size=(300, 40)).astype(np.float32)   # many ties
    for k in (1, 3, 10, 40):
        top, scores = top_k_per_row(block, k)
        expected = np.argsort(-block, axis=1, kind="stable")[:, :k]
        assert top.tolist() == expected.tolist()
        assert scores.tolist() == np.take_along_axis(block, expected, axis=1).tolist()


def test_strongest_pairs_in_blocks_equal_all_pairs_pruned():
    con = duckdb.connect()
    rng = np.random.default_rng(11)
    users, items = rng.integers(0, 300, 4000), rng.integers(0, 40, 4000)
    con.register("t", pd.DataFrame({"user_id": users, "item": items}))
    full = cooccurrence.pair_counts(con, "SELECT * FROM t", ("item",))
    for block in (1, 7, 64):
        top = cooccurrence.strongest_pairs(con, "SELECT * FROM t", ("item",), per_item=5, block=block)
        assert top.item_users.tolist() == full.item_users.tolist() and top.users == full.users
        for item in range(40):
            mine = full.left == item
            expected = sorted(zip((-full.shared[mine]).tolist(), full.right[mine].tolist(), strict=True))[:5]
            got = [(-int(s), int(r)) for s, r in zip(top.shared[top.left == item], top.right[top.left == item],
                                                     strict=True)]
            assert got == expected
