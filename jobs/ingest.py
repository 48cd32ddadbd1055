"""Ingest: one logical date of raw platform exports -> bronze tables + quarantine.

    spark-submit jobs/ingest.py --date 2026-01-05 --raw RAW --lake LAKE
    python -m jobs.ingest --date 2026-01-05 --raw RAW --lake LAKE
    labelops run ingest --date 2026-01-05 --raw RAW --lake LAKE
"""

from __future__ import annotations

import csv
import logging
import sys

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import fs
from jobs.job import JobContext, run_job
from schemas import bronze
from schemas.raw import SOURCES, RawSource
from transforms.ingest import (
    parse_csv,
    parse_jsonl,
    relative_path,
    split_bronze_quarantine,
    with_checks,
    with_duplicates_flagged,
    with_line_numbers,
)

log = logging.getLogger("labelops.ingest")

# Sources whose absence for a day is an error (the others may legitimately be empty).
REQUIRED_SOURCES = ("judgments", "labelers")


def _read_lines(ctx: JobContext, source: RawSource) -> DataFrame | None:
    folder = f"{ctx.raw_root}/{source.name}/dt={ctx.logical_date.isoformat()}"
    files = fs.list_files(ctx.spark, folder, "." + source.file_format)
    if not files:
        if source.name in REQUIRED_SOURCES:
            raise FileNotFoundError(
                f"ingest {ctx.logical_date}: no {source.name} export (*.{source.file_format}) in {folder}. "
                "Check --raw, or that the platform export for this day has landed."
            )
        log.warning("no %s files in %s: nothing to ingest for this source", source.name, folder)
        return None
    log.info("%s: %d file(s) in %s", source.name, len(files), folder)
    raw = ctx.spark.read.text(files).select(
        "value",
        relative_path(F.col("_metadata.file_path"), ctx.raw_root).alias("source_file"),
        F.col("_metadata.file_block_start").alias("block_start"),
    )
    return with_line_numbers(raw)


def _csv_headers(lines: DataFrame) -> dict[str, list[str]]:
    rows = lines.where(F.col("line_number") == 1).select("source_file", "value").collect()
    return {r.source_file: next(csv.reader([r.value or ""]), []) for r in rows}


def _ingest_source(ctx: JobContext, source: RawSource, cached: list[DataFrame]) -> tuple[DataFrame, DataFrame]:
    lines = _read_lines(ctx, source)
    if lines is None:  # an empty partition still replaces whatever a previous run wrote
        empty = ctx.spark.createDataFrame([], bronze.BY_SOURCE[source.name].schema)
        return empty, ctx.spark.createDataFrame([], bronze.QUARANTINE.schema)
    lines = lines.persist()
    if source.file_format == "jsonl":
        records = parse_jsonl(lines, source)
    else:
        headers = _csv_headers(lines)
        for file, header in headers.items():
            extra = [h for h in header if h not in source.field_names]
            missing = [n for n in source.field_names if n not in header]
            if extra or missing:
                log.warning("%s: schema drift in %s: extra columns %s, missing columns %s", source.name, file, extra, missing)
        records = parse_csv(lines, source, headers)
    checked = with_checks(records, source, ctx.logical_date).transform(with_duplicates_flagged, source).persist()
    cached.append(checked)

    # Reconciliation: every data line is exactly one bronze row or one quarantine row.
    header_lines = 0 if source.file_format == "jsonl" else lines.select("source_file").distinct().count()
    data_lines = lines.count() - header_lines
    counts = {r["ok"]: r["n"] for r in checked.groupBy(F.col("reason").isNull().alias("ok")).agg(F.count("*").alias("n")).collect()}
    good, bad = counts.get(True, 0), counts.get(False, 0)
    ctx.metric(f"{source.name}.lines", data_lines)
    ctx.metric(f"{source.name}.bronze", good)
    ctx.metric(f"{source.name}.quarantined", bad)
    if good + bad != data_lines:
        raise AssertionError(
            f"ingest {source.name} {ctx.logical_date}: reconciliation broken: {data_lines} lines in, "
            f"{good} bronze + {bad} quarantined out"
        )
    if bad:
        by_reason = checked.where(F.col("reason").isNotNull()).groupBy("reason").count().collect()
        for r in sorted(by_reason, key=lambda r: -r["count"]):
            ctx.metric(f"{source.name}.quarantined.{r['reason']}", r["count"])
    drift = (checked.select("source_file", F.explode("extra_fields").alias("extra")).distinct().collect()
             if source.file_format == "jsonl" else [])
    for r in drift:
        log.warning("%s: schema drift in %s: unexpected field %r (ignored)", source.name, r.source_file, r.extra)
    if drift:
        ctx.metric(f"{source.name}.extra_fields", len(drift))
    log.info("%s: %d lines -> %d bronze + %d quarantined", source.name, data_lines, good, bad)
    lines.unpersist()
    return split_bronze_quarantine(checked, source, ctx.logical_date)


def ingest(ctx: JobContext) -> None:
    ctx.require_raw()
    outputs, quarantines, cached = [], [], []
    for source in SOURCES.values():
        good, bad = _ingest_source(ctx, source, cached)
        outputs.append((good, bronze.BY_SOURCE[source.name]))
        quarantines.append(bad)
    quarantine = quarantines[0]
    for part in quarantines[1:]:
        quarantine = quarantine.unionByName(part)
    outputs.append((quarantine, bronze.QUARANTINE))
    try:
        ctx.publish(outputs)
    finally:
        for df in cached:
            df.unpersist()


def main(argv: list[str] | None = None) -> int:
    return run_job("ingest", ingest, argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
