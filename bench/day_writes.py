"""A pipeline day's Delta writes, the way they were against the way they are now.

    .venv/bin/python bench/day_writes.py --lake demo/lakehouse --date 2026-01-11   # after `make demo`

For every table a day rewrites by date (``replace_partition`` and ``replace_range``: 18 of the
demo's tables), reads the rows the lake holds for ``--date`` (the three as-of days ending there
for the feature tables, as a demo day's late-data rebuild writes them), spreads them over
``spark.sql.shuffle.partitions`` partitions as a job's last shuffle leaves them, and persists
them (as ``JobContext.publish`` does before the gate). Each table's Delta folder is copied twice
into a scratch folder, so both ways write into a log of the same length as the lake's. Then,
alternated over ``--rounds`` rounds in one session, each table is written the way the job
writes it (``delta_io`` + ``latest_version``):

- ``before``: Delta's table state rebuilt in 4 partitions, every Spark partition written (one
  file per partition and table partition): the settings up to 2026-12-07;
- ``now``: the state in 1 partition (``infra.spark_defaults``) and the output coalesced to its
  cached size (``delta_io.fewer_write_partitions``).

The last stdout line is one JSON object: per way, the sum over the tables of each table's median
write (rounds after the first), the files one write leaves, and ``now_over_before``.
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
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

SNAPSHOT_PARTITIONS = "spark.databricks.delta.snapshotPartitions"
WAYS = {"before": "4", "now": "1"}  # the snapshot partitions of each way
REBUILT_AS_OF_DAYS = 3  # a demo day's feature rebuild: the logical date and two late days


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake", required=True, help="a lake the pipeline has written (e.g. the demo's)")
    p.add_argument("--date", required=True, type=date.fromisoformat, help="a logical date it holds")
    p.add_argument("--rounds", type=int, default=6, help="rounds of both ways; the first is a warm-up")
    p.add_argument("--master", default="local[2]")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from pyspark.sql import functions as F

    from jobs import delta_io
    from jobs.catalog import all_contracts
    from jobs.lake import Lake
    from jobs.session import build_spark

    spark = build_spark("bench-day-writes", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    spread = int(spark.conf.get("spark.sql.shuffle.partitions"))
    lake = Lake.from_arg(args.lake)
    scratch = Path(tempfile.mkdtemp(prefix="bench-day-writes-"))
    tables = {}
    for contract in all_contracts():
        if contract.write_mode not in ("replace_partition", "replace_range") or not contract.logical_date_column:
            continue
        source = lake.path(contract)
        if delta_io.latest_version(spark, source) is None:
            continue
        first = args.date - timedelta(days=REBUILT_AS_OF_DAYS - 1) if contract.write_mode == "replace_range" else args.date
        column = F.col(contract.logical_date_column)
        rows = (spark.read.format("delta").load(source).where(column.between(F.lit(first), F.lit(args.date)))
                .repartition(spread).persist())
        n = rows.count()
        if n == 0:
            rows.unpersist()
            continue
        for way in WAYS:
            shutil.copytree(source, scratch / way / contract.qualified_name)
        tables[contract.qualified_name] = (contract, rows, first, n)
        print(f"{contract.qualified_name}: {n} rows, {first} .. {args.date}", file=sys.stderr)

    def write(way: str, name: str) -> float:
        contract, rows, first, _ = tables[name]
        spark.conf.set(SNAPSHOT_PARTITIONS, WAYS[way])
        path = str(scratch / way / name)
        t0 = time.perf_counter()
        df = delta_io.fewer_write_partitions(rows) if way == "now" else rows
        if contract.write_mode == "replace_range":
            delta_io.replace_range(df, contract, path, first, args.date, "bench")
        else:
            delta_io.replace_partition(df, contract, path, args.date, "bench")
        delta_io.latest_version(spark, path)
        return time.perf_counter() - t0

    seconds = {w: {t: [] for t in tables} for w in WAYS}
    try:
        for r in range(args.rounds):
            order = list(WAYS) if r % 2 == 0 else list(reversed(WAYS))
            for name in tables:
                for way in order:
                    took = write(way, name)
                    if r:
                        seconds[way][name].append(took)
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        files = {w: {t: _files_of_last_write(spark, str(scratch / w / t)) for t in tables} for w in WAYS}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        spark.conf.unset(SNAPSHOT_PARTITIONS)
    median = {w: {t: round(statistics.median(v), 3) for t, v in by.items()} for w, by in seconds.items()}
    for name in tables:
        print(f"{name:36} before {median['before'][name]:6.3f} s, {files['before'][name]:3d} files   "
              f"now {median['now'][name]:6.3f} s, {files['now'][name]:3d} files", file=sys.stderr)
    total = {w: round(sum(v.values()), 3) for w, v in median.items()}
    print(json.dumps({"tables": len(tables), "rows": {t: v[3] for t, v in tables.items()},
                      "median_write_s": median, "files_per_write": files, "sum_of_medians_s": total,
                      "now_over_before": round(total["now"] / total["before"], 3)}))
    return 0


def _files_of_last_write(spark, path: str) -> int:
    """Files the newest commit added (its ``add`` actions)."""
    from delta.tables import DeltaTable

    last = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").first()[0]
    return int(last.get("numFiles", last.get("numAddedFiles", 0)))


if __name__ == "__main__":
    sys.exit(main())
