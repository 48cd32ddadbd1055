"""Feature-store benchmark: does building day N cost what day 1 costs, and how much more than
reading the data?

Writes silver tables for DAYS days of synthetic judgments straight into a fresh lake (no
ingest: the point is the feature build), then in one process:

1. times the features job for day 1 (after an untimed warm-up run on a scratch lake), and for
   day 3 (which, like day N, also rebuilds the two days before it: late rows arrive with it);
2. builds days 4 .. N-1 in backfill runs of 30 days (untimed);
3. times the features job for day N (daily aggregates + windows + gates + Delta MERGEs);
   each timed day runs ``--repeats`` times in a row (a rerun is an idempotent rebuild of the
   same as-of days, checked) and its median counts: one run moves by 20 % with the machine;
4. times the feature computation alone for day N's range (same code, a no-op sink, no gate);
5. times a bare scan + groupBy of the same silver rows (judgments of the days day N rebuilds).

Prints figures, then one JSON object on the last line:
  day_n_over_day_1     = job time day N / job time day 1                  (goal <= 1.3)
  build_over_bare_scan = feature computation / bare scan + groupBy        (goal <= 3)

    .venv/bin/python bench/features.py --days 90 --judgments-per-day 40000

Recovery of the generator's latent truth (``truth`` mode): generate exports with
experiments.synth, run ingest -> silver for every day and the features job, then correlate
labeler gold accuracy with the latent accuracy and rank the spammers (last line: JSON).

    .venv/bin/python bench/features.py truth --days 14 --judgments-per-day 15000 --labelers 150
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
# Run as a script, this folder is first on sys.path, where this very file would shadow the
# ``features`` package: put the repository first instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from schemas import silver  # noqa: E402
from schemas.reference import QUEUES  # noqa: E402

QUEUE_NAMES = sorted(QUEUES)


def _labelers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    archetype = rng.choice(["expert", "normal", "spammer"], n, p=[0.15, 0.75, 0.10])
    accuracy = np.where(archetype == "expert", rng.uniform(0.90, 0.98, n),
                        np.where(archetype == "normal", rng.uniform(0.70, 0.90, n), 0.0))
    return pd.DataFrame({
        "labeler_id": [f"lab-{i:05d}" for i in range(n)],
        "archetype": archetype,
        "accuracy": accuracy,           # spammers: uniform answers (accuracy 1/k)
        "speed": np.where(archetype == "spammer", rng.uniform(0.2, 0.45, n), np.exp(rng.normal(0, 0.3, n))),
        "hourly_cost": np.round(rng.uniform(5, 20, n), 2),
        "hired_at": [date(2024, 1, 1) + timedelta(days=int(x)) for x in rng.integers(0, 700, n)],
    })


def synthetic_day(rng: np.random.Generator, labelers: pd.DataFrame, day: date, judgments: int,
                  late_rate: float, last_day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One day of tasks (3 judgment slots each) and their judgments, silver-shaped."""
    n_tasks = judgments // 3
    q = rng.integers(0, len(QUEUE_NAMES), n_tasks)
    k = np.array([len(QUEUES[QUEUE_NAMES[i]].labels) for i in q])
    truth = (rng.random(n_tasks) * k).astype(int)
    day_start = pd.Timestamp(day)
    created = day_start + pd.to_timedelta(rng.uniform(0, 86_400, n_tasks), unit="s")
    priority = rng.choice([1, 2, 3], n_tasks, p=[0.15, 0.55, 0.30])
    deadline = created + pd.to_timedelta(np.array([4.0, 24.0, 72.0])[priority - 1], unit="h")
    task_ids = np.array([f"t-{day:%Y%m%d}-{i:07d}" for i in range(n_tasks)])
    modality = np.array([QUEUES[QUEUE_NAMES[i]].modality for i in q])
    tasks = pd.DataFrame({
        "task_id": task_ids, "queue": np.array(QUEUE_NAMES)[q], "modality": modality, "language": "en",
        "created_at": created, "deadline_at": deadline, "priority": priority.astype("int32"),
        "label_set": [list(QUEUES[QUEUE_NAMES[i]].labels) for i in q], "reward": 0.05,
        "created_date": day, "ingest_date": day,
    })
    # judgments: 3 distinct random labelers per task
    n_lab = len(labelers)
    l0 = rng.integers(0, n_lab, n_tasks)
    o1 = rng.integers(1, n_lab, n_tasks)
    o2 = rng.integers(1, n_lab - 1, n_tasks)
    o2 = np.where(o2 >= o1, o2 + 1, o2)
    lab = np.stack([l0, (l0 + o1) % n_lab, (l0 + o2) % n_lab], axis=1)
    t = np.repeat(np.arange(n_tasks), 3)
    lab = lab.reshape(-1)
    n = len(t)
    acc = labelers["accuracy"].to_numpy()[lab]
    kk = k[t]
    correct = rng.random(n) < np.where(acc > 0, acc, 1.0 / kk)
    wrong = (truth[t] + 1 + (rng.random(n) * (kk - 1)).astype(int)) % kk
    label_idx = np.where(correct, truth[t], wrong)
    status = rng.choice(["submitted", "skipped", "expired", "abandoned"], n, p=[0.88, 0.06, 0.035, 0.025])
    submitted = status == "submitted"
    assigned = created[t] + pd.to_timedelta(np.minimum(rng.exponential(2.0 * 3600, n), 40 * 3600), unit="s")
    active = np.round(20.0 * labelers["speed"].to_numpy()[lab] * np.exp(rng.normal(0, 0.35, n)), 3)
    submitted_at = assigned + pd.to_timedelta(active + 5, unit="s")
    labels_of = [QUEUES[QUEUE_NAMES[i]].labels for i in q]
    label = np.array([labels_of[ti][li] for ti, li in zip(t, label_idx, strict=True)], dtype=object)
    gold = rng.random(n_tasks) < 0.05
    reviewed = submitted & (rng.random(n) < 0.03)
    event_ts = pd.Series(np.where(submitted, submitted_at, assigned))
    event_ts = pd.to_datetime(event_ts)
    event_date = event_ts.dt.date
    lag = np.where(rng.random(n) < late_rate, rng.choice([1, 2], n, p=[0.7, 0.3]), 0)
    ingest = np.array([min(e + timedelta(days=int(g)), max(e, last_day)) for e, g in zip(event_date, lag, strict=True)])
    truth_label = np.array([labels_of[ti][truth[ti]] for ti in t], dtype=object)
    judg = pd.DataFrame({
        "judgment_id": [f"j-{day:%Y%m%d}-{i:08d}" for i in range(n)],
        "task_id": task_ids[t], "labeler_id": labelers["labeler_id"].to_numpy()[lab],
        "queue": np.array(QUEUE_NAMES)[q][t], "status": status,
        "label": np.where(submitted, label, None),
        "assigned_at": assigned, "started_at": assigned + pd.to_timedelta(2, unit="s"),
        "submitted_at": pd.Series(submitted_at).where(submitted, pd.NaT),
        "active_seconds": np.where(status == "expired", np.nan, active),
        "is_gold": gold[t], "gold_label": np.where(gold[t], truth_label, None),
        "review_label": np.where(reviewed, truth_label, None), "client_version": "web-4.1.0",
        "event_ts": event_ts, "event_date": event_date, "ingest_date": ingest,
        "is_late": ingest > np.array(event_date),
    })
    return tasks, judg


