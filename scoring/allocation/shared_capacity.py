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
* ``auto`` (default): ``global`` when the pairs fit one exact solve (at most
  ``MAX_EXACT_PAIRS``), else ``priced``. Where it fits, one exact solve is both better and
  faster than the rounds: on demo day 7 (3.6 M pairs) matching took 15.1-16.7 s warm against
  29.2-30.7 s priced, and gave the optimum (docs/allocation.md, "Which strategy runs").

The pairs are partitioned once, each queue on a partition of its own, largest first
(``placement``), and persisted; the per-round joins with the (small) price and capacity
tables are broadcast, so no round re-shuffles the pairs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from scoring.allocation.capacity import candidate_demand, queue_capacity_split
from scoring.allocation.config import MAX_EXACT_PAIRS, PRICE_ROUNDS, PRICE_STEP
from scoring.allocation.matching import match_pairs, match_usage
from scoring.allocation.placement import SLOT, by_queue_slots

log = logging.getLogger("labelops.allocation")

Strategy = Literal["auto", "priced", "demand", "global"]
STRATEGIES: tuple[str, ...] = ("auto", "priced", "demand", "global")
# every solve groups the pairs by queue, on the partitions ``by_queue_slots`` gave them
SOLVE_GROUPS = (SLOT, "queue")


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


def resolve_strategy(strategy: Strategy, pairs: int, max_exact_pairs: int = MAX_EXACT_PAIRS) -> Strategy:
    """The strategy that runs: ``auto`` is ``global`` when all ``pairs`` fit one exact solve (one
    Python worker), else ``priced``, which solves per queue and so scales out. Others as given."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; one of {STRATEGIES}")
    if strategy != "auto":
        return strategy
    return "global" if pairs <= max_exact_pairs else "priced"


def _plan_stats(df: DataFrame) -> tuple[float, set[str]]:
    row = df.agg(F.sum("score").alias("s"), F.collect_set("solver").alias("solvers")).first()
    return float(row["s"] or 0.0), set(row["solvers"] or [])


def match_shared_capacity(scored_df: DataFrame, strategy: Strategy = "auto", *,
                          keep: tuple[str, ...] = (), rounds: int = PRICE_ROUNDS,
                          step: float = PRICE_STEP, max_exact_pairs: int = MAX_EXACT_PAIRS,
                          compare_greedy: bool = True) -> SharedCapacityPlan:
    """Plans ``scored_df`` (needs queue, labeler_id, task_id, score, capacity,
    labels_needed, task_degree, plus the ``keep`` columns). ``matched`` is persisted:
    unpersist it when done. ``auto`` counts the pairs (``resolve_strategy``): a caller that
    knows the count resolves it first."""
    # only ``auto`` needs the count (resolve_strategy checks the name either way)
    strategy = resolve_strategy(strategy, scored_df.count() if strategy == "auto" else 0, max_exact_pairs)
    if strategy == "global":
        pairs = scored_df.withColumn("queue_capacity", F.col("capacity"))
        matched = match_pairs(pairs, by=None, keep=("queue", *keep), compare_greedy=compare_greedy,
                              max_exact_pairs=max_exact_pairs).localCheckpoint()
        objective, _ = _plan_stats(matched)
        return SharedCapacityPlan(matched, objective, None, upper_bound=objective)
    codes = [c for c in ("l_code", "t_code") if c in scored_df.columns]  # the solver's keys, if any
    needed = list(dict.fromkeys(["queue", "labeler_id", "task_id", "score", "capacity",
                                 "labels_needed", "task_degree", *codes, *keep]))
    # the demand table (one row per labeler x queue, bounded by the roster) comes first: its pair
    # counts place each queue on a partition of its own, largest first (``placement``)
    demand = candidate_demand(scored_df.select(*needed)).persist()
    lq = demand.toPandas()
    by_queue = by_queue_slots(scored_df.select(*needed), lq.groupby("queue")["pairs"].sum().to_dict()).persist()
    # materialised before any solve is planned: a cached plan not yet computed reports no
    # partitioning, and the first solve would shuffle the pairs again
    by_queue.count()
    try:  # the plan is persisted; what it was computed from can go
        if strategy == "demand":
            split = queue_capacity_split(demand).localCheckpoint()
            pairs = by_queue.join(F.broadcast(split), on=["labeler_id", "queue"], how="left")
            matched = match_pairs(pairs, by=SOLVE_GROUPS, keep=keep, compare_greedy=compare_greedy,
                                  max_exact_pairs=max_exact_pairs).drop(SLOT).localCheckpoint()
            return SharedCapacityPlan(matched, _plan_stats(matched)[0], split)
        return _priced(by_queue, demand, lq, keep=keep, rounds=max(1, rounds), step=step,
                       max_exact_pairs=max_exact_pairs, compare_greedy=compare_greedy)
    finally:
        demand.unpersist()
        by_queue.unpersist()


def _price_table(spark: SparkSession, prices: pd.Series) -> DataFrame:
    """The (labeler_id, price) broadcast side of a round, from the driver's small price vector."""
    frame = pd.DataFrame({"labeler_id": prices.index.astype(str), "price": prices.to_numpy(dtype=np.float64)})
    return spark.createDataFrame(frame, "labeler_id string, price double")


