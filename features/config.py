"""Tunable constants of the feature definitions, in one frozen object.

Every number that changes a feature's value lives here, so that the registry can
fingerprint a feature set's definition (``FeatureParams.as_dict`` goes into the
definition hash and into every publication row) and a job can override one value
(``--ew-half-life-days``) without touching code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta

# Window lengths in days, and the suffixes their columns carry. "all" = since the first event.
WINDOW_DAYS: dict[str, int] = {"1d": 1, "7d": 7, "28d": 28}
ALL_TIME = "all"
MAX_WINDOW_DAYS = max(WINDOW_DAYS.values())


@dataclass(frozen=True)
class FeatureParams:
    # Gold accuracy: Beta prior per queue with mean = the queue's pooled gold accuracy over the
    # same window and this many pseudo-observations; the lower bound is this posterior quantile.
    gold_prior_strength: float = 10.0
    credible_quantile: float = 0.05
    # Exponentially weighted gold accuracy: a day's weight halves every this many days.
    ew_half_life_days: float = 14.0
    # DDSketch relative accuracy of the active-seconds quantiles (1% -> every quantile is within
    # 1% of a sample value at the requested rank); values below min are counted as min.
    sketch_relative_accuracy: float = 0.01
    sketch_min_value: float = 0.1
    # Smoothed gold confusion: each true-label row gets this many pseudo-counts spread like the
    # queue's pooled confusion row (itself add-one smoothed).
    confusion_prior_strength: float = 2.0
    # Leave-one-out consensus needs at least this many other labels on the task.
    consensus_min_others: int = 1
    # Tasks: a task counts as completed when it has this many submitted labels; it leaves the
    # task table (retires) this long after its deadline, or this many days after creation.
    target_labels: int = 3
    task_retention_hours: float = 48.0
    task_max_age_days: int = 14
    # Roster: use the latest snapshot at most this many days old.
    roster_lookback_days: int = 7

    def with_overrides(self, **overrides) -> FeatureParams:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in sorted(asdict(self).items())}


DEFAULT_PARAMS = FeatureParams()


def feature_ts_of(as_of: date) -> datetime:
    """The event time of a feature row for ``as_of``: the end of that day (UTC midnight after).

    A row built from events of days <= as_of is valid for entity timestamps strictly after it."""
    return datetime.combine(as_of + timedelta(days=1), time(0, 0))
