"""Fitted models -> the rows of the labeler-confusion and model-runs tables.

Both tables are small (one row per (labeler, queue), one per queue), built on the driver
from the fitted parameters, which live there anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from schemas.confidence import LABELER_CONFUSION, MODEL_RUNS
from scoring.calibration import ReliabilityBins
from scoring.class_space import ClassSpace
from scoring.confidence_config import QueuePolicy
from scoring.em import EmConfig, FitResult
from scoring.em_kernels import confusion_matrices
from scoring.worker_index import WorkerIndex


@dataclass(frozen=True)
class RunInfo:
    as_of_date: date
    model_run_id: str
    job_run_id: str
    engine: str
    window_start: date | None
    window_end: date


@dataclass(frozen=True)
class QueueOutcome:
    """What the job measured on one queue's posteriors."""

    bins: ReliabilityBins | None
    n_needs_more_labels: int
    policy: QueuePolicy
    reliability_png: str | None = None


def confusion_frame(fitted: FitResult, workers: WorkerIndex, space: ClassSpace) -> pd.DataFrame:
    """(labeler_id, queue, classes, confusion, accuracy, n_judgments); empty for majority vote."""
    columns = ["labeler_id", "queue", "classes", "confusion", "accuracy", "n_judgments"]
    if fitted.params is None or workers.n_workers == 0:
        return pd.DataFrame(columns=columns)
    mats = confusion_matrices(fitted.params, fitted.shape)  # [w, true, answered]
    prior = np.exp(fitted.params.log_prior)
    rows = []
    for w, (labeler, g) in enumerate(workers.pairs):
        k = len(space.classes[g])
        m = mats[w, :k, :k]
        rows.append((labeler, space.groups[g], list(space.classes[g]), m.tolist(),
                     float(np.dot(prior[g, :k], np.diag(m))), int(fitted.worker_judgments[w])))
    return pd.DataFrame(rows, columns=columns)


def labeler_confusion_df(spark: SparkSession, fitted: FitResult, workers: WorkerIndex,
                         space: ClassSpace, info: RunInfo) -> DataFrame:
    pdf = confusion_frame(fitted, workers, space)
    pdf.insert(0, "as_of_date", info.as_of_date)
    pdf["method"] = fitted.method
    pdf["model_run_id"] = info.model_run_id
    pdf = pdf[LABELER_CONFUSION.columns]
    if pdf.empty:
        return spark.createDataFrame([], LABELER_CONFUSION.schema)
    return spark.createDataFrame(pdf, LABELER_CONFUSION.schema)


def model_run_rows(fitted: FitResult, config: EmConfig, space: ClassSpace, workers: WorkerIndex,
                   info: RunInfo, outcomes: dict[str, QueueOutcome]) -> list[dict]:
    """One row per queue that had judgments."""
    rows = []
    worker_group = workers.worker_group
    for g, queue in enumerate(space.groups):
        n_tasks = int(fitted.group_tasks[g]) if fitted.group_tasks is not None else 0
        if n_tasks == 0:
            continue
        in_group = worker_group == g
        outcome = outcomes[queue]
        bins = outcome.bins
        rows.append({
            "as_of_date": info.as_of_date, "model_run_id": info.model_run_id, "queue": queue,
            "method": fitted.method, "engine": info.engine, "job_run_id": info.job_run_id,
            "window_start": info.window_start, "window_end": info.window_end,
            "n_judgments": int(fitted.worker_judgments[in_group].sum()), "n_tasks": n_tasks,
            "n_labelers": int(in_group.sum()), "n_classes": len(space.classes[g]),
            "iterations": fitted.iterations, "max_iter": config.max_iter if fitted.params is not None else 0,
            "tol": config.tol, "converged": fitted.converged,
            "log_likelihood": float(fitted.group_log_likelihood[-1][g]) if fitted.group_log_likelihood else None,
            "log_likelihood_history": [float(x[g]) for x in fitted.group_log_likelihood],
            "use_gold": fitted.use_gold,
            "n_gold": bins.n if bins is not None else 0,
            "gold_accuracy": bins.accuracy() if bins is not None else None,
            "ece": bins.ece() if bins is not None else None,
            "n_needs_more_labels": outcome.n_needs_more_labels,
            "threshold": outcome.policy.threshold, "max_labels": outcome.policy.max_labels,
            "duration_s": fitted.seconds, "reliability_png": outcome.reliability_png,
        })
    return rows


def model_runs_df(spark: SparkSession, rows: list[dict]) -> DataFrame:
    return spark.createDataFrame([tuple(r[c] for c in MODEL_RUNS.columns) for r in rows], MODEL_RUNS.schema)
