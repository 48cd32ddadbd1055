"""``labelops run JOB --date D ...``: one Spark job for one logical date, in this process.

Same arguments and behaviour as ``spark-submit jobs/JOB.py ...``.
"""

from __future__ import annotations

import argparse
import importlib

from jobs.registry import JOBS, get


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one job for one logical date",
                       description=__doc__, add_help=False)
    p.add_argument("job", choices=sorted(JOBS), help="; ".join(f"{j.name}: {j.summary}" for j in JOBS.values()))
    p.set_defaults(func=run, passthrough=True)


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(get(args.job).module)
    return module.main(args.rest)
