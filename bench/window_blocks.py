"""Window maps merged in blocks or once per as-of day: the whole feature computation both ways.

On an existing lake (a demo's, or ``bench/features.py --keep DIR``), plans the features run of
``--date`` as the job would, then builds every table of that range to a no-op sink in one warm
session, with ``features.windows.MIN_BLOCK_AS_OF_DAYS`` set so that the run merges once per as-of
day ("single") or in blocks ("blocks"), one warm-up each, then ``--rounds`` interleaved rounds.
It is the measurement behind the threshold (docs/features.md, "Window merges in blocks").
Last line: one JSON object.

    .venv/bin/python bench/window_blocks.py --lake demo/lakehouse --date 2026-01-11 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# bench/ holds a features.py of its own: off the path, so that ``import features`` is the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake root with silver and published features")
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="logical date of the features run")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved timed rounds (after one warm-up each)")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)

    from jobs.session import build_spark

    spark = build_spark("bench-window-blocks", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    import features.build as fb
    import features.windows as win
    from features.config import DEFAULT_PARAMS
    from jobs.build_features import read_build_inputs
    from jobs.lake import Lake

    inputs, plan = read_build_inputs(spark, Lake(args.lake), args.date)
    n_days = len(plan.days)
    print(f"as-of days {plan.first} .. {plan.last} ({n_days}), anchor {plan.anchor}", file=sys.stderr, flush=True)

    def compute(mode: str) -> float:
        win.MIN_BLOCK_AS_OF_DAYS = 1 if mode == "blocks" else n_days + 1
        t0 = time.perf_counter()
        build = fb.build_feature_tables(spark, inputs, plan.first, plan.last, DEFAULT_PARAMS)
        try:
            for df, _ in build.outputs():
                df.write.format("noop").mode("overwrite").save()
        finally:
            build.release()
        return time.perf_counter() - t0

    default = win.MIN_BLOCK_AS_OF_DAYS
    try:
        compute("single")
        compute("blocks")
        runs: dict[str, list[float]] = {"single": [], "blocks": []}
        for r in range(args.rounds):
            for mode in (("single", "blocks") if r % 2 == 0 else ("blocks", "single")):
                runs[mode].append(round(compute(mode), 2))
            print(f"round {r}: {runs}", file=sys.stderr, flush=True)
    finally:
        win.MIN_BLOCK_AS_OF_DAYS = default
    medians = {mode: statistics.median(times) for mode, times in runs.items()}
    print(json.dumps({"as_of_days": n_days, "single_merge_s_median": round(medians["single"], 2),
                      "blocks_s_median": round(medians["blocks"], 2),
                      "blocks_over_single": round(medians["blocks"] / medians["single"], 3),
                      "uses_blocks_by_default": win.merges_in_blocks(n_days), "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
