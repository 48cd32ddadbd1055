"""Matching under one capacity per labeler shared by all its queues.

Matching is solved per queue (``applyInPandas`` over queue groups: small, parallel
solves), so the shared capacity must be coordinated across queues. Strategies:

* ``priced`` (default): Lagrangian coordination. Each round solves every queue as if
  the labeler's whole capacity were available to it, with the labeler's arcs charged a
  price; over-used labelers get dearer (subgradient step, ``PRICE_STEP / sqrt(round)``
  per unit of relative over-use). The last round's usage feeds the usage-based split of
  ``capacity.py``, and one per-queue solve with the true scores under that split gives
  the plan (feasible by construction). Each round also yields the Lagrangian dual bound
  sum_q opt_q(score - price) + sum_l price_l * capacity_l >= global optimum, so the gap
  is bounded even where no global solve fits. One round = the plain two-pass split.
* ``demand``: split by candidate demand only, one per-queue pass (cheapest, biggest gap).
* ``global``: one min-cost flow over all queues with the shared capacity (exact; one
  Python worker holds every pair, so only for instances that fit in one process).

The pairs are hash-partitioned by queue once and persisted; the per-round joins with
the (small) price and capacity tables are broadcast, so no round re-shuffles the pairs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from scoring.allocation.capacity import candidate_demand, queue_capacity_split, usage
from scoring.allocation.config import MAX_EXACT_PAIRS, PRICE_ROUNDS, PRICE_STEP
from scoring.allocation.matching import match_pairs

log = logging.getLogger("labelops.allocation")

Strategy = Literal["priced", "demand", "global"]
STRATEGIES: tuple[str, ...] = ("priced", "demand", "global")


@dataclass
class SharedCapacityPlan:
    matched: DataFrame  # chosen pairs (+ solver columns), persisted
    objective: float  # total score of the plan
    # (labeler_id, queue, queue_capacity): the capacities the plan was matched under
    # (None for ``global``: there queue_capacity is the labeler's whole capacity)
    capacity_split: DataFrame | None
    upper_bound: float | None = None  # best dual bound (priced) or the optimum (global)
    rounds: list[dict] = field(default_factory=list)  # per price round: dual bound, over-use

    @property
    def gap_bound(self) -> float | None:
        """Relative gap to the global optimum is at most this (None without a bound)."""
        if self.upper_bound is None or self.upper_bound == 0:
            return None
        return max(0.0, (self.upper_bound - self.objective) / abs(self.upper_bound))


def _plan_stats(df: DataFrame) -> tuple[float, set[str]]:
    row = df.agg(F.sum("score").alias("s"), F.collect_set("solver").alias("solvers")).first()
    return float(row["s"] or 0.0), set(row["solvers"] or [])


def match_shared_capacity(scored_df: DataFrame, strategy: Strategy = "priced", *,
                          keep: tuple[str, ...] = (), rounds: int = PRICE_ROUNDS,
                          step: float = PRICE_STEP, max_exact_pairs: int = MAX_EXACT_PAIRS,
                          compare_greedy: bool = True) -> SharedCapacityPlan:
    """Plans ``scored_df`` (needs queue, labeler_id, task_id, score, capacity,
    labels_needed, task_degree, plus the ``keep`` columns). ``matched`` is persisted:
    unpersist it when done."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; one of {STRATEGIES}")
    if strategy == "global":
        pairs = scored_df.withColumn("queue_capacity", F.col("capacity"))
        matched = match_pairs(pairs, by=None, keep=("queue", *keep), compare_greedy=compare_greedy,
                              max_exact_pairs=max_exact_pairs).localCheckpoint()
        objective, _ = _plan_stats(matched)
        return SharedCapacityPlan(matched, objective, None, upper_bound=objective)
    needed = list(dict.fromkeys(["queue", "labeler_id", "task_id", "score", "capacity",
                                 "labels_needed", "task_degree", *keep]))
    by_queue = scored_df.select(*needed).repartition("queue").persist()
    demand = candidate_demand(by_queue).persist()
    try:  # the plan is persisted; what it was computed from can go
        if strategy == "demand":
            split = queue_capacity_split(demand).localCheckpoint()
            pairs = by_queue.join(F.broadcast(split), on=["labeler_id", "queue"], how="left")
            matched = match_pairs(pairs, keep=keep, compare_greedy=compare_greedy,
                                  max_exact_pairs=max_exact_pairs).localCheckpoint()
            return SharedCapacityPlan(matched, _plan_stats(matched)[0], split)
        return _priced(by_queue, demand, keep=keep, rounds=max(1, rounds), step=step,
                       max_exact_pairs=max_exact_pairs, compare_greedy=compare_greedy)
    finally:
        demand.unpersist()
        by_queue.unpersist()


