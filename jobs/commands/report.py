"""``labelops report --lake L``: an HTML page of tables, reconciliation, quarantine, runs and plots."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the HTML report of a lake", description=__doc__)
    p.add_argument("--lake", default=None, help="lake root (default $LABELOPS_LAKE or ./lakehouse)")
    p.add_argument("--master", default="local[2]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jobs.job import setup_logging
    from jobs.lake import Lake
    from jobs.pipeline_report import build_report
    from jobs.session import build_spark

    setup_logging()
    lake = Lake.from_arg(args.lake)
    spark = build_spark("labelops-report", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    print(build_report(spark, lake))
    return 0
