"""Features: silver -> daily aggregates and point-in-time feature tables, gated and versioned.

For logical date D: rebuilds the daily aggregates and feature rows of D and of every earlier
day whose windows received late data in D's silver merge (up to the newest published day),
gates all six tables, MERGEs them, and records one publication row per table in
features.publications (feature-set version, Delta version, input versions, code, gate).

    spark-submit jobs/build_features.py --date 2026-01-05 --lake LAKE [--rebuild-from 2026-01-01]

(Not ``jobs/features.py``: spark-submit puts the script's folder first on sys.path, where a
``features.py`` would shadow the ``features`` package.)
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from features.build import FeatureInputs, build_feature_tables
from features.config import DEFAULT_PARAMS, MAX_WINDOW_DAYS, FeatureParams
from features.plan import RebuildPlan, plan_rebuild, published_days
from features.registry import BY_TABLE
from jobs import delta_io
from jobs.job import JobContext, run_job
from jobs.lake import Lake
from jobs.quality import GateFailed, GateResult
from jobs.runs import code_version
from schemas import features as fx
from schemas import silver
from schemas.contract import TableContract

log = logging.getLogger("labelops.features")

Reader = Callable[[TableContract, bool], DataFrame | None]
STATE_TABLES = tuple(c.qualified_name for c in (*fx.DAILY_TABLES, *fx.FEATURE_TABLES))
ANCHOR_SEARCH_DAYS = 60


def _dates(df: DataFrame, column: str) -> list[date]:
    return sorted(r[0] for r in df.select(column).distinct().collect() if r[0] is not None)


def _between(df: DataFrame | None, column: str, first: date, last: date) -> DataFrame | None:
    return None if df is None else df.where(F.col(column).between(F.lit(first), F.lit(last)))


def plan_for(read: Reader, logical_date: date, rebuild_from: date | None) -> RebuildPlan:
    """Small facts -> the rebuild range: changed event days, published days, earliest silver day."""
    judgments, tasks = read(silver.JUDGMENTS, True), read(silver.TASKS, True)
    # Data skipping on ingest_date (file statistics) keeps these scans to the files D's merge wrote.
    changed = _dates(judgments.where(F.col("ingest_date") == F.lit(logical_date)), "event_date")
    changed += _dates(tasks.where(F.col("ingest_date") == F.lit(logical_date)), "created_date")
    publications = read(fx.PUBLICATIONS, False)
    ranges: list[tuple[str, date, date]] = []
    if publications is not None:
        horizon = min([logical_date, *changed, *([rebuild_from] if rebuild_from else [])]) \
            - timedelta(days=ANCHOR_SEARCH_DAYS)
        rows = (publications.where(F.col("gate_passed") & (F.col("as_of_end") >= F.lit(horizon)))
                .select("table_name", "as_of_start", "as_of_end").distinct().collect())
        ranges = [(r[0], r[1], r[2]) for r in rows]
    published = published_days(ranges, STATE_TABLES)
    first_guess = min([logical_date, *changed, *([rebuild_from] if rebuild_from else [])])
    earliest = None
    if not any(d < first_guess for d in published):  # no anchor: a full build from the first event day
        earliest = judgments.agg(F.min("event_date")).first()[0]
    return plan_rebuild(logical_date, changed, published, earliest, rebuild_from)


def inputs_for(read: Reader, plan: RebuildPlan, params: FeatureParams) -> FeatureInputs:
    """The silver slices of [first, last], the 28 days of daily aggregates before, the anchor rows."""
    first, last = plan.first, plan.last
    before = (first - timedelta(days=MAX_WINDOW_DAYS), first - timedelta(days=1))
    own = {c.qualified_name: (read(c, False) if plan.anchor else None) for c in (*fx.DAILY_TABLES, *fx.FEATURE_TABLES)}

    def daily(contract: TableContract) -> DataFrame | None:
        return _between(own[contract.qualified_name], "event_date", *before)

    def anchor_rows(contract: TableContract) -> DataFrame | None:
        return _between(own[contract.qualified_name], "as_of_date", plan.anchor, plan.anchor)

    return FeatureInputs(
        judgments=_between(read(silver.JUDGMENTS, True), "event_date", first, last),
        tasks=_between(read(silver.TASKS, True), "created_date", first, last),
        roster=_between(read(silver.LABELER_SNAPSHOTS, True), "snapshot_date",
                        first - timedelta(days=params.roster_lookback_days - 1), last),
        labeler_queue_daily_before=daily(fx.LABELER_QUEUE_DAILY),
        labeler_daily_before=daily(fx.LABELER_DAILY),
        queue_daily_before=daily(fx.QUEUE_DAILY),
        anchor_labeler_queue=anchor_rows(fx.LABELER_QUEUE_FEATURES),
        anchor_labeler=anchor_rows(fx.LABELER_FEATURES),
        anchor_tasks=anchor_rows(fx.TASK_FEATURES),
    )


def read_build_inputs(spark: SparkSession, lake: Lake, logical_date: date, rebuild_from: date | None = None,
                      params: FeatureParams = DEFAULT_PARAMS,
                      plan: RebuildPlan | None = None) -> tuple[FeatureInputs, RebuildPlan]:
    """Plan and inputs from a lake's latest versions, outside a job run (benchmarks, notebooks).
    ``plan`` replaces the job's own plan (e.g. one as-of day, to time it against the planned range)."""

    def read(contract: TableContract, required: bool) -> DataFrame | None:
        version = delta_io.latest_version(spark, lake.path(contract))
        if version is None:
            if required:
                raise FileNotFoundError(f"{contract.qualified_name} not found under {lake.root}")
            return None
        return delta_io.read_version(spark, lake.path(contract), version)

    plan = plan or plan_for(read, logical_date, rebuild_from)
    return inputs_for(read, plan, params), plan


