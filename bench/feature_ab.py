"""Shared by the feature-build A/B benchmarks (``window_blocks.py``, ``count_maps.py``): plan the
features run of a date on an existing lake as the job would, then build that range to a no-op
sink several ways in one warm session - one warm-up each, then interleaved rounds, the order
flipped every round - so the machine's drift falls on every way alike."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


def add_lake_arguments(parser: argparse.ArgumentParser, rounds: int) -> None:
    parser.add_argument("--lake", required=True, help="lake root with silver and published features")
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="logical date of the features run")
    parser.add_argument("--rounds", type=int, default=rounds, help="interleaved timed rounds (after one warm-up each)")
    parser.add_argument("--master", default="local[2]")


@dataclass
class Interleaved:
    as_of_days: int
    runs: dict[str, list[float]]             # seconds per round, per way
    step_medians: dict[str, dict[str, float]]  # median seconds per build step, per way

    def median(self, way: str) -> float:
        return round(statistics.median(self.runs[way]), 2)


def interleaved_builds(args: argparse.Namespace, app_name: str,
                       ways: Callable[[int], dict[str, Callable[[], None]]],
                       restore: Callable[[], None]) -> Interleaved:
    """``ways(n_as_of_days)`` -> name: a setup run before each build of that way; ``restore``
    runs at the end, whatever happens."""
    from jobs.session import build_spark

    spark = build_spark(app_name, master=args.master, extra_conf={"spark.ui.enabled": "false"})
    import features.build as fb
    from features.config import DEFAULT_PARAMS
    from jobs.build_features import read_build_inputs
    from jobs.lake import Lake

    inputs, plan = read_build_inputs(spark, Lake(args.lake), args.date)
    setups = ways(len(plan.days))
    print(f"as-of days {plan.first} .. {plan.last} ({len(plan.days)}), anchor {plan.anchor}", file=sys.stderr, flush=True)

    def build(way: str) -> tuple[float, dict[str, float]]:
        setups[way]()
        t0 = time.perf_counter()
        result = fb.build_feature_tables(spark, inputs, plan.first, plan.last, DEFAULT_PARAMS)
        try:
            for df, _ in result.outputs():
                df.write.format("noop").mode("overwrite").save()
        finally:
            result.release()
        return time.perf_counter() - t0, result.step_seconds

    names = list(setups)
    runs: dict[str, list[float]] = {w: [] for w in names}
    steps: dict[str, list[dict[str, float]]] = {w: [] for w in names}
    try:
        for way in names:
            build(way)
        for r in range(args.rounds):
            for way in (names if r % 2 == 0 else names[::-1]):
                seconds, step_seconds = build(way)
                runs[way].append(round(seconds, 2))
                steps[way].append(step_seconds)
            print(f"round {r}: {runs}", file=sys.stderr, flush=True)
    finally:
        restore()
    step_medians = {w: {k: round(statistics.median(s[k] for s in steps[w]), 2) for k in steps[w][0]}
                    for w in names if steps[w]}
    for way, medians in step_medians.items():
        print(f"{way} steps (medians): {medians}", file=sys.stderr)
    return Interleaved(as_of_days=len(plan.days), runs=runs, step_medians=step_medians)
