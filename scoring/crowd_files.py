"""Any crowd file (``task,worker,label`` + optional gold ``task,label``) through the pipeline's models.

``aggregate_local`` encodes the file in memory and runs the local engine; ``aggregate_spark``
reads it with Spark and runs the Spark engine. Both use the same kernels and EM loop
(``scoring.em``), the same class order (distinct labels sorted as strings) and the same
tie rule, and report the same summary (``AggregateSummary``).

Gold handling: gold is used for scoring only, unless ``EmConfig.use_gold`` clamps gold tasks
while fitting. A gold label that no judgment uses is an error (the model cannot output a
class it has never seen); a gold task without judgments is ignored (accuracy is over gold
tasks with at least one judgment).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from scoring.arrow_encoding import encode_table
from scoring.calibration import N_BINS, ReliabilityBins, bins_from_arrays
from scoring.class_space import FILE_GROUP, ClassSpace, LabelSpaceError
from scoring.em import EmConfig, EmptyInputError, FitResult
from scoring.em_kernels import argmax_first, entropy
from scoring.local_engine import LocalEngine

LABEL_COLUMNS = ("task", "worker", "label")
GOLD_COLUMNS = ("task", "label")


class CrowdFileError(ValueError):
    """A crowd file that cannot be read as task,worker,label (or task,label for gold)."""


@dataclass
class AggregateSummary:
    """What ``labelops aggregate --json`` prints."""

    method: str
    engine: str
    n_labels: int
    n_tasks: int
    n_workers: int
    n_classes: int
    accuracy: float | None
    n_gold: int | None
    ece: float | None
    iterations: int
    converged: bool
    log_likelihood: float | None
    use_gold: bool
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def _read_csv(path: str | Path, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise CrowdFileError(f"{what} file not found: {path}") from None
    except pd.errors.EmptyDataError:
        raise EmptyInputError(f"{what} file {path} is empty (expected a header {','.join(columns)})") from None
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CrowdFileError(f"{what} file {path} lacks columns {missing}; it has {list(df.columns)} "
                             f"(expected {','.join(columns)})")
    df = df[list(columns)].apply(lambda s: s.str.strip())
    return df


def read_labels(path: str | Path) -> pd.DataFrame:
    """task,worker,label as strings; rows with an empty label (no answer) or without a task or
    worker id are dropped."""
    df = _read_csv(path, LABEL_COLUMNS, "labels")
    return df[(df["label"] != "") & (df["task"] != "") & (df["worker"] != "")].reset_index(drop=True)


def read_gold(path: str | Path) -> pd.DataFrame:
    """task,label as strings; one label per task (conflicting duplicates are an error)."""
    df = _read_csv(path, GOLD_COLUMNS, "gold")
    df = df[df["label"] != ""].drop_duplicates()
    dup = df["task"].duplicated(keep=False)
    if dup.any():
        raise CrowdFileError(f"gold file {path} gives several labels to tasks "
                             f"{sorted(df.loc[dup, 'task'].unique())[:5]}")
    return df.reset_index(drop=True)


def check_gold_labels(gold: pd.DataFrame, space: ClassSpace) -> None:
    """Every gold label must be one of the judgments' classes."""
    known = set(space.classes[0])
    unknown = sorted(set(gold["label"]) - known)
    if unknown:
        examples = gold[gold["label"].isin(unknown)].head(3).to_dict("records")
        raise LabelSpaceError(
            f"gold labels {unknown[:10]} are not among the judgments' labels {sorted(known)} "
            f"(e.g. {examples}); fix the gold file or the label spelling")


@dataclass
class EncodedFile:
    engine: LocalEngine
    space: ClassSpace
    gold: pd.Series | None  # task -> gold label, tasks with judgments only


def encode_file(labels: pd.DataFrame, gold: pd.DataFrame | None) -> EncodedFile:
    """The file as one block, through the pipeline's encoder (``scoring.arrow_encoding``)."""
    if labels.empty:
        raise EmptyInputError("no judgments: the labels file has no rows with a label")
    space = ClassSpace.single(labels["label"])
    table = pa.table({"task_id": labels["task"].to_numpy(dtype=object),
                      "labeler_id": labels["worker"].to_numpy(dtype=object),
                      "label": labels["label"].to_numpy(dtype=object)})
    gold_series = None
    if gold is not None:
        check_gold_labels(gold, space)
        gold_series = gold.set_index("task")["label"]
        gold_series = gold_series[gold_series.index.isin(labels["task"])]
        gold_per_row = labels["task"].map(gold_series)  # NaN where the task has no gold
        table = table.append_column("gold_label", pa.array(gold_per_row, pa.string(), from_pandas=True))
    encoded = encode_table(table, space)
    return EncodedFile(LocalEngine([encoded.block], space), space, gold_series)


def posterior_frame(encoded: EncodedFile, fitted: FitResult) -> pd.DataFrame:
    """One row per task: label, confidence, entropy, n_labels, p_<class> columns."""
    block = encoded.engine.blocks[0]
    post = encoded.engine.block_posteriors(fitted)[0]
    classes = np.array(encoded.space.classes[0])
    out = pd.DataFrame({
        "task": block.keys(),
        "label": classes[argmax_first(post)],
        "confidence": post.max(axis=1),
        "entropy": entropy(post),
        "n_labels": block.n_labels,
    })
    for i, c in enumerate(classes):
        out[f"p_{c}"] = post[:, i]
    return out


