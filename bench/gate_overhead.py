"""What a quality gate costs beyond its Spark queries: GX's own bookkeeping, now and before.

    .venv/bin/python bench/gate_overhead.py [--rounds 4]

Validates an empty, cached DataFrame of every table contract (bronze, silver, features,
confidence, allocation: the Spark side of each gate is then as small as it gets) with
``QualityGate`` on a file-backed quality root in a temporary folder, as the jobs do, in two
ways alternated over ``--rounds`` rounds in one session:

- ``now``: the code as it is - one GX context per process, its config variables read once,
  each table's suite, validation definition and checkpoint registered once per process;
- ``before``: what the gates did before 2026-12-04 - a new GX context per job (one
  ``QualityGate`` per layer here), config variables re-read whenever GX asks, and every
  suite, validation definition and checkpoint registered again on every gate.

Both ways must give every table the same outcomes. The last stdout line is one JSON object:
median seconds per gate of the warm rounds (all but the first) per way, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def before_context(quality, root: Path):
    """A new GX context for ``root`` as each job made before: nothing registered in it, and its
    config variables provider back to GX's own (which re-reads the YAML file on every call)."""
    from great_expectations.core.config_provider import _ConfigurationVariablesConfigurationProvider

    quality._contexts.pop(str(root), None)
    ctx = quality._gx_context(root)
    provider = ctx.config_provider.get_provider(_ConfigurationVariablesConfigurationProvider)
    if provider is not None:
        provider.__dict__.pop("get_values", None)  # the instance override -> the class method
    return ctx


def forget_registrations(quality, ctx) -> None:
    """Drop what this process registered in ``ctx``: the next gate registers its suite again."""
    for key in [k for k in quality._checkpoints if k[0] == id(ctx)]:
        del quality._checkpoints[key]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=4, help="rounds of both ways; the first is a warm-up")
    p.add_argument("--master", default="local[2]")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from jobs import quality
    from jobs.session import build_spark
    from schemas import allocation, bronze, confidence, silver
    from schemas import features as fx

    spark = build_spark("bench-gate-overhead", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    # the tables each job gates (ingest, silver, features, confidence, allocate)
    layers = {"ingest": (bronze.JUDGMENTS, bronze.TASKS, bronze.LABELERS, bronze.EVENTS, bronze.QUARANTINE,
                         bronze.INGEST_AUDIT),
              "silver": silver.ALL, "features": (*fx.DAILY_TABLES, *fx.FEATURE_TABLES),
              "confidence": confidence.ALL, "allocation": allocation.ALL}
    frames = {name: [(c, spark.createDataFrame([], c.schema).persist()) for c in contracts]
              for name, contracts in layers.items()}
    for tables in frames.values():
        for _, df in tables:
            df.count()
    n_gates = sum(len(t) for t in frames.values())
    root = Path(tempfile.mkdtemp(prefix="labelops-gates-"))

    def one_round(way: str) -> tuple[float, dict]:
        # each way has its own quality root, so the two never share a context or a registration
        quality_root = root / way / "_quality"
        outcomes, t0 = {}, time.perf_counter()
        for tables in frames.values():
            ctx = before_context(quality, quality_root) if way == "before" else None
            gate = quality.QualityGate(str(quality_root))  # one gate object per job, as run_job does
            for contract, df in tables:
                if ctx is not None:
                    forget_registrations(quality, ctx)
                result = gate.validate(df, contract, run_id=f"bench-{way}", logical_date=None)
                outcomes[contract.qualified_name] = sorted((o.expectation, o.success) for o in result.outcomes)
        return time.perf_counter() - t0, outcomes

    per_gate: dict[str, list[float]] = {"now": [], "before": []}
    reference = None
    for r in range(args.rounds):
        for way in (("now", "before") if r % 2 == 0 else ("before", "now")):
            seconds, outcomes = one_round(way)
            if reference is None:
                reference = outcomes
            elif outcomes != reference:
                diff = [t for t in outcomes if outcomes[t] != reference.get(t)]
                raise SystemExit(f"the two ways gave different outcomes for {diff}")
            if r > 0:
                per_gate[way].append(seconds / n_gates)
            print(f"round {r} {way}: {seconds:.2f} s for {n_gates} gates", file=sys.stderr, flush=True)
    medians = {way: statistics.median(v) for way, v in per_gate.items()}
    print(json.dumps({"gates_per_round": n_gates, "warm_rounds": args.rounds - 1,
                      "now_s_per_gate": round(medians["now"], 3),
                      "before_s_per_gate": round(medians["before"], 3),
                      "now_over_before": round(medians["now"] / medians["before"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
