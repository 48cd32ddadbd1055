"""What Delta's file statistics cost a write: the contracts' statistics columns vs Delta's default.

    .venv/bin/python bench/delta_writes.py --lake demo/lakehouse        # after `make demo`

Reads the newest partition of the wide tables a pipeline day writes (the three feature tables,
silver judgments and bronze events), materialises each, then writes it with the partition's
``replaceWhere`` (as ``delta_io.replace_partition`` does) into three scratch tables per source,
alternated over ``--rounds`` rounds in one session:

- ``default``: Delta's default statistics (min / max / null count of the first 32 columns);
- ``contract``: the contract's ``delta_properties`` (statistics on keys and skipping columns:
  what the pipeline's writes create since 2026-12-03);
- ``none``: no statistics (``delta.dataSkippingNumIndexedCols`` 0), the floor.

The last stdout line is one JSON object: per way, the sum over the tables of each table's
median warm write (all rounds but the first), and the ratios to ``default``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake", required=True)
    p.add_argument("--rounds", type=int, default=5, help="rounds of the three ways; the first is a warm-up")
    p.add_argument("--master", default="local[2]")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from pyspark.sql import functions as F

    from jobs.lake import Lake
    from jobs.session import build_spark
    from schemas import bronze, silver
    from schemas import features as fx

    spark = build_spark("bench-delta-writes", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    lake = Lake.from_arg(args.lake)
    sources = {}
    for contract in (fx.TASK_FEATURES, fx.LABELER_QUEUE_FEATURES, fx.LABELER_FEATURES, silver.JUDGMENTS,
                     bronze.EVENTS):
        column = contract.partition_by[0]
        df = spark.read.format("delta").load(lake.path(contract))
        newest = df.agg(F.max(column)).first()[0]
        rows = df.where(F.col(column) == F.lit(newest)).localCheckpoint(eager=True)
        sources[contract.qualified_name] = (contract, rows, f"{column} = '{newest}'", rows.count())
        print(f"{contract.qualified_name}: {sources[contract.qualified_name][3]} rows x {len(rows.columns)} "
              f"columns ({column} {newest})", file=sys.stderr)

    ways = {"default": lambda c: {}, "contract": lambda c: c.delta_properties,
            "none": lambda c: {"delta.dataSkippingNumIndexedCols": "0"}}
    scratch = Path(tempfile.mkdtemp(prefix="bench-delta-writes-"))
    seconds: dict[str, dict[str, list[float]]] = {w: {t: [] for t in sources} for w in ways}
    try:
        for r in range(args.rounds):
            for name, (contract, rows, predicate, _) in sources.items():
                for way, props in ways.items():
                    writer = (rows.write.format("delta").mode("overwrite").options(**props(contract))
                              .option("replaceWhere", predicate).partitionBy(*contract.partition_by))
                    t0 = time.perf_counter()
                    writer.save(str(scratch / way / name))
                    if r:
                        seconds[way][name].append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    per_table = {w: {t: round(statistics.median(v), 3) for t, v in by.items()} for w, by in seconds.items()}
    total = {w: round(sum(v.values()), 3) for w, v in per_table.items()}
    print(json.dumps({"rows": {t: s[3] for t, s in sources.items()}, "median_write_s": per_table,
                      "sum_of_medians_s": total,
                      "contract_over_default": round(total["contract"] / total["default"], 3),
                      "none_over_default": round(total["none"] / total["default"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