def roster_frame(labelers: pd.DataFrame, day: date) -> pd.DataFrame:
    return pd.DataFrame({
        "labeler_id": labelers["labeler_id"], "snapshot_date": day, "site": "remote",
        "languages": [["en"]] * len(labelers), "certified_queues": [QUEUE_NAMES] * len(labelers),
        "hourly_cost": labelers["hourly_cost"], "shift_hours": 8.0, "hired_at": labelers["hired_at"],
        "status": "active",
    })


def write_synthetic_silver(spark, lake_root: str, start: date, days: int, judgments_per_day: int,
                           labelers: int = 400, late_rate: float = 0.03, seed: int = 7) -> pd.DataFrame:
    """Silver judgments / tasks / roster for ``days`` days into ``lake_root``; returns the labelers
    with their latent accuracy (the truth)."""
    from jobs.lake import Lake

    rng = np.random.default_rng(seed)
    people = _labelers(rng, labelers)
    lake = Lake(lake_root)
    last = start + timedelta(days=days - 1)
    chunk_days = 10
    for c0 in range(0, days, chunk_days):
        tasks, judg, roster = [], [], []
        for i in range(c0, min(days, c0 + chunk_days)):
            day = start + timedelta(days=i)
            t, j = synthetic_day(rng, people, day, judgments_per_day, late_rate, last)
            tasks.append(t)
            judg.append(j)
            roster.append(roster_frame(people, day))
        for frame, contract in ((pd.concat(judg), silver.JUDGMENTS), (pd.concat(tasks), silver.TASKS),
                                (pd.concat(roster), silver.LABELER_SNAPSHOTS)):
            frame = frame[contract.columns].reset_index(drop=True)
            for column in frame.columns:  # Arrow refuses to drop nanoseconds silently
                if pd.api.types.is_datetime64_any_dtype(frame[column]):
                    frame[column] = frame[column].dt.floor("us")
            df = spark.createDataFrame(frame, schema=contract.schema)
            (df.write.format("delta").mode("append").partitionBy(*contract.partition_by)
             .save(lake.path(contract)))
    return people


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _latent_per_labeler(raw: Path, lq, as_of: date) -> pd.DataFrame:
    """Latent accuracy of each labeler on the as-of day, averaged over queues with the labeler's
    28-day judgment mix (the truth is per queue; the feature pools queues the same way)."""
    from experiments.synth.truth import latent_accuracy_table, load_labelers

    labelers = load_labelers(raw)
    latent = latent_accuracy_table(labelers, as_of)
    mix = lq.merge(latent, on=["labeler_id", "queue"], how="inner")
    mix = mix[mix["judgments_28d"] > 0]
    weighted = (mix.assign(w=mix["accuracy"] * mix["judgments_28d"])
                .groupby("labeler_id").agg(w=("w", "sum"), n=("judgments_28d", "sum")))
    out = (weighted["w"] / weighted["n"]).rename("latent_accuracy").reset_index()
    return out.merge(labelers[["labeler_id", "archetype"]], on="labeler_id")


