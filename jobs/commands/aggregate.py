"""``labelops aggregate --labels F [--gold G] --method M [--out P] [--json]``: confidence models on any crowd file.

Reads ``task,worker,label`` (and ``task,label`` gold), fits with the pipeline's own
kernels and EM loop, and prints a summary (``--json``: one JSON object). Gold is used
only for scoring (accuracy over gold tasks that have at least one judgment, ECE) unless
``--use-gold`` clamps gold tasks while fitting. Classes are the distinct labels, sorted
as strings; a gold label no judgment uses is an error.

Engine: ``local`` (in memory) or ``spark`` (the pipeline's Spark engine); ``auto`` picks
local for files under 64 MB. The summary says which one ran.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

AUTO_LOCAL_MAX_BYTES = 64 * 1024 * 1024


def register(sub: argparse._SubParsersAction) -> None:
    from scoring.em import METHODS

    p = sub.add_parser("aggregate", help="aggregate any task,worker,label file (MV, Dawid-Skene, ...)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--labels", required=True, help="CSV with header task,worker,label")
    p.add_argument("--gold", default=None, help="CSV with header task,label (scoring only unless --use-gold)")
    p.add_argument("--method", default="ds", choices=sorted(METHODS),
                   help="; ".join(f"{k}: {v}" for k, v in METHODS.items()))
    p.add_argument("--out", default=None, help="write per-task posteriors to this CSV")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--use-gold", action="store_true", help="clamp gold tasks to their gold label while fitting")
    p.add_argument("--engine", choices=("auto", "local", "spark"), default="auto")
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--tol", type=float, default=1e-5,
                   help="stop when the mean log-likelihood per judgment moves less (0 = run max-iter)")
    p.add_argument("--smoothing", type=float, default=0.01, help="Dirichlet pseudo-count per confusion cell")
    p.add_argument("--shrinkage", type=float, default=0.0,
                   help="ds: pseudo-judgments per true class pulling each worker toward its one-coin fit")
    p.add_argument("--master", default=None, help="Spark master for --engine spark (default local[*])")
    p.set_defaults(func=run)


def choose_engine(requested: str, labels_path: str) -> str:
    if requested != "auto":
        return requested
    path = Path(labels_path)
    return "local" if not path.exists() or path.stat().st_size < AUTO_LOCAL_MAX_BYTES else "spark"


def _summary_json(summary) -> dict:
    out = {k: v for k, v in summary.as_dict().items()}
    if out.get("n_gold") is None:
        for key in ("accuracy", "n_gold", "ece"):
            out.pop(key, None)
    out["seconds"] = round(out["seconds"], 3)
    return out


def _print_text(summary) -> None:
    s = summary
    print(f"{s.method} ({s.engine} engine): {s.n_labels} judgments, {s.n_tasks} tasks, {s.n_workers} workers, "
          f"{s.n_classes} classes")
    if s.method != "mv":
        print(f"  EM: {s.iterations} iterations, converged={s.converged}, log-likelihood={s.log_likelihood:.4f}")
    if s.n_gold is not None:
        acc = "n/a" if s.accuracy is None else f"{s.accuracy:.4f}"
        ece = "n/a" if s.ece is None else f"{s.ece:.4f}"
        print(f"  gold: accuracy {acc} on {s.n_gold} gold tasks with judgments, ECE {ece}")
    print(f"  {s.seconds:.2f}s")


def run(args: argparse.Namespace) -> int:
    from jobs.job import setup_logging
    from scoring.class_space import LabelSpaceError
    from scoring.crowd_files import (
        CrowdFileError,
        aggregate_local,
        aggregate_spark,
        read_gold,
        read_labels,
    )
    from scoring.em import EmConfig, EmptyInputError

    setup_logging()
    # The summary is the output; progress logs only when asked for (LABELOPS_LOG_LEVEL=INFO).
    logging.getLogger("labelops").setLevel(os.environ.get("LABELOPS_LOG_LEVEL", "WARNING"))
    started = time.perf_counter()
    try:
        config = EmConfig(method=args.method, max_iter=args.max_iter, tol=args.tol, smoothing=args.smoothing,
                          shrinkage=args.shrinkage, use_gold=args.use_gold)
        if args.use_gold and not args.gold:
            raise CrowdFileError("--use-gold needs --gold")
        engine = choose_engine(args.engine, args.labels)
        if engine == "local":
            labels = read_labels(args.labels)
            gold = read_gold(args.gold) if args.gold else None
            summary, posteriors = aggregate_local(labels, gold, config)
            if args.out:
                posteriors.to_csv(args.out, index=False)
        else:
            from jobs.session import build_spark

            spark = build_spark("labelops-aggregate", master=args.master,
                                extra_conf={"spark.ui.enabled": "false"})
            summary = aggregate_spark(spark, args.labels, args.gold, config, out_path=args.out)
    except (CrowdFileError, LabelSpaceError, EmptyInputError, ValueError) as exc:
        print(f"labelops aggregate: error: {exc}", file=sys.stderr)
        return 2
    summary.seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps(_summary_json(summary)))
    else:
        _print_text(summary)
    return 0
