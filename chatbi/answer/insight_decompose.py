"""Decompose a metric's change between two periods over the segments of one dimension.

Pure functions over small frames (no SQL), so every identity can be checked by hand.

**Additive metrics** (sums and counts; GMV, orders…): a segment's contribution is its own
change, ``contribution_i = v_i,cur − v_i,base``; ``share_of_change = contribution_i / ΔV``.

**Ratio metrics** ``R = Σ n_i / Σ d_i = Σ w_i·r_i`` with weights ``w_i = d_i / Σ d`` (conversion
rate, return rate, average order value…) use the two-factor shift-share (Kitagawa)
decomposition, base-period weights for the rate effect and current rates for the mix effect::

    rate_effect_i = w_i,base · (r_i,cur − r_i,base)
    mix_effect_i  = (w_i,cur − w_i,base) · (r_i,cur − R*_base)
    contribution_i = rate_effect_i + mix_effect_i

Summed over segments: ``Σ rate + Σ mix = Σ w_cur·r_cur − Σ w_base·r_base = R*_cur − R*_base``
exactly. Centring the mix term on the base rate ``R*_base`` changes no total (``Σ (w_cur −
w_base) = 0``); it only attributes the mix effect sensibly per segment: a segment that gains
weight pulls the metric down when its rate is below the base rate, and a segment that gains
weight at the average rate explains nothing.

``R*`` is the pooled rate over the segments. When every row of the warehouse falls in exactly
one segment, ``R* = R``. When segments overlap (a user active in two channels) or some were
cut off (truncated results), the parts do not add up to the true change; the difference is
returned as one ``residual`` row, so that **the contributions of a dimension always add up to
the total change**.

``excess`` is the part of a contribution beyond what the segment would have contributed had it
moved exactly like the total: ``contribution_i − b_i·ΔV`` with ``b_i`` its base share
(``base_i / V_base`` for additive metrics, ``w_i,base`` for ratios). A change spread evenly over
all segments has no excess anywhere; a segment that alone moved has an excess close to its
contribution. It measures how much a dimension *explains*, beyond the size of its segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

DecompositionKind = Literal["additive", "ratio"]
COLUMNS = (
    "segment", "base", "current", "change", "weight_base", "weight_current",
    "rate_effect", "mix_effect", "contribution", "share_of_change", "excess", "kind",
)


@dataclass(frozen=True)
class Totals:
    """The metric over everything in scope, in the base and the current period."""

    base: float
    current: float

    @property
    def change(self) -> float:
        return self.current - self.base


def _num(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


def _tolerance(totals: Totals) -> float:
    return 1e-9 * max(1.0, abs(totals.base), abs(totals.current))


def _finish(out: pd.DataFrame, totals: Totals, residual_label: str, base_share: np.ndarray) -> pd.DataFrame:
    out["excess"] = out["contribution"] - base_share * totals.change
    explained = float(np.nansum(out["contribution"].to_numpy(dtype=float)))
    residual = totals.change - explained
    if abs(residual) > _tolerance(totals):
        row: dict[str, object] = {c: np.nan for c in COLUMNS}
        row.update(segment=residual_label, contribution=residual, kind="residual")
        out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
    change = totals.change
    out["share_of_change"] = (out["contribution"] / change) if change != 0 else np.nan
    return out.loc[:, list(COLUMNS)]


def decompose_additive(segments: pd.DataFrame, totals: Totals, *,
                       residual_label: str = "其他/重叠") -> pd.DataFrame:
    """Contribution of each segment to the change of an additive metric.

    ``segments`` has columns ``segment``, ``base``, ``current`` (a missing value is 0: the
    segment had no rows in that period).
    """
    base = np.nan_to_num(_num(segments["base"]))
    current = np.nan_to_num(_num(segments["current"]))
    out = pd.DataFrame({
        "segment": segments["segment"].to_numpy(),
        "base": base,
        "current": current,
        "change": current - base,
        "weight_base": np.nan,
        "weight_current": np.nan,
        "rate_effect": np.nan,
        "mix_effect": np.nan,
        "contribution": current - base,
        "share_of_change": np.nan,
        "kind": "segment",
    })
    share = base / totals.base if totals.base else np.zeros_like(base)
    return _finish(out, totals, residual_label, share)


def decompose_ratio(segments: pd.DataFrame, totals: Totals, *,
                    residual_label: str = "其他/重叠") -> pd.DataFrame:
    """Rate and mix effects of each segment on the change of a ratio metric.

    ``segments`` has columns ``segment``, ``base``, ``current`` (the segment's rate) and
    ``weight_base``, ``weight_current`` (its denominator: users, orders… not yet normalised).
    A segment absent from a period has weight 0 there; its rate is then irrelevant and is
    taken from the other period, so it contributes a pure mix effect.
    """
    d0 = np.nan_to_num(_num(segments["weight_base"]))
    d1 = np.nan_to_num(_num(segments["weight_current"]))
    r0 = _num(segments["base"])
    r1 = _num(segments["current"])
    r0 = np.where((d0 <= 0) | np.isnan(r0), r1, r0)
    r1 = np.where((d1 <= 0) | np.isnan(r1), r0, r1)
    r0 = np.nan_to_num(r0)
    r1 = np.nan_to_num(r1)
    w0 = d0 / d0.sum() if d0.sum() > 0 else np.zeros_like(d0)
    w1 = d1 / d1.sum() if d1.sum() > 0 else np.zeros_like(d1)
    pooled_base = float((w0 * r0).sum())
    rate = w0 * (r1 - r0)
    mix = (w1 - w0) * (r1 - pooled_base)
    out = pd.DataFrame({
        "segment": segments["segment"].to_numpy(),
        "base": np.where(d0 > 0, r0, np.nan),
        "current": np.where(d1 > 0, r1, np.nan),
        "change": np.where((d0 > 0) & (d1 > 0), r1 - r0, np.nan),
        "weight_base": w0,
        "weight_current": w1,
        "rate_effect": rate,
        "mix_effect": mix,
        "contribution": rate + mix,
        "share_of_change": np.nan,
        "kind": "segment",
    })
    return _finish(out, totals, residual_label, w0)


def decompose(kind: DecompositionKind, segments: pd.DataFrame, totals: Totals, *,
              residual_label: str = "其他/重叠") -> pd.DataFrame:
    """``decompose_additive`` or ``decompose_ratio``."""
    if kind == "ratio":
        return decompose_ratio(segments, totals, residual_label=residual_label)
    return decompose_additive(segments, totals, residual_label=residual_label)


def overlap(segments: pd.DataFrame, column: str, total: float) -> float:
    """Σ segment values ÷ total: 1 when the segments partition the total, > 1 when they overlap."""
    if total is None or not math.isfinite(total) or total <= 0:
        return 1.0
    return float(np.nansum(_num(segments[column]))) / float(total)
