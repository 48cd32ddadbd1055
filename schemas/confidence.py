"""Confidence: task posteriors, labeler confusion matrices and model runs (jobs/confidence.py).

Each table holds one partition per ``as_of_date`` (the job's logical date), rewritten by a
rerun: the model is refitted every day on the trailing window of judgments, so a day's
partition is that day's view of every task in the window. Readers wanting "the current
posterior" take the latest ``as_of_date``.

Orientation: ``posterior[i]`` is the probability of ``classes[i]``; ``confusion[i][j]`` is
P(labeler answers classes[j] | true class is classes[i]) (rows sum to 1).
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from schemas.contract import (
    Expectation,
    TableContract,
    between,
    in_set,
    not_null,
    row_rule,
    unique,
)

METHODS = ("mv", "ds", "ocds")
PROBABILITY_SLACK = 1e-6  # float tolerance on sums of probabilities


def _unexpected_rows(where: str, note: str, severity: str = "error") -> Expectation:
    """Rows matching ``where`` are violations (GX UnexpectedRowsExpectation on Spark SQL)."""
    return row_rule(note, where, severity=severity)


TASK_POSTERIORS = TableContract(
    layer="scoring",
    name="task_posteriors",
    schema=StructType([
        StructField("as_of_date", DateType(), False),
        StructField("task_id", StringType(), False),
        StructField("queue", StringType(), False),
        StructField("method", StringType(), False),
        StructField("classes", ArrayType(StringType()), False),
        StructField("posterior", ArrayType(DoubleType()), False),
        StructField("label", StringType(), False),
        StructField("confidence", DoubleType(), False),
        StructField("entropy", DoubleType(), False),
        StructField("n_classes", IntegerType(), False),
        StructField("n_labels", IntegerType(), False),
        StructField("threshold", DoubleType(), False),
        StructField("max_labels", IntegerType(), False),
        StructField("needs_more_labels", BooleanType(), False),
        StructField("gold_label", StringType(), True),
        StructField("model_run_id", StringType(), False),
    ]),
    keys=("as_of_date", "method", "queue", "task_id"),
    partition_by=("as_of_date",),
    logical_date_column="as_of_date",
    write_mode="replace_partition",
    description="Per task and method: posterior over the queue's classes, the label (max posterior, "
    "ties to the first class), confidence, entropy (nats), and whether to ask one more labeler.",
    expectations=tuple(
        not_null("as_of_date", "task_id", "queue", "method", "label", "confidence", "entropy",
                 "n_labels", "needs_more_labels", "model_run_id")
        + [
            unique("as_of_date", "method", "queue", "task_id"),
            in_set("method", METHODS),
            between("confidence", 0.0, 1.0 + PROBABILITY_SLACK),
            between("entropy", 0.0, None),
            between("n_labels", 1, None),
            _unexpected_rows(f"exists(posterior, p -> p < 0 OR p > 1 + {PROBABILITY_SLACK})",
                             "every posterior is a probability"),
            _unexpected_rows(f"abs(aggregate(posterior, 0D, (a, p) -> a + p) - 1) > {PROBABILITY_SLACK}",
                             "posteriors sum to 1"),
            _unexpected_rows("size(posterior) <> size(classes) OR n_classes <> size(classes)",
                             "one posterior per class"),
            _unexpected_rows(f"confidence < 1.0 / n_classes - {PROBABILITY_SLACK}",
                             "confidence >= 1/K"),
            _unexpected_rows("NOT array_contains(classes, label)", "the label is one of the classes"),
            _unexpected_rows("needs_more_labels AND n_labels >= max_labels",
                             "never ask beyond the queue's label cap"),
        ]
    ),
)

LABELER_CONFUSION = TableContract(
    layer="scoring",
    name="labeler_confusion",
    schema=StructType([
        StructField("as_of_date", DateType(), False),
        StructField("labeler_id", StringType(), False),
        StructField("queue", StringType(), False),
        StructField("method", StringType(), False),
        StructField("classes", ArrayType(StringType()), False),
        StructField("confusion", ArrayType(ArrayType(DoubleType())), False),
        StructField("accuracy", DoubleType(), False),
        StructField("n_judgments", LongType(), False),
        StructField("model_run_id", StringType(), False),
    ]),
    keys=("as_of_date", "method", "queue", "labeler_id"),
    partition_by=("as_of_date",),
    logical_date_column="as_of_date",
    write_mode="replace_partition",
    description="Per labeler, queue and model: the K x K confusion matrix (row = true class, column = "
    "answer), the prior-weighted accuracy sum_k prior[k] * confusion[k][k], and the judgments behind it.",
    expectations=tuple(
        not_null("as_of_date", "labeler_id", "queue", "method", "accuracy", "n_judgments", "model_run_id")
        + [
            unique("as_of_date", "method", "queue", "labeler_id"),
            in_set("method", METHODS),
            between("accuracy", 0.0, 1.0 + PROBABILITY_SLACK),
            between("n_judgments", 1, None),
            _unexpected_rows("size(confusion) <> size(classes) OR exists(confusion, r -> size(r) <> size(classes))",
                             "a K x K matrix"),
            _unexpected_rows(f"exists(confusion, r -> abs(aggregate(r, 0D, (a, p) -> a + p) - 1) > {PROBABILITY_SLACK})",
                             "rows sum to 1"),
        ]
    ),
)

MODEL_RUNS = TableContract(
    layer="scoring",
    name="model_runs",
    schema=StructType([
        StructField("as_of_date", DateType(), False),
        StructField("model_run_id", StringType(), False),
        StructField("queue", StringType(), False),
        StructField("method", StringType(), False),
        StructField("engine", StringType(), False),
        StructField("job_run_id", StringType(), False),
        StructField("window_start", DateType(), True),
        StructField("window_end", DateType(), False),
        StructField("n_judgments", LongType(), False),
        StructField("n_tasks", LongType(), False),
        StructField("n_labelers", LongType(), False),
        StructField("n_classes", IntegerType(), False),
        StructField("iterations", IntegerType(), False),
        StructField("max_iter", IntegerType(), False),
        StructField("tol", DoubleType(), False),
        StructField("converged", BooleanType(), False),
        StructField("log_likelihood", DoubleType(), True),
        StructField("log_likelihood_history", ArrayType(DoubleType()), False),
        StructField("use_gold", BooleanType(), False),
        StructField("n_gold", LongType(), False),
        StructField("gold_accuracy", DoubleType(), True),
        StructField("ece", DoubleType(), True),
        StructField("n_needs_more_labels", LongType(), False),
        StructField("threshold", DoubleType(), False),
        StructField("max_labels", IntegerType(), False),
        StructField("duration_s", DoubleType(), False),
        StructField("reliability_png", StringType(), True),
    ]),
    keys=("as_of_date", "model_run_id", "queue"),
    partition_by=("as_of_date",),
    logical_date_column="as_of_date",
    write_mode="replace_partition",
    description="One row per model fit and queue: size, EM iterations, log-likelihood per iteration "
    "(this queue's share; queues are fitted jointly and stop together), convergence, calibration "
    "on gold tasks (ECE) and the adaptive-redundancy outcome.",
    expectations=tuple(
        not_null("as_of_date", "model_run_id", "queue", "method", "iterations", "converged", "duration_s")
        + [
            unique("as_of_date", "model_run_id", "queue"),
            in_set("method", METHODS),
            between("ece", 0.0, 1.0),
            between("gold_accuracy", 0.0, 1.0),
            between("iterations", 0, None),
            _unexpected_rows("iterations > max_iter", "never more iterations than allowed"),
            _unexpected_rows("size(log_likelihood_history) <> iterations", "one log-likelihood per iteration"),
            _unexpected_rows("NOT converged AND iterations < max_iter AND method <> 'mv'",
                             "a fit stops early only when it converged", severity="warn"),
        ]
    ),
)

ALL = (TASK_POSTERIORS, LABELER_CONFUSION, MODEL_RUNS)
