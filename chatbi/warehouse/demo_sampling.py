"""Vectorised random helpers for the demo generator (numpy only, no per-row Python).

Every stream comes from ``rng_for(seed, *keys)``: the same seed and keys give the same
numbers, whatever else ran before, so chunks and stages are independent and reproducible.
Money is handled in integer cents so sums are exact and deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DAY = 86_400


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """A generator for one stage or chunk, derived from the seed and stable integer keys."""
    entropy = [int(seed) % (1 << 64), *(int(k) for k in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def cdf(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Normalised cumulative distribution of non-negative weights."""
    c = np.cumsum(np.asarray(weights, dtype=np.float64))
    return c / c[-1]


def draw(rng: np.random.Generator, weights: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with the given weights."""
    c = cdf(weights)
    return np.minimum(np.searchsorted(c, rng.random(n), side="right"), len(c) - 1)


def draw_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One index per row of a (n, k) weight matrix."""
    c = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * c[:, -1]
    return np.minimum((c <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


def mix_rows(start: Sequence[float], end: Sequence[float], frac: np.ndarray) -> np.ndarray:
    """Per-row mixtures that move linearly from ``start`` to ``end`` as ``frac`` goes 0 → 1."""
    a = np.asarray(start, dtype=np.float64)
    b = np.asarray(end, dtype=np.float64)
    f = np.clip(frac, 0.0, 1.0)[:, None]
    return a[None, :] * (1.0 - f) + b[None, :] * f


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer counts proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    raw = w / w.sum() * total
    counts = np.floor(raw).astype(np.int64)
    short = int(total - counts.sum())
    if short > 0:
        order = np.argsort(-(raw - counts), kind="stable")[:short]
        counts[order] += 1
    return counts


def prefix_draw(rng: np.random.Generator, cum_weights: np.ndarray, k: np.ndarray) -> np.ndarray:
    """For each ``k[i]`` draw an index in ``[0, k[i])`` weighted by the underlying weights.

    ``cum_weights`` is the cumulative sum of the weights of items sorted by availability
    (e.g. users by signup time), so "available at t" is a prefix of the array.
    """
    k = np.maximum(np.asarray(k, dtype=np.int64), 1)
    u = rng.random(len(k)) * cum_weights[k - 1]
    return np.minimum(np.searchsorted(cum_weights, u, side="right"), k - 1)


def range_draw(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform integer in ``[lo, hi)`` per row (``hi > lo`` assumed; else ``lo``)."""
    span = np.maximum(hi - lo, 1)
    return lo + np.minimum((rng.random(len(lo)) * span).astype(np.int64), span - 1)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows repeated ``counts`` times: (index of the parent row, position within it)."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(parent)) - np.repeat(starts, counts)
    return parent, pos


def exact_share(rng: np.random.Generator, mask: np.ndarray, share: float) -> np.ndarray:
    """Pick exactly ``round(share * mask.sum())`` of the rows where ``mask`` is true."""
    idx = np.flatnonzero(mask)
    k = int(round(share * len(idx)))
    chosen = np.zeros(len(mask), dtype=bool)
    if k > 0:
        chosen[rng.permutation(idx)[:k]] = True
    return chosen


def time_of_day(rng: np.random.Generator, n: int, hour_weights: Sequence[float]) -> np.ndarray:
    """Seconds after midnight following an hour-of-day profile."""
    hours = draw(rng, hour_weights, n)
    return hours * 3600 + rng.integers(0, 3600, n)


def nice_cents(yuan: np.ndarray) -> np.ndarray:
    """Round prices the way sellers do (¥12,800, ¥1,290, ¥268) and return cents."""
    y = np.asarray(yuan, dtype=np.float64)
    step = np.select([y >= 10_000, y >= 1_000, y >= 100], [100.0, 10.0, 1.0], default=1.0)
    rounded = np.maximum(np.round(y / step) * step, 1.0)
    return (rounded * 100).astype(np.int64)
