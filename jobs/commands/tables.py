"""``labelops tables --lake L [--json]``: every table with its layer, path, Delta version and rows."""

from __future__ import annotations

import argparse
import json
import logging

from jobs.lake import Lake


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tables", help="list every table of a lake", description=__doc__)
    p.add_argument("--lake", default=None, help="lake root (default $LABELOPS_LAKE or ./lakehouse)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--master", default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jobs.catalog import describe_tables
    from jobs.job import setup_logging
    from jobs.session import build_spark

    setup_logging()
    logging.getLogger("labelops").setLevel(logging.WARNING)
    lake = Lake.from_arg(args.lake)
    spark = build_spark("labelops-tables", master=args.master or "local[2]",
                        extra_conf={"spark.ui.enabled": "false"})
    rows = describe_tables(spark, lake)
    if args.json:
        print(json.dumps({"lake": lake.root, "tables": rows}, indent=2, default=str))
    else:
        print(f"lake: {lake.root}")
        print(f"{'layer':<11}{'table':<22}{'version':>8}{'rows':>12}  path")
        for r in rows:
            version = "-" if r["version"] is None else r["version"]
            print(f"{r['layer']:<11}{r['name']:<22}{version!s:>8}{r['rows']!s:>12}  {r['path']}")
    return 0