def truth_main(args: argparse.Namespace) -> int:
    """Generate -> ingest -> silver -> features, then compare features with the latent truth."""
    from scipy.stats import pearsonr, spearmanr

    from jobs.session import build_spark

    spark = build_spark("bench-features-truth", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    from experiments.synth import generate
    from jobs.build_features import main as features_main
    from jobs.ingest import main as ingest_main
    from jobs.silver import main as silver_main

    work = Path(args.work)
    raw, lake = work / "raw", work / "lake"
    last = args.start + timedelta(days=args.days - 1)
    t0 = time.perf_counter()
    if not (raw / "truth" / "labelers.csv").exists():
        generate(raw, args.start, days=args.days, seed=args.seed, judgments_per_day=args.judgments_per_day,
                 n_labelers=args.labelers)
    if not (lake / "silver").exists():
        for i in range(args.days):
            day = (args.start + timedelta(days=i)).isoformat()
            for job in (ingest_main, silver_main):
                code = job(["--date", day, "--lake", str(lake), "--raw", str(raw)])
                if code != 0:
                    raise SystemExit(f"{job.__module__} failed for {day}")
    if features_main(["--date", last.isoformat(), "--lake", str(lake)]) != 0:
        raise SystemExit("features job failed")
    took = time.perf_counter() - t0

    def table(name: str):
        return spark.read.format("delta").load(str(lake / "features" / name)).where(
            f"as_of_date = DATE'{last}'")

    lq = table("labeler_queue_features").select("labeler_id", "queue", "judgments_28d").toPandas()
    feats = table("labeler_features").where("judgments_28d > 0").select(
        "labeler_id", "judgments_28d", "gold_n_28d", "gold_accuracy_28d", "gold_accuracy_lb_28d",
        "gold_accuracy_all", "ew_gold_accuracy", "gold_balanced_accuracy_28d", "agreement_rate_28d").toPandas()
    df = feats.merge(_latent_per_labeler(raw, lq, last), on="labeler_id", how="inner")
    result: dict = {"days": args.days, "judgments_per_day": args.judgments_per_day, "labelers": len(df),
                    "spammers": int((df["archetype"] == "spammer").sum()), "as_of": last.isoformat(),
                    "median_gold_n_28d": float(df["gold_n_28d"].median()), "pipeline_seconds": round(took, 1)}
    for col in ("gold_accuracy_28d", "gold_accuracy_lb_28d", "gold_accuracy_all", "ew_gold_accuracy",
                "gold_balanced_accuracy_28d", "agreement_rate_28d"):
        ok = df[col].notna()
        result[f"pearson_{col}"] = round(float(pearsonr(df.loc[ok, col], df.loc[ok, "latent_accuracy"])[0]), 3)
        result[f"spearman_{col}"] = round(float(spearmanr(df.loc[ok, col], df.loc[ok, "latent_accuracy"])[0]), 3)
        pct = df.loc[ok, col].rank(pct=True)
        spam = df.loc[ok, "archetype"] == "spammer"
        result[f"spammers_in_bottom_decile_{col}"] = f"{int((pct[spam] <= 0.1).sum())}/{int(spam.sum())}"
        result[f"spammers_worst_percentile_{col}"] = round(float(pct[spam].max()), 3) if spam.any() else None
        bottom = pct <= 0.1
        result[f"bottom_decile_spammer_share_{col}"] = f"{int((bottom & spam).sum())}/{int(bottom.sum())}"
    # skill per queue: labeler x queue gold accuracy vs the latent per-queue accuracy
    from experiments.synth.truth import latent_accuracy_table, load_labelers

    latent_q = latent_accuracy_table(load_labelers(raw), last)
    per_queue = table("labeler_queue_features").where("gold_n_28d >= 10").select(
        "labeler_id", "queue", "gold_accuracy_28d").toPandas().merge(latent_q, on=["labeler_id", "queue"])
    result["labeler_queue_pairs_with_10_gold"] = len(per_queue)
    result["pearson_queue_gold_accuracy_28d"] = round(float(pearsonr(per_queue["gold_accuracy_28d"],
                                                                     per_queue["accuracy"])[0]), 3)
    result["spearman_queue_gold_accuracy_28d"] = round(float(spearmanr(per_queue["gold_accuracy_28d"],
                                                                       per_queue["accuracy"])[0]), 3)
    for key, value in result.items():
        print(f"{key:>52}: {value}")
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["truth"]:
        parser = argparse.ArgumentParser(description="features vs the generator's latent truth")
        parser.add_argument("--days", type=int, default=14)
        parser.add_argument("--judgments-per-day", type=int, default=15_000)
        parser.add_argument("--labelers", type=int, default=150)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 5))
        parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "labelops-features-truth"))
        parser.add_argument("--master", default="local[2]")
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        return truth_main(parser.parse_args(argv[1:]))
    return bench_main(argv)


