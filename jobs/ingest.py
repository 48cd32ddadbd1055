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


def _ingest_source(ctx: JobContext, source: RawSource, cached: list[DataFrame]) -> tuple[DataFrame, DataFrame, dict]:
    """(bronze rows, quarantine rows, audit row) for one source of the day."""
    audit = {"ingest_date": ctx.logical_date, "source": source.name, "files": 0, "lines": 0,
             "bronze_rows": 0, "quarantined_rows": 0, "quarantine_share": 0.0,
             "max_quarantine_share": ctx.args.max_quarantine_share or bronze.MAX_QUARANTINE_SHARE[source.name],
             "reconciled": True, "extra_fields": [], "missing_columns": []}
    lines = _read_lines(ctx, source)
    if lines is None:  # an empty partition still replaces whatever a previous run wrote
        empty = ctx.spark.createDataFrame([], bronze.BY_SOURCE[source.name].schema)
        return empty, ctx.spark.createDataFrame([], bronze.QUARANTINE.schema), audit
    lines = lines.persist()
    cached.append(lines)
    if source.file_format == "jsonl":
        records = parse_jsonl(lines, source)
    else:
        headers = _csv_headers(lines)
        for file, header in headers.items():
            extra = [h for h in header if h not in source.field_names]
            missing = [n for n in source.field_names if n not in header]
            if extra or missing:
                log.warning("%s: schema drift in %s: extra columns %s, missing columns %s",
                            source.name, file, extra, missing)
        records = parse_csv(lines, source, headers)
    # Typed and checked rows are cached before the duplicate check, which reads them twice (the
    # keys' aggregate, then the join back): otherwise every line would be parsed twice.
    typed = with_checks(records, source, ctx.logical_date).persist()
    checked = with_duplicates_flagged(typed, source).persist()
    cached += [typed, checked]

    # Reconciliation, counted on two independent paths: raw lines vs classified rows.
    totals = lines.agg(F.count("*").alias("n"), F.countDistinct("source_file").alias("files")).first()
    data_lines = totals.n - (0 if source.file_format == "jsonl" else totals.files)
    by_reason = checked.groupBy("reason").agg(
        F.count("*").alias("n"),
        F.flatten(F.collect_set("extra_fields")).alias("extra"),
        F.flatten(F.collect_set("missing_fields")).alias("missing"),
    ).collect()
    good = sum(r.n for r in by_reason if r.reason is None)
    bad = sum(r.n for r in by_reason if r.reason is not None)
    extra = sorted({x for r in by_reason for x in r.extra})
    missing = sorted({x for r in by_reason for x in r.missing})
    audit.update(files=totals.files, lines=data_lines, bronze_rows=good, quarantined_rows=bad,
                 quarantine_share=bad / data_lines if data_lines else 0.0,
                 reconciled=(good + bad == data_lines), extra_fields=extra, missing_columns=missing)
    ctx.metric(f"{source.name}.lines", data_lines)
    ctx.metric(f"{source.name}.bronze", good)
    ctx.metric(f"{source.name}.quarantined", bad)
    for r in sorted((r for r in by_reason if r.reason), key=lambda r: -r.n):
        ctx.metric(f"{source.name}.quarantined.{r.reason}", r.n)
    if extra and source.file_format == "jsonl":
        for r in checked.select("source_file", F.explode("extra_fields").alias("x")).distinct().collect():
            log.warning("%s: schema drift in %s: unexpected field %r (ignored)", source.name, r.source_file, r.x)
    log.info("%s: %d lines -> %d bronze + %d quarantined (%.2f%%)%s", source.name, data_lines, good, bad,
             100 * audit["quarantine_share"], "" if audit["reconciled"] else "  RECONCILIATION BROKEN")
    good_df, bad_df = split_bronze_quarantine(checked, source, ctx.logical_date)
    return good_df, bad_df, audit


def ingest(ctx: JobContext) -> None:
    ctx.require_raw()
    outputs, quarantines, audits, cached = [], [], [], []
    for source in SOURCES.values():
        good, bad, audit = _ingest_source(ctx, source, cached)
        outputs.append((good, bronze.BY_SOURCE[source.name]))
        quarantines.append(bad)
        audits.append(audit)
    quarantine = quarantines[0]
    for part in quarantines[1:]:
        quarantine = quarantine.unionByName(part)
    outputs.append((quarantine, bronze.QUARANTINE))
    # The audit goes first: if a day's export is mostly garbage its gate fails before anything else.
    outputs.insert(0, (ctx.spark.createDataFrame(audits, bronze.INGEST_AUDIT.schema), bronze.INGEST_AUDIT))
    try:
        ctx.publish(outputs)
    finally:
        for df in cached:
            df.unpersist()


def _arguments(parser) -> None:
    parser.add_argument("--max-quarantine-share", type=float, default=None,
                        help="fail the gate when a source's quarantined share of lines is above this "
                             f"(default per source: {bronze.MAX_QUARANTINE_SHARE})")


def main(argv: list[str] | None = None) -> int:
    return run_job("ingest", ingest, argv, description=__doc__.splitlines()[0], add_arguments=_arguments)


if __name__ == "__main__":
    sys.exit(main())
