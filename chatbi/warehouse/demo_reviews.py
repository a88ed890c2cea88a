"""Reviews of orders: ratings that follow the order's fate, text whose tone matches them.

Texts are composed in SQL from phrase fragments (an opener with the category's noun, an
ending, sometimes an emoji). A few reviews are odd on purpose: emoji only, English, and a
handful of prompt-injection-like strings that the product must show as data, never obey.
"""

from __future__ import annotations

import numpy as np

from chatbi.warehouse.demo_reference import (
    CATEGORY_NAMES,
    FRAGILE_CATEGORIES,
    LUXURY_CATEGORIES,
    REVIEW_COMPLAINT_END,
    REVIEW_COMPLAINTS,
    REVIEW_EMOJI,
    REVIEW_EMOJI_NEGATIVE,
    REVIEW_EMOJI_ONLY,
    REVIEW_GOOD,
    REVIEW_GOOD_END,
    REVIEW_INJECTIONS,
    REVIEW_MIXED,
    REVIEW_MIXED_END,
    REVIEW_ODD,
    REVIEW_POSITIVE,
    REVIEW_POSITIVE_END,
)
from chatbi.warehouse.demo_sampling import DAY, draw_rows

# Flattened phrase lists: openers and endings by tone (5★, 4★, 3★, then complaint topics).
_OPEN_GROUPS = [REVIEW_POSITIVE, REVIEW_GOOD, REVIEW_MIXED, *REVIEW_COMPLAINTS]
OPENERS = tuple(p for g in _OPEN_GROUPS for p in g)
_OPEN_COUNT = np.array([len(g) for g in _OPEN_GROUPS])
_OPEN_OFFSET = np.cumsum(_OPEN_COUNT) - _OPEN_COUNT
_END_GROUPS = [REVIEW_POSITIVE_END, REVIEW_GOOD_END, REVIEW_MIXED_END, REVIEW_COMPLAINT_END]
ENDINGS = tuple(p for g in _END_GROUPS for p in g)
_END_COUNT = np.array([len(g) for g in _END_GROUPS])
_END_OFFSET = np.cumsum(_END_COUNT) - _END_COUNT
EMOJIS = REVIEW_EMOJI + REVIEW_EMOJI_NEGATIVE
SPECIALS = REVIEW_INJECTIONS + REVIEW_EMOJI_ONLY + REVIEW_ODD
_N_INJ, _N_EMO = len(REVIEW_INJECTIONS), len(REVIEW_EMOJI_ONLY)

# rating distributions (1★..5★)
_HAPPY = np.array([0.02, 0.03, 0.08, 0.25, 0.62])
_UNHAPPY = np.array([0.35, 0.30, 0.20, 0.10, 0.05])
_RETURNED = np.array([0.30, 0.25, 0.25, 0.12, 0.08])
_DISPUTED = np.array([0.55, 0.30, 0.10, 0.03, 0.02])
# complaint topic mix (假货, 破损, 发货慢, 描述不符, 客服) by kind of category
_TOPICS_LUXURY = np.array([0.35, 0.08, 0.2, 0.27, 0.1])
_TOPICS_FRAGILE = np.array([0.08, 0.37, 0.2, 0.25, 0.1])
_TOPICS_OTHER = np.array([0.08, 0.15, 0.32, 0.3, 0.15])
_LUX = np.array([c in LUXURY_CATEGORIES for c in CATEGORY_NAMES])
_FRAG = np.array([c in FRAGILE_CATEGORIES for c in CATEGORY_NAMES])


def make_reviews(rng: np.random.Generator, *, status: np.ndarray, disputed: np.ndarray,
                 category: np.ndarray, quality: np.ndarray, order_s: np.ndarray, stop_s: int
                 ) -> dict[str, np.ndarray]:
    """Pick reviewed orders and compose their rating and text codes.

    ``status`` codes: 0 completed, 1 returned, 2 refunded, 3 cancelled. Returns the indices
    of reviewed orders (``order``) and per-review columns.
    """
    n = len(status)
    p = np.select([disputed & (status != 3), status == 0, (status == 1) | (status == 2)], [0.6, 0.35, 0.25], 0.0)
    ts = order_s + 2 * DAY + np.minimum(rng.exponential(5 * DAY, n), 30 * DAY).astype(np.int64)
    pick = np.flatnonzero((rng.random(n) < p) & (ts < stop_s))
    m = len(pick)
    bad = np.clip(0.06 * quality[pick], 0.0, 0.6)[:, None]
    probs = np.where(disputed[pick, None], _DISPUTED[None, :],
                     np.where((status[pick] == 0)[:, None], (1 - bad) * _HAPPY + bad * _UNHAPPY,
                              _RETURNED[None, :]))
    rating = draw_rows(rng, probs) + 1
    cat = category[pick]
    # tone group: 0 positive (5), 1 good (4), 2 mixed (3), 3.. complaint topics (1-2)
    topic_probs = np.where(_LUX[cat][:, None], _TOPICS_LUXURY, np.where(_FRAG[cat][:, None],
                           _TOPICS_FRAGILE, _TOPICS_OTHER))
    lux_dispute = disputed[pick] & _LUX[cat]
    topic_probs = np.where(lux_dispute[:, None], np.array([0.55, 0.05, 0.1, 0.25, 0.05]), topic_probs)
    topic = draw_rows(rng, topic_probs)
    group = np.select([rating == 5, rating == 4, rating == 3], [0, 1, 2], 3 + topic)
    opener = _OPEN_OFFSET[group] + (rng.random(m) * _OPEN_COUNT[group]).astype(np.int64)
    end_group = np.minimum(group, 3)
    ending = _END_OFFSET[end_group] + (rng.random(m) * _END_COUNT[end_group]).astype(np.int64)
    emoji = np.where(rng.random(m) < 0.07,
                     np.where(rating >= 4, rng.integers(0, len(REVIEW_EMOJI), m),
                              len(REVIEW_EMOJI) + rng.integers(0, len(REVIEW_EMOJI_NEGATIVE), m)), -1)
    emoji = np.where(rating == 3, -1, emoji)
    special = np.full(m, -1, dtype=np.int64)
    odd = rng.random(m)
    happy = rating >= 4
    special = np.where(happy & (odd < 0.01), _N_INJ + rng.integers(0, _N_EMO, m), special)
    special = np.where((odd >= 0.01) & (odd < 0.02), _N_INJ + _N_EMO + rng.integers(0, len(REVIEW_ODD), m),
                       special)
    # prompt-injection-like texts: a fixed small share, at least a few per chunk of reviews
    n_inj = max(1, int(round(0.0015 * m))) if m else 0
    if n_inj:
        inj = rng.choice(m, size=min(n_inj, m), replace=False)
        special[inj] = rng.integers(0, _N_INJ, len(inj))
    return {"order": pick, "review_s": ts[pick], "rating": rating.astype(np.int32), "opener": opener,
            "ending": ending, "emoji": emoji, "special": special, "noun": cat}
