"""Allocate: decide who labels what next, for the window after the logical date.

Reads silver (tasks, judgments, roster) and, when they exist, the skill features and
the confidence posteriors; builds the allocation inputs (scoring/allocation/adapters.py),
scores candidate pairs with a pandas UDF, matches them under capacities with min-cost
flows per queue, and publishes the gated plan and its expected figures.

    spark-submit jobs/allocate.py --date 2026-01-05 --lake LAKE [--weight cost=1.5]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import date

from pyspark.sql import DataFrame

from jobs.job import JobContext, run_job
from schemas import allocation, silver
from schemas.contract import TableContract
from scoring.allocation import adapters
from scoring.allocation.config import (
    ARROW_BATCH_ROWS,
    DEFAULT_WINDOW_HOURS,
    MAX_EXACT_PAIRS,
    OPEN_TASK_HORIZON_DAYS,
    TOP_K,
    parse_weight_overrides,
    weights_for,
)
from scoring.allocation.pipeline import (
    AllocationInputs,
    AllocationSettings,
    allocate,
    empty_reason,
    window_after,
)
from scoring.allocation.plan import constraint_violations
from scoring.allocation.shared_capacity import STRATEGIES

log = logging.getLogger("labelops.allocate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window-hours", type=float, default=DEFAULT_WINDOW_HOURS,
                        help="length of the planning window starting at the end of --date")
    parser.add_argument("--top-k", type=int, default=TOP_K, help="max candidate labelers per task")
    parser.add_argument("--strategy", choices=STRATEGIES, default="auto",
                        help="how queues share a labeler's capacity: auto = one exact solve of all "
                             "queues when the pairs fit --max-exact-pairs, else priced per-queue "
                             "rounds (docs/allocation.md)")
    parser.add_argument("--max-exact-pairs", type=int, default=MAX_EXACT_PAIRS,
                        help="most pairs one exact solve (one Python worker) takes; a queue with more "
                             "is matched greedily (default %(default)s)")
    parser.add_argument("--weight", action="append", default=[], metavar="NAME=VALUE",
                        help="override a score weight for every queue, repeatable "
                             "(coverage, quality, cost, deadline, load)")
    parser.add_argument("--horizon-days", type=int, default=OPEN_TASK_HORIZON_DAYS,
                        help="plan only tasks created in the last N days")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random baseline")


def _optional_contract(module: str, *names: str) -> TableContract | None:
    """A contract another stage owns, if its module defines it yet (import guard)."""
    try:
        mod = __import__(module, fromlist=["ALL"])
    except ImportError:
        return None
    for name in names:
        if isinstance(getattr(mod, name, None), TableContract):
            return getattr(mod, name)
    return None


Reader = Callable[..., "DataFrame | None"]  # (contract, required=...) -> DataFrame | None


def _posteriors(read: Reader, as_of: date) -> DataFrame | None:
    contract = _optional_contract("schemas.confidence", "TASK_POSTERIORS")
    df = read(contract, required=False) if contract is not None else None
    if df is None or df.where(df["as_of_date"] <= as_of).limit(1).count() == 0:
        log.info("allocate: no task posteriors as of %s; confidence from vote shares, static label "
                 "targets", as_of)
        return None
    log.info("allocate: task confidence and needs_more_labels from %s", contract.qualified_name)
    return adapters.posteriors_as_of(df, as_of)


def _skills(read: Reader, judgments: DataFrame, as_of: date) -> DataFrame:
    """Skill source by precedence: features (gold, Beta posterior) > confidence model's
    confusion accuracy > silver gold judgments (Beta prior)."""
    features = _optional_contract("schemas.features", "LABELER_QUEUE_FEATURES")
    df = read(features, required=False) if features is not None else None
    if df is not None and df.where(df["as_of_date"] <= as_of).limit(1).count() > 0:
        log.info("allocate: skills from %s", features.qualified_name)
        return adapters.skills_from_features(df, as_of)
    confusion = _optional_contract("schemas.confidence", "LABELER_CONFUSION")
    df = read(confusion, required=False) if confusion is not None else None
    if df is not None and df.where(df["as_of_date"] <= as_of).limit(1).count() > 0:
        log.info("allocate: no skill features as of %s; skills from %s", as_of, confusion.qualified_name)
        return adapters.with_silver_handling(adapters.skills_from_confusion(df, as_of), judgments, as_of)
    log.info("allocate: no skill features or confusion as of %s; skills from silver gold judgments "
             "(Beta prior)", as_of)
    return adapters.skills_from_gold(judgments, as_of)


def load_inputs(read: Reader, as_of: date, window_hours: float, horizon_days: int) -> AllocationInputs:
    """The four allocation inputs from the lake (persisted: the caller unpersists them).

    ``read(contract, required=...)`` is ``JobContext.read`` in the job (pins versions as
    lineage) and a plain latest-version read in ``labelops allocation sweep``."""
    judgments = read(silver.JUDGMENTS)
    skills = _skills(read, judgments, as_of).persist()
    tasks = adapters.open_tasks(read(silver.TASKS), judgments, as_of, _posteriors(read, as_of), horizon_days)
    labelers = adapters.labelers_from_roster(read(silver.LABELER_SNAPSHOTS), skills, as_of, window_hours)
    judged = adapters.already_judged(judgments, as_of, horizon_days)
    return AllocationInputs(open_tasks=tasks.persist(), labelers=labelers.persist(), skills=skills,
                            already_judged=judged.persist())


def release(inputs: AllocationInputs) -> None:
    for df in (inputs.open_tasks, inputs.labelers, inputs.skills, inputs.already_judged):
        df.unpersist()


def build_allocation(ctx: JobContext) -> None:
    batch_conf = "spark.sql.execution.arrow.maxRecordsPerBatch"
    previous = ctx.spark.conf.get(batch_conf, None)
    ctx.spark.conf.set(batch_conf, str(ARROW_BATCH_ROWS))  # bigger Arrow batches for the scorer
    try:
        _build_allocation(ctx)
    finally:
        if previous is None:
            ctx.spark.conf.unset(batch_conf)
        else:
            ctx.spark.conf.set(batch_conf, previous)


def _build_allocation(ctx: JobContext) -> None:
    args = ctx.args
    settings = AllocationSettings(
        plan_date=ctx.logical_date, window_start=window_after(ctx.logical_date),
        window_hours=args.window_hours, top_k=args.top_k, strategy=args.strategy,
        max_exact_pairs=args.max_exact_pairs,
        weights=weights_for(parse_weight_overrides(args.weight)), random_seed=args.seed)
    inputs = load_inputs(ctx.read, ctx.logical_date, settings.window_hours, args.horizon_days)
    try:
        ctx.metric("allocation.top_k", settings.top_k)  # the bound shapes the plan: kept with the run
        ctx.metric("open_tasks", inputs.open_tasks.count())
        ctx.metric("labelers_with_capacity", inputs.labelers.where("capacity > 0").count())
        reason = empty_reason(inputs)
        result = None
        if reason is None:  # tasks and people: the pairs can still be empty (nobody eligible)
            result = allocate(ctx.spark, inputs, settings, ctx.run_id)
            # the computation is silent between the price rounds' lines: say where its time went
            log.info("allocate: planned %d candidate pairs in %s", result.stats["pairs"], result.timer.summary())
            ctx.metric("allocation.compute_ms", round(result.timer.seconds * 1000))
            for name in ("pairs", "pairs_bound", "pairs_cross_product", "tasks_without_eligible_labeler"):
                ctx.metric(f"allocation.{name}", int(result.stats[name] or 0))
            reason = result.empty_reason
        if reason is not None:
            _publish_empty_plan(ctx, settings, reason)
            return
        assert result is not None and result.plan is not None and result.metrics is not None
        plan = result.plan.persist()
        violations = constraint_violations(plan)
        rows = violations.pop("rows")
        for name, value in violations.items():
            ctx.metric(f"plan.violations.{name}", value)
        ctx.metric("plan.rows", rows)
        _log_figures(result.metrics, result.stats)
        metrics_df = ctx.spark.createDataFrame(
            result.metrics[allocation.PLAN_METRICS.columns], schema=allocation.PLAN_METRICS.schema)
        ctx.publish([(plan, allocation.PLAN), (metrics_df, allocation.PLAN_METRICS)])
        plan.unpersist()
    finally:
        release(inputs)


def _publish_empty_plan(ctx: JobContext, settings: AllocationSettings, reason: str) -> None:
    """Nothing to plan is a normal day, not a failure: empty plan and metrics versions say so."""
    log.warning("allocate %s: %s; publishing an EMPTY plan for window %s .. %s",
                ctx.logical_date, reason, settings.window_start, settings.window_end)
    ctx.metric("plan.rows", 0)
    ctx.publish([(ctx.spark.createDataFrame([], allocation.PLAN.schema), allocation.PLAN),
                 (ctx.spark.createDataFrame([], allocation.PLAN_METRICS.schema), allocation.PLAN_METRICS)])


def _log_figures(metrics, stats) -> None:
    overall = metrics[metrics["queue"] == "_all"].set_index("policy")
    for policy, row in overall.iterrows():
        log.info("allocate: %s plan: %d labels of %d needed, mean expected accuracy %.4f, cost %.2f "
                 "USD (%.4f per label), on-time share %.4f", policy, row["assigned"], row["demand_labels"],
                 row["mean_expected_accuracy"], row["total_expected_cost"], row["cost_per_label"],
                 row["on_time_share"])
    log.info("allocate: objective %.3f, upper bound %s, gap bound %s (strategy %s)", stats["objective"],
             stats["upper_bound"], stats["gap_bound"], stats["strategy"])


def main(argv: list[str] | None = None) -> int:
    return run_job("allocate", build_allocation, argv, description=__doc__.splitlines()[0],
                   add_arguments=add_arguments)


if __name__ == "__main__":
    sys.exit(main())
