"""The allocation stage as one pure function: inputs in, plan and its figures out.

    candidate_pairs -> entity codes -> score (pandas UDF over the codes)
      -> shared-capacity matching (per queue) -> components of the planned pairs
      -> plan rows (ranks, weights, constraint columns) + expected figures vs random

``jobs/allocate.py`` wires it to tables; the Pareto command and the bench reuse the
pieces. Nothing here reads or writes storage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from infra.checkpoints import release
from infra.side_by_side import beside
from infra.step_timer import StepTimer
from scoring.allocation.candidates import candidate_pairs, pair_bound
from scoring.allocation.coded import (
    CODE_COLUMNS,
    EntityCodes,
    entity_codes,
    with_coded_components,
    with_coded_score,
    with_entity_inputs,
    with_load_ratios,
)
from scoring.allocation.config import (
    DEFAULT_WINDOW_HOURS,
    MAX_EXACT_PAIRS,
    POLICY_VERSION,
    TOP_K,
    Weights,
    weights_for,
)
from scoring.allocation.matching import relative_gap
from scoring.allocation.metrics import plan_metrics, totals, with_random_scores, with_ratios
from scoring.allocation.plan import build_plan, weights_df, with_constraint_columns
from scoring.allocation.shared_capacity import (
    SharedCapacityPlan,
    Strategy,
    match_shared_capacity,
    resolve_strategy,
)

log = logging.getLogger("labelops.allocation")

# what matching carries to the plan; the components are added after matching, from the codes
PLAN_KEEP = ("queue", *CODE_COLUMNS, "priority", "deadline_at")


@dataclass(frozen=True)
class AllocationInputs:
    """The four interface frames (docs/allocation.md, "Inputs")."""

    open_tasks: DataFrame
    labelers: DataFrame
    skills: DataFrame
    already_judged: DataFrame


@dataclass(frozen=True)
class AllocationSettings:
    plan_date: date
    window_start: datetime
    window_hours: float = DEFAULT_WINDOW_HOURS
    top_k: int = TOP_K
    strategy: Strategy = "auto"
    weights: Mapping[str, Weights] = field(default_factory=weights_for)
    max_exact_pairs: int = MAX_EXACT_PAIRS
    random_seed: int = 7
    policy_version: str = POLICY_VERSION

    @property
    def window_end(self) -> datetime:
        return self.window_start + timedelta(hours=self.window_hours)


NO_ELIGIBLE_PAIR = ("no eligible labeler x task pair (no labeler with capacity is certified for an open "
                    "task's queue, speaks its language and has not judged it yet)")


@dataclass
class AllocationResult:
    plan: DataFrame | None  # PLAN contract columns (+ extras the contract drops); None when empty
    metrics: pd.DataFrame | None  # per queue and "_all", policy and random (small); None when empty
    stats: dict[str, float | int | str | None]  # run figures for logs and ctx.metric
    empty_reason: str | None = None  # why there is nothing to plan although there are tasks and people
    # where allocate() spent its time (the random baseline runs beside matching, so the steps
    # can add up to more than the whole)
    timer: StepTimer = field(default_factory=StepTimer)


def window_after(plan_date: date) -> datetime:
    """The default window starts at the end of the logical date (00:00 UTC the next day)."""
    return datetime.combine(plan_date + timedelta(days=1), datetime.min.time())


def empty_reason(inputs: AllocationInputs) -> str | None:
    """Why there is nothing to plan (None when there is work and people): cheap checks."""
    has_tasks = inputs.open_tasks.where(F.col("labels_needed") > 0).limit(1).count() > 0
    has_people = inputs.labelers.where(F.col("capacity") > 0).limit(1).count() > 0
    if not has_tasks and not has_people:
        return "no open tasks need labels and no active labeler has capacity"
    if not has_tasks:
        return "no open tasks need labels"
    if not has_people:
        return "the roster has no active labeler with capacity in the window"
    return None


def _solver_objectives(matched: DataFrame, per_queue: bool) -> pd.DataFrame:
    """Exact and greedy objectives per matching partition: per queue, or one "_all" row when
    one global partition was solved (small either way)."""
    key = F.col("queue") if per_queue else F.lit("_all")
    return (matched.groupBy(key.alias("queue"))
            .agg(F.first("exact_objective").alias("exact_objective"),
                 F.first("greedy_objective").alias("greedy_objective"))
            .toPandas())


def allocate(spark: SparkSession, inputs: AllocationInputs, settings: AllocationSettings,
             run_id: str) -> AllocationResult:
    """Plan the window: every step of the stage, returning the plan and its figures."""
    timer = StepTimer()
    with timer.step("entity_codes"):
        codes = entity_codes(inputs.open_tasks, inputs.labelers, inputs.skills, settings.window_start)
    pairs = candidate_pairs(inputs.open_tasks, inputs.labelers, inputs.skills, inputs.already_judged,
                            settings.window_start, top_k=settings.top_k, codes=codes).persist()
    try:
        result = _allocate_pairs(spark, pairs, codes, inputs, settings, run_id, timer)
    finally:
        pairs.unpersist()
    timer.stop()
    return result


def _allocate_pairs(spark: SparkSession, pairs: DataFrame, codes: EntityCodes, inputs: AllocationInputs,
                    settings: AllocationSettings, run_id: str, timer: StepTimer) -> AllocationResult:
    """Score, match and report the (persisted, coded) candidate pairs."""
    with timer.step("candidate_pairs"):
        n_pairs = pairs.count()
    with timer.step("load_ratios"):
        entities = with_load_ratios(codes, pairs)
    # not persisted: each reader re-runs the UDF over the cached pairs (cheaper than caching twice)
    scored = with_coded_score(pairs, entities, settings.weights, settings.window_hours)
    bound = pair_bound(inputs.open_tasks, inputs.labelers, settings.top_k).agg(
        F.sum("cross_product").alias("cross"), F.sum("bound").alias("bound"),
        F.sum(F.when(F.col("labelers") == 0, F.col("tasks")).otherwise(0)).alias("unservable")).first()
    stats: dict[str, float | int | None] = {
        "pairs": n_pairs, "pairs_bound": int(bound["bound"] or 0),
        "pairs_cross_product": int(bound["cross"] or 0),
        "tasks_without_eligible_labeler": int(bound["unservable"] or 0),
        "entity_input_bytes": entities.nbytes,
    }
    log.info("allocation: %d candidate pairs (bound %d = tasks x min(labelers, top_k=%d); full "
             "eligible cross product %d)", n_pairs, stats["pairs_bound"], settings.top_k,
             stats["pairs_cross_product"])
    if n_pairs == 0:
        return AllocationResult(plan=None, metrics=None, stats=stats, empty_reason=NO_ELIGIBLE_PAIR, timer=timer)
    strategy = resolve_strategy(settings.strategy, n_pairs, settings.max_exact_pairs)
    if strategy != settings.strategy:
        log.info("allocation: strategy %s -> %s (%d pairs, one exact solve takes at most %d)",
                 settings.strategy, strategy, n_pairs, settings.max_exact_pairs)
    # Baseline: a random maximal assignment of the same pairs under the same shared capacities
    # (greedy over random scores in ONE partition, i.e. on one core). It runs beside the policy's
    # matching, which leaves the other core idle: one global solve (``auto`` where the pairs fit),
    # or per-queue solves that wait for the biggest queue.
    with beside(spark, _random_baseline, scored, settings.random_seed, timer,
                name="random-baseline") as random_future:
        with timer.step("matching", lane="policy"):
            result = match_shared_capacity(scored, strategy, keep=PLAN_KEEP,
                                           max_exact_pairs=settings.max_exact_pairs)
        random_plan = random_future.result()
    split = result.capacity_split
    # unscored: the figures add the score with the other components, as built-ins (plan_metrics)
    with_capacity = (pairs.join(F.broadcast(split), on=["labeler_id", "queue"], how="left") if split is not None
                     else pairs.withColumn("queue_capacity", F.col("capacity")))
    planned = with_coded_components(result.matched, entities, settings.weights, settings.window_hours)
    plan = (build_plan(planned, weights=weights_df(spark, settings.weights),
                       plan_date=settings.plan_date, window_start=settings.window_start,
                       window_end=settings.window_end, run_id=run_id,
                       policy_version=settings.policy_version)
            .transform(with_constraint_columns, inputs.labelers, inputs.open_tasks,
                       inputs.already_judged))
    # the figures need every pair's components: built-in formulas over the inputs joined by code
    with timer.step("plan_figures"):
        per_queue = plan_metrics(with_entity_inputs(with_capacity, entities),
                                 {"policy": result.matched, "random": random_plan.matched},
                                 window_h=settings.window_hours, weights=settings.weights).toPandas()
        release(random_plan.matched)  # a local checkpoint: unpersist() alone keeps its blocks
        objectives = _solver_objectives(result.matched, per_queue=strategy != "global")
    metrics = _metrics_table(per_queue, objectives, result.upper_bound).assign(
        plan_date=settings.plan_date, strategy=strategy,
        policy_version=settings.policy_version, run_id=run_id)
    stats.update({"objective": result.objective, "upper_bound": result.upper_bound,
                  "gap_bound": result.gap_bound, "strategy": strategy})
    return AllocationResult(plan=plan, metrics=metrics, stats=stats, timer=timer)


def _random_baseline(scored: DataFrame, seed: int, timer: StepTimer) -> SharedCapacityPlan:
    with timer.step("random_baseline", lane="random"):
        return match_shared_capacity(with_random_scores(scored, seed), "global", compare_greedy=False,
                                     max_exact_pairs=0)


def _metrics_table(per_queue: pd.DataFrame, objectives: pd.DataFrame,
                   upper_bound: float | None) -> pd.DataFrame:
    """Per-queue rows and "_all" rows (both policies) with the solver objectives and gaps."""
    rows = pd.concat([with_ratios(per_queue), totals(per_queue)], ignore_index=True)
    objectives = objectives.assign(policy="policy")
    if "_all" not in set(objectives["queue"]):
        both = objectives.dropna(subset=["exact_objective", "greedy_objective"])
        if len(both):  # greedy's gap over the queues where both solvers ran
            objectives = pd.concat([objectives, pd.DataFrame([{
                "queue": "_all", "policy": "policy", "exact_objective": both["exact_objective"].sum(),
                "greedy_objective": both["greedy_objective"].sum()}])], ignore_index=True)
    out = rows.merge(objectives, on=["queue", "policy"], how="left")
    out["greedy_gap"] = [relative_gap(e, g) if pd.notna(e) and pd.notna(g) else None
                         for e, g in zip(out["exact_objective"], out["greedy_objective"], strict=True)]
    out["upper_bound"] = [upper_bound if (q == "_all" and p == "policy") else None
                          for q, p in zip(out["queue"], out["policy"], strict=True)]
    return out.rename(columns={"sum_expected_cost": "total_expected_cost",
                               "sum_label_value": "total_label_value", "sum_score": "objective"})
