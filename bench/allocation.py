"""Allocation at pipeline scale: pair scoring three ways, matching, and plan quality vs random.

    .venv/bin/python bench/allocation.py                      # 2,000 labelers x 50,000 tasks
    .venv/bin/python bench/allocation.py --labelers 200 --tasks 5000   # quicker

Synthetic interface-level inputs (``scoring.allocation.synthetic``: hidden true accuracy
per labeler and queue) -> candidate pairs (bounded: <= top_k labelers per task) -> timings:

- scoring (the headline): the pairs' score by the pipeline's pandas UDF (``coded``: two int32
  codes per pair in, the score out, the ten inputs gathered from per-entity NumPy arrays),
  by the same formulas as Spark built-in expressions over the pairs' input columns, and by a
  row-at-a-time Python UDF over those columns; each over the same cached pairs, forced with
  a no-op write, best of ``--repeats`` runs (row UDF on a sample, as a rate). The per-run
  costs of the codes are timed apart: ``entity_codes_s`` (task and labeler x queue tables to
  the driver), the codes' joins inside ``candidates_s`` (the pipeline's pairs: codes, no
  inputs), ``load_ratios_s`` (one aggregation), ``entity_inputs_s`` (the inputs joined back
  by code for the column scorers, not a pipeline cost but for its plan figures);
- every component of every pair (what the Pareto sweep needs): the pandas UDF over the ten
  input columns returning the 7-field struct, its Arrow-UDF twin, built-ins and row UDF
  (``all_components_*`` figures: the scorer the pipeline used before 2026-12-02);
- matching: the pipeline's per-queue min-cost flows with Lagrangian coordination of the
  shared capacities (``priced``), timed; its relative objective gap to one global exact
  min-cost flow over all queues; also the demand-only split's gap and greedy's gap;
- plan figures: expected (and true) accuracy, cost and on-time share of the plan vs a
  random assignment of the same pairs under the same capacities, and the best
  Pareto-sweep point whose cost is not above the random plan's.
- with ``--floor``: identity pandas UDFs (no formulas) shipping 1 or all 10 inputs and
  returning 1 double or the 7-field struct, timed the same way: the share of the pandas
  UDF's time that is the JVM <-> Python Arrow round trip (``docs/allocation.md``, "Bench").

Stage timings go to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd  # module level: the UDFs' type hints are resolved in this module's globals

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.allocation.config import TOP_K  # noqa: E402  (plain Python: no Spark at import)

log = logging.getLogger("bench.allocation")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labelers", type=int, default=2000)
    p.add_argument("--tasks", type=int, default=50_000)
    p.add_argument("--top-k", type=int, default=TOP_K, help="max candidate labelers per task (the pipeline's default)")
    p.add_argument("--window-hours", type=float, default=1.0, help="planning window (hourly runs)")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per scorer (best is kept)")
    p.add_argument("--row-udf-sample", type=int, default=100_000, help="pairs scored by the row UDF")
    p.add_argument("--no-sweep", action="store_true", help="skip the Pareto sweep")
    p.add_argument("--floor", action="store_true",
                   help="also time identity pandas UDFs (the Arrow round trip without formulas)")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--seed", type=int, default=11)
    return p.parse_args(argv)


def timed_write(df) -> float:
    """Seconds to compute every row and column of ``df`` (no-op sink: nothing collected)."""
    t0 = time.perf_counter()
    df.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - t0


def best_of(n: int, fn) -> float:
    return min(fn() for _ in range(n))


def interleaved_best(frames: dict[str, object], repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Best no-op-write time per frame over ``repeats`` rounds after one warm-up round; each
    round runs every frame once, so a slow spell of the machine hits them all alike. Also
    returns each frame's median / best, to show how steady the timings were."""
    for df in frames.values():
        timed_write(df)
    runs: dict[str, list[float]] = {name: [] for name in frames}
    for _ in range(repeats):
        for name, df in frames.items():
            runs[name].append(timed_write(df))
    best = {name: min(ts) for name, ts in runs.items()}
    spread = {name: round(sorted(ts)[len(ts) // 2] / best[name], 2) for name, ts in runs.items()}
    return best, spread


def identity_udfs(input_columns: tuple[str, ...], output_columns: tuple[str, ...]) -> dict:
    """Pandas UDFs that compute nothing: first input back as one double or as the output struct.

    Timed against the scorers, they separate the Arrow round trip from the formulas."""
    import numpy as np
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, StructField, StructType

    struct = StructType([StructField(c, DoubleType(), True) for c in output_columns])

    def as_struct(first: pd.Series) -> pd.DataFrame:
        values = first.to_numpy(dtype=np.float64)
        return pd.DataFrame({c: values for c in output_columns})

    @F.pandas_udf(DoubleType())  # type: ignore[call-overload]
    def one_to_one(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        yield from batches

    @F.pandas_udf(struct)  # type: ignore[call-overload]
    def one_to_struct(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        for first in batches:
            yield as_struct(first)

    @F.pandas_udf(DoubleType())  # type: ignore[call-overload]
    def all_to_one(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.Series]:
        for cols in batches:
            yield cols[0]

    @F.pandas_udf(struct)  # type: ignore[call-overload]
    def all_to_struct(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.DataFrame]:
        for cols in batches:
            yield as_struct(cols[0])

    first, every = [F.col(input_columns[0])], [F.col(c) for c in input_columns]
    n_in, n_out = len(input_columns), len(output_columns)
    # Struct results are unpacked into columns, as the scorers' results are.
    return {"1_to_1": [one_to_one(*first).alias("value")],
            f"1_to_{n_out}": [one_to_struct(*first).alias("s")],
            f"{n_in}_to_1": [all_to_one(*every).alias("value")],
            f"{n_in}_to_{n_out}": [all_to_struct(*every).alias("s")]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("py4j", "labelops.session"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    from jobs.session import build_spark
    from scoring.allocation.candidates import candidate_pairs, pair_bound
    from scoring.allocation.coded import (
        entity_codes,
        with_coded_score,
        with_entity_inputs,
        with_load_ratios,
    )
    from scoring.allocation.config import ARROW_BATCH_ROWS
    from scoring.allocation.formulas import COMPONENT_COLUMNS
    from scoring.allocation.matching import relative_gap
    from scoring.allocation.metrics import plan_metrics, totals, with_random_scores
    from scoring.allocation.pareto import pareto_sweep, weight_grid
    from scoring.allocation.scorers import (
        with_scores,
        with_scores_arrow,
        with_scores_builtin,
        with_scores_row_udf,
    )
    from scoring.allocation.shared_capacity import match_shared_capacity, resolve_strategy
    from scoring.allocation.synthetic import generate

    spark = build_spark("bench-allocation", master=args.master,
                        extra_conf={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4",
                                    "spark.driver.memory": "6g"})
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
    figures: dict[str, object] = {"labelers": args.labelers, "tasks": args.tasks, "top_k": args.top_k,
                                  "master": spark.sparkContext.master, "cpus": os.cpu_count()}
    figures["load_avg_1m_at_start"] = round(os.getloadavg()[0], 2)  # other jobs on the machine

    t0 = time.perf_counter()
    syn = generate(args.labelers, args.tasks, seed=args.seed, window_h=args.window_hours)
    frames = syn.to_spark(spark)
    log.info("synthetic inputs in %.1fs: supply %d labels, demand %d labels", time.perf_counter() - t0,
             syn.labelers["capacity"].sum(), syn.open_tasks["labels_needed"].sum())
    figures["supply_labels"] = int(syn.labelers["capacity"].sum())
    figures["demand_labels"] = int(syn.open_tasks["labels_needed"].sum())

    t0 = time.perf_counter()
    codes = entity_codes(frames["open_tasks"], frames["labelers"], frames["skills"], syn.window_start)
    figures["entity_codes_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    coded = candidate_pairs(frames["open_tasks"], frames["labelers"], frames["skills"], frames["judged"],
                            syn.window_start, top_k=args.top_k, codes=codes).persist()
    n = coded.count()
    figures["candidates_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    entities = with_load_ratios(codes, coded)
    figures.update(load_ratios_s=round(time.perf_counter() - t0, 2), entity_input_bytes=entities.nbytes)
    # The pipeline's pairs carry the codes, not the ten inputs; the built-in and row-UDF scorers
    # read the inputs as columns, so they are joined back by code (as the job's plan figures do)
    # and every scorer reads this one cached frame.
    t0 = time.perf_counter()
    coded_only, coded = coded, with_entity_inputs(coded, entities).persist()
    coded.count()
    coded_only.unpersist()
    figures["entity_inputs_s"] = round(time.perf_counter() - t0, 2)
    bound = pair_bound(frames["open_tasks"], frames["labelers"], args.top_k).agg(
        F.sum("cross_product").alias("cross"), F.sum("bound").alias("bound")).first()
    figures.update(pairs=n, pairs_bound=int(bound["bound"]), eligible_cross_product=int(bound["cross"]))
    log.info("%d candidate pairs in %.1fs (bound %d; eligible cross product %d); entity codes %.1fs, "
             "load ratios %.1fs, inputs joined back %.1fs", n, figures["candidates_s"], bound["bound"],
             bound["cross"], figures["entity_codes_s"], figures["load_ratios_s"], figures["entity_inputs_s"])

    # --- scoring: the score three ways (what matching needs); every component four ways ----------
    keys = ["task_id", "labeler_id"]
    # A Bernoulli sample keeps the pairs' partitioning (``limit`` would put the sample in one
    # partition and time the row UDF on one core against the others' two).
    sample = coded.sample(fraction=min(1.0, args.row_udf_sample / max(n, 1)), seed=args.seed).persist()
    n_sample = sample.count()
    w = args.window_hours

    def score_only() -> dict[str, DataFrame]:
        return {"udf": with_coded_score(coded, entities, window_h=w).select(*keys, "score"),
                "builtin": with_scores_builtin(coded, window_h=w, score_only=True).select(*keys, "score"),
                "row_udf": with_scores_row_udf(sample, window_h=w, score_only=True).select(*keys, "score")}

    def every_component() -> dict[str, DataFrame]:
        return {name: scorer(df, window_h=w).select(*keys, *COMPONENT_COLUMNS)
                for name, scorer, df in (("udf", with_scores, coded), ("builtin", with_scores_builtin, coded),
                                         ("arrow_udf", with_scores_arrow, coded),
                                         ("row_udf", with_scores_row_udf, sample))}

    # one interleaved set: every scorer sees the same JVM warm-up and machine load
    frames_ = {**score_only(), **{f"all_{name}": df for name, df in every_component().items()}}
    best, spread = interleaved_best(frames_, args.repeats)
    t = {name: best[name] for name in score_only()}
    ta = {name: best[f"all_{name}"] for name in every_component()}
    built = score_only()
    diff = built["udf"].join(built["builtin"].withColumnRenamed("score", "b"), keys).agg(
        F.max(F.abs(F.col("score") - F.col("b")))).first()[0]
    figures.update(
        udf_pairs_per_s=round(n / t["udf"]), builtin_pairs_per_s=round(n / t["builtin"]),
        row_udf_pairs_per_s=round(n_sample / t["row_udf"]), udf_s=round(t["udf"], 3),
        builtin_s=round(t["builtin"], 3), row_udf_s=round(t["row_udf"], 3), row_udf_pairs=n_sample,
        timing_spread=spread, udf_max_abs_diff_to_builtin=diff,
        row_udf_sample_partitions=sample.rdd.getNumPartitions(), pairs_partitions=coded.rdd.getNumPartitions(),
        udf_over_builtin_time=round(t["udf"] / t["builtin"], 3),
        row_udf_over_udf_time=round((t["row_udf"] / n_sample) / (t["udf"] / n), 2))
    log.info("score: coded pandas UDF %.3fs, built-ins %.3fs, row UDF %.2fs for %d pairs "
             "(max |UDF - built-ins| %.1e)", t["udf"], t["builtin"], t["row_udf"], n_sample, diff)

    # every component of every pair (what the Pareto sweep needs), four ways
    sample.unpersist()
    figures["all_components"] = {
        **{f"{name}_s": round(v, 3) for name, v in ta.items()},
        "udf_over_builtin_time": round(ta["udf"] / ta["builtin"], 3),
        "arrow_udf_over_builtin_time": round(ta["arrow_udf"] / ta["builtin"], 3),
        "row_udf_over_udf_time": round((ta["row_udf"] / n_sample) / (ta["udf"] / n), 2)}
    log.info("all components: pandas UDF %.2fs, Arrow UDF %.2fs, built-ins %.2fs, row UDF %.2fs for %d pairs",
             ta["udf"], ta["arrow_udf"], ta["builtin"], ta["row_udf"], n_sample)
    if args.floor:
        from scoring.allocation.formulas import INPUT_COLUMNS

        floor = {}
        for name, columns in identity_udfs(INPUT_COLUMNS, COMPONENT_COLUMNS).items():
            def timed(columns=columns) -> float:
                out = coded.select(*keys, *columns)
                return timed_write(out.select(*keys, "s.*") if "s" in out.columns else out)
            timed()
            floor[name] = round(best_of(args.repeats, timed) / ta["builtin"], 3)
        figures["identity_udf_over_all_components_builtin_time"] = floor
        log.info("identity pandas UDFs (inputs_to_outputs: x built-ins, all components): %s", floor)

    # --- matching -------------------------------------------------------------------------------
    scored = with_coded_score(coded, entities, window_h=w).join(
        F.broadcast(frames["skills"].select("labeler_id", "queue", "true_accuracy")), ["labeler_id", "queue"],
        "left").persist()
    scored.count()
    coded.unpersist()
    t0 = time.perf_counter()
    priced = match_shared_capacity(scored, "priced")
    priced.matched.count()
    figures["matching_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    exact = match_shared_capacity(scored, "global", compare_greedy=True)
    figures["global_matching_s"] = round(time.perf_counter() - t0, 2)
    demand = match_shared_capacity(scored, "demand", compare_greedy=False)
    greedy_global = exact.matched.select(F.first("greedy_objective")).first()[0]
    gaps = priced.matched.groupBy("queue").agg(F.first("exact_objective").alias("e"),
                                               F.first("greedy_objective").alias("g")).toPandas()
    figures.update(
        matching_gap=round(relative_gap(exact.objective, priced.objective), 5),
        matching_gap_bound=round(priced.gap_bound, 5) if priced.gap_bound is not None else None,
        matching_rounds=len(priced.rounds),
        capacity_split_gap_demand_only=round(relative_gap(exact.objective, demand.objective), 5),
        greedy_gap_per_queue=round(relative_gap(gaps["e"].sum(), gaps["g"].sum()), 5),
        greedy_gap_global=round(relative_gap(exact.objective, greedy_global), 5),
        objective_exact=round(exact.objective, 3), objective_plan=round(priced.objective, 3),
        # what the job's default (``--strategy auto``) would run on these pairs
        auto_strategy=resolve_strategy("auto", figures["pairs"]))
    log.info("matching: priced %.1fs (objective %.3f), global exact %.1fs (%.3f), gap %.5f",
             figures["matching_s"], priced.objective, figures["global_matching_s"], exact.objective,
             figures["matching_gap"])

    # --- plan figures vs random ------------------------------------------------------------------
    with_capacity = scored.join(F.broadcast(priced.capacity_split), ["labeler_id", "queue"], "left")
    random_plan = match_shared_capacity(with_random_scores(scored, args.seed), "global",
                                        compare_greedy=False, max_exact_pairs=0)
    per_queue = plan_metrics(with_capacity, {"policy": priced.matched, "random": random_plan.matched},
                             window_h=w).toPandas()
    overall = totals(per_queue).set_index("policy")
    for policy in ("policy", "random"):
        row = overall.loc[policy]
        figures[f"{policy}_labels"] = int(row["assigned"])
        for metric in ("mean_expected_accuracy", "mean_true_accuracy", "cost_per_label", "on_time_share"):
            figures[f"{policy}_{metric}"] = round(float(row[metric]), 4)
        figures[f"{policy}_total_cost"] = round(float(row["sum_expected_cost"]), 2)
    if not args.no_sweep:
        t0 = time.perf_counter()
        # the sweep re-combines every component of every pair: the 7-field scorer, once
        every_component = with_scores(with_capacity.drop("score"), window_h=w)
        sweep = pareto_sweep(every_component, weight_grid({"quality": (1.0, 2.0, 4.0), "cost": (0.5, 1.0, 2.0)}))
        figures["sweep_s"] = round(time.perf_counter() - t0, 2)
        affordable = sweep[sweep["sum_expected_cost"] <= figures["random_total_cost"]]
        if len(affordable):
            best = affordable.sort_values("mean_expected_accuracy", ascending=False).iloc[0]
            figures["sweep_best_at_random_cost"] = {
                "quality": best["quality"], "cost": best["cost"], "labels": int(best["assigned"]),
                "mean_expected_accuracy": round(float(best["mean_expected_accuracy"]), 4),
                "mean_true_accuracy": round(float(best["mean_true_accuracy"]), 4),
                "total_cost": round(float(best["sum_expected_cost"]), 2)}
        figures["sweep_points"] = len(sweep)
        figures["sweep_pareto_points"] = int(sweep["pareto"].sum())
    figures["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
