"""Dawid-Skene at pipeline scale: labelops' Spark engine vs crowd-kit's DawidSkene, same data.

    .venv/bin/python bench/confidence.py                       # 10M judgments, 20 iterations
    .venv/bin/python bench/confidence.py --judgments 1000000   # quicker

Generates ~N judgments (K=4, N/5 tasks, 5,000 labelers with confusion matrices, 3-7
labels per task; ``experiments.crowd_sim``), writes them to Parquet, then times

- labelops: Parquet -> Spark engine (encode + cache blocks) -> N_ITER EM iterations ->
  posteriors with label/confidence/entropy written to Parquet;
- crowd-kit: ``DawidSkene(n_iter=N_ITER, tol=-inf).fit_predict`` on the same rows as a
  pandas DataFrame already in memory (its reading time is not counted).

Both start from majority vote and run exactly N_ITER iterations (tol disabled). Accuracy
is against the generator's truth. Stage timings go to stderr; the last stdout line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.crowd_sim import make_crowd, simulate  # noqa: E402

log = logging.getLogger("bench.confidence")
FILES = 8


def generate(args: argparse.Namespace, out: Path) -> tuple[Path, Path, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_tasks = args.judgments // 5
    crowd = make_crowd(args.labelers, args.k, seed=args.seed)
    j = simulate(crowd, n_tasks, min_labels=3, max_labels=7, seed=args.seed + 1)
    data = out / f"judgments_{args.judgments}"
    truth = out / f"truth_{args.judgments}.parquet"
    data.mkdir(parents=True, exist_ok=True)
    for old in data.glob("*.parquet"):
        old.unlink()
    table = pa.table({"task_id": j.task, "labeler_id": j.worker, "label": j.label})
    # Several files, as a Delta table would have, so Spark reads them in parallel.
    step = -(-table.num_rows // FILES)
    for i in range(FILES):
        pq.write_table(table.slice(i * step, step), data / f"part-{i:03d}.parquet")
    pq.write_table(pa.table({"task_id": np.arange(n_tasks, dtype=np.int64), "truth": j.truth}), truth)
    return data, truth, j.n


def cores(spark) -> int:
    """Cores of a local[N] master (spark.default.parallelism is set higher on purpose), else
    the default parallelism: one partition per core keeps per-task overhead out of each iteration."""
    master = spark.sparkContext.master
    if master.startswith("local[") and master[6:-1].isdigit():
        return int(master[6:-1])
    return spark.sparkContext.defaultParallelism


def run_labelops(args: argparse.Namespace, data: Path, truth: Path) -> tuple[float, float, dict]:
    from pyspark.sql import functions as F

    from jobs.session import build_spark
    from scoring.class_space import ClassSpace
    from scoring.em import EmConfig
    from scoring.posterior_columns import with_confidence_columns
    from scoring.spark_engine import SparkEngine

    spark = build_spark("bench-confidence", master=args.master,
                        extra_conf={"spark.driver.memory": args.driver_memory, "spark.ui.enabled": "false"})
    stages = {}
    t0 = time.perf_counter()
    judgments = spark.read.parquet(str(data))
    space = ClassSpace.single([str(c) for c in range(args.k)])
    n_partitions = args.partitions or SparkEngine.partitions_for(args.judgments, cores(spark))
    engine = SparkEngine.from_judgments(judgments, space, n_partitions=n_partitions)
    stages["encode_and_cache_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    fitted = engine.fit(EmConfig(method="ds", max_iter=args.iterations, tol=0.0))
    stages["em_s"] = time.perf_counter() - t1
    stages["per_iteration_s"] = stages["em_s"] / max(fitted.iterations, 1)
    t2 = time.perf_counter()
    posteriors_path = str(data.parent / f"posteriors_{args.judgments}")
    (with_confidence_columns(engine.posteriors_df(fitted))
     .write.mode("overwrite").parquet(posteriors_path))
    stages["posteriors_s"] = time.perf_counter() - t2
    seconds = time.perf_counter() - t0
    engine.close()
    scored = spark.read.parquet(posteriors_path)
    truth_df = spark.read.parquet(str(truth)).select(F.col("task_id").cast("string").alias("task_id"),
                                                     F.col("truth").cast("string").alias("truth"))
    n_tasks = scored.count()
    correct = scored.join(truth_df, on="task_id", how="inner").where(F.col("label") == F.col("truth")).count()
    stages.update(iterations=fitted.iterations, tasks=n_tasks, labelers=engine.workers.n_workers,
                  partitions=n_partitions)
    spark.stop()
    return seconds, correct / n_tasks, stages


def compare_layouts(args: argparse.Namespace, data: Path) -> dict:
    """Seconds per EM iteration for three ways to run the E-step on Spark (same data, same kernels):

    - rdd_blocks: the engine (blocks encoded once, cached as an RDD of bytes, tree-reduced stats);
    - map_in_pandas: a cached DataFrame partitioned by task; every iteration re-encodes each
      partition in a ``mapInPandas`` and returns its statistics (a DataFrame cannot keep blocks);
    - apply_in_pandas: ``groupBy(task).applyInPandas``: one Python call per task, per-judgment
      posterior weights summed by Spark (on a ``--apply-sample`` fraction of tasks, scaled up).
    """
    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import functions as F

    from jobs.session import build_spark
    from scoring.arrow_encoding import encode_table
    from scoring.block_steps import block_e_stats
    from scoring.blocks import from_bytes, to_bytes
    from scoring.class_space import ClassSpace
    from scoring.em import EmConfig, m_step
    from scoring.spark_engine import SparkEngine

    spark = build_spark("bench-confidence-layouts", master=args.master,
                        extra_conf={"spark.driver.memory": args.driver_memory, "spark.ui.enabled": "false"})
    space = ClassSpace.single([str(c) for c in range(args.k)])
    judgments = spark.read.parquet(str(data))
    n_partitions = args.partitions or SparkEngine.partitions_for(args.judgments, cores(spark))
    engine = SparkEngine.from_judgments(judgments, space, n_partitions=n_partitions)
    config = EmConfig(method="ds")
    params = m_step(engine.sum_vote_stats(False), engine.shape, config)
    out = {}

    def timed(fn, repeat: int = 3) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    out["rdd_blocks_s"] = timed(lambda: engine.sum_e_stats(params, False))

    sc = spark.sparkContext
    params_bc, lookup_bc, n_workers = sc.broadcast(params), sc.broadcast(engine.workers.lookup()), engine.workers.n_workers
    cached = judgments.select("task_id", "labeler_id", "label").repartition(n_partitions, "task_id").persist()
    cached.count()

    def partition_stats(frames):
        table = pa.Table.from_pandas(pd.concat(list(frames)), preserve_index=False)
        block = encode_table(table, space).block
        yield pd.DataFrame({"stats": [to_bytes(block_e_stats(block, params_bc.value, lookup_bc.value,
                                                             n_workers, False))]})

    def map_in_pandas_iteration():
        rows = cached.mapInPandas(partition_stats, "stats binary").collect()
        total = from_bytes(rows[0][0])
        for r in rows[1:]:
            total = total + from_bytes(r[0])

    out["map_in_pandas_s"] = timed(map_in_pandas_iteration)

    log_conf = params.log_conf
    classes = [str(c) for c in range(args.k)]
    labelers = {p[0]: i for i, p in enumerate(engine.workers.pairs)}
    prior_bc = sc.broadcast((params.log_prior[0], log_conf, labelers))
    schema = "labeler_id string, label string, " + ", ".join(f"p{c} double" for c in range(args.k))

    def task_weights(pdf: pd.DataFrame) -> pd.DataFrame:
        log_prior, table, index = prior_bc.value
        w = pdf["labeler_id"].astype(str).map(index).to_numpy()
        y = pdf["label"].astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
        lj = log_prior + table[w * len(classes) + y].sum(axis=0)
        post = np.exp(lj - lj.max())
        post /= post.sum()
        res = pd.DataFrame({"labeler_id": pdf["labeler_id"].astype(str), "label": pdf["label"].astype(str)})
        for c in range(len(classes)):
            res[f"p{c}"] = post[c]
        return res

    sample = cached.where(F.abs(F.hash("task_id")) % 1000 < int(args.apply_sample * 1000))

    def apply_in_pandas_iteration():
        (sample.groupBy("task_id").applyInPandas(task_weights, schema)
         .groupBy("labeler_id", "label").agg(*[F.sum(f"p{c}") for c in range(args.k)]).collect())

    out["apply_in_pandas_s"] = timed(apply_in_pandas_iteration, repeat=1) / args.apply_sample
    out["apply_in_pandas_sample"] = args.apply_sample
    cached.unpersist()
    engine.close()
    spark.stop()
    return out


def run_crowdkit(args: argparse.Namespace, data: Path, truth: Path) -> tuple[float, float]:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    df = pd.read_parquet(data).rename(columns={"task_id": "task", "labeler_id": "worker"})
    t0 = time.perf_counter()
    labels = DawidSkene(n_iter=args.iterations, tol=float("-inf")).fit_predict(df)
    seconds = time.perf_counter() - t0
    truth_s = pd.read_parquet(truth).set_index("task_id")["truth"]
    common = truth_s.index.intersection(labels.index)
    return seconds, float((labels[common].astype(int) == truth_s[common].astype(int)).mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--judgments", type=int, default=10_000_000)
    p.add_argument("--labelers", type=int, default=5_000)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--partitions", type=int, default=None)
    p.add_argument("--driver-memory", default="6g")
    p.add_argument("--out", default=str(ROOT / "bench" / "out" / "confidence"))
    p.add_argument("--skip-crowdkit", action="store_true")
    p.add_argument("--layouts", action="store_true",
                   help="also time one E-step per Spark layout (RDD of blocks, mapInPandas, applyInPandas)")
    p.add_argument("--apply-sample", type=float, default=0.01,
                   help="fraction of tasks the applyInPandas layout runs on (its time is scaled up)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    t = time.perf_counter()
    data, truth, n = generate(args, Path(args.out))
    log.info("generated %d judgments in %.1fs -> %s", n, time.perf_counter() - t, data)
    lo_s, lo_acc, stages = run_labelops(args, data, truth)
    log.info("labelops: %.1fs accuracy %.4f stages %s", lo_s, lo_acc, json.dumps(stages))
    layouts = compare_layouts(args, data) if args.layouts else None
    if layouts:
        log.info("seconds per E-step by layout: %s", json.dumps(layouts))
    ck_s = ck_acc = None
    if not args.skip_crowdkit:
        ck_s, ck_acc = run_crowdkit(args, data, truth)
        log.info("crowd-kit: %.1fs accuracy %.4f", ck_s, ck_acc)
    print(json.dumps({
        "judgments": n,
        "labelops_s": round(lo_s, 2),
        "crowdkit_s": round(ck_s, 2) if ck_s is not None else None,
        "ratio": round(lo_s / ck_s, 3) if ck_s else None,
        "labelops_accuracy": round(lo_acc, 5),
        "crowdkit_accuracy": round(ck_acc, 5) if ck_acc is not None else None,
        "iterations": stages["iterations"],
        **({"layouts_s_per_iteration": {k: round(v, 2) for k, v in layouts.items()}} if layouts else {}),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
