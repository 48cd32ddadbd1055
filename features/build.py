"""Wires the feature transformations into the six tables one run publishes.

Pure: DataFrames in (silver slices, earlier daily aggregates, the anchor's feature rows),
DataFrames out. The job reads and writes; the benchmark calls this directly to time the
computation alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from features import labeler_daily as ld
from features import queue_daily as qd
from features import task as tk
from features import windows as win
from features.config import FeatureParams
from features.roster import roster_by_day
from features.sketch import SketchSpec
from infra.checkpoints import release
from infra.side_by_side import beside
from infra.step_timer import StepTimer, slowest_first
from schemas import features as contracts


@dataclass
class FeatureInputs:
    """What one rebuild of as-of days [first, last] reads. ``*_before``: daily aggregate rows of the
    28 days before ``first``; ``anchor_*``: feature rows of the anchor day (None without one)."""

    judgments: DataFrame          # silver.judgments, event_date in [first, last]
    tasks: DataFrame              # silver.tasks, created_date in [first, last]
    roster: DataFrame             # silver.labeler_snapshots, snapshot_date in (first - lookback, last]
    labeler_queue_daily_before: DataFrame | None = None
    labeler_daily_before: DataFrame | None = None
    queue_daily_before: DataFrame | None = None
    anchor_labeler_queue: DataFrame | None = None
    anchor_labeler: DataFrame | None = None
    anchor_tasks: DataFrame | None = None


@dataclass
class FeatureBuild:
    tables: dict[str, DataFrame]
    cached: list[DataFrame] = field(default_factory=list)
    # Seconds per materialised step, in build order, and of the whole build: every step ends in an
    # eager checkpoint, so these are where the computation's time went (the job logs them). The
    # task steps run beside the labeler steps (and the labeler windows beside the labeler x queue
    # windows), so all the steps can add up to more than the whole; ``path_seconds`` (the shared
    # steps plus one lane's, per lane) fit in it.
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    path_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """``"30.5s: task_features 5.5s, ... (side by side: labeler path 25.1s, task path
        14.0s)"``: the slowest steps first, then each branch's sequential path."""
        return slowest_first(self.step_seconds, self.seconds, self.path_seconds)

    def outputs(self) -> list[tuple[DataFrame, contracts.TableContract]]:
        by_name = {c.qualified_name: c for c in (*contracts.DAILY_TABLES, *contracts.FEATURE_TABLES)}
        return [(df, by_name[name]) for name, df in self.tables.items()]

    def release(self) -> None:
        """Drop the materialised intermediates' blocks (``df.unpersist()`` alone does not free a
        local checkpoint: see ``infra.checkpoints``)."""
        for df in self.cached:
            release(df)
        self.cached.clear()


def day_range(spark: SparkSession, first: date, last: date, column: str) -> DataFrame:
    n = (last - first).days + 1
    return spark.range(n).select(F.date_add(F.lit(first), F.col("id").cast("int")).alias(column))


def _union(before: DataFrame | None, new: DataFrame) -> DataFrame:
    return new if before is None else before.select(*new.columns).unionByName(new)