def _priced(by_queue: DataFrame, demand: DataFrame, lq: pd.DataFrame, *, keep: tuple[str, ...], rounds: int,
            step: float, max_exact_pairs: int, compare_greedy: bool) -> SharedCapacityPlan:
    """Price rounds on the relaxed per-queue problems, then ONE per-queue solve with the
    true scores under the capacity split from the last round's usage.

    A round is one Spark job: the per-queue solves return their usage per labeler x queue
    (``match_usage``), which comes to the driver (a row per labeler x queue, bounded by the
    roster); the dual bound, the over-use and the next prices are computed there, and the
    prices go back as a small broadcast table."""
    spark = by_queue.sparkSession
    # pairs with the entity codes of candidate_pairs(codes=...) send those to the solver, not ids
    coded = {"l_code", "t_code"} <= set(by_queue.columns)
    labeler, task = ("l_code", "t_code") if coded else ("labeler_id", "task_id")
    # ``lq``: the demand table on the driver (capacities, the queue sizes, the code -> labeler map)
    capacity = lq.groupby("labeler_id")["capacity"].first().astype(np.float64)
    # the dual bound needs every relaxed partition solved exactly (none above the greedy threshold)
    all_exact = bool((lq.groupby("queue")["pairs"].sum() <= max_exact_pairs).all())
    prices = pd.Series(0.0, index=capacity.index)
    history: list[dict] = []
    used = pd.DataFrame({"labeler_id": pd.Series(dtype=str), "queue": pd.Series(dtype=str),
                         "used": pd.Series(dtype="int64"), "relaxed_score": pd.Series(dtype=float)})
    for r in range(rounds):
        relaxed_pairs = (by_queue.join(F.broadcast(_price_table(spark, prices)), on="labeler_id", how="left")
                         .withColumn("score", F.col("score") - F.coalesce(F.col("price"), F.lit(0.0))))
        used = match_usage(relaxed_pairs, by=SOLVE_GROUPS, max_exact_pairs=max_exact_pairs, labeler=labeler, task=task).toPandas()
        if coded:
            used = used.merge(lq[["l_code", "labeler_id"]], on="l_code", how="left").drop(columns="l_code")
        # the queues' rows arrive in task-completion order: sorted, the float sums below (and so
        # the next prices) are the same in every run
        used = used.sort_values(["labeler_id", "queue"], kind="stable").reset_index(drop=True)
        per_labeler = (used.groupby("labeler_id")[["used", "relaxed_score"]].sum()
                       .reindex(capacity.index, fill_value=0))
        over = np.maximum(per_labeler["used"].to_numpy(dtype=np.float64) - capacity.to_numpy(), 0.0)
        relaxed_score = float(per_labeler["relaxed_score"].sum())
        dual = relaxed_score + float((prices * capacity).sum()) if all_exact else None
        history.append({"round": r, "dual": dual, "overuse": int(over.sum())})
        log.info("allocation price round %d: dual bound %s, over-use %s", r,
                 "n/a" if dual is None else f"{dual:.3f}", history[-1]["overuse"])
        if history[-1]["overuse"] == 0:
            break  # the relaxed plan already fits every shared capacity: it is the optimum
        eta = step / math.sqrt(r + 1)
        relative = (per_labeler["used"] - capacity) / capacity.where(capacity > 0)
        prices = (prices + eta * relative.fillna(0.0)).clip(lower=0.0)
    used = spark.createDataFrame(used[["labeler_id", "queue", "used"]], "labeler_id string, queue string, used long")
    split = queue_capacity_split(demand, used).localCheckpoint()
    pairs = by_queue.join(F.broadcast(split), on=["labeler_id", "queue"], how="left")
    matched = match_pairs(pairs, by=SOLVE_GROUPS, keep=keep, max_exact_pairs=max_exact_pairs,
                          compare_greedy=compare_greedy, labeler=labeler, task=task).drop(SLOT).localCheckpoint()
    objective, _ = _plan_stats(matched)
    duals = [h["dual"] for h in history if h["dual"] is not None]
    log.info("allocation plan objective %.3f after %d price rounds (best dual bound %s)", objective,
             len(history), "n/a" if not duals else f"{min(duals):.3f}")
    return SharedCapacityPlan(matched, objective, split, upper_bound=min(duals) if duals else None,
                              rounds=history)
