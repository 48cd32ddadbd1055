"""Spark side of the confidence models: engine parity, DataFrame transformations (chispa), gates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from experiments.crowd_sim import make_crowd, simulate
from jobs.quality import QualityGate
from schemas.confidence import TASK_POSTERIORS
from scoring.arrow_encoding import encode_table
from scoring.calibration import bins_from_rows, calibration_bins_df
from scoring.class_space import ClassSpace
from scoring.confidence_config import QueuePolicy
from scoring.em import EmConfig
from scoring.judgment_selection import (
    filter_submitted_labels,
    filter_window,
    latest_per_labeler_and_task,
    with_task_gold,
)
from scoring.local_engine import LocalEngine
from scoring.posterior_columns import (
    needs_more_labels_col,
    with_confidence_columns,
    with_redundancy_decision,
)
from scoring.spark_engine import SparkEngine

SPACE = ClassSpace(("q_bin", "q_tri"), (("no", "yes"), ("a", "b", "c")))


def two_queue_table(seed: int = 0) -> pa.Table:
    """Judgments of two queues with different class counts, some gold, labelers in both queues."""
    parts = []
    for g, (queue, classes) in enumerate(zip(SPACE.groups, SPACE.classes, strict=True)):
        crowd = make_crowd(n_workers=12, k=len(classes), seed=seed + g)
        j = simulate(crowd, n_tasks=150, min_labels=1, max_labels=4, seed=seed + 10 + g)
        names = np.array(classes)
        gold = np.where(j.task % 5 == 0, names[j.truth[j.task]], None)
        parts.append(pa.table({
            "task_id": [f"{queue}-{t}" for t in j.task], "labeler_id": [f"u{w}" for w in j.worker],
            "queue": [queue] * j.n, "label": names[j.label].tolist(), "gold_label": gold.tolist()}))
    return pa.concat_tables(parts)


@pytest.mark.parametrize("method", ["mv", "ds", "ocds"])
def test_spark_engine_matches_local_engine(spark, method):
    table = two_queue_table()
    local = LocalEngine([encode_table(table, SPACE).block], SPACE)
    config = EmConfig(method=method, max_iter=6, tol=0.0, use_gold=True)
    local_fit = local.fit(config)
    local_post = local.block_posteriors(local_fit)[0]
    local_keys = local.blocks[0].keys().to_pylist()

    engine = SparkEngine.from_judgments(spark.createDataFrame(table.to_pandas()), SPACE, n_partitions=2,
                                        block_judgments=150)  # several blocks per partition
    try:
        assert engine.blocks.count() > 2
        assert (engine.n_judgments, engine.n_tasks) == (local.n_judgments, local.n_tasks)
        assert engine.workers == local.workers
        spark_fit = engine.fit(config)
        assert spark_fit.iterations == local_fit.iterations
        np.testing.assert_allclose(spark_fit.log_likelihood, local_fit.log_likelihood, rtol=1e-10)
        rows = engine.posteriors_df(spark_fit).collect()
    finally:
        engine.close()
    assert len(rows) == len(local_keys)
    by_key = {r.task_id: r for r in rows}
    for i, key in enumerate(local_keys):
        row = by_key[key]
        k = len(row.classes)
        assert row.classes == list(SPACE.classes[SPACE.group_index(row.queue)])
        np.testing.assert_allclose(row.posterior, local_post[i, :k], atol=1e-10)
        assert row.entropy == pytest.approx(-sum(p * np.log(p) for p in row.posterior if p > 0))
        assert sum(row.posterior) == pytest.approx(1.0)


# --- pure transformations (chispa) ---------------------------------------------------------------

POSTERIOR_IN = StructType([
    StructField("task_id", StringType(), True),
    StructField("queue", StringType(), True),
    StructField("classes", ArrayType(StringType()), True),
    StructField("posterior", ArrayType(DoubleType()), True),
    StructField("n_labels", IntegerType(), True),
])  # entropy comes from the engine, not from these columns


def test_with_confidence_columns(spark):
    df = spark.createDataFrame([
        ("t1", "q", ["a", "b", "c"], [0.2, 0.7, 0.1], 3),
        ("t2", "q", ["a", "b"], [0.5, 0.5], 2),      # tie -> first class
        ("t3", "q", ["a"], [1.0], 1),
        ("t4", "q", None, None, None),
    ], POSTERIOR_IN)
    out = with_confidence_columns(df).select("task_id", "label", "confidence", "n_classes")
    expected = spark.createDataFrame([
        ("t1", "b", 0.7, 3), ("t2", "a", 0.5, 2), ("t3", "a", 1.0, 1), ("t4", None, None, None),
    ], "task_id string, label string, confidence double, n_classes int")
    assert_df_equality(out, expected, ignore_nullable=True)


def test_needs_more_labels_rule(spark):
    df = spark.createDataFrame([
        (0.95, 2, True), (0.80, 2, True), (0.80, 5, True), (None, 0, True), (0.80, None, True),
        (0.90, 3, False),
    ], "confidence double, n_labels int, expected_flag boolean")
    out = df.withColumn("needs_more_labels", needs_more_labels_col(F.col("confidence"), F.col("n_labels"),
                                                                   F.lit(0.9), F.lit(5)))
    got = [r.needs_more_labels for r in out.collect()]
    # confident; unsure with room; unsure at the cap; no posterior yet; unknown count; exactly at threshold
    assert got == [False, True, False, True, True, False]


def test_with_redundancy_decision_uses_queue_policies(spark):
    df = spark.createDataFrame([
        ("t1", "strict", 0.93, 3), ("t2", "lenient", 0.93, 3), ("t3", "other", 0.50, 5),
        ("t4", None, 0.10, 1),
    ], "task_id string, queue string, confidence double, n_labels int")
    policies = {"strict": QueuePolicy(0.95, 7), "lenient": QueuePolicy(0.90, 4)}
    out = with_redundancy_decision(df, policies, default=QueuePolicy(0.8, 5)).select(
        "task_id", "threshold", "max_labels", "needs_more_labels")
    expected = spark.createDataFrame([
        ("t1", 0.95, 7, True), ("t2", 0.90, 4, False), ("t3", 0.8, 5, False), ("t4", 0.8, 5, True),
    ], "task_id string, threshold double, max_labels int, needs_more_labels boolean")
    assert_df_equality(out, expected, ignore_nullable=True)


JUDGMENT_IN = StructType([
    StructField("judgment_id", StringType(), True),
    StructField("task_id", StringType(), True),
    StructField("labeler_id", StringType(), True),
    StructField("queue", StringType(), True),
    StructField("status", StringType(), True),
    StructField("label", StringType(), True),
    StructField("submitted_at", TimestampType(), True),
    StructField("is_gold", BooleanType(), True),
    StructField("gold_label", StringType(), True),
    StructField("event_date", DateType(), True),
])


def _judgments(spark):
    t = dt.datetime(2026, 1, 5, 12)
    d = dt.date(2026, 1, 5)
    return spark.createDataFrame([
        ("j1", "t1", "u1", "q", "submitted", "a", t, True, "a", d),
        ("j2", "t1", "u1", "q", "submitted", "b", t + dt.timedelta(hours=1), True, None, d),  # re-answer
        ("j3", "t1", "u2", "q", "skipped", None, None, True, None, d),
        ("j4", "t2", "u2", "q", "submitted", " ", t, False, None, d),                        # blank label
        ("j5", "t2", "u3", "q", "submitted", "b", t, False, "a", d - dt.timedelta(days=3)),  # gold flag off
        ("j6", "t3", "u3", "q", "submitted", None, t, None, None, None),
    ], JUDGMENT_IN)


def test_filter_submitted_labels(spark):
    out = filter_submitted_labels(_judgments(spark)).select("judgment_id")
    expected = spark.createDataFrame([("j1",), ("j2",), ("j5",)], "judgment_id string")
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_latest_per_labeler_and_task(spark):
    out = latest_per_labeler_and_task(filter_submitted_labels(_judgments(spark))).select("judgment_id", "label")
    expected = spark.createDataFrame([("j2", "b"), ("j5", "b")], "judgment_id string, label string")
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_with_task_gold_spreads_gold_to_every_judgment_of_a_gold_task(spark):
    out = with_task_gold(_judgments(spark)).select("judgment_id", "gold_label")
    expected = spark.createDataFrame([("j1", "a"), ("j2", "a"), ("j3", "a"), ("j4", None), ("j5", None),
                                      ("j6", None)], "judgment_id string, gold_label string")
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_filter_window(spark):
    df = _judgments(spark)
    two_days = filter_window(df, dt.date(2026, 1, 5), 2).select("judgment_id")
    all_history = filter_window(df, dt.date(2026, 1, 5), 0).select("judgment_id")
    assert sorted(r[0] for r in two_days.collect()) == ["j1", "j2", "j3", "j4"]
    assert sorted(r[0] for r in all_history.collect()) == ["j1", "j2", "j3", "j4", "j5"]  # null date dropped


def test_calibration_bins_df(spark):
    df = spark.createDataFrame([
        ("q", 0.9, "a", "a"), ("q", 0.95, "a", "b"), ("q", 0.6, "b", "b"), ("q", 0.65, "b", "b"),
        ("q", 0.7, "a", None), (None, None, None, "a"),
    ], "queue string, confidence double, label string, gold_label string")
    out = calibration_bins_df(df, 10).orderBy("bin")
    expected = spark.createDataFrame([(6, 2, 1.25, 2.0), (9, 2, 1.85, 1.0)],
                                     "bin int, n long, confidence_sum double, correct_sum double")
    assert_df_equality(out, expected, ignore_nullable=True, allow_nan_equality=True)
    assert bins_from_rows(out.collect()).ece() == pytest.approx((abs(2 - 1.25) + abs(1 - 1.85)) / 4)


# --- the gate catches broken posteriors ----------------------------------------------------------


def _posterior_row(**override):
    row = {"as_of_date": dt.date(2026, 1, 5), "task_id": "t1", "queue": "spam", "method": "ds",
           "classes": ["spam", "not_spam"], "posterior": [0.8, 0.2], "label": "spam", "confidence": 0.8,
           "entropy": 0.5, "n_classes": 2, "n_labels": 3, "threshold": 0.9, "max_labels": 5,
           "needs_more_labels": True, "gold_label": None, "model_run_id": "r"}
    row.update(override)
    return tuple(row[c] for c in TASK_POSTERIORS.columns)


def test_posterior_gate_passes_good_rows_and_blocks_bad_ones(spark):
    gate = QualityGate(None)
    good = spark.createDataFrame([_posterior_row(), _posterior_row(task_id="t2")], TASK_POSTERIORS.schema)
    assert gate.validate(good, TASK_POSTERIORS, run_id="r", logical_date="2026-01-05").passed
    bad = spark.createDataFrame([
        _posterior_row(),
        _posterior_row(task_id="t2", posterior=[0.7, 0.7]),                        # sums to 1.4
        _posterior_row(task_id="t3", confidence=0.4, posterior=[0.4, 0.6]),         # < 1/K
        _posterior_row(task_id="t4", n_labels=5, needs_more_labels=True),           # beyond the cap
        _posterior_row(),                                                           # duplicate key
    ], TASK_POSTERIORS.schema)
    result = gate.validate(bad, TASK_POSTERIORS, run_id="r", logical_date="2026-01-05")
    assert not result.passed
    failed = [o for o in result.failures]
    assert len(failed) >= 4
    assert any("Unique" in o.expectation for o in failed)

