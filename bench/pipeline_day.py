"""Where a pipeline day's time goes: the five daily jobs in one warm session, per job.

    .venv/bin/python bench/pipeline_day.py                       # 3 demo-size days, then days 2-3 twice more
    .venv/bin/python bench/pipeline_day.py --judgments-per-day 20000 --days 2

Generates ``--days`` days of exports (the demo's generator and seed), then runs ingest,
silver, features, confidence and allocate for each day with ``jobs.<job>.main(argv)`` in
one SparkSession (what the in-process runner does, without Airflow), then reruns the days
after the first (``--rounds``; reruns are idempotent and the JVM is warm by then). Per-job
wall seconds go to stderr; the last stdout line is one JSON object with every round and the
mean of the warm rounds (all rounds but the first), which is what a demo day costs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

JOBS = ("ingest", "silver", "build_features", "confidence", "allocate")
log = logging.getLogger("bench.pipeline_day")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 5))
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--judgments-per-day", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=2, help="passes over the days after the first")
    p.add_argument("--master", default="local[*]")
    p.add_argument("--workdir", default=None, help="keep raw and lake here (default: a temp dir)")
    return p.parse_args(argv)


def run_day(day: date, raw: str, lake: str, tag: str) -> dict[str, float]:
    times = {}
    for job in JOBS:
        module = importlib.import_module(f"jobs.{job}")
        argv = ["--date", day.isoformat(), "--lake", lake, "--run-id", f"bench.{tag}.{job}"]
        if job == "ingest":
            argv += ["--raw", raw]
        t0 = time.perf_counter()
        rc = module.main(argv)
        times[job] = round(time.perf_counter() - t0, 1)
        if rc != 0:
            raise SystemExit(f"bench: {job} failed for {day} (exit {rc}); see the log above")
    times["day"] = round(sum(times.values()), 1)
    log.info("%s %s: %s", tag, day, times)
    return times


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from jobs.commands import generate
    from jobs.session import build_spark

    work = Path(args.workdir or tempfile.mkdtemp(prefix="labelops-bench-day-"))
    raw, lake = str(work / "raw"), str(work / "lake")
    if not (work / "raw").exists():
        generate.main(["--start", args.start.isoformat(), "--days", str(args.days), "--out", raw,
                       "--judgments-per-day", str(args.judgments_per_day)])
    build_spark("bench-pipeline-day", master=args.master)
    days = [args.start + timedelta(days=i) for i in range(args.days)]
    rounds = [[run_day(d, raw, lake, "r0") for d in days]]
    for r in range(1, args.rounds + 1):
        rounds.append([run_day(d, raw, lake, f"r{r}") for d in days[1:]])
    warm = [t for rnd in rounds[1:] for t in rnd]
    mean = {k: round(sum(t[k] for t in warm) / len(warm), 1) for k in (*JOBS, "day")} if warm else {}
    print(json.dumps({"judgments_per_day": args.judgments_per_day, "days": args.days, "cpus": os.cpu_count(),
                      "first_pass": rounds[0], "warm_mean": mean, "warm_days": len(warm),
                      "workdir": str(work)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
