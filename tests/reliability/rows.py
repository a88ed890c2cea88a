"""Comparing answer rows: numbers within floating-point noise, everything else exactly."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def same_rows(got: Sequence[Sequence[Any]], want: Sequence[Sequence[Any]]) -> bool:
    """True when both tables have the same cells (floats compared with a relative 1e-9)."""
    if len(got) != len(want):
        return False
    for g_row, w_row in zip(got, want, strict=True):
        if len(g_row) != len(w_row):
            return False
        for g, w in zip(g_row, w_row, strict=True):
            numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (g, w))
            if numbers and (isinstance(g, float) or isinstance(w, float)):
                if not math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-6):
                    return False
            elif g != w:
                return False
    return True
