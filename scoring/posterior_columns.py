"""Spark column functions and transformations on task posteriors (built-ins only, null-safe).

Input: ``classes`` (array<string>, the queue's class order) and ``posterior``
(array<double>, aligned with ``classes``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from scoring.confidence_config import DEFAULT_POLICY, QueuePolicy


def confidence_col(posterior: Column) -> Column:
    """Max posterior."""
    return F.array_max(posterior)


def label_col(classes: Column, posterior: Column) -> Column:
    """The class with the largest posterior; ties go to the first class in class order."""
    return F.element_at(classes, F.array_position(posterior, F.array_max(posterior)).cast("int"))


def needs_more_labels_col(confidence: Column, n_labels: Column, threshold: Column,
                          max_labels: Column) -> Column:
    """Ask one more labeler when confidence is below the threshold and the cap is not reached.

    A task without a confidence (no posterior) counts as confidence 0; without a label count,
    as 0 labels."""
    return ((F.coalesce(confidence, F.lit(0.0)) < threshold)
            & (F.coalesce(n_labels, F.lit(0)) < max_labels))


def with_confidence_columns(posteriors_df: DataFrame) -> DataFrame:
    """Adds label, confidence, n_classes.

    (Entropy comes with the posteriors from the engine, computed by the numpy kernel: a
    Spark higher-order ``aggregate`` over the arrays cost more than the whole E-step.)"""
    return (posteriors_df
            .withColumn("confidence", confidence_col(F.col("posterior")))
            .withColumn("label", label_col(F.col("classes"), F.col("posterior")))
            .withColumn("n_classes", F.size("classes")))


def _policy_map(policies: Mapping[str, QueuePolicy], attribute: str) -> Column:
    if not policies:
        return F.create_map().cast("map<string,double>")
    pairs = [x for q, p in sorted(policies.items()) for x in (F.lit(q), F.lit(getattr(p, attribute)))]
    return F.create_map(*pairs)


def with_redundancy_decision(df: DataFrame, policies: Mapping[str, QueuePolicy],
                             default: QueuePolicy = DEFAULT_POLICY) -> DataFrame:
    """Adds the queue's ``threshold`` and ``max_labels`` and the ``needs_more_labels`` decision."""
    threshold = F.coalesce(_policy_map(policies, "threshold")[F.col("queue")],
                           F.lit(default.threshold)).cast("double")
    max_labels = F.coalesce(_policy_map(policies, "max_labels")[F.col("queue")],
                            F.lit(default.max_labels)).cast("int")
    return (df.withColumn("threshold", threshold)
              .withColumn("max_labels", max_labels)
              .withColumn("needs_more_labels",
                          needs_more_labels_col(F.col("confidence"), F.col("n_labels"),
                                                F.col("threshold"), F.col("max_labels"))))
