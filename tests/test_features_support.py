"""Builders shared by the feature tests: silver-shaped rows, small silver lakes, table readers.

(No tests here; the module name only keeps it next to the tests that use it.)
"""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, timedelta
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from jobs.lake import Lake
from schemas import silver
from schemas.contract import TableContract

REPO = Path(__file__).resolve().parent.parent
DAY0 = date(2026, 1, 5)


def ts(day: int, hour: float = 10.0) -> datetime:
    """A timestamp ``day`` days after DAY0 at ``hour`` (UTC)."""
    return datetime.combine(DAY0 + timedelta(days=day), datetime.min.time()) + timedelta(hours=hour)


def d(day: int) -> date:
    return DAY0 + timedelta(days=day)


def judgment(jid: str, task: str, labeler: str, *, queue: str = "spam", status: str = "submitted",
             label: str | None = "spam", at: datetime | None = None, active: float | None = 10.0,
             gold: str | None = None, review: str | None = None, ingest: date | None = None) -> dict:
    at = at or ts(0)
    submitted = status == "submitted"
    return {
        "judgment_id": jid, "task_id": task, "labeler_id": labeler, "queue": queue, "status": status,
        "label": label if submitted else None, "assigned_at": at - timedelta(minutes=1),
        "started_at": at - timedelta(seconds=30), "submitted_at": at if submitted else None,
        "active_seconds": active, "is_gold": gold is not None, "gold_label": gold, "review_label": review,
        "client_version": "web-4.1.0", "event_ts": at if submitted else at - timedelta(minutes=1),
        "event_date": (at if submitted else at - timedelta(minutes=1)).date(),
        "ingest_date": ingest or at.date(), "is_late": bool(ingest and ingest > at.date()),
    }


def task(tid: str, *, queue: str = "spam", created: datetime | None = None, sla_hours: float = 24.0,
         priority: int = 2, modality: str = "text", ingest: date | None = None) -> dict:
    created = created or ts(0, 8.0)
    from schemas.reference import QUEUES

    return {
        "task_id": tid, "queue": queue, "modality": modality, "language": "en", "created_at": created,
        "deadline_at": created + timedelta(hours=sla_hours), "priority": priority,
        "label_set": list(QUEUES[queue].labels), "reward": 0.05, "created_date": created.date(),
        "ingest_date": ingest or created.date(),
    }


def roster(labeler: str, day: date, *, hourly_cost: float = 12.0, hired: date = date(2025, 1, 1)) -> dict:
    return {"labeler_id": labeler, "snapshot_date": day, "site": "remote", "languages": ["en"],
            "certified_queues": ["spam"], "hourly_cost": hourly_cost, "shift_hours": 8.0, "hired_at": hired,
            "status": "active"}


def frame(spark: SparkSession, contract: TableContract, rows: list[dict]) -> DataFrame:
    return spark.createDataFrame([tuple(r.get(c) for c in contract.columns) for r in rows], contract.schema)


def append_silver(spark: SparkSession, lake: str, contract: TableContract, rows: list[dict]) -> None:
    """Append rows to a silver table (as a silver MERGE would add new keys)."""
    (frame(spark, contract, rows).write.format("delta").mode("append")
     .partitionBy(*contract.partition_by).save(Lake(lake).path(contract)))


def read(spark: SparkSession, lake: str, contract: TableContract) -> DataFrame:
    return spark.read.format("delta").load(Lake(lake).path(contract))


def bench_module():
    """bench/features.py (its synthetic silver writer), imported by path."""
    spec = importlib.util.spec_from_file_location("bench_features", REPO / "bench" / "features.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_synthetic_silver(spark: SparkSession, lake: str, days: int, *, judgments_per_day: int = 240,
                           labelers: int = 12, late_rate: float = 0.0, seed: int = 5):
    """Small random silver tables for ``days`` days from DAY0 (the benchmark's generator)."""
    return bench_module().write_synthetic_silver(spark, lake, DAY0, days, judgments_per_day, labelers,
                                                 late_rate, seed)


def silver_judgments(spark: SparkSession, rows: list[dict]) -> DataFrame:
    return frame(spark, silver.JUDGMENTS, rows)


def silver_tasks(spark: SparkSession, rows: list[dict]) -> DataFrame:
    return frame(spark, silver.TASKS, rows)


def silver_roster(spark: SparkSession, rows: list[dict]) -> DataFrame:
    return frame(spark, silver.LABELER_SNAPSHOTS, rows)


def records(df: DataFrame, digits: int = 9) -> list[tuple]:
    """Rows as sorted, hashable tuples (maps as sorted items, floats rounded): DataFrames with map
    columns cannot be sorted or compared by Spark itself (chispa needs both)."""

    def norm(v):
        if isinstance(v, dict):
            return tuple(sorted((k, norm(x)) for k, x in v.items()))
        if isinstance(v, list):
            return tuple(norm(x) for x in v)
        if isinstance(v, float):
            return round(v, digits)
        return v

    return sorted((tuple(norm(v) for v in row) for row in df.collect()), key=repr)

