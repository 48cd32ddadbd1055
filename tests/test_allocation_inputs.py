"""Allocation inputs: silver adapters, eligibility, the candidate bound and the capacity split.

Small hand-made frames (each with a null row where nulls can occur), chispa comparisons.
The silver builders here are reused by the end-to-end job test.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from schemas import silver
from schemas.reference import QUEUES
from scoring.allocation import adapters
from scoring.allocation.candidates import candidate_pairs, pair_bound
from scoring.allocation.capacity import candidate_demand, queue_capacity_split
from scoring.allocation.config import LOWER_BOUND_Z, SKILL_PRIOR_MEAN, SKILL_PRIOR_STRENGTH

DAY = date(2026, 1, 5)
WINDOW_START = datetime(2026, 1, 6)


def at(hours: float, day: date = DAY) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hours)


def silver_tasks(spark: SparkSession, rows: list[dict]) -> DataFrame:
    full = []
    for r in rows:
        q = r.get("queue", "spam")
        created = r.get("created_at", at(1))
        full.append({"task_id": r["task_id"], "queue": q, "modality": QUEUES[q].modality,
                     "language": r.get("language", "en"), "created_at": created,
                     "deadline_at": r.get("deadline_at", created + timedelta(hours=24)),
                     "priority": r.get("priority", 2), "label_set": list(QUEUES[q].labels),
                     "reward": None, "created_date": created.date(), "ingest_date": created.date()})
    return spark.createDataFrame(full, silver.TASKS.schema)


def silver_judgments(spark: SparkSession, rows: list[dict]) -> DataFrame:
    full = []
    for i, r in enumerate(rows):
        ts = r.get("ts", at(2))
        status = r.get("status", "submitted")
        full.append({"judgment_id": r.get("judgment_id", f"j{i}"), "task_id": r["task_id"],
                     "labeler_id": r["labeler_id"], "queue": r.get("queue", "spam"), "status": status,
                     "label": r.get("label"), "assigned_at": ts, "started_at": ts,
                     "submitted_at": ts if status == "submitted" else None,
                     "active_seconds": r.get("active_seconds"), "is_gold": r.get("is_gold", False),
                     "gold_label": r.get("gold_label"), "review_label": None, "client_version": None,
                     "event_ts": ts, "event_date": ts.date(), "ingest_date": ts.date(), "is_late": False})
    return spark.createDataFrame(full, silver.JUDGMENTS.schema)


def silver_roster(spark: SparkSession, rows: list[dict], day: date = DAY) -> DataFrame:
    full = [{"labeler_id": r["labeler_id"], "snapshot_date": r.get("snapshot_date", day), "site": None,
             "languages": r.get("languages", ["en"]), "certified_queues": r.get("certified_queues", ["spam"]),
             "hourly_cost": r.get("hourly_cost", 10.0), "shift_hours": r.get("shift_hours", 8.0),
             "hired_at": date(2025, 1, 1), "status": r.get("status", "active")} for r in rows]
    return spark.createDataFrame(full, silver.LABELER_SNAPSHOTS.schema)


def labelers_df(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, "labeler_id string, languages array<string>, "
                                       "certified_queues array<string>, hourly_cost double, capacity int, "
                                       "handling_s double")


def open_tasks_df(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, "task_id string, queue string, language string, priority int, "
                                       "deadline_at timestamp, n_classes int, labels_needed int, "
                                       "n_labels int, confidence double")


def skills_df(spark: SparkSession, rows: list[tuple] | None = None) -> DataFrame:
    return spark.createDataFrame(rows or [], "labeler_id string, queue string, skill_mean double, "
                                             "skill_lower double, skill_n double, handling_s double")


def judged_df(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, "task_id string, labeler_id string")


def test_candidate_pairs_keep_only_eligible_pairs_and_fill_nulls(spark) -> None:
    labelers = labelers_df(spark, [
        ("L1", ["en"], ["spam"], 10.0, 5, 20.0),           # T1
        ("L2", ["es"], ["spam"], 10.0, 5, 20.0),           # T3 only (language)
        ("L3", ["en"], ["sentiment"], 10.0, 5, None),      # T2 only (queue), no handling history
        ("L4", ["en"], ["spam"], 10.0, 0, 20.0),           # no capacity in the window
        ("L5", ["en"], ["spam"], 10.0, 5, 20.0),           # already judged T1
        ("L6", None, ["spam"], 10.0, 5, 20.0),             # null languages: speaks nothing known
    ])
    tasks = open_tasks_df(spark, [
        ("T1", "spam", "en", 1, at(30), 2, 2, 1, 0.6),
        ("T2", "sentiment", "en", None, None, None, 1, None, None),  # the null row
        ("T3", "spam", "es", 3, at(40), 2, 1, 0, None),
        ("T4", "spam", "en", 2, at(40), 2, 0, 3, 0.99),     # needs nothing more
    ])
    # L5 judged T1; rows with a null half exclude nothing (as in a join)
    judged = judged_df(spark, [("T1", "L5"), ("T1", None), (None, "L1")])
    pairs = candidate_pairs(tasks, labelers, skills_df(spark), judged, WINDOW_START, top_k=5)
    got = pairs.select("task_id", "labeler_id", "priority", "n_classes", "confidence", "slack_h", "handling_s")
    expected = spark.createDataFrame(
        [("T1", "L1", 1, 2, 0.6, 6.0, 20.0),
         ("T2", "L3", 3, 3, 1 / 3, 720.0, 20.0),  # defaults: priority 3, K from the queue, uniform, 30 days
         ("T3", "L2", 3, 2, 0.5, 16.0, 20.0)],
        got.schema)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True,
                       allow_nan_equality=True)
    prior = pairs.where("task_id = 'T1'").select("skill_mean", "load_ratio", "task_degree").first()
    assert prior["skill_mean"] == pytest.approx(SKILL_PRIOR_MEAN)
    assert prior["task_degree"] == 1 and prior["load_ratio"] == pytest.approx(2 / 5)


def test_candidate_bound_limits_pairs_without_starving_labelers(spark) -> None:
    labelers = labelers_df(spark, [(f"L{i}", ["en"], ["spam"], 10.0, 50, 20.0) for i in range(7)])
    skills = skills_df(spark, [(f"L{i}", "spam", 0.6 + 0.05 * i, 0.55 + 0.05 * i, 20.0, 20.0) for i in range(7)])
    tasks = open_tasks_df(spark, [(f"T{j}", "spam", "en", 2, at(30), 2, 1, 0, None) for j in range(60)])
    pairs = candidate_pairs(tasks, labelers, skills, judged_df(spark, []), WINDOW_START, top_k=3).persist()
    per_task = pairs.groupBy("task_id").count()
    assert per_task.agg(F.max("count")).first()[0] <= 3
    assert per_task.count() == 60  # every task has candidates
    assert pairs.select("labeler_id").distinct().count() == 7  # nobody is cut off by the bound
    bound = pair_bound(tasks, labelers, top_k=3).first()
    assert (bound["tasks"], bound["labelers"], bound["cross_product"], bound["bound"]) == (60, 7, 420, 180)
    assert pairs.count() <= bound["bound"]
    pairs.unpersist()


def test_capacity_split_adds_up_and_honours_usage(spark) -> None:
    pairs = spark.createDataFrame(
        [("A", "spam", "t1", 1, 1, 10), ("A", "spam", "t2", 1, 1, 10), ("A", "sentiment", "t3", 1, 1, 10),
         ("B", "spam", "t4", 3, 3, 4)],
        "labeler_id string, queue string, task_id string, labels_needed int, task_degree int, capacity int")
    by_demand = queue_capacity_split(candidate_demand(pairs))
    assert_df_equality(by_demand, spark.createDataFrame(
        [("A", "sentiment", 3), ("A", "spam", 7), ("B", "spam", 4)], by_demand.schema),
        ignore_row_order=True, ignore_nullable=True)
    usage = spark.createDataFrame([("A", "sentiment", 1), ("A", "spam", 1)], "labeler_id string, queue string, used long")
    by_usage = queue_capacity_split(candidate_demand(pairs), usage)
    rows = {(r["labeler_id"], r["queue"]): r["queue_capacity"] for r in by_usage.collect()}
    assert rows[("A", "sentiment")] + rows[("A", "spam")] == 10
    assert rows[("A", "sentiment")] >= 1 and rows[("A", "spam")] >= 1
    assert rows[("B", "spam")] == 4


def test_open_tasks_from_silver(spark) -> None:
    tasks = silver_tasks(spark, [
        {"task_id": "new"},
        {"task_id": "two_agree"},
        {"task_id": "done", "queue": "sentiment"},
        {"task_id": "old", "created_at": at(1, DAY - timedelta(days=30))},  # beyond the horizon
        {"task_id": "future", "created_at": at(1, DAY + timedelta(days=1))},  # created after D
    ])
    judgments = silver_judgments(spark, [
        {"task_id": "two_agree", "labeler_id": "a", "label": "spam"},
        {"task_id": "two_agree", "labeler_id": "b", "label": "spam"},
        {"task_id": "two_agree", "labeler_id": "c", "label": None},  # null label: not counted
        {"task_id": "two_agree", "labeler_id": "d", "status": "skipped"},
        {"task_id": "two_agree", "labeler_id": "e", "label": "spam", "ts": at(3, DAY + timedelta(days=1))},
        *[{"task_id": "done", "labeler_id": x, "queue": "sentiment", "label": "positive"} for x in "abc"],
    ])
    got = adapters.open_tasks(tasks, judgments, DAY).select("task_id", "n_classes", "labels_needed", "n_labels",
                                                             "confidence")
    expected = spark.createDataFrame([("new", 2, 3, 0, 0.5), ("two_agree", 2, 1, 2, 0.75)], got.schema)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    posteriors = spark.createDataFrame([("new", None, None), ("two_agree", 0.97, False)],
                                       "task_id string, confidence double, needs_more_labels boolean")
    with_post = adapters.open_tasks(tasks, judgments, DAY, posteriors)
    assert [r["task_id"] for r in with_post.collect()] == ["new"]  # confidence says two_agree is done
    judged = adapters.already_judged(judgments, DAY)
    assert judged.where("task_id = 'two_agree'").count() == 4  # skipped counts, next day's does not


def test_skills_and_capacity_from_silver(spark) -> None:
    gold = [{"task_id": f"g{i}", "labeler_id": "a", "label": "spam", "is_gold": True,
             "gold_label": "spam" if i < 8 else "not_spam", "active_seconds": 10.0 + i} for i in range(10)]
    gold.append({"task_id": "x", "labeler_id": "a", "label": None, "is_gold": True, "gold_label": None})
    skills = adapters.skills_from_gold(silver_judgments(spark, gold), DAY)
    row = skills.first()
    mean = (8 + SKILL_PRIOR_MEAN * SKILL_PRIOR_STRENGTH) / (10 + SKILL_PRIOR_STRENGTH)
    assert row["skill_n"] == 10 and row["skill_mean"] == pytest.approx(mean)
    assert row["skill_lower"] == pytest.approx(mean - LOWER_BOUND_Z * (mean * (1 - mean) / 15) ** 0.5)
    assert row["handling_s"] == pytest.approx(14.0, abs=1.0)
    roster = silver_roster(spark, [
        {"labeler_id": "a", "shift_hours": 8.0},
        {"labeler_id": "b", "certified_queues": ["video_policy"], "shift_hours": 4.0},
        {"labeler_id": "c", "status": "suspended"},
        {"labeler_id": "a", "snapshot_date": DAY - timedelta(days=1), "shift_hours": 1.0},  # older snapshot
    ])
    labelers = adapters.labelers_from_roster(roster, skills, DAY, window_hours=24.0)
    caps = {r["labeler_id"]: r["capacity"] for r in labelers.collect()}
    assert set(caps) == {"a", "b"}
    assert caps["a"] == int(8 * 3600 * 0.8 // row["handling_s"])
    assert caps["b"] == int(4 * 3600 * 0.8 // 75.0)  # video default handling


def contract_frame(spark: SparkSession, contract, rows: list[dict]) -> DataFrame:
    """Rows with the contract's exact schema; unspecified fields get a neutral value."""
    from pyspark.sql import types as T

    def neutral(dtype):
        if isinstance(dtype, T.StringType):
            return "x"
        if isinstance(dtype, T.BooleanType):
            return False
        if isinstance(dtype, T.IntegerType | T.LongType):
            return 0
        if isinstance(dtype, T.DoubleType):
            return 0.0
        if isinstance(dtype, T.DateType):
            return DAY
        if isinstance(dtype, T.TimestampType):
            return at(0)
        if isinstance(dtype, T.ArrayType):
            return []
        if isinstance(dtype, T.MapType):
            return {}
        raise TypeError(dtype)

    full = [{f.name: r.get(f.name, None if f.nullable else neutral(f.dataType)) for f in contract.schema.fields}
            for r in rows]
    return spark.createDataFrame(full, contract.schema)


