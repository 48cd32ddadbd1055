"""Column functions of features/stats.py and features/sketch.py, with null rows."""

from __future__ import annotations

import numpy as np
import pytest
from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql import functions as F
from scipy.stats import beta

from features.sketch import (
    SketchSpec,
    add_count_maps,
    merge_count_maps,
    merge_count_maps_agg,
    sketch_by,
    sketch_quantile,
    sketch_quantiles,
)
from features.stats import (
    beta_lower_bound,
    beta_posterior_mean,
    decay_weight,
    label_entropy,
    safe_ratio,
)

SPEC = SketchSpec(relative_accuracy=0.01, min_value=0.1)


def test_safe_ratio_is_null_for_zero_or_null_denominators(spark):
    df = spark.createDataFrame([(1, 4), (3, 0), (None, 2), (2, None)], "n int, d int")
    out = df.select(safe_ratio(F.col("n"), F.col("d")).alias("r"))
    expected = spark.createDataFrame([(0.25,), (None,), (None,), (None,)], "r double")
    assert_df_equality(out, expected)


def test_beta_posterior_shrinks_small_samples_toward_the_queue_prior(spark):
    df = spark.createDataFrame([(3, 3, 0.8), (0, 0, 0.8), (300, 300, 0.8), (None, 3, 0.8), (1, 2, None)],
                               "s long, n long, m double")
    out = df.select(beta_posterior_mean(F.col("s"), F.col("n"), F.col("m"), 10.0).alias("mean"))
    expected = spark.createDataFrame([((3 + 8) / 13,), (0.8,), ((300 + 8) / 310,), (None,), (None,)], "mean double")
    assert_approx_df_equality(out, expected, 1e-12)
    assert out.collect()[0]["mean"] < 0.85  # three correct golds are not "100%"


def test_beta_lower_bound_is_the_exact_posterior_quantile(spark):
    rows = [(3, 3, 0.8), (0, 0, 0.5), (45, 50, 0.7), (None, 3, 0.8), (2, 2, None)]
    df = spark.createDataFrame(rows, "s long, n long, m double")
    out = df.select(beta_lower_bound(F.col("s"), F.col("n"), F.col("m"), 10.0, 0.05).alias("lb")).collect()
    for (s, n, m), row in zip(rows[:3], out[:3], strict=True):
        assert row["lb"] == pytest.approx(beta.ppf(0.05, s + 10 * m, n - s + 10 * (1 - m)), rel=1e-9)
    assert out[3]["lb"] is None and out[4]["lb"] is None
    # more evidence at the same rate -> a tighter (higher) bound
    more = spark.createDataFrame([(9, 10, 0.5), (90, 100, 0.5)], "s long, n long, m double").select(
        beta_lower_bound(F.col("s"), F.col("n"), F.col("m"), 10.0, 0.05).alias("lb")).collect()
    assert more[0]["lb"] < more[1]["lb"]


def test_label_entropy_in_bits(spark):
    df = spark.createDataFrame([({"a": 2, "b": 2},), ({"a": 3},), ({"a": 1, "b": 1, "c": 1, "d": 1},),
                                ({},), (None,), ({"a": 0, "b": 5},)], "c map<string,bigint>")
    out = df.select(label_entropy(F.col("c")).alias("h"))
    expected = spark.createDataFrame([(1.0,), (0.0,), (2.0,), (None,), (None,), (0.0,)], "h double")
    assert_approx_df_equality(out, expected, 1e-12)


def test_decay_weight_halves_every_half_life(spark):
    df = spark.createDataFrame([(0,), (14,), (28,), (None,)], "age int")
    out = df.select(decay_weight(F.col("age"), 14.0).alias("w"))
    expected = spark.createDataFrame([(1.0,), (0.5,), (0.25,), (None,)], "w double")
    assert_approx_df_equality(out, expected, 1e-12)


