"""The demo's time axis: the 36-month window, periods, and daily demand with seasonality.

Days are int64 day numbers since 1970-01-01 and timestamps are int64 seconds, so all of the
generator's date arithmetic stays in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from chatbi.warehouse.demo_reference import MONTH_WEIGHTS, SPRING_FESTIVAL, WEEKDAY_WEIGHTS
from chatbi.warehouse.demo_sampling import DAY

EPOCH = date(1970, 1, 1)
WINDOW_MONTHS = 36
YEARLY_GROWTH = 1.27  # orders grow ~27% a year


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def add_months(d: date, months: int) -> date:
    """First day of the month ``months`` after the month of ``d``."""
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def window_start(end: date) -> date:
    """First day of the month 35 months before ``end``'s month (36 months in all)."""
    return add_months(end, -(WINDOW_MONTHS - 1))


@dataclass(frozen=True)
class Period:
    """A half-open range of days ``[start, end)`` as day numbers."""

    start: int
    end: int

    @property
    def start_s(self) -> int:
        return self.start * DAY

    @property
    def end_s(self) -> int:
        return self.end * DAY

    def label(self) -> str:
        return f"{from_day_number(self.start)}..{from_day_number(self.end - 1)}"


@dataclass(frozen=True)
class Timeline:
    """The window covered by the demo and its calendar periods."""

    start: date
    end: date  # inclusive

    @classmethod
    def ending(cls, end: date) -> Timeline:
        return cls(window_start(end), end)

    @property
    def first_day(self) -> int:
        return day_number(self.start)

    @property
    def stop_day(self) -> int:
        """Exclusive end as a day number."""
        return day_number(self.end) + 1

    @property
    def start_s(self) -> int:
        return self.first_day * DAY

    @property
    def stop_s(self) -> int:
        return self.stop_day * DAY

    @property
    def days(self) -> np.ndarray:
        return np.arange(self.first_day, self.stop_day, dtype=np.int64)

    def fraction(self, seconds: np.ndarray) -> np.ndarray:
        """Position in the window, 0 at the start and 1 at the end."""
        return (np.asarray(seconds, dtype=np.float64) - self.start_s) / (self.stop_s - self.start_s)

    def months(self) -> list[Period]:
        out: list[Period] = []
        m = self.start
        while m <= self.end:
            nxt = add_months(m, 1)
            out.append(Period(day_number(m), min(day_number(nxt), self.stop_day)))
            m = nxt
        return out

    def quarters(self) -> list[Period]:
        """Calendar quarters clipped to the window (the first may be partial)."""
        out: list[Period] = []
        q = quarter_start(self.start)
        while q <= self.end:
            nxt = add_months(q, 3)
            out.append(Period(max(day_number(q), self.first_day), min(day_number(nxt), self.stop_day)))
            q = nxt
        return out


def _holiday_factor(days: np.ndarray, strength: float) -> np.ndarray:
    """Shopping festivals (618, 双11, 双12, 520) and the Spring Festival slowdown."""
    dates = days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (dates.astype("datetime64[M]").astype(np.int64) % 12) + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    f = np.ones(len(days))

    def boost(m: int, d0: int, d1: int, factor: float) -> None:
        sel = (month == m) & (dom >= d0) & (dom <= d1)
        f[sel] *= 1.0 + (factor - 1.0) * strength

    boost(6, 1, 15, 1.25)
    boost(6, 16, 17, 1.7)
    boost(6, 18, 18, 2.6)
    boost(6, 19, 20, 1.1)
    boost(10, 24, 31, 1.1)
    boost(11, 1, 10, 1.55)
    boost(11, 11, 11, 3.5)
    boost(11, 12, 13, 1.15)
    boost(12, 10, 11, 1.15)
    boost(12, 12, 12, 1.8)
    boost(12, 13, 13, 1.15)
    boost(5, 20, 20, 1.3)
    boost(10, 1, 7, 0.92)
    # Spring Festival: gift buying before, logistics stop around the day itself.
    sf = np.array([day_number(SPRING_FESTIVAL.get(int(y), date(int(y), 2, 1))) for y in range(1969, 2101)])
    offset_this = days - sf[years - 1969]
    offset_next = days - sf[np.minimum(years - 1969 + 1, len(sf) - 1)]
    off = np.where(np.abs(offset_this) <= np.abs(offset_next), offset_this, offset_next)
    pre = (off >= -25) & (off <= -8)
    dip = (off >= -7) & (off <= 6)
    deep = (off >= -2) & (off <= 3)
    f[pre] *= 1.0 + 0.08 * strength
    f[dip] *= 1.0 - 0.5 * strength
    f[deep] *= 1.0 - 0.3 * strength
    return f


def demand(days: np.ndarray, timeline: Timeline, *, growth: float = YEARLY_GROWTH,
           holiday_strength: float = 1.0) -> np.ndarray:
    """Relative daily demand: yearly growth × month × weekday × festivals."""
    years = (days - timeline.first_day) / 365.25
    dates = days.astype("datetime64[D]")
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    w = growth ** years
    w = w * np.asarray(MONTH_WEIGHTS)[month] * np.asarray(WEEKDAY_WEIGHTS)[weekday]
    return w * _holiday_factor(days, holiday_strength)
