"""``labelops allocation sweep --lake L --date D [--json]``: the Pareto sweep of the allocation
policy on one day's inputs: for a grid of weights, the plan's expected quality, cost and
on-time share, as a CSV and a PNG under the lake's reports folder, so a user can pick a point
and run ``labelops run allocate --date D --weight quality=.. --weight cost=..``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import date
from pathlib import Path

from jobs.lake import Lake


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("allocation", help="allocation policy tools (Pareto sweep)", description=__doc__)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    s = actions.add_parser("sweep", help="expected quality / cost / on-time share over a weight grid",
                           description=__doc__)
    s.add_argument("--lake", default=None, help="lake root (default $LABELOPS_LAKE or ./lakehouse)")
    s.add_argument("--date", required=True, type=date.fromisoformat, help="logical date YYYY-MM-DD")
    s.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,..",
                   help="a weight axis, repeatable (default quality, cost, deadline axes)")
    s.add_argument("--window-hours", type=float, default=None)
    s.add_argument("--top-k", type=int, default=None)
    s.add_argument("--horizon-days", type=int, default=None)
    s.add_argument("--out", default=None, help="folder for the CSV and PNG (default <lake>/_reports/allocation)")
    s.add_argument("--json", action="store_true", help="print the sweep as one JSON document")
    s.add_argument("--master", default=None)
    s.set_defaults(func=run_sweep)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def parse_grid(items: list[str]) -> dict[str, tuple[float, ...]] | None:
    """["quality=0,1,2", "cost=0,1"] -> {"quality": (0.0, 1.0, 2.0), "cost": (0.0, 1.0)}."""
    if not items:
        return None
    grid = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise SystemExit(f"--grid {item!r} is not NAME=V1,V2,..")
        grid[name.strip()] = tuple(float(v) for v in values.split(","))
    return grid


def run_sweep(args: argparse.Namespace) -> int:
    from jobs import delta_io
    from jobs.allocate import load_inputs, release
    from jobs.job import setup_logging
    from jobs.session import build_spark
    from scoring.allocation import config
    from scoring.allocation.candidates import candidate_pairs
    from scoring.allocation.capacity import with_queue_capacity
    from scoring.allocation.pareto import pareto_sweep, plot_frontier, weight_grid
    from scoring.allocation.pipeline import NO_ELIGIBLE_PAIR, empty_reason, window_after
    from scoring.allocation.scorers import with_scores

    setup_logging()
    log = logging.getLogger("labelops.allocation")
    lake = Lake.from_arg(args.lake)
    spark = build_spark("labelops-allocation-sweep", master=args.master or "local[*]",
                        extra_conf={"spark.ui.enabled": "false"})

    def read(contract, required: bool = True):
        path = lake.path(contract)
        version = delta_io.latest_version(spark, path)
        if version is None:
            if required:
                raise SystemExit(f"table {contract.qualified_name} does not exist at {path}")
            return None
        return delta_io.read_version(spark, path, version)

    window_h = args.window_hours or config.DEFAULT_WINDOW_HOURS
    grid = weight_grid(parse_grid(args.grid))
    inputs = load_inputs(read, args.date, window_h, args.horizon_days or config.OPEN_TASK_HORIZON_DAYS)
    sweep = None
    try:
        reason = empty_reason(inputs)
        if reason is None:
            top_k = args.top_k or config.TOP_K
            pairs = candidate_pairs(inputs.open_tasks, inputs.labelers, inputs.skills, inputs.already_judged,
                                    window_after(args.date), top_k=top_k)
            scored = with_queue_capacity(with_scores(pairs, window_h=window_h)).persist()
            n_pairs = scored.count()
            if n_pairs == 0:
                reason = NO_ELIGIBLE_PAIR
            else:
                # one Spark job solves every weight setting per queue: say what it does before the wait
                log.info("allocation sweep %s: %d weight settings over %d candidate pairs (top_k=%d), "
                         "one matching per setting and queue", args.date, len(grid), n_pairs, top_k)
                started = time.perf_counter()
                sweep = pareto_sweep(scored, grid)
                log.info("allocation sweep %s: %d points, %d on the Pareto front, in %.1fs", args.date,
                         len(sweep), int(sweep["pareto"].sum()), time.perf_counter() - started)
            scored.unpersist()
    finally:
        release(inputs)
    if sweep is None:
        log.warning("allocation sweep %s: %s; nothing to sweep", args.date, reason)
        print(json.dumps({"date": args.date.isoformat(), "points": [], "reason": reason}))
        return 0
    out_dir = Path(args.out or f"{lake.reports_root}/allocation")
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"pareto_{args.date.isoformat()}.csv"
    png_path = out_dir / f"pareto_{args.date.isoformat()}.png"
    sweep.to_csv(csv_path, index=False)
    plot_frontier(sweep, str(png_path), title=f"Allocation Pareto sweep, plan date {args.date}")
    if args.json:
        print(json.dumps({"date": args.date.isoformat(), "csv": str(csv_path), "png": str(png_path),
                          "points": json.loads(sweep.to_json(orient="records"))}, indent=1))
    else:
        cols = ["point", "quality", "cost", "deadline", "assigned", "mean_expected_accuracy",
                "sum_expected_cost", "on_time_share", "pareto"]
        print(sweep[cols].to_string(index=False))
        print(f"csv: {csv_path}\npng: {png_path}")
    return 0
