"""Smoothed per-labeler confusion matrices from gold, as map columns.

Raw gold counts per (labeler, queue) are sparse: a rare true class may have 0 or 1 gold in
28 days. Each true-label row is therefore a Dirichlet posterior mean: the labeler's counts
plus ``strength`` pseudo-counts spread like the queue's pooled row (all labelers, same
window, add-one smoothed). With no gold a row is the queue's pooled row; with many it is
the labeler's own frequencies.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from features.labeler_daily import GOLD_PAIR_SEPARATOR
from schemas.reference import QUEUES


def queue_labels(queue: Column) -> Column:
    """The queue's label set (reference order) as array<string>; null for an unknown queue."""
    pairs = []
    for name, q in sorted(QUEUES.items()):
        pairs += [F.lit(name), F.array(*[F.lit(label) for label in q.labels])]
    return F.try_element_at(F.create_map(*pairs), queue)


def _count(counts: Column, true_label: Column, given: Column) -> Column:
    key = F.concat(true_label, F.lit(GOLD_PAIR_SEPARATOR), given)
    return F.coalesce(F.try_element_at(counts, key), F.lit(0)).cast("double")


def smoothed_confusion(counts: Column, pooled: Column, labels: Column, strength: float) -> Column:
    """map<true label, map<given label, probability>>; each row sums to 1.

    ``counts``/``pooled``: map<"true|given", bigint> of the labeler and of the queue."""
    s = F.lit(float(strength))
    k = F.size(labels).cast("double")

    def row(t: Column) -> Column:
        n_t = F.aggregate(labels, F.lit(0.0), lambda acc, g: acc + _count(counts, t, g))
        pooled_t = F.aggregate(labels, F.lit(0.0), lambda acc, g: acc + _count(pooled, t, g))
        probs = F.transform(
            labels,
            lambda g: (_count(counts, t, g) + s * (_count(pooled, t, g) + F.lit(1.0)) / (pooled_t + k)) / (n_t + s),
        )
        return F.map_from_arrays(labels, probs)

    return F.when(labels.isNotNull() & (F.size(labels) > 0),
                  F.map_from_arrays(labels, F.transform(labels, row)))


def balanced_accuracy(confusion: Column) -> Column:
    """Mean of the diagonal (per-class recall): a constant-label spammer scores 1/k here even
    when its one label is the majority class and its plain accuracy looks fine."""
    diag = F.transform(F.map_entries(confusion),
                       lambda e: F.coalesce(F.try_element_at(e["value"], e["key"]), F.lit(0.0)))
    total = F.aggregate(diag, F.lit(0.0), lambda acc, x: acc + x)
    return F.when(F.size(diag) > 0, total / F.size(diag))