def bench_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--judgments-per-day", type=int, default=40_000)
    parser.add_argument("--labelers", type=int, default=400)
    parser.add_argument("--late-rate", type=float, default=0.03,
                        help="share of judgments exported 1-2 days late (0: no late data)")
    parser.add_argument("--history-chunk-days", type=int, default=30, help="days per backfill run of the history")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 5))
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", default=None, help="keep the lakes in this folder")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each timed day (reruns rebuild the same days); the median counts")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from jobs.session import build_spark

    spark = build_spark("bench-features", master=args.master, extra_conf={"spark.ui.enabled": "false"})
    from pyspark.sql import functions as F

    from features.build import build_feature_tables
    from features.config import DEFAULT_PARAMS
    from jobs.build_features import main as features_main
    from jobs.build_features import read_build_inputs
    from jobs.lake import Lake

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-features-"))
    lake, scratch = work / "lake", work / "scratch"
    for p in (lake, scratch):
        shutil.rmtree(p, ignore_errors=True)
    day1, day_n = args.start, args.start + timedelta(days=args.days - 1)
    day3 = args.start + timedelta(days=2)
    t0 = time.perf_counter()
    write_synthetic_silver(spark, str(lake), args.start, args.days, args.judgments_per_day, args.labelers,
                           args.late_rate)
    write_synthetic_silver(spark, str(scratch), args.start, 2, max(1000, args.judgments_per_day // 20),
                           args.labelers, args.late_rate, seed=3)
    print(f"silver written in {time.perf_counter() - t0:.1f}s under {work}", file=sys.stderr, flush=True)

    def run(lake_root: Path, day: date) -> None:
        code = features_main(["--date", day.isoformat(), "--lake", str(lake_root)])
        if code != 0:
            raise SystemExit(f"features job failed for {day} (exit {code})")

    def timed_day(day: date) -> list[float]:
        """``--repeats`` runs of the job for ``day``; every rerun rebuilds the first run's as-of days."""
        def as_of_range() -> tuple[date, date]:
            plan = read_build_inputs(spark, Lake(str(lake)), day)[1]
            return plan.first, plan.last

        first_run = as_of_range()
        times = [_timed(lambda: run(lake, day))]
        for _ in range(args.repeats - 1):
            if as_of_range() != first_run:
                raise SystemExit(f"a rerun of {day} would rebuild other days than its first run {first_run}")
            times.append(_timed(lambda: run(lake, day)))
        print(f"features job {day}: {', '.join(f'{t:.1f}' for t in times)} s", file=sys.stderr, flush=True)
        return times

    run(scratch, day1)  # warm-up: JVM JIT, GX context, Python workers
    times_day1 = timed_day(day1)
    # Day 3 rebuilds days 1..3 when late rows of days 1-2 arrive with it: the same width as day N.
    times_day3 = timed_day(day3)
    t0 = time.perf_counter()
    chunk_end = day3 + timedelta(days=args.history_chunk_days)
    while chunk_end < day_n - timedelta(days=1):
        run(lake, chunk_end)
        chunk_end += timedelta(days=args.history_chunk_days)
    run(lake, day_n - timedelta(days=1))
    t_history = time.perf_counter() - t0
    print(f"history built in {t_history:.0f}s", file=sys.stderr, flush=True)

    # Day N as the daily DAG runs it (its silver merge brought late rows of N-1 and N-2).
    inputs, plan = read_build_inputs(spark, Lake(str(lake)), day_n)
    times_day_n = timed_day(day_n)
    t_day1, t_day3, t_day_n = (float(np.median(t)) for t in (times_day1, times_day3, times_day_n))

    def compute_only() -> None:
        build = build_feature_tables(spark, inputs, plan.first, plan.last, DEFAULT_PARAMS)
        try:
            for df, _ in build.outputs():
                df.write.format("noop").mode("overwrite").save()
        finally:
            build.release()

    def bare_scan() -> None:
        j = spark.read.format("delta").load(Lake(str(lake)).path(silver.JUDGMENTS))
        (j.where(F.col("event_date").between(plan.first, plan.last))
         .groupBy("labeler_id", "queue", "event_date")
         .agg(F.count(F.lit(1)), F.sum("active_seconds"), F.count_if(F.col("label") == F.col("gold_label")))
         .write.format("noop").mode("overwrite").save())

    t_compute = min(_timed(compute_only), _timed(compute_only))
    t_scan = min(_timed(bare_scan), _timed(bare_scan))
    figures = {
        "days": args.days, "judgments_per_day": args.judgments_per_day, "labelers": args.labelers,
        "late_rate": args.late_rate, "cores": os.cpu_count(),
        "day_n_rebuilt_as_of_days": len(plan.days),
        "job_seconds_day_1": round(t_day1, 2), "job_seconds_day_3": round(t_day3, 2),
        "job_seconds_day_n": round(t_day_n, 2), "history_backfill_seconds": round(t_history, 1),
        "repeats": args.repeats, "job_seconds_runs": {"day_1": [round(t, 2) for t in times_day1],
                                                       "day_3": [round(t, 2) for t in times_day3],
                                                       "day_n": [round(t, 2) for t in times_day_n]},
        "compute_seconds_day_n": round(t_compute, 2), "bare_scan_seconds": round(t_scan, 2),
        "day_n_over_day_3": round(t_day_n / t_day3, 3),
        "job_over_bare_scan": round(t_day_n / t_scan, 2),
        "day_n_over_day_1": round(t_day_n / t_day1, 3),
        "build_over_bare_scan": round(t_compute / t_scan, 3),
    }
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"day_n_over_day_1": figures["day_n_over_day_1"],
                      "build_over_bare_scan": figures["build_over_bare_scan"], **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
