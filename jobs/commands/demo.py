"""``labelops demo``: generate a week of platform exports, run the daily DAG for each day,
write the HTML report, and say where to look. What ``make demo`` runs."""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="generate exports, run the daily DAG for each day, report", description=__doc__)
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 5))
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--dir", type=Path, default=Path("demo"), help="where raw/ and lakehouse/ go (default ./demo)")
    p.add_argument("--judgments-per-day", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    from jobs.commands.pipeline import add_runner_argument

    add_runner_argument(p, default="in-process")
    p.set_defaults(func=run)


def _generate_once(raw: Path, args: argparse.Namespace) -> None:
    """Reuse exports generated earlier with the same parameters (a second demo starts quickly)."""
    from experiments.synth import generate

    wanted = {"start": args.start.isoformat(), "days": args.days, "seed": args.seed,
              "judgments_per_day": args.judgments_per_day}
    stamp = raw / ".demo-params.json"
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        print(f"[demo] reusing the exports in {raw}", flush=True)
        return
    print(f"[demo] generating {args.days} days of platform exports (~{args.judgments_per_day:,} judgments/day) "
          f"into {raw} ...", flush=True)
    t0 = time.monotonic()
    summary = generate(raw, args.start, days=args.days, seed=args.seed, judgments_per_day=args.judgments_per_day)
    stamp.write_text(json.dumps(wanted))
    print(f"[demo] generated {summary.lines} lines in {time.monotonic() - t0:.0f}s "
          f"(dirt injected on purpose: {sum(summary.dirt.values()):,} rows; truth in {raw / 'truth'})", flush=True)


def run(args: argparse.Namespace) -> int:
    from jobs.commands.pipeline import run_pipeline

    root = args.dir.resolve()
    raw, lake = root / "raw", root / "lakehouse"
    t0 = time.monotonic()
    _generate_once(raw, args)
    end = args.start + timedelta(days=args.days - 1)
    code = run_pipeline(args.start, end, str(lake), str(raw), runner=args.runner)
    if code != 0:
        print(f"[demo] the pipeline failed; see the log above and {lake}/_ops/runs", flush=True)
        return code

    from jobs.job import setup_logging
    from jobs.lake import Lake
    from jobs.pipeline_report import build_report
    from jobs.session import build_spark

    setup_logging()
    spark = build_spark("labelops-demo-report", master="local[2]", extra_conf={"spark.ui.enabled": "false"})
    report = build_report(spark, Lake(str(lake)))
    spark.stop()
    took = time.monotonic() - t0
    docs = lake / "_quality" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    print(f"""
[demo] done in {took / 60:.1f} min: {args.days} days ({args.start} .. {end}) through the daily DAG.

Where to look:
  report (tables, reconciliation, quarantine, runs, plans vs random, plots)  {report}
  Great Expectations Data Docs (every gate)                 {docs}
  Delta tables (bronze / silver / features / scoring / allocation)  {lake}
  quarantine (every rejected line, with its reason)         {lake}/bronze/quarantine
  run / lineage table                                       {lake}/_ops/runs
  raw exports and the hidden truth                          {raw}
  Airflow task logs                                         .airflow/logs

Try:
  .venv/bin/labelops tables --lake {lake}
  .venv/bin/labelops features list
  .venv/bin/labelops run silver --date {end} --lake {lake}      # a rerun changes nothing
  .venv/bin/labelops allocation sweep --date {end} --lake {lake} --grid quality=0,2,4 --grid cost=0,1
      # the plan's expected accuracy, cost and on-time share per weight setting, as a table, CSV and plot
""", flush=True)
    return 0
