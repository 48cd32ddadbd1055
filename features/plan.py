"""Which as-of days a features run rebuilds, from a few small facts about the lake.

A run for logical date D must rebuild:
- D itself;
- every earlier event day that received late rows in D's silver merge (silver rows with
  ingest_date = D), because its daily aggregates changed - and with them every window that
  includes that day, i.e. every later as-of day up to the newest one already published
  (all-time and EW values chain from one day to the next);
- any gap between the newest published day before that and the range (a skipped day).

The range is rebuilt from the *anchor*: the newest day before it whose feature tables were
all published. Without one (first run, or a backfill before the first build) it starts from
the earliest silver event day and carries nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class RebuildPlan:
    first: date
    last: date
    anchor: date | None
    changed_days: tuple[date, ...]
    reason: str

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def published_days(ranges: Iterable[tuple[str, date, date]], tables: Iterable[str]) -> set[date]:
    """Days published for *every* one of ``tables``, from (table, as_of_start, as_of_end) rows."""
    tables = list(tables)
    per_table: dict[str, set[date]] = {t: set() for t in tables}
    for table, start, end in ranges:
        if table in per_table:
            per_table[table].update(start + timedelta(days=i) for i in range((end - start).days + 1))
    return set.intersection(*per_table.values()) if per_table else set()


def plan_rebuild(logical_date: date, changed_days: Iterable[date], published: set[date],
                 earliest_event_day: date | None, rebuild_from: date | None = None) -> RebuildPlan:
    """The as-of range [first, last] to rebuild and the anchor day to carry from."""
    changed = sorted({d for d in changed_days if d <= logical_date})
    first = min([logical_date, *changed, *([rebuild_from] if rebuild_from else [])])
    last = max([logical_date, *published]) if published else logical_date
    before = [d for d in published if d < first]
    if before:
        anchor = max(before)
        reason = "late data" if first < logical_date else "daily"
        if anchor < first - timedelta(days=1):
            reason = f"filling unpublished days after {anchor}"
        return RebuildPlan(anchor + timedelta(days=1), last, anchor, tuple(changed), reason)
    start = min(first, earliest_event_day) if earliest_event_day else first
    return RebuildPlan(start, last, None, tuple(changed), "full build (no published anchor day)")
