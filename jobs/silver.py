"""Silver: one logical date of bronze -> deduplicated, conformed silver tables.

Judgments, tasks and events are MERGEd on their keys into the partition of their
event date (late records land where they belong); the roster becomes that day's
snapshot. Rerunning a date is a no-op on unchanged rows.

    spark-submit jobs/silver.py --date 2026-01-05 --lake LAKE
"""

from __future__ import annotations

import sys

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.job import JobContext, run_job
from schemas import bronze, silver
from transforms.silver import (
    changed_and_not_older,
    conform_events,
    conform_judgments,
    conform_tasks,
    roster_snapshot,
)


def _day(df: DataFrame, ctx: JobContext) -> DataFrame:
    return df.where(F.col("ingest_date") == F.lit(ctx.logical_date))


def _distinct(df: DataFrame, column: str) -> list:
    return [r[0] for r in df.select(column).distinct().collect() if r[0] is not None]


def build_silver(ctx: JobContext) -> None:
    judgments = conform_judgments(_day(ctx.read(bronze.JUDGMENTS), ctx)).persist()
    tasks = conform_tasks(_day(ctx.read(bronze.TASKS), ctx)).persist()
    roster = roster_snapshot(_day(ctx.read(bronze.LABELERS), ctx))
    events = conform_events(_day(ctx.read(bronze.EVENTS), ctx)).persist()
    try:
        judgment_dates = _distinct(judgments, "event_date")
        late = judgments.where("is_late").count()
        ctx.metric("judgments.rows", judgments.count())
        ctx.metric("judgments.late", late)
        ctx.metric("judgments.event_dates", len(judgment_dates))
        ctx.metric("tasks.rows", tasks.count())
        ctx.metric("events.rows", events.count())
        merge_opts = {
            silver.JUDGMENTS.qualified_name: {
                "prune_values": {"event_date": judgment_dates},
                "update_when": changed_and_not_older(silver.JUDGMENTS.columns),
            },
            silver.TASKS.qualified_name: {
                "prune_values": {"created_date": _distinct(tasks, "created_date")},
                "update_when": changed_and_not_older(silver.TASKS.columns),
            },
            silver.EVENTS.qualified_name: {
                "prune_values": {"event_date": _distinct(events, "event_date")},
                "update_when": changed_and_not_older(silver.EVENTS.columns),
            },
        }
        ctx.publish(
            [(judgments, silver.JUDGMENTS), (tasks, silver.TASKS),
             (roster, silver.LABELER_SNAPSHOTS), (events, silver.EVENTS)],
            write_options=merge_opts,
        )
    finally:
        for df in (judgments, tasks, events):
            df.unpersist()


def main(argv: list[str] | None = None) -> int:
    return run_job("silver", build_silver, argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