def build_feature_tables(spark: SparkSession, inputs: FeatureInputs, first: date, last: date,
                         params: FeatureParams) -> FeatureBuild:
    """Daily aggregates for event days [first, last] and feature rows for as-of days [first, last]."""
    timer = StepTimer()
    anchor = first - timedelta(days=1)
    spec = SketchSpec(params.sketch_relative_accuracy, params.sketch_min_value)
    cached: list[DataFrame] = []

    def keep(df: DataFrame, step: str, lane: str | None = None) -> DataFrame:
        """Materialise and cut the lineage (eager local checkpoint): every later query - windows,
        GX expectations, the MERGE - then plans against a small relation instead of re-analysing
        hundreds of upstream expressions (measured: GX on a wide table 36 s -> a few s).
        Timed: the checkpoint computes everything upstream that no earlier step kept."""
        with timer.step(step, lane):
            checkpointed = df.localCheckpoint(eager=True)
        cached.append(checkpointed)
        return checkpointed

    as_of = day_range(spark, first, last, "as_of_date")
    as_of_days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = day_range(spark, first, last, "day")

    flagged = keep(ld.with_judgment_flags(inputs.judgments), "judgment_flags")
    universe = keep(tk.task_universe(inputs.tasks, inputs.anchor_tasks, params), "task_universe")
    handling = keep(qd.handling_sketches(flagged, universe, spec), "handling_sketches")

    def labeler_branch() -> tuple[DataFrame, DataFrame, DataFrame, DataFrame]:
        """Daily labeler aggregates, their windows -> labeler x queue and labeler feature rows."""
        keep_ = partial(keep, lane="labeler")
        prior_labels = tk.labels_known_at(inputs.anchor_tasks, anchor) if inputs.anchor_tasks is not None else None
        scored = ld.with_consensus_agreement(flagged, ld.consensus_candidates(flagged, prior_labels),
                                             params.consensus_min_others)
        roster = keep_(roster_by_day(inputs.roster, days, params.roster_lookback_days), "roster")
        lq_daily = keep_(ld.labeler_queue_daily(scored, roster, spec), "labeler_queue_daily")

        def labeler_windows() -> tuple[DataFrame, DataFrame]:
            """Per labeler: the daily rows and their windows, which need only ``lq_daily``. A third
            thread takes them while this one runs the labeler x queue windows."""
            keep_w = partial(keep, lane="labeler_windows")
            labeler_daily = keep_w(ld.labeler_daily(lq_daily), "labeler_daily")
            lab_sums = win.window_sums(_union(inputs.labeler_daily_before, labeler_daily), as_of, ["labeler_id"],
                                       anchor, params, as_of_days=as_of_days)
            lab_carried = keep_w(win.with_carry(lab_sums, inputs.anchor_labeler, ["labeler_id"], as_of, anchor,
                                                params), "labeler_windows")
            return labeler_daily, lab_carried

        with beside(spark, labeler_windows, name="feature-labeler-windows") as windows_future:
            lq_keys = ["labeler_id", "queue"]
            lq_sums = win.window_sums(_union(inputs.labeler_queue_daily_before, lq_daily), as_of, lq_keys, anchor,
                                      params, with_confusion=True, as_of_days=as_of_days)
            lq_carried = keep_(win.with_carry(lq_sums, inputs.anchor_labeler_queue, lq_keys, as_of, anchor, params),
                               "labeler_queue_windows")
            queue_priors = keep_(win.queue_gold_priors(lq_carried), "queue_gold_priors")
            lq_features = keep_(win.labeler_queue_features(lq_carried, queue_priors, params),
                                "labeler_queue_features")
            labeler_daily, lab_carried = windows_future.result()
        labeler_features = keep_(win.labeler_features(lab_carried, lq_features, queue_priors, roster, params),
                                 "labeler_features")
        return lq_daily, labeler_daily, lq_features, labeler_features

    def task_branch() -> tuple[DataFrame, DataFrame]:
        """Task rows and the queue x day table: they need none of the labeler steps, so they run
        beside them (see the call)."""
        keep_ = partial(keep, lane="task")
        handling_all = _union(
            inputs.queue_daily_before.select("queue", "event_date", "handling_sketches")
            if inputs.queue_daily_before is not None else None, handling)
        expected = qd.expected_handling(handling_all, as_of, spec)
        task_judgments = tk.task_judgments(flagged, universe)
        completions = keep_(tk.completion_times(task_judgments, universe, params), "completion_times")
        task_features = keep_(tk.task_features(universe, task_judgments, completions, expected, first, last),
                              "task_features")
        queue_daily = keep_(qd.queue_daily(days, inputs.tasks, flagged, universe, completions, task_features,
                                           handling, first, last), "queue_daily")
        return task_features, queue_daily

    # The task branch runs in a second thread beside the labeler steps: each step is a chain of
    # small Spark jobs whose planning and code generation (one driver thread) leave the second
    # core idle, and the other branch's tasks take it. Spark schedules the two threads' jobs in
    # submission order (FIFO), so neither changes what the other computes. The two branches' steps
    # overlap in time: each branch's path (the shared steps plus its own) fits in the whole.
    with beside(spark, task_branch, name="feature-task-branch") as task_future:
        lq_daily, labeler_daily, lq_features, labeler_features = labeler_branch()
        task_features, queue_daily = task_future.result()

    tables = {
        contracts.LABELER_QUEUE_DAILY.qualified_name: lq_daily,
        contracts.LABELER_DAILY.qualified_name: labeler_daily,
        contracts.QUEUE_DAILY.qualified_name: queue_daily,
        contracts.LABELER_QUEUE_FEATURES.qualified_name: lq_features,
        contracts.LABELER_FEATURES.qualified_name: labeler_features,
        contracts.TASK_FEATURES.qualified_name: task_features,
    }
    timer.stop()
    return FeatureBuild(tables=tables, cached=cached, step_seconds=timer.step_seconds, seconds=timer.seconds,
                        path_seconds=timer.path_seconds)
