"""Benchmark: ingest + silver throughput against a bare Spark read + Delta write of the same files.

    python bench/ingest.py --judgments 1000000

Generates the exports once (cached under bench/out/), then in ONE Spark session:
a warm-up, the bare baseline (read every raw file of each day with Spark's own
JSON/CSV readers and append it to Delta, no checks), and labelops' ingest + silver
jobs for the same days. Prints progress, then one JSON line:
{"judgments": N, "judgments_per_s": ..., "ratio_vs_bare_write": ...}
(ratio = labelops wall time / bare wall time; lower is better).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from experiments.synth import generate  # noqa: E402

START = date(2026, 1, 5)


def _exports(judgments: int, days: int, seed: int, out_root: Path) -> tuple[Path, list[str], int]:
    raw = out_root / f"raw-{judgments}-{days}-{seed}"
    marker = raw / "truth" / "summary.json"
    if not marker.exists():
        # The generator ramps up on its first day (~1/4 of the steady volume): aim a little high.
        per_day = int(judgments / max(days - 0.6, 1))
        print(f"[bench] generating ~{judgments:,} judgments over {days} days into {raw} ...", flush=True)
        generate(raw, START, days=days, seed=seed, judgments_per_day=per_day)
    summary = json.loads(marker.read_text())
    day_list = [(START + timedelta(days=i)).isoformat() for i in range(days)]
    n = sum(sum(1 for _ in f.open("rb")) for f in raw.glob("judgments/dt=*/*.jsonl"))
    del summary
    return raw, day_list, n


def _bare(spark, raw: Path, days: list[str], dest: Path) -> float:
    """Spark's readers + a Delta append per source and day: the floor for moving these bytes."""
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    for day in days:
        for source, fmt in (("judgments", "json"), ("tasks", "csv"), ("labelers", "csv"), ("events", "json")):
            path = str(raw / source / f"dt={day}")
            reader = spark.read.option("header", "true") if fmt == "csv" else spark.read
            df = getattr(reader, fmt)(path).withColumn("ingest_date", F.lit(day))
            df.write.format("delta").mode("append").option("mergeSchema", "true").save(str(dest / source))
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgments", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(argv)

    raw, days, n_judgments = _exports(args.judgments, args.days, args.seed, args.out)
    work = args.out / "ingest-run"
    shutil.rmtree(work, ignore_errors=True)
    from jobs.session import build_spark

    spark = build_spark("bench-ingest", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    from jobs import ingest, silver

    print("[bench] warm-up (bare path, first day) ...", flush=True)
    _bare(spark, raw, days[:1], work / "warmup")

    bare_s = _bare(spark, raw, days, work / "bare")
    print(f"[bench] bare read + Delta write: {bare_s:.1f}s", flush=True)

    lake = str(work / "lake")
    t0 = time.perf_counter()
    for day in days:
        if ingest.main(["--date", day, "--raw", str(raw), "--lake", lake]) != 0:
            raise SystemExit(f"ingest failed for {day}")
        if silver.main(["--date", day, "--lake", lake]) != 0:
            raise SystemExit(f"silver failed for {day}")
    labelops_s = time.perf_counter() - t0
    print(f"[bench] labelops ingest + silver: {labelops_s:.1f}s for {n_judgments:,} judgment lines "
          f"({len(days)} days, all four sources, gates included)", flush=True)
    spark.stop()
    print(json.dumps({
        "judgments": n_judgments,
        "judgments_per_s": round(n_judgments / labelops_s, 1),
        "ratio_vs_bare_write": round(labelops_s / bare_s, 2),
        "labelops_s": round(labelops_s, 1),
        "bare_s": round(bare_s, 1),
        "days": len(days),
        "master": args.master,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