def test_sketch_quantiles_are_within_the_relative_accuracy(spark):
    values = np.random.default_rng(3).lognormal(3.0, 1.0, 2001)
    rows = [("a", float(v)) for v in values] + [("a", None), ("b", None)]
    df = spark.createDataFrame(rows, "k string, v double")
    sketches = sketch_by(df, ["k"], "v", "s", SPEC)
    got = {r["k"]: r for r in sketches.select(
        "k", sketch_quantile(F.col("s"), 0.5, SPEC).alias("p50"),
        sketch_quantile(F.col("s"), 0.9, SPEC).alias("p90")).collect()}
    ordered = np.sort(values)
    for q, col in ((0.5, "p50"), (0.9, "p90")):
        exact = ordered[int(np.floor(q * (len(values) - 1)))]
        assert got["a"][col] == pytest.approx(exact, rel=SPEC.relative_accuracy)
    assert "b" not in got  # a group with only nulls has no sketch


def test_merged_sketches_equal_the_sketch_of_the_union(spark):
    rng = np.random.default_rng(4)
    rows = [("x" if i % 2 else "y", float(v)) for i, v in enumerate(rng.exponential(30, 500))]
    df = spark.createDataFrame(rows, "part string, v double").withColumn("k", F.lit(1))
    per_part = sketch_by(df, ["k", "part"], "v", "s", SPEC)
    merged = per_part.groupBy("k").agg(merge_count_maps_agg(F.col("s")).alias("s"))
    whole = sketch_by(df, ["k"], "v", "s", SPEC)
    assert merged.collect()[0]["s"] == whole.collect()[0]["s"]


def test_merge_count_maps_skips_nulls(spark):
    df = spark.createDataFrame([({1: 2, 3: 4}, {1: 1, 5: 1}), (None, {2: 2}), (None, None)],
                               "a map<int,bigint>, b map<int,bigint>")
    out = df.select(merge_count_maps(F.array("a", "b")).alias("m")).collect()
    assert out[0]["m"] == {1: 3, 3: 4, 5: 1}
    assert out[1]["m"] == {2: 2}
    assert out[2]["m"] == {}


def test_add_count_maps_equals_the_merge_of_both_and_skips_nulls(spark):
    """The in-place two-map sum (task label counts) and the Arrow merge agree, null rows included."""
    df = spark.createDataFrame([({"x": 2, "y": 1}, {"y": 3, "z": 1}), (None, {"z": 2}), ({"x": 1}, None), (None, None)],
                               "a map<string,bigint>, b map<string,bigint>")
    out = df.select(add_count_maps(F.col("a"), F.col("b"), "string").alias("added"),
                    merge_count_maps(F.array("a", "b"), "string").alias("merged")).collect()
    assert [r["added"] for r in out] == [{"x": 2, "y": 4, "z": 1}, {"z": 2}, {"x": 1}, {}]
    assert [r["added"] for r in out] == [r["merged"] for r in out]


def test_sketch_quantile_of_empty_or_null_sketch_is_null(spark):
    df = spark.createDataFrame([({},), (None,), ({5: 0},)], "s map<int,bigint>")
    out = df.select(sketch_quantile(F.col("s"), 0.5, SPEC).alias("q"))
    assert [r["q"] for r in out.collect()] == [None, None, None]


def test_one_fold_gives_every_quantile_and_nulls_for_empty_sketches(spark):
    """``sketch_quantiles`` (p50 and p90 in one pass, as the window tables use it) against the
    exact sample quantiles, with an empty, a null and an all-zero sketch."""
    values = np.random.default_rng(8).exponential(40.0, 999)
    rows = [("a", float(v)) for v in values]
    sketches = sketch_by(spark.createDataFrame(rows, "k string, v double"), ["k"], "v", "s", SPEC)
    extra = spark.createDataFrame([("empty", {}), ("null", None), ("zeros", {3: 0})], "k string, s map<int,bigint>")
    got = {r["k"]: r["q"] for r in sketches.unionByName(extra).select(
        "k", sketch_quantiles(F.col("s"), (0.5, 0.9, 0.0), SPEC).alias("q")).collect()}
    ordered = np.sort(values)
    for i, q in enumerate((0.5, 0.9, 0.0)):
        exact = max(ordered[int(np.floor(q * (len(values) - 1)))], SPEC.min_value)
        assert got["a"][f"q{i}"] == pytest.approx(exact, rel=SPEC.relative_accuracy)
    for k in ("empty", "null", "zeros"):
        assert got[k] is None or all(v is None for v in got[k]), k
