"""Where a feature build's time goes: each materialised step of ``build_feature_tables``, timed.

    .venv/bin/python bench/feature_steps.py --lake demo/lakehouse --date 2026-01-11

Reads the inputs of the features job for ``--date`` from an existing lake (after ``make demo``,
day 7 is the heaviest: 3 as-of days rebuilt on a 28-day anchor), then builds the six tables
``--rounds`` times in one session without writing anything. Every step ends in an eager
``localCheckpoint`` (``features.build.keep``), which times it: ``FeatureBuild.step_seconds``,
the same figures the features job logs. Prints the best warm time per step (all rounds but the
first) and, as its last line, one JSON object. Old vs new code: run it from two checkouts on
copies of the same lake.

``--one-day`` also builds, alternately in the same rounds, ``--date`` alone (one as-of day on
the day before as anchor, which must be published) and reports its build times beside the
planned range's: what the as-of days that late rows add to a run cost (docs/runtime.md,
"Thirteenth pass").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder is first on sys.path, where bench/features.py would shadow the
# ``features`` package: put the repository first.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake", required=True)
    p.add_argument("--date", type=date.fromisoformat, required=True)
    p.add_argument("--rounds", type=int, default=4, help="builds; the first is a warm-up")
    p.add_argument("--master", default="local[*]")
    p.add_argument("--one-day", action="store_true",
                   help="also build --date alone (one as-of day) in each round, for comparison")
    args = p.parse_args(argv)

    from features.build import build_feature_tables
    from features.config import DEFAULT_PARAMS
    from features.plan import RebuildPlan
    from jobs.build_features import read_build_inputs
    from jobs.lake import Lake
    from jobs.session import build_spark

    spark = build_spark("bench-feature-steps", master=args.master)
    lake = Lake(args.lake)
    inputs, plan = read_build_inputs(spark, lake, args.date)
    one_day_totals: list[float] = []
    one_day = None
    if args.one_day:
        one_plan = RebuildPlan(args.date, args.date, args.date - timedelta(days=1), (), "one as-of day (bench)")
        one_day, _ = read_build_inputs(spark, lake, args.date, plan=one_plan)
    totals: list[float] = []
    best: dict[str, float] = {}
    for r in range(max(2, args.rounds)):
        if one_day is not None:
            t0 = time.perf_counter()
            build_feature_tables(spark, one_day, args.date, args.date, DEFAULT_PARAMS).release()
            one_day_totals.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        build = build_feature_tables(spark, inputs, plan.first, plan.last, DEFAULT_PARAMS)
        totals.append(time.perf_counter() - t0)
        build.release()
        if r > 0:
            for name, seconds in build.step_seconds.items():
                best[name] = min(best.get(name, float("inf")), seconds)
    for name, seconds in best.items():
        print(f"{seconds:7.2f} s  {name}", file=sys.stderr)
    print(json.dumps({"date": args.date.isoformat(), "as_of_days": len(plan.days), "anchor": str(plan.anchor),
                      "build_seconds": [round(t, 1) for t in totals], "best_warm_build_seconds": round(min(totals[1:]), 1),
                      "best_warm_step_seconds": {k: round(v, 2) for k, v in best.items()},
                      **({"one_day_build_seconds": [round(t, 1) for t in one_day_totals],
                          "best_warm_one_day_build_seconds": round(min(one_day_totals[1:]), 1)}
                         if one_day_totals else {})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