def test_upstream_tables_replace_the_fallbacks(spark) -> None:
    from schemas import confidence, features

    posteriors = contract_frame(spark, confidence.TASK_POSTERIORS, [
        {"task_id": "t1", "method": "mv", "confidence": 0.5, "needs_more_labels": True, "max_labels": 5},
        {"task_id": "t1", "method": "ds", "confidence": 0.9, "needs_more_labels": False, "max_labels": 5},
        {"task_id": "t2", "method": "ds", "confidence": 0.4, "needs_more_labels": True, "max_labels": 2,
         "as_of_date": DAY - timedelta(days=1)},
        {"task_id": "t3", "method": "ds", "confidence": 0.7, "needs_more_labels": True, "max_labels": 5,
         "as_of_date": DAY + timedelta(days=1)},  # the future: never read
    ])
    got = adapters.posteriors_as_of(posteriors, DAY)
    assert [(r["task_id"], r["confidence"]) for r in got.collect()] == [("t1", 0.9)]  # latest date, ds first
    confusion = contract_frame(spark, confidence.LABELER_CONFUSION, [
        {"labeler_id": "a", "queue": "spam", "method": "ds", "accuracy": 0.9, "n_judgments": 99},
    ])
    skill = adapters.skills_from_confusion(confusion, DAY).first()
    assert skill["skill_mean"] == 0.9 and skill["skill_lower"] == pytest.approx(0.9 - LOWER_BOUND_Z * 0.03)
    judgments = silver_judgments(spark, [{"task_id": "t", "labeler_id": "a", "label": "spam",
                                          "active_seconds": 33.0}])
    filled = adapters.with_silver_handling(adapters.skills_from_confusion(confusion, DAY), judgments, DAY)
    assert filled.first()["handling_s"] == 33.0
    lq = features.LABELER_QUEUE_FEATURES
    feats = contract_frame(spark, lq, [
        {"labeler_id": "a", "queue": "spam", "gold_accuracy_28d": 0.8, "gold_accuracy_lb_28d": 0.7,
         "gold_n_28d": 12, "active_seconds_p50_28d": 21.0},
        {"labeler_id": "a", "queue": "spam", "as_of_date": DAY - timedelta(days=1), "gold_accuracy_28d": 0.5},
    ])
    row = adapters.skills_from_features(feats, DAY).collect()
    assert [(r["skill_mean"], r["skill_lower"], r["skill_n"], r["handling_s"]) for r in row] == [(0.8, 0.7, 12.0, 21.0)]