def _priced(by_queue: DataFrame, demand: DataFrame, *, keep: tuple[str, ...], rounds: int,
            step: float, max_exact_pairs: int, compare_greedy: bool) -> SharedCapacityPlan:
    """Price rounds on the relaxed per-queue problems, then ONE per-queue solve with the
    true scores under the capacity split from the last round's usage."""
    capacities = demand.select("labeler_id", "capacity").distinct().localCheckpoint()
    # the dual bound needs every relaxed partition solved exactly (none above the greedy threshold)
    all_exact = by_queue.groupBy("queue").count().where(F.col("count") > max_exact_pairs).limit(1).count() == 0
    prices = capacities.select("labeler_id", F.lit(0.0).alias("price"))
    history: list[dict] = []
    used = None
    for r in range(rounds):
        relaxed_pairs = (by_queue.join(F.broadcast(prices), on="labeler_id", how="left")
                         .withColumn("score", F.col("score") - F.coalesce(F.col("price"), F.lit(0.0)))
                         .withColumn("queue_capacity", F.col("capacity")))
        relaxed = match_pairs(relaxed_pairs, compare_greedy=False, max_exact_pairs=max_exact_pairs)
        used = usage(relaxed).localCheckpoint()
        per_labeler = (capacities
                       .join(used.groupBy("labeler_id").agg(F.sum("used").alias("used"),
                                                            F.sum("relaxed_score").alias("relaxed_score")),
                             on="labeler_id", how="left")
                       .join(prices, on="labeler_id", how="left")
                       .fillna({"used": 0, "price": 0.0, "relaxed_score": 0.0})
                       .localCheckpoint())
        stats = per_labeler.agg(  # sums of no pairs are 0, not null
            F.coalesce(F.sum("relaxed_score"), F.lit(0.0)).alias("relaxed_score"),
            F.coalesce(F.sum(F.col("price") * F.col("capacity")), F.lit(0.0)).alias("priced_capacity"),
            F.coalesce(F.sum(F.greatest(F.col("used") - F.col("capacity"), F.lit(0))), F.lit(0)).alias("overuse"),
        ).first()
        dual = float(stats["relaxed_score"] + stats["priced_capacity"]) if all_exact else None
        history.append({"round": r, "dual": dual, "overuse": int(stats["overuse"])})
        log.info("allocation price round %d: dual bound %s, over-use %s", r,
                 "n/a" if dual is None else f"{dual:.3f}", stats["overuse"])
        if history[-1]["overuse"] == 0:
            break  # the relaxed plan already fits every shared capacity: it is the optimum
        eta = step / math.sqrt(r + 1)
        prices = per_labeler.select(
            "labeler_id",
            F.greatest(F.lit(0.0), F.col("price") + eta * (F.col("used") - F.col("capacity")) / F.col("capacity"))
            .alias("price")).localCheckpoint()
    split = queue_capacity_split(demand, used).localCheckpoint()
    pairs = by_queue.join(F.broadcast(split), on=["labeler_id", "queue"], how="left")
    matched = match_pairs(pairs, keep=keep, max_exact_pairs=max_exact_pairs,
                          compare_greedy=compare_greedy).localCheckpoint()
    objective, _ = _plan_stats(matched)
    duals = [h["dual"] for h in history if h["dual"] is not None]
    log.info("allocation plan objective %.3f after %d price rounds (best dual bound %s)", objective,
             len(history), "n/a" if not duals else f"{min(duals):.3f}")
    return SharedCapacityPlan(matched, objective, split, upper_bound=min(duals) if duals else None,
                              rounds=history)
