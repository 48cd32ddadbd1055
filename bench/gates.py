"""What the quality gates cost, with and without the column-value rules in the screen.

    .venv/bin/python bench/gates.py --lake demo/lakehouse        # after `make demo`

Reads nine tables of an existing lake (the newest partition of the partitioned ones: the day a
job would gate), caches them, then validates each with ``QualityGate`` (no Data Docs) in two
ways, alternated over ``--rounds`` rounds in one session:

- ``screened``: the contracts as they are - not-null, in-set and between rules are row
  conditions folded into the one screening query with the SQL rules and key checks;
- ``gx_columns``: the same contracts with those rules left to GX's own column expectations
  (the fold before 2026-12-01).

Every gate must pass both ways. The last stdout line is one JSON object: warm seconds per way
(all rounds but the first) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

COLUMN_RULES = ("ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToBeBetween")


def without_column_screen(contract):
    """The contract with its column-value rules validated by GX one by one, not screened."""
    return replace(contract, expectations=tuple(
        replace(e, where=None) if e.kind in COLUMN_RULES else e for e in contract.expectations))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake", required=True)
    p.add_argument("--rounds", type=int, default=4, help="rounds of both ways; the first is a warm-up")
    p.add_argument("--master", default="local[2]")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from pyspark.sql import functions as F

    from jobs.lake import Lake
    from jobs.quality import QualityGate
    from jobs.session import build_spark
    from schemas import allocation, bronze, confidence, silver
    from schemas import features as fx

    spark = build_spark("bench-gates", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    lake = Lake.from_arg(args.lake)
    tables = [(bronze.JUDGMENTS, "ingest_date"), (bronze.EVENTS, "ingest_date"), (silver.JUDGMENTS, "event_date"),
              (silver.TASKS, "created_date"), (silver.LABELER_SNAPSHOTS, "snapshot_date"),
              (fx.LABELER_QUEUE_FEATURES, "as_of_date"), (fx.TASK_FEATURES, "as_of_date"),
              (confidence.TASK_POSTERIORS, None), (allocation.PLAN, None)]
    cached, rows = [], {}
    for contract, newest_by in tables:
        df = spark.read.format("delta").load(lake.path(contract))
        if newest_by:
            df = df.where(F.col(newest_by) == df.agg(F.max(newest_by)).first()[0])
        df = df.persist()
        rows[contract.qualified_name] = df.count()
        cached.append((contract, df))
    print(f"tables (rows): {rows}", file=sys.stderr, flush=True)

    gate = QualityGate(None)
    ways = {"screened": lambda c: c, "gx_columns": without_column_screen}
    warm = dict.fromkeys(ways, 0.0)
    for r in range(args.rounds):
        for way in (list(ways) if r % 2 == 0 else list(reversed(ways))):
            t0 = time.perf_counter()
            for contract, df in cached:
                result = gate.validate(df, ways[way](contract), run_id="bench-gates", logical_date=None)
                if not result.passed:
                    raise SystemExit(f"gate failed on {args.lake}: {result.summary()}")
            seconds = time.perf_counter() - t0
            warm[way] += seconds if r > 0 else 0.0
            print(f"round {r} {way}: {seconds:.2f} s for {len(cached)} gates", file=sys.stderr, flush=True)
    print(json.dumps({"gates_per_round": len(cached), "warm_rounds": args.rounds - 1, "rows": rows,
                      **{f"{way}_s": round(s, 2) for way, s in warm.items()},
                      "screened_over_gx_columns": round(warm["screened"] / warm["gx_columns"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
