"""Confidence: silver judgments -> task posteriors, labeler confusion, model runs (+ calibration report).

Fits Dawid-Skene (and any other configured method) on the submitted judgments of the
trailing window ending on the logical date, every queue at once, with the Spark engine.
Writes one ``as_of_date`` partition of each table (rerun = rewrite) and, per method, a
reliability diagram and the calibration bins under the lake's reports.

    spark-submit jobs/confidence.py --date 2026-01-05 --lake LAKE [--window-days 28]
        [--methods ds,mv] [--use-gold] [--threshold 0.9 --threshold video_policy=0.97]
        [--max-labels spam=4] [--shrinkage 10]

Why a trailing window and not all history: a labeler's confusion matrix needs weeks of
judgments to be estimated, but skills drift, and an all-history fit grows every day;
tasks older than the window are settled. ``--window-days 0`` uses all history.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import timedelta
from pathlib import Path

from jobs.job import JobContext, run_job
from schemas import silver
from schemas.confidence import LABELER_CONFUSION, MODEL_RUNS, TASK_POSTERIORS
from schemas.reference import QUEUES
from scoring import confidence_config as cfg
from scoring.calibration import write_reliability_png
from scoring.class_space import ClassSpace
from scoring.confidence_stage import empty_tables, runs_table, score, union_all
from scoring.em import METHODS, EmConfig
from scoring.judgment_selection import model_input
from scoring.model_outputs import RunInfo
from scoring.spark_engine import ENGINE_NAME, SparkEngine

log = logging.getLogger("labelops.job.confidence")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--methods", default=",".join(cfg.METHODS),
                   help=f"comma-separated, from {sorted(METHODS)} (default %(default)s)")
    p.add_argument("--window-days", type=int, default=cfg.WINDOW_DAYS,
                   help="trailing days of judgments, 0 = all history (default %(default)s)")
    p.add_argument("--use-gold", action=argparse.BooleanOptionalAction, default=cfg.USE_GOLD,
                   help="clamp gold tasks to their gold label while fitting (default %(default)s)")
    p.add_argument("--threshold", action="append", default=[], metavar="[QUEUE=]P",
                   help="publish threshold on confidence, for every queue or one; repeatable")
    p.add_argument("--max-labels", action="append", default=[], metavar="[QUEUE=]N",
                   help="most judgments a task may get, for every queue or one; repeatable")
    p.add_argument("--max-iter", type=int, default=cfg.MAX_ITER)
    p.add_argument("--tol", type=float, default=cfg.TOL)
    p.add_argument("--smoothing", type=float, default=cfg.SMOOTHING)
    p.add_argument("--shrinkage", type=float, default=cfg.SHRINKAGE,
                   help="ds: pseudo-judgments pulling each labeler toward its one-coin fit (sparse data)")


def _write_reports(ctx: JobContext, stage) -> dict[str, str]:
    """Reliability PNG + calibration JSON per method under <reports>/confidence/<date>/."""
    out = Path(ctx.lake.reports_root) / "confidence" / ctx.logical_date.isoformat()
    paths = {}
    for r in stage.results:
        bins = r.bins
        title = f"{r.method} posteriors, {ctx.logical_date} (gold tasks, all queues)"
        png = write_reliability_png(bins, out / f"reliability_{r.method}.png", title)
        (out / f"calibration_{r.method}.json").write_text(json.dumps({
            "method": r.method, "as_of_date": ctx.logical_date.isoformat(), "model_run_id": r.model_run_id,
            "ece": bins.ece(), "accuracy": bins.accuracy(), "n_gold": bins.n, "bins": bins.per_bin(),
            "by_queue": {q: {"ece": b.ece(), "accuracy": b.accuracy(), "n_gold": b.n}
                         for q, b in r.bins_by_queue.items()},
        }, indent=1))
        paths[r.method] = str(png)
        ctx.metric(f"{r.method}.gold_tasks", bins.n)
        log.info("calibration %s: ECE %s on %d gold tasks -> %s", r.method, bins.ece(), bins.n, png)
    return paths


def build_confidence(ctx: JobContext) -> None:
    args = ctx.args
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"confidence: unknown methods {unknown}; choose from {sorted(METHODS)}")
    space = ClassSpace.from_queues(QUEUES)
    policies = cfg.resolve_policies(space.groups, args.threshold, args.max_labels)
    config = EmConfig(max_iter=args.max_iter, tol=args.tol, smoothing=args.smoothing, shrinkage=args.shrinkage,
                      use_gold=args.use_gold)
    window_start = ctx.logical_date - timedelta(days=args.window_days - 1) if args.window_days > 0 else None
    info = RunInfo(as_of_date=ctx.logical_date, model_run_id=ctx.run_id, job_run_id=ctx.run_id,
                   engine=ENGINE_NAME, window_start=window_start, window_end=ctx.logical_date)

    judgments = model_input(ctx.read(silver.JUDGMENTS), ctx.logical_date, args.window_days).persist()
    try:
        n = judgments.count()
        ctx.metric("judgments.in_window", n)
        n_partitions = SparkEngine.partitions_for(n, ctx.spark.sparkContext.defaultParallelism)
        stage = score(judgments, space, methods, config, policies, info, n_partitions=n_partitions)
    finally:
        judgments.unpersist()
    try:
        ctx.metric("judgments.unknown_label", stage.engine.n_unknown)
        ctx.metric("judgments.unknown_gold_label", stage.engine.n_unknown_gold)
        ctx.metric("judgments.fitted", stage.engine.n_judgments)
        ctx.metric("tasks", stage.engine.n_tasks)
        if stage.engine.n_unknown:
            log.warning("confidence: %d judgments have a label outside their queue's classes; left out",
                        stage.engine.n_unknown)
        empty_post, empty_conf, empty_runs = empty_tables(ctx.spark)
        reports = _write_reports(ctx, stage) if stage.results else {}
        for r in stage.results:
            ctx.metric(f"{r.method}.iterations", r.fitted.iterations)
            ctx.metric(f"{r.method}.needs_more_labels", sum(r.needs_more_by_queue.values()))
        ctx.publish([
            (union_all([r.posteriors for r in stage.results], empty_post), TASK_POSTERIORS),
            (union_all([r.confusion for r in stage.results], empty_conf), LABELER_CONFUSION),
            (runs_table(ctx.spark, stage, space, config, policies, info, reports) if stage.results
             else empty_runs, MODEL_RUNS),
        ])
    finally:
        stage.close()


def main(argv: list[str] | None = None) -> int:
    return run_job("confidence", build_confidence, argv, description=__doc__.splitlines()[0],
                   add_arguments=add_arguments)


if __name__ == "__main__":
    sys.exit(main())