def publication_rows(ctx: JobContext, plan: RebuildPlan, params: FeatureParams, versions: dict[str, int],
                     results: dict[str, GateResult], passed: bool) -> list[dict]:
    now = datetime.now(UTC)
    rows = []
    for table in STATE_TABLES:
        fs = BY_TABLE[table]
        result = results.get(table)
        summary = result.summary() if result else "not validated: an earlier table failed its gate"
        rows.append({
            "publication_id": f"{ctx.run_id}:{table}", "run_id": ctx.run_id, "feature_set": fs.name,
            "feature_set_version": fs.version, "definition_hash": fs.definition_hash(params),
            "table_name": table, "logical_date": ctx.logical_date, "as_of_start": plan.first,
            "as_of_end": plan.last, "delta_version": versions.get(table) if passed else None,
            "input_versions": dict(ctx.record.inputs), "code_version": code_version(),
            "params": {**params.as_dict(), "anchor": str(plan.anchor), "reason": plan.reason},
            "gate_passed": bool(passed and result is not None and result.passed),
            "gate_summary": summary[:4000], "published_at": now,
        })
    return rows


def record_publications(ctx: JobContext, rows: list[dict]) -> None:
    """Append the run's publication rows (bookkeeping, like _ops/runs: not gated)."""
    df = ctx.spark.createDataFrame(rows, fx.PUBLICATIONS.schema).coalesce(1)  # a few rows: one file
    path = ctx.lake.path(fx.PUBLICATIONS)
    delta_io.append(df, fx.PUBLICATIONS, path, ctx.user_metadata())
    ctx.record.outputs[fx.PUBLICATIONS.qualified_name] = delta_io.latest_version(ctx.spark, path)


def build_features(ctx: JobContext) -> None:
    params = DEFAULT_PARAMS.with_overrides(ew_half_life_days=ctx.args.ew_half_life_days)
    read: Reader = lambda contract, required: ctx.read(contract, required=required)  # noqa: E731
    plan = plan_for(read, ctx.logical_date, ctx.args.rebuild_from)
    log.info("features: rebuilding as-of days %s..%s (%d days, anchor %s): %s; late days %s",
             plan.first, plan.last, len(plan.days), plan.anchor, plan.reason,
             [d.isoformat() for d in plan.changed_days if d < ctx.logical_date])
    ctx.metric("as_of_days", len(plan.days))
    ctx.metric("late_event_days", sum(1 for d in plan.changed_days if d < ctx.logical_date))
    build = build_feature_tables(ctx.spark, inputs_for(read, plan, params), plan.first, plan.last, params)
    # The computation is silent for most of the run (one eager checkpoint per step): say where it went.
    log.info("features: computed %d tables for %d as-of days in %s", len(build.tables), len(plan.days),
             build.summary())
    ctx.metric("compute_ms", round(build.seconds * 1000))
    outputs = [(df, fx.with_freshness(contract, ctx.logical_date, plan.first, plan.last))
               for df, contract in build.outputs()]
    for df, contract in outputs:  # materialised already: counting is cheap
        ctx.metric(f"{contract.name}.rows", df.count())
    write_options = {c.qualified_name: {"first": plan.first, "last": plan.last} for _, c in outputs}
    try:
        versions = ctx.publish(outputs, write_options=write_options)
    except GateFailed:
        results = {r.table: r for r in ctx.gate_results}
        record_publications(ctx, publication_rows(ctx, plan, params, {}, results, passed=False))
        raise
    finally:
        build.release()
    results = {r.table: r for r in ctx.gate_results}
    record_publications(ctx, publication_rows(ctx, plan, params, versions, results, passed=True))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rebuild-from", type=date.fromisoformat, default=None,
                        help="also rebuild every as-of day from this date (backfill)")
    parser.add_argument("--ew-half-life-days", type=float, default=None,
                        help=f"half-life of the exponentially weighted accuracy (default {DEFAULT_PARAMS.ew_half_life_days})")


def main(argv: list[str] | None = None) -> int:
    return run_job("features", build_features, argv, description=__doc__.splitlines()[0],
                   add_arguments=add_arguments)


if __name__ == "__main__":
    sys.exit(main())
