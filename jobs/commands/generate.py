"""``labelops generate``: write realistic platform exports (with their usual dirt) and, apart, the truth.

    labelops generate --start 2026-01-05 --days 7 --out raw --seed 7 --judgments-per-day 100000

Pure Python (numpy + pandas): no Spark session is started.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="write synthetic platform exports + hidden truth",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", type=date.fromisoformat, required=True, help="first export day, YYYY-MM-DD")
    p.add_argument("--days", type=int, required=True, help="number of export days")
    p.add_argument("--out", required=True, help="raw root to write (source/dt=YYYY-MM-DD/... and truth/)")
    p.add_argument("--seed", type=int, default=7, help="same seed and arguments -> byte-identical files")
    p.add_argument("--judgments-per-day", type=int, default=100_000, help="approximate judgment lines per day")
    p.add_argument("--labelers", type=int, default=None,
                   help="initial roster size (default max(50, judgments-per-day // 40))")
    dirt = p.add_mutually_exclusive_group()
    dirt.add_argument("--no-dirt", action="store_true", help="clean exports: no dirt, no late rows, no drift")
    dirt.add_argument("--dirt-rate", type=float, default=None,
                      help="rate of every row-level dirt kind (default 0.0005-0.002 by kind)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from experiments.synth import DirtConfig, generate

    if args.days < 1 or args.judgments_per_day < 1:
        print("generate: --days and --judgments-per-day must be >= 1", file=sys.stderr)
        return 2
    if args.no_dirt:
        dirt = DirtConfig.none()
    elif args.dirt_rate is not None:
        if not 0.0 <= args.dirt_rate < 0.1:
            print("generate: --dirt-rate must be in [0, 0.1)", file=sys.stderr)
            return 2
        dirt = DirtConfig().with_row_rate(args.dirt_rate)
    else:
        dirt = DirtConfig()
    s = generate(args.out, args.start, args.days, seed=args.seed, judgments_per_day=args.judgments_per_day,
                 dirt=dirt, n_labelers=args.labelers)
    print(f"wrote {s.days} day(s) from {s.start} to {s.out_dir} in {s.seconds:.1f}s ({s.seconds_per_day:.2f}s/day)")
    for source in s.lines:
        print(f"  {source:<10} {s.lines[source]:>11,} lines in {s.files[source]:>4} file(s)")
    print(f"workforce: {s.labelers:,} labelers over the period; tasks: {s.tasks:,} created, "
          f"{s.open_tasks_at_end:,} still open at the end")
    print(f"truth: {s.truth_dir} (labelers.csv, tasks/, dirt/ manifests, summary.json)")
    if s.dirt:
        print("dirt: " + ", ".join(f"{k}={v:,}" for k, v in s.dirt.items()))
    else:
        print("dirt: none")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labelops")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["generate", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