def gold_scores(posteriors: pd.DataFrame, gold: pd.Series | None,
                n_bins: int = N_BINS) -> ReliabilityBins | None:
    """Reliability bins on gold tasks that have at least one judgment."""
    if gold is None:
        return None
    scored = posteriors.merge(gold.rename("gold_label"), left_on="task", right_index=True, how="inner")
    return bins_from_arrays(scored["confidence"].to_numpy(),
                            (scored["label"] == scored["gold_label"]).to_numpy(), n_bins)


def summarize(fitted: FitResult, engine: str, n_tasks: int, n_workers: int, n_classes: int,
              bins: ReliabilityBins | None, seconds: float) -> AggregateSummary:
    return AggregateSummary(
        method=fitted.method, engine=engine, n_labels=fitted.n_judgments, n_tasks=n_tasks,
        n_workers=n_workers, n_classes=n_classes,
        accuracy=bins.accuracy() if bins is not None else None,
        n_gold=bins.n if bins is not None else None,
        ece=bins.ece() if bins is not None else None,
        iterations=fitted.iterations, converged=fitted.converged,
        log_likelihood=fitted.final_log_likelihood, use_gold=fitted.use_gold, seconds=seconds)


def aggregate_local(labels: pd.DataFrame, gold: pd.DataFrame | None,
                    config: EmConfig) -> tuple[AggregateSummary, pd.DataFrame]:
    """Fit in memory; returns the summary and the per-task posteriors."""
    started = time.perf_counter()
    encoded = encode_file(labels, gold)
    fitted = encoded.engine.fit(config)
    posteriors = posterior_frame(encoded, fitted)
    bins = gold_scores(posteriors, encoded.gold)
    summary = summarize(fitted, "local", encoded.engine.n_tasks, encoded.engine.workers.n_workers,
                        encoded.space.k, bins, time.perf_counter() - started)
    return summary, posteriors


def aggregate_spark(spark, labels_path: str, gold_path: str | None, config: EmConfig,
                    out_path: str | None = None, n_bins: int = N_BINS) -> AggregateSummary:
    """Read the files with Spark and fit with the Spark engine (files too big for memory)."""
    from pyspark.sql import functions as F

    from scoring.calibration import bins_from_rows, calibration_bins_df
    from scoring.posterior_columns import with_confidence_columns
    from scoring.spark_engine import SparkEngine

    started = time.perf_counter()
    labels_df = _spark_csv(spark, labels_path, LABEL_COLUMNS, "labels")
    labels_df = (labels_df.where(F.col("label").isNotNull() & (F.col("label") != "")
                                 & F.col("task").isNotNull() & F.col("worker").isNotNull())
                 .select(F.col("task").alias("task_id"), F.col("worker").alias("labeler_id"),
                         "label", F.lit(FILE_GROUP).alias("queue")))
    distinct = [r[0] for r in labels_df.select("label").distinct().limit(1001).collect()]
    space = ClassSpace.single(distinct)  # raises on no labels / too many
    gold_df = None
    if gold_path:
        gold_df = (_spark_csv(spark, gold_path, GOLD_COLUMNS, "gold")
                   .where(F.col("label").isNotNull() & (F.col("label") != ""))
                   .select(F.col("task").alias("task_id"), F.col("label").alias("gold_label"))
                   .dropDuplicates())
        unknown = gold_df.where(~F.col("gold_label").isin(list(space.classes[0]))).limit(3).collect()
        if unknown:
            raise LabelSpaceError(
                f"gold labels {sorted({r.gold_label for r in unknown})} are not among the judgments' "
                f"labels {list(space.classes[0])}; fix the gold file or the label spelling")
        labels_df = labels_df.join(gold_df, on="task_id", how="left")
    n_partitions = SparkEngine.partitions_for(labels_df.count(), spark.sparkContext.defaultParallelism)
    engine = SparkEngine.from_judgments(labels_df, space, n_partitions=n_partitions)
    try:
        if engine.n_judgments == 0:
            raise EmptyInputError(f"no judgments in {labels_path}")
        fitted = engine.fit(config)
        scored = with_confidence_columns(engine.posteriors_df(fitted)).persist()
        bins = None
        if gold_df is not None:
            bins = bins_from_rows(calibration_bins_df(scored, n_bins).collect(), n_bins)
        if out_path:
            _write_posteriors_csv(scored, space, out_path)
        summary = summarize(fitted, "spark", engine.n_tasks, engine.workers.n_workers, space.k, bins,
                            time.perf_counter() - started)
        scored.unpersist()
        return summary
    finally:
        engine.close()


def _spark_csv(spark, path: str, columns: tuple[str, ...], what: str):
    from pyspark.sql import functions as F

    if not Path(path).exists() and "://" not in path:
        raise CrowdFileError(f"{what} file not found: {path}")
    df = spark.read.option("header", True).option("inferSchema", False).csv(path)
    df = df.toDF(*[c.strip().lower() for c in df.columns])
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CrowdFileError(f"{what} file {path} lacks columns {missing}; it has {df.columns}")
    return df.select([F.trim(F.col(c)).alias(c) for c in columns])


def _write_posteriors_csv(scored, space: ClassSpace, out_path: str) -> None:
    """The same columns as the local engine's CSV, written by Spark as one file."""
    import shutil
    import tempfile

    from pyspark.sql import functions as F

    cols = [F.col("task_id").alias("task"), "label", "confidence", "entropy", "n_labels"]
    cols += [F.col("posterior")[i].alias(f"p_{c}") for i, c in enumerate(space.classes[0])]
    tmp = tempfile.mkdtemp(prefix="labelops-aggregate-")
    scored.select(*cols).coalesce(1).write.mode("overwrite").option("header", True).csv(tmp + "/out")
    part = next(Path(tmp, "out").glob("part-*.csv"))
    shutil.move(str(part), out_path)
    shutil.rmtree(tmp, ignore_errors=True)
