"""Capacity-constrained matching of scored pairs: exact min-cost flow, greedy fallback.

The problem per partition: choose pairs to maximise the total score, each labeler at
most its capacity, each task at most the labels it still needs, no pair twice (arc
capacity 1). It is a transportation problem, so a min-cost flow is exact and integral:

    source --cap_l--> labeler l --1, cost -score--> task t --need_t--> sink
    source --------------- bypass, cost 0 ---------------------------> sink

Only pairs with a positive score get an arc (a pair that costs more than it is worth is
never planned), and the bypass lets the flow leave capacity unused. Scores become
integer costs (``COST_SCALE``); the rounding moves the optimum by < 1e-6 per pair.

The greedy fallback takes pairs by decreasing score while both sides have room; where
both run, ``match_partition`` reports greedy's relative gap to the exact optimum.

Both solvers see the pairs in one canonical order (by labeler, then task): they break ties
between equally good pairs by that order, and Spark hands a group's rows in shuffle-fetch
order, which changes from run to run. So a rerun of the same pairs gives the same plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow
from pyspark.sql import DataFrame
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

from scoring.allocation.config import COST_SCALE, MAX_EXACT_PAIRS


@dataclass(frozen=True)
class Instance:
    """A matching instance in index form (what both solvers take)."""

    labeler: np.ndarray  # int codes 0..L-1, one per pair
    task: np.ndarray  # int codes 0..T-1, one per pair
    score: np.ndarray  # float, one per pair
    capacity: np.ndarray  # int, one per labeler code
    need: np.ndarray  # int, one per task code

    @classmethod
    def from_frame(cls, pdf: pd.DataFrame, score: str = "score", capacity: str = "capacity",
                   need: str = "labels_needed", labeler: str = "labeler_id", task: str = "task_id") -> Instance:
        """Codes are the ranks of the sorted keys, so they do not depend on the row order."""
        lab_codes, lab_index = pd.factorize(pdf[labeler], sort=True)
        task_codes, task_index = pd.factorize(pdf[task], sort=True)
        cap = np.zeros(len(lab_index), dtype=np.int64)
        cap[lab_codes] = pdf[capacity].to_numpy(dtype=np.int64)
        nd = np.zeros(len(task_index), dtype=np.int64)
        nd[task_codes] = pdf[need].to_numpy(dtype=np.int64)
        return cls(lab_codes.astype(np.int64), task_codes.astype(np.int64),
                   pdf[score].to_numpy(dtype=np.float64), np.maximum(cap, 0), np.maximum(nd, 0))

    def objective(self, chosen: np.ndarray) -> float:
        return float(self.score[chosen].sum())

    @cached_property
    def order(self) -> np.ndarray:
        """Row positions by (labeler, task): the order the solvers consider the pairs in. One
        int64 key (a pair is unique) sorts ~2x faster than ``np.lexsort`` on the two codes."""
        key = self.labeler.astype(np.int64) * max(len(self.need), 1) + self.task
        return np.argsort(key, kind="stable")


def solve_exact(inst: Instance) -> np.ndarray:
    """Boolean mask of chosen pairs maximising the total score (OR-Tools min-cost flow)."""
    n_lab, n_task = len(inst.capacity), len(inst.need)
    positive = inst.order[inst.score[inst.order] > 0]  # arcs in canonical order
    chosen = np.zeros(len(inst.score), dtype=bool)
    flow_total = int(min(inst.capacity.sum(), inst.need.sum()))
    if len(positive) == 0 or flow_total == 0:
        return chosen
    source, sink = 0, 1 + n_lab + n_task
    lab_node = 1 + np.arange(n_lab)
    task_node = 1 + n_lab + np.arange(n_task)
    tails = np.concatenate([np.zeros(n_lab, np.int64), 1 + inst.labeler[positive],
                            task_node, [source]])
    heads = np.concatenate([lab_node, 1 + n_lab + inst.task[positive],
                            np.full(n_task, sink, np.int64), [sink]])
    caps = np.concatenate([inst.capacity, np.ones(len(positive), np.int64), inst.need, [flow_total]])
    costs = np.concatenate([np.zeros(n_lab, np.int64),
                            -np.rint(inst.score[positive] * COST_SCALE).astype(np.int64),
                            np.zeros(n_task, np.int64), [0]])
    mcf = min_cost_flow.SimpleMinCostFlow()
    arcs = mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    mcf.set_nodes_supplies(np.array([source, sink]), np.array([flow_total, -flow_total]))
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow did not solve to optimality (status {status})")
    pair_arcs = arcs[n_lab:n_lab + len(positive)]
    chosen[positive[mcf.flows(pair_arcs) > 0]] = True
    return chosen


def solve_greedy(inst: Instance) -> np.ndarray:
    """Pairs by decreasing score while labeler and task both have room: O(n log n)."""
    order = inst.order[np.argsort(-inst.score[inst.order], kind="stable")]  # ties: canonical order
    order = order[inst.score[order] > 0]
    cap = inst.capacity.copy().tolist()
    need = inst.need.copy().tolist()
    labs, tasks = inst.labeler[order].tolist(), inst.task[order].tolist()
    take = []
    for i, lab, task in zip(order.tolist(), labs, tasks, strict=True):
        if cap[lab] > 0 and need[task] > 0:
            cap[lab] -= 1
            need[task] -= 1
            take.append(i)
    chosen = np.zeros(len(inst.score), dtype=bool)
    chosen[np.asarray(take, dtype=np.int64)] = True
    return chosen


def relative_gap(optimum: float, value: float) -> float:
    """(optimum - value) / |optimum|, 0 when both are 0."""
    if optimum == 0:
        return 0.0 if value == 0 else float("inf")
    return (optimum - value) / abs(optimum)


MATCH_EXTRA_FIELDS = (
    StructField("solver", StringType(), False),
    StructField("partition_objective", DoubleType(), True),
    StructField("exact_objective", DoubleType(), True),
    StructField("greedy_objective", DoubleType(), True),
)


def match_partition(pdf: pd.DataFrame, capacity: str = "capacity", score: str = "score",
                    max_exact_pairs: int = MAX_EXACT_PAIRS, compare_greedy: bool = True,
                    labeler: str = "labeler_id", task: str = "task_id") -> pd.DataFrame:
    """The chosen rows of one partition, with the solver used and the objectives.

    Exact when the partition has at most ``max_exact_pairs`` pairs, else greedy. When the
    exact solver ran and ``compare_greedy``, greedy runs too, for the gap report. ``labeler``
    and ``task`` name the columns that identify the two sides (ids, or integer codes)."""
    if pdf.empty:
        return pdf.assign(solver=pd.Series(dtype=str), partition_objective=pd.Series(dtype=float),
                          exact_objective=pd.Series(dtype=float), greedy_objective=pd.Series(dtype=float))
    inst = Instance.from_frame(pdf, score=score, capacity=capacity, labeler=labeler, task=task)
    exact_obj = greedy_obj = None
    if len(pdf) <= max_exact_pairs:
        chosen, solver = solve_exact(inst), "min_cost_flow"
        exact_obj = inst.objective(chosen)
        if compare_greedy:
            greedy_obj = inst.objective(solve_greedy(inst))
    else:
        chosen, solver = solve_greedy(inst), "greedy"
        greedy_obj = inst.objective(chosen)
    out = pdf.loc[chosen].copy()
    out["solver"] = solver
    out["partition_objective"] = inst.objective(chosen)
    out["exact_objective"] = exact_obj
    out["greedy_objective"] = greedy_obj
    return out


def match_pairs(scored_df: DataFrame, *, by: str | tuple[str, ...] | None = "queue",
                capacity: str = "queue_capacity", keep: tuple[str, ...] = (),
                max_exact_pairs: int = MAX_EXACT_PAIRS, compare_greedy: bool = True,
                labeler: str = "labeler_id", task: str = "task_id") -> DataFrame:
    """Matched pairs, solved per ``by`` group with ``applyInPandas`` (``by=None``: one global
    partition, e.g. the random baseline under shared capacities).

    ``by`` may name more columns than the solve needs (``("_slot", "queue")``: pairs placed on
    partitions by ``placement.with_queue_slots`` are grouped without another shuffle); the
    output keeps them. Only the columns the solver needs plus ``keep`` travel through Python.
    ``labeler`` and ``task`` name the solver's keys: integer codes, where they are unique within
    a group, factorise faster than the ids."""
    group = (by,) if isinstance(by, str) else tuple(by or ())
    columns = list(dict.fromkeys(["labeler_id", "task_id", labeler, task, "score", "labels_needed", capacity,
                                  *group, *keep]))
    df = scored_df.select(*columns)
    schema = StructType([*df.schema.fields, *MATCH_EXTRA_FIELDS])

    def solve(pdf: pd.DataFrame) -> pd.DataFrame:
        return match_partition(pdf, capacity=capacity, max_exact_pairs=max_exact_pairs,
                               compare_greedy=compare_greedy, labeler=labeler, task=task)

    if group:
        return df.groupBy(*group).applyInPandas(solve, schema=schema)

    def solve_all(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        yield solve(pd.concat(list(batches), ignore_index=True))

    # One partition read in place (coalesce: no shuffle, no sort), not grouped on a constant key:
    # grouping shuffled every pair (ids and all) into one partition and sorted it first - on demo
    # day 7 (3.6 M pairs) 8.8-12.7 s against 6.1-6.6 s, the same plan (docs/allocation.md). What
    # feeds it runs in that one task too: cached pairs and a hash here, cheap.
    return df.coalesce(1).mapInPandas(solve_all, schema=schema)


def match_usage(scored_df: DataFrame, *, by: tuple[str, ...] = ("queue",), capacity: str = "capacity",
                max_exact_pairs: int = MAX_EXACT_PAIRS, labeler: str = "labeler_id",
                task: str = "task_id") -> DataFrame:
    """(queue, ``labeler``, used, relaxed_score) of the per-queue plans: what each solve asks
    of each labeler and the score it gets, aggregated in the Python worker that solved the queue.

    A price round needs only this, not the chosen pairs: one small row per labeler x queue
    crosses back to the JVM, and no shuffle groups the chosen pairs again. Integer codes as
    ``labeler`` and ``task`` (unique within a queue) travel and factorise faster than ids.
    ``by``: the grouping, which must split the pairs by queue (see ``match_pairs``)."""
    if "queue" not in by:
        raise ValueError(f"match_usage: the groups {by} must include the queue")
    df = scored_df.select(*dict.fromkeys([labeler, task, "score", "labels_needed", capacity, *by]))
    schema = StructType([df.schema["queue"], df.schema[labeler], StructField("used", LongType(), False),
                         StructField("relaxed_score", DoubleType(), True)])

    def solve(pdf: pd.DataFrame) -> pd.DataFrame:
        chosen = match_partition(pdf, capacity=capacity, max_exact_pairs=max_exact_pairs, compare_greedy=False,
                                 labeler=labeler, task=task)
        used = (chosen.groupby(["queue", labeler], sort=False)
                .agg(used=("score", "size"), relaxed_score=("score", "sum")).reset_index())
        return used.astype({"used": "int64", "relaxed_score": "float64"})

    return df.groupBy(*by).applyInPandas(solve, schema=schema)
