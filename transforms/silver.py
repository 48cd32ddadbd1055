"""Bronze -> silver: conform, derive event dates, deduplicate. Pure transformations."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def dedupe_latest(df: DataFrame, keys: Sequence[str], order_desc: Sequence[str]) -> DataFrame:
    """One row per key: the first by ``order_desc`` (each column descending, nulls last)."""
    w = Window.partitionBy(*keys).orderBy(*[F.col(c).desc_nulls_last() for c in order_desc])
    return df.withColumn("_rn", F.row_number().over(w)).where(F.col("_rn") == 1).drop("_rn")


def conform_judgments(bronze_df: DataFrame) -> DataFrame:
    """Event time = submission (else assignment); late = arrived after its event day."""
    event_ts = F.coalesce(F.col("submitted_at"), F.col("assigned_at"))
    return (
        bronze_df.withColumn("event_ts", event_ts)
        .withColumn("event_date", F.to_date("event_ts"))
        .withColumn("is_gold", F.coalesce(F.col("is_gold"), F.lit(False)))
        .withColumn("is_late", F.col("ingest_date") > F.col("event_date"))
        .transform(dedupe_latest, ["judgment_id"], ["ingest_date", "source_file", "source_line"])
    )


def conform_tasks(bronze_df: DataFrame) -> DataFrame:
    return (
        bronze_df.withColumn("created_date", F.to_date("created_at"))
        .transform(dedupe_latest, ["task_id"], ["ingest_date", "source_file", "source_line"])
    )


def roster_snapshot(bronze_df: DataFrame) -> DataFrame:
    """The day's roster file is a full snapshot: snapshot_date = the export day."""
    return (
        bronze_df.withColumn("snapshot_date", F.col("ingest_date"))
        .transform(dedupe_latest, ["labeler_id"], ["source_file", "source_line"])
    )


def conform_events(bronze_df: DataFrame) -> DataFrame:
    return (
        bronze_df.withColumn("event_date", F.to_date("ts"))
        .transform(dedupe_latest, ["event_id"], ["ingest_date", "source_file", "source_line"])
    )


def changed_and_not_older(columns: Sequence[str], ingest_column: str = "ingest_date") -> str:
    """MERGE update condition: replace a row only with an equally recent or newer ingestion whose
    content differs. A rerun (same content) or a re-sent copy on a later day is then a no-op."""
    content = [c for c in columns if c not in (ingest_column, "is_late")]
    differs = " OR ".join(f"NOT (s.`{c}` <=> t.`{c}`)" for c in content)
    return f"s.`{ingest_column}` >= t.`{ingest_column}` AND ({differs})"
