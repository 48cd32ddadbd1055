"""Allocation of one pipeline day, step by step: ``pipeline.allocate()`` on a lake, N rounds.

    .venv/bin/python bench/allocate_day.py --lake demo/lakehouse --date 2026-01-11 --rounds 3
    .venv/bin/python bench/allocate_day.py --lake L --date D --rounds 3 --strategy auto --strategy priced

With several ``--strategy``, each round runs each of them, in alternating order, so that they
are compared in one session on the same inputs.

Reads the day's allocation inputs from the lake as the job does (latest versions), then runs
``scoring.allocation.pipeline.allocate`` and the plan's constraint check ``--rounds`` times in
one session (the first round is cold), without gates or writes. Per round: the whole time and
``AllocationResult.timer``'s steps (what the job logs), plus the plan's figures, so that two
checkouts run on copies of the same lake (old vs new code) can be compared for time and for the
same plan. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.allocation.shared_capacity import STRATEGIES  # noqa: E402

log = logging.getLogger("bench.allocate_day")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake", required=True)
    p.add_argument("--date", type=date.fromisoformat, required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--master", default="local[*]")
    p.add_argument("--strategy", action="append", choices=STRATEGIES, default=None,
                   help="matching strategy, repeatable (default: auto, the job's default)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from jobs import delta_io
    from jobs.allocate import load_inputs, release
    from jobs.lake import Lake
    from jobs.session import build_spark
    from scoring.allocation import config
    from scoring.allocation.pipeline import AllocationSettings, allocate, window_after
    from scoring.allocation.plan import constraint_violations

    lake = Lake.from_arg(args.lake)
    spark = build_spark("bench-allocate-day", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(config.ARROW_BATCH_ROWS))

    def read(contract, required: bool = True):
        version = delta_io.latest_version(spark, lake.path(contract))
        if version is None and required:
            raise SystemExit(f"table {contract.qualified_name} does not exist at {lake.path(contract)}")
        return None if version is None else delta_io.read_version(spark, lake.path(contract), version)

    inputs = load_inputs(read, args.date, config.DEFAULT_WINDOW_HOURS, config.OPEN_TASK_HORIZON_DAYS)
    strategies = args.strategy or ["auto"]
    rounds = []
    try:
        schedule = [(i, s) for i in range(args.rounds) for s in (strategies if i % 2 == 0 else strategies[::-1])]
        for r, strategy in schedule:
            settings = AllocationSettings(plan_date=args.date, window_start=window_after(args.date),
                                          strategy=strategy)
            t0 = time.perf_counter()
            result = allocate(spark, inputs, settings, f"bench.{r}")
            if result.plan is None:
                raise SystemExit(f"nothing to plan on {args.date}: {result.empty_reason}")
            plan = result.plan.persist()
            violations = constraint_violations(plan)
            seconds = time.perf_counter() - t0
            overall = result.metrics[result.metrics["queue"] == "_all"].set_index("policy")
            rounds.append({
                "round": r, "strategy": strategy, "ran": result.stats["strategy"],
                "seconds": round(seconds, 2), "pairs": result.stats["pairs"],
                "steps": {k: round(v, 2) for k, v in result.timer.step_seconds.items()},
                "objective": round(float(result.stats["objective"]), 3), "violations": violations,
                **{f"{p}_{m}": round(float(overall.loc[p, m]), 6) for p in ("policy", "random")
                   for m in ("mean_expected_accuracy", "cost_per_label")}})
            log.info("round %d (%s): %.1fs, %s", r, strategy, seconds, result.timer.summary())
            plan.unpersist()
    finally:
        release(inputs)
    best = {}
    for strategy in strategies:  # the first round of the session is cold: left out where there are more
        mine = [x for x in rounds if x["strategy"] == strategy]
        warm = [x["seconds"] for x in mine if x is not rounds[0]] or [mine[0]["seconds"]]
        best[strategy] = min(warm)
    print(json.dumps({"lake": args.lake, "date": args.date.isoformat(), "rounds": rounds,
                      "best_warm_seconds": best if len(strategies) > 1 else best[strategies[0]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
