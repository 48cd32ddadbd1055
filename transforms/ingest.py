"""Raw export lines -> typed bronze rows and quarantine rows with a reason.

The shape of the work: every physical line gets its file and 1-based line number;
it is parsed with all fields as text (so no value is lost to parsing); every field
is then typed and checked against its contract in ``schemas.raw``. A row that
fails any check goes to quarantine with the first reason (by severity) and a
detail naming every problem; the rest are bronze. Within a day, a second row with
the same key is a duplicate. Lines in = bronze rows + quarantined rows, always.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from schemas.bronze import Reason
from schemas.raw import FUTURE_TOLERANCE_HOURS, LIST_SEPARATOR, RawField, RawSource
from schemas.reference import QUEUES

# Strict lexical forms: Spark's casts also accept 'yesterday', 'NaN', 'yes', ... which no
# platform export means.
_TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_DOUBLE_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_INT_RE = r"^[+-]?\d+$"

RECORD_META = ["source_file", "line_number", "raw_text", "structural_error", "missing_fields", "extra_fields"]


# --- lines ---------------------------------------------------------------------------------


def with_line_numbers(lines_df: DataFrame) -> DataFrame:
    """(value, source_file, block_start) -> (source_file, line_number, value), without a sort.

    A file may be read as several splits (``block_start`` = the split's byte offset) and a
    task may read several splits. Within a split, rows come in file order and
    monotonically_increasing_id grows by one per row; so a row's line number is its
    position in its split plus the lines of the file's earlier splits, which a small
    aggregate (one row per split) provides. Only that aggregate is shuffled, not the text.
    """
    positioned = lines_df.withColumn("_pos", F.monotonically_increasing_id())
    earlier = Window.partitionBy("source_file").orderBy("block_start").rowsBetween(Window.unboundedPreceding, -1)
    splits = (
        positioned.groupBy("source_file", "block_start")
        .agg(F.count("*").alias("_n"), F.min("_pos").alias("_first"))
        .withColumn("_before", F.coalesce(F.sum("_n").over(earlier), F.lit(0)))
    )
    return (
        positioned.join(F.broadcast(splits), ["source_file", "block_start"], "inner")
        .select("source_file", (F.col("_pos") - F.col("_first") + F.col("_before") + 1).alias("line_number"), "value")
    )


def relative_path(path_col: Column, root_uri: str) -> Column:
    """Strip the raw root (with or without a file: scheme) so paths are portable."""
    root = root_uri.rstrip("/")
    bare = root.split(":", 1)[1] if root.startswith("file:") else root
    pattern = "^(file:)?/*" + bare.lstrip("/").replace(".", r"\.") + "/"
    return F.regexp_replace(path_col, pattern, "")


# --- parsing -------------------------------------------------------------------------------


def parse_jsonl(lines_df: DataFrame, source: RawSource) -> DataFrame:
    """Lines of a JSONL file -> one text column per contract field + structural findings."""
    names = source.field_names
    # Parse once into columns, then read them: used inline, Spark would parse the line again for
    # every field (the optimizer prunes ``from_json`` per accessed field) and for every check.
    once = lines_df.select("source_file", "line_number", "value",
                           F.json_object_keys("value").alias("_keys"),
                           F.from_json("value", source.text_schema).alias("_parsed"))
    keys, parsed = F.col("_keys"), F.col("_parsed")
    return once.select(
        "source_file",
        "line_number",
        F.col("value").alias("raw_text"),
        F.when(keys.isNull(), F.lit("line is not a JSON object")).alias("structural_error"),
        F.coalesce(F.array_except(F.array(*[F.lit(n) for n in names]), keys), F.array().cast("array<string>"))
        .alias("missing_fields"),
        F.coalesce(F.array_except(keys, F.array(*[F.lit(n) for n in names])), F.array().cast("array<string>"))
        .alias("extra_fields"),
        *[F.when(keys.isNotNull(), parsed[n]).alias(n) for n in names],
    )


def parse_csv(lines_df: DataFrame, source: RawSource, headers: dict[str, list[str]]) -> DataFrame:
    """Lines of CSV files -> one text column per contract field + structural findings.

    ``headers`` maps each file to its header row (files may differ: an extra or a
    missing column). The header line itself is not a record.
    """
    names = source.field_names
    parts = []
    by_header: dict[tuple[str, ...], list[str]] = {}
    for file, header in headers.items():
        by_header.setdefault(tuple(header), []).append(file)
    for header, files in sorted(by_header.items()):
        ddl = ", ".join(f"`c{i}` string" for i in range(len(header))) + ", `_corrupt` string"
        rec = F.from_csv("value", ddl, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt"})
        missing = [n for n in names if n not in header]
        extra = [h for h in header if h not in names]
        rows = lines_df.where(F.col("source_file").isin(files) & (F.col("line_number") > 1))
        parts.append(rows.select(
            "source_file",
            "line_number",
            F.col("value").alias("raw_text"),
            F.when(rec["_corrupt"].isNotNull(),
                   F.lit(f"CSV row does not have the header's {len(header)} fields")).alias("structural_error"),
            F.array(*[F.lit(m) for m in missing]).cast("array<string>").alias("missing_fields"),
            F.array(*[F.lit(x) for x in extra]).cast("array<string>").alias("extra_fields"),
            *[
                (F.when(rec["_corrupt"].isNull(), rec[f"c{header.index(n)}"]) if n in header
                 else F.lit(None).cast("string")).alias(n)
                for n in names
            ],
        ))
    if not parts:
        return lines_df.sparkSession.createDataFrame([], _record_schema(source))
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def _record_schema(source: RawSource):
    from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

    return StructType(
        [StructField("source_file", StringType()), StructField("line_number", LongType()),
         StructField("raw_text", StringType()), StructField("structural_error", StringType()),
         StructField("missing_fields", ArrayType(StringType())), StructField("extra_fields", ArrayType(StringType()))]
        + [StructField(n, StringType()) for n in source.field_names]
    )


# --- typing and checks ---------------------------------------------------------------------


def _text(name: str) -> Column:
    """Trimmed text, with empty meaning absent."""
    v = F.trim(F.col(name))
    return F.when(v != "", v)


def parse_value(text: Column, field: RawField) -> Column:
    """Text -> the field's type, or null when it does not parse (strictly)."""
    kind = field.kind
    if kind == "string":
        return text
    if kind == "timestamp":
        return F.when(text.rlike(_TIMESTAMP_RE), text.try_cast("timestamp"))
    if kind == "date":
        return F.when(text.rlike(_DATE_RE), text.try_cast("date"))
    if kind == "double":
        return F.when(text.rlike(_DOUBLE_RE), text.try_cast("double"))
    if kind == "int":
        return F.when(text.rlike(_INT_RE), text.try_cast("int"))
    if kind == "bool":
        low = F.lower(text)
        return F.when(low == "true", F.lit(True)).when(low == "false", F.lit(False))
    if kind == "list":
        items = F.transform(F.split(text, "\\" + LIST_SEPARATOR), lambda x: F.trim(x))
        return F.when(text.isNotNull(), F.filter(items, lambda x: x != ""))
    raise ValueError(f"unknown field kind {kind!r} for {field.name}")


def _any_outside(values: Column, allowed: Column) -> Column:
    """True when some element of an array column is not in ``allowed``."""
    return F.exists(values, lambda x: ~F.array_contains(allowed, x))


def _queue_labels_map() -> Column:
    pairs = []
    for q in QUEUES.values():
        pairs += [F.lit(q.name), F.array(*[F.lit(label) for label in q.labels])]
    return F.create_map(*pairs)


def with_checks(records_df: DataFrame, source: RawSource, logical_date: date) -> DataFrame:
    """Typed columns plus ``reason`` (first failed check, or null) and ``detail`` (all of them)."""
    cutoff_ts = datetime.combine(logical_date + timedelta(days=1), time()) + timedelta(hours=FUTURE_TOLERANCE_HOURS)
    labels_of = _queue_labels_map()
    checks: dict[str, list[tuple[Column, Column]]] = {r: [] for r in Reason.ALL}

    checks[Reason.MALFORMED].append((F.col("structural_error").isNotNull(), F.col("structural_error")))
    # Trimmed texts and typed values are projected once and the checks read those columns:
    # written inline, every check would re-run the regexes and casts (about 2x the CPU).
    names = source.field_names
    staged = records_df.select(
        *RECORD_META,
        *[_text(f.name).alias(f"_text_{f.name}") for f in source.fields],
        *[parse_value(_text(f.name), f).alias(f.name) for f in source.fields],
    )
    queue_text = F.col("_text_queue") if "queue" in names else None
    for f in source.fields:
        text = F.col(f"_text_{f.name}")
        value = F.col(f.name)
        present = text.isNotNull()
        absent_column = F.array_contains("missing_fields", f.name)
        if f.required:
            checks[Reason.MISSING_COLUMN].append(
                (absent_column, F.lit(f"required column {f.name} is absent from the record")))
            target = Reason.NULL_KEY if f.name in source.id_fields else Reason.MISSING_REQUIRED
            checks[target].append((~absent_column & ~present, F.lit(f"required field {f.name} is null or empty")))
        checks[Reason.WRONG_TYPE].append(
            (present & value.isNull(),
             F.concat(F.lit(f"{f.name}="), F.substring(text, 1, 60), F.lit(f" is not a valid {f.kind}"))))
        if f.allowed is not None:
            allowed = F.array(*[F.lit(a) for a in f.allowed])
            if f.kind == "list":
                bad = _any_outside(value, allowed)
            else:
                bad = ~F.array_contains(allowed, text)
            reason = Reason.UNKNOWN_QUEUE if f.name == "queue" else Reason.INVALID_VALUE
            checks[reason].append((present & value.isNotNull() & bad,
                                   F.concat(F.lit(f"{f.name}="), F.substring(text, 1, 60),
                                            F.lit(f" is not one of {list(f.allowed)}"))))
        if f.is_label and queue_text is not None:
            valid = F.array_contains(F.element_at(labels_of, queue_text), text)
            checks[Reason.UNKNOWN_LABEL].append(
                (present & valid.isNotNull() & ~valid,
                 F.concat(F.lit(f"{f.name}="), F.substring(text, 1, 60), F.lit(" is not in the label set of queue "),
                          queue_text)))
        if f.occurred:
            limit = F.lit(logical_date) if f.kind == "date" else F.lit(cutoff_ts)
            checks[Reason.FUTURE_TIMESTAMP].append(
                (value > limit, F.concat(F.lit(f"{f.name}="), text,
                                         F.lit(f" is after the export day {logical_date} (+{FUTURE_TOLERANCE_HOURS}h)"))))

    ordered = [(reason, cond, msg) for reason in Reason.ALL for cond, msg in checks[reason]]
    reason_col = F.coalesce(*[F.when(cond, F.lit(reason)) for reason, cond, _ in ordered], F.lit(None).cast("string"))
    # A line that does not parse has no fields to complain about: its structural error says it all.
    detail_col = F.coalesce(F.col("structural_error"), F.concat_ws("; ", *[F.when(cond, msg) for _, cond, msg in ordered]))
    return staged.select(
        *RECORD_META,
        *names,
        reason_col.alias("reason"),
        detail_col.alias("detail"),
    )


def with_duplicates_flagged(checked_df: DataFrame, source: RawSource) -> DataFrame:
    """Among rows that passed every check, the second and later rows of a key are duplicates
    (first = earliest file name, then line). Keys are aggregated on their own and only
    duplicated keys are joined back, so the rows themselves are never shuffled."""
    keys = list(source.key)
    ok = F.col("reason").isNull()
    first_seen = (
        checked_df.where(ok)
        .groupBy(*keys)
        .agg(F.count("*").alias("_n"), F.min(F.struct("source_file", "line_number")).alias("_first"))
        .where(F.col("_n") > 1)
        .drop("_n")
    )
    is_dup = ok & F.col("_first").isNotNull() & (
        (F.col("_first.source_file") != F.col("source_file")) | (F.col("_first.line_number") != F.col("line_number"))
    )
    return (
        checked_df.join(first_seen, keys, "left")
        .withColumn("_dup", is_dup)
        .withColumn("reason", F.when(F.col("_dup"), F.lit(Reason.DUPLICATE)).otherwise(F.col("reason")))
        .withColumn("detail", F.when(
            F.col("_dup"),
            F.concat(F.lit(f"duplicate {'/'.join(keys)}="), F.concat_ws("/", *keys), F.lit(", first seen at "),
                     F.col("_first.source_file"), F.lit(":"), F.col("_first.line_number"))).otherwise(F.col("detail")))
        .drop("_first", "_dup")
    )


def split_bronze_quarantine(checked_df: DataFrame, source: RawSource, ingest_date: date) -> tuple[DataFrame, DataFrame]:
    """(bronze rows typed per contract, quarantine rows with reason and detail)."""
    bronze = checked_df.where(F.col("reason").isNull()).select(
        *source.field_names,
        F.lit(ingest_date).alias("ingest_date"),
        "source_file",
        F.col("line_number").alias("source_line"),
    )
    quarantine = checked_df.where(F.col("reason").isNotNull()).select(
        F.lit(source.name).alias("source"),
        F.lit(ingest_date).alias("ingest_date"),
        "source_file",
        "line_number",
        "raw_text",
        "reason",
        "detail",
    )
    return bronze, quarantine


def ingest_records(records_df: DataFrame, source: RawSource, ingest_date: date) -> tuple[DataFrame, DataFrame]:
    """Parsed records of one source and day -> (bronze, quarantine)."""
    checked = with_checks(records_df, source, ingest_date).transform(with_duplicates_flagged, source)
    return split_bronze_quarantine(checked, source, ingest_date)
