"""The confidence stage as one function: judgments in, the three tables' DataFrames out.

No storage here (the job reads silver and writes Delta and the PNG); this is what a test
runs on a hand-made DataFrame. The judgments are encoded and cached once; every method
(``mv``, ``ds``, ``ocds``) is fitted on the same cached blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from schemas.confidence import LABELER_CONFUSION, MODEL_RUNS, TASK_POSTERIORS
from scoring.calibration import (
    N_BINS,
    ReliabilityBins,
    bins_from_rows,
    calibration_bins_df,
    merge_bins,
)
from scoring.class_space import ClassSpace
from scoring.confidence_config import QueuePolicy, policy_for
from scoring.em import EmConfig, FitResult
from scoring.model_outputs import (
    QueueOutcome,
    RunInfo,
    labeler_confusion_df,
    model_run_rows,
    model_runs_df,
)
from scoring.posterior_columns import with_confidence_columns, with_redundancy_decision
from scoring.spark_engine import ENGINE_NAME, SparkEngine

log = logging.getLogger("labelops.scoring.stage")


@dataclass
class MethodResult:
    method: str
    fitted: FitResult
    model_run_id: str
    posteriors: DataFrame                   # TASK_POSTERIORS columns, persisted
    confusion: DataFrame                    # LABELER_CONFUSION columns
    bins_by_queue: dict[str, ReliabilityBins]
    needs_more_by_queue: dict[str, int]

    @property
    def bins(self) -> ReliabilityBins:
        return merge_bins(self.bins_by_queue.values())


@dataclass
class StageResult:
    engine: SparkEngine | None
    results: list[MethodResult] = field(default_factory=list)

    def close(self) -> None:
        for r in self.results:
            r.posteriors.unpersist()
        if self.engine is not None:
            self.engine.close()


def _queue_counts(scored: DataFrame) -> dict[str, int]:
    rows = scored.groupBy("queue").agg(F.sum(F.col("needs_more_labels").cast("long")).alias("n")).collect()
    return {r["queue"]: int(r["n"] or 0) for r in rows}


def _bins_by_queue(scored: DataFrame, n_bins: int) -> dict[str, ReliabilityBins]:
    rows = calibration_bins_df(scored, n_bins, by=("queue",)).collect()
    queues = sorted({r["queue"] for r in rows})
    return {q: bins_from_rows([r for r in rows if r["queue"] == q], n_bins) for q in queues}


def score(model_input: DataFrame, space: ClassSpace, methods: Sequence[str], config: EmConfig,
          policies: Mapping[str, QueuePolicy], info: RunInfo, *, n_bins: int = N_BINS,
          n_partitions: int | None = None) -> StageResult:
    """Fit every method on (task_id, labeler_id, queue, label, gold_label) judgments.

    Posteriors get label/confidence/entropy and the per-queue redundancy decision."""
    spark = model_input.sparkSession
    engine = SparkEngine.from_judgments(model_input, space, n_partitions=n_partitions)
    stage = StageResult(engine)
    if engine.n_judgments == 0:
        log.warning("confidence: no judgments with a known label in the window; nothing to fit")
        return stage
    for method in methods:
        fitted = engine.fit(replace(config, method=method))
        run_id = f"{info.job_run_id}:{method}"
        scored = (engine.posteriors_df(fitted)
                  .transform(with_confidence_columns)
                  .transform(with_redundancy_decision, policies)
                  .withColumn("as_of_date", F.lit(info.as_of_date))
                  .withColumn("method", F.lit(method))
                  .withColumn("model_run_id", F.lit(run_id))
                  .select(*TASK_POSTERIORS.columns)
                  .persist())
        confusion = labeler_confusion_df(spark, fitted, engine.workers, space,
                                         replace(info, model_run_id=run_id))
        stage.results.append(MethodResult(method, fitted, run_id, scored, confusion,
                                          _bins_by_queue(scored, n_bins), _queue_counts(scored)))
    return stage


def runs_table(spark: SparkSession, stage: StageResult, space: ClassSpace, config: EmConfig,
               policies: Mapping[str, QueuePolicy], info: RunInfo,
               reliability_png: Mapping[str, str] | None = None) -> DataFrame:
    """MODEL_RUNS rows: one per (method, queue with judgments)."""
    rows = []
    for r in stage.results:
        outcomes = {q: QueueOutcome(bins=r.bins_by_queue.get(q), n_needs_more_labels=r.needs_more_by_queue.get(q, 0),
                                    policy=policy_for(q, policies),
                                    reliability_png=(reliability_png or {}).get(r.method))
                    for q in space.groups}
        rows += model_run_rows(r.fitted, replace(config, method=r.method), space, stage.engine.workers,
                               replace(info, model_run_id=r.model_run_id, engine=ENGINE_NAME), outcomes)
    return model_runs_df(spark, rows)


def empty_tables(spark: SparkSession) -> tuple[DataFrame, DataFrame, DataFrame]:
    return tuple(spark.createDataFrame([], c.schema) for c in (TASK_POSTERIORS, LABELER_CONFUSION, MODEL_RUNS))


def union_all(frames: Sequence[DataFrame], empty: DataFrame) -> DataFrame:
    out = empty
    for f in frames:
        out = out.unionByName(f)
    return out
