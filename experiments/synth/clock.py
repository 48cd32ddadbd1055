"""Time in the synthetic world: epoch milliseconds (UTC) everywhere, text only at export.

Integer milliseconds keep arithmetic exact and vectorized; :func:`iso_ms` is the one
place that decides how a timestamp looks in a file (``2026-01-05T13:45:12.123Z``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from experiments.synth.params import DAY_MS

EPOCH = date(1970, 1, 1)
NO_TIME = -1  # sentinel for "no timestamp" in int64 columns


@dataclass(frozen=True)
class Calendar:
    """The generated date range; day indices are relative to ``start``."""

    start: date
    days: int

    @property
    def start_ms(self) -> int:
        return (self.start - EPOCH).days * DAY_MS

    @property
    def end_ms(self) -> int:
        """The first millisecond after the last generated day."""
        return self.start_ms + self.days * DAY_MS

    def day_start_ms(self, day: int) -> int:
        return self.start_ms + day * DAY_MS

    def date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def weekday(self, day: int) -> int:
        return self.date(day).weekday()

    def day_of(self, ms: np.ndarray) -> np.ndarray:
        """Day index (relative to start) of each timestamp."""
        return (np.asarray(ms) - self.start_ms) // DAY_MS

    def compact(self, days: np.ndarray) -> np.ndarray:
        """YYYYMMDD strings for day indices (used inside ids)."""
        uniq, inverse = np.unique(np.asarray(days), return_inverse=True)
        if len(uniq) == 0:
            return np.array([], dtype=np.str_)
        d = (uniq + (self.start - EPOCH).days).astype("datetime64[D]")
        return np.strings.replace(np.datetime_as_string(d, unit="D").astype(np.str_), "-", "")[inverse]


def iso_ms(ms: np.ndarray) -> np.ndarray:
    """Epoch ms -> object array of ISO-8601 UTC strings with milliseconds and Z; None for NO_TIME."""
    ms = np.asarray(ms, dtype=np.int64)
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms", timezone="UTC").astype(object)
    text[ms == NO_TIME] = None
    return text


def next_in_shift(t: np.ndarray, shift_start_min: np.ndarray, shift_hours: np.ndarray,
                  workdays: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The first moment at or after ``t`` inside the labeler's shift on one of their workdays.

    A slot that has to wait for the next shift is picked up somewhere in its first
    70%, not all at the shift's first second.
    """
    t = np.asarray(t, dtype=np.int64)
    length = (shift_hours * 3_600_000).astype(np.int64)
    start_off = shift_start_min.astype(np.int64) * 60_000
    epoch_day = t // DAY_MS
    out = np.full(len(t), NO_TIME, dtype=np.int64)
    moved = np.zeros(len(t), dtype=bool)
    for k in range(-1, 9):  # yesterday's shift may still be running; a week covers every pattern
        d = epoch_day + k
        ws = d * DAY_MS + start_off
        we = ws + length
        works = workdays[np.arange(len(t)), (d + 3) % 7]  # 1970-01-01 was a Thursday
        hit = (out == NO_TIME) & works & (t < we)
        out[hit] = np.maximum(t[hit], ws[hit])
        moved[hit] = t[hit] < ws[hit]
    jitter = (rng.random(len(t)) * 0.7 * length).astype(np.int64)
    return np.where(moved, out + jitter, out)
