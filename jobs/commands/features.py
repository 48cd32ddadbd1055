"""``labelops features list|describe|as-of``: the feature registry and point-in-time retrieval.

    labelops features list [--json] [--lake L]          feature sets (and, with --lake, their last publication)
    labelops features describe NAME [--json] [--lake L] one feature set, or every set holding a feature NAME
    labelops features as-of --entities E.csv --lake L [--out F.csv|F.parquet] [--feature-set S] [--ttl-days N]

The entity file has the entity key columns and ``ts`` (e.g. ``labeler_id,ts`` or ``task_id,ts``);
each row gets the features known strictly before ``ts`` (Feast semantics, see
features/point_in_time.py). From Python: ``historical_features(spark, lake, entity_df)``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.lake import Lake

if TYPE_CHECKING:  # the CLI imports this module to build its parser: keep that free of Spark
    from pyspark.sql import DataFrame, SparkSession

    from features.registry import FeatureSet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("features", help="feature registry and point-in-time retrieval", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    fsub = p.add_subparsers(dest="features_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda _args: (p.print_help(), 2)[1])

    ls = fsub.add_parser("list", help="every feature set: entity, version, table, feature count")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--lake", default=None, help="also show each set's last publication in this lake")
    ls.add_argument("--master", default=None)
    ls.set_defaults(func=run_list)

    ds = fsub.add_parser("describe", help="a feature set's features, or where a feature is defined")
    ds.add_argument("name", help="feature set name (e.g. labeler_features) or feature name (e.g. gold_accuracy_28d)")
    ds.add_argument("--json", action="store_true")
    ds.add_argument("--lake", default=None, help="also show the set's recent publications in this lake")
    ds.add_argument("--master", default=None)
    ds.set_defaults(func=run_describe)

    ao = fsub.add_parser("as-of", help="point-in-time features for an entity CSV (entity keys + ts)")
    ao.add_argument("--entities", required=True, help="CSV with header: entity key columns and ts")
    ao.add_argument("--lake", default=None, help="lake root (default $LABELOPS_LAKE or ./lakehouse)")
    ao.add_argument("--out", default=None, help="output .csv (one file) or .parquet (folder); default: print")
    ao.add_argument("--feature-set", default=None, help="default: the view whose entity matches the columns")
    ao.add_argument("--features", default=None, help="comma-separated feature columns (default: all)")
    ao.add_argument("--ttl-days", type=float, default=None, help="default: the feature set's TTL")
    ao.add_argument("--version", type=int, default=None, help="read this Delta version of the feature table")
    ao.add_argument("--limit", type=int, default=20, help="rows to print without --out")
    ao.add_argument("--master", default=None)
    ao.set_defaults(func=run_as_of)


def _spark(master: str | None) -> SparkSession:
    from jobs.job import setup_logging
    from jobs.session import build_spark

    setup_logging()
    logging.getLogger("labelops").setLevel(logging.WARNING)
    return build_spark("labelops-features", master=master or "local[2]", extra_conf={"spark.ui.enabled": "false"})


def _publications(spark: SparkSession, lake: Lake, feature_set: str | None = None, limit: int = 5) -> list[dict]:
    from pyspark.sql import functions as F

    from jobs import delta_io
    from schemas.features import PUBLICATIONS

    path = lake.path(PUBLICATIONS)
    if not delta_io.table_exists(spark, path):
        return []
    df = spark.read.format("delta").load(path)
    if feature_set:
        df = df.where(F.col("feature_set") == feature_set)
    rows = df.orderBy(F.col("published_at").desc()).limit(limit if feature_set else 1000).collect()
    out = [{k: (str(v) if k not in ("input_versions", "params") else v) for k, v in r.asDict().items()}
           for r in rows]
    if feature_set:
        return out
    latest: dict[str, dict] = {}
    for row in out:
        latest.setdefault(row["feature_set"], row)
    return list(latest.values())


def run_list(args: argparse.Namespace) -> int:
    from features.registry import FEATURE_SETS

    sets = [s.summary() for s in FEATURE_SETS.values()]
    if args.lake:
        last = {p["feature_set"]: p for p in _publications(_spark(args.master), Lake.from_arg(args.lake))}
        for s in sets:
            p = last.get(s["name"])
            s["last_publication"] = None if p is None else {
                k: p[k] for k in ("logical_date", "as_of_start", "as_of_end", "delta_version", "gate_passed",
                                  "code_version", "published_at")}
    if args.json:
        print(json.dumps({"feature_sets": sets}, indent=2, default=str))
        return 0
    print(f"{'feature set':<24}{'kind':<17}{'entity':<21}{'version':<9}{'features':>8}  table")
    for s in sets:
        print(f"{s['name']:<24}{s['kind']:<17}{','.join(s['entity']):<21}{s['version']:<9}{s['features']:>8}  "
              f"{s['table']}")
        if args.lake:
            p = s["last_publication"]
            print("    last publication: " + ("none" if p is None else
                  f"{p['logical_date']} as-of {p['as_of_start']}..{p['as_of_end']} delta v{p['delta_version']} "
                  f"gate {'passed' if p['gate_passed'] == 'True' else 'FAILED'} code {p['code_version']}"))
    return 0


def _describe_set(fs: FeatureSet) -> dict:
    return {**fs.summary(), "features": [vars(f) for f in fs.features]}


def run_describe(args: argparse.Namespace) -> int:
    from features.registry import find_feature, get

    try:
        doc = _describe_set(get(args.name))
    except KeyError:
        hits = find_feature(args.name)
        if not hits:
            print(f"no feature set or feature named {args.name!r}; try `labelops features list`")
            return 1
        doc = {"feature": args.name, "defined_in": [
            {"feature_set": s.name, "table": s.table, "entity": list(s.entity), "version": s.version, **vars(f)}
            for s, f in hits]}
    if args.lake and "features" in doc:
        doc["publications"] = _publications(_spark(args.master), Lake.from_arg(args.lake), doc["name"])
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
        return 0
    if "features" not in doc:
        for hit in doc["defined_in"]:
            print(f"{doc['feature']} ({hit['dtype']}, window {hit['window'] or '-'}) in {hit['feature_set']} "
                  f"v{hit['version']} [{hit['table']}], entity {','.join(hit['entity'])}:\n  {hit['description']}")
        return 0
    print(f"{doc['name']} v{doc['version']} ({doc['kind']}), entity {','.join(doc['entity'])}, table {doc['table']}")
    print(f"  owner {doc['owner']}, ttl {doc['ttl_days']:g} days, event time {doc['timestamp_column']}, "
          f"definition hash {doc['definition_hash']}")
    print(f"  {doc['description']}")
    for f in doc["features"]:
        print(f"  {f['name']:<34}{f['dtype']:<20} {(f['window'] or '-'):<6}{f['description']}")
    for p in doc.get("publications", []):
        print(f"  published {p['published_at']}: logical date {p['logical_date']}, as-of {p['as_of_start']}.."
              f"{p['as_of_end']}, delta v{p['delta_version']}, gate_passed={p['gate_passed']}, run {p['run_id']}")
    return 0


def historical_features(spark: SparkSession, lake: Lake | str, entity_df: DataFrame, feature_set: str | None = None,
                        *, ttl: timedelta | None = None, features: list[str] | None = None,
                        version: int | None = None) -> DataFrame:
    """Point-in-time features for ``entity_df`` (entity keys + ``ts``) from a lake's feature table.

    Reads only the partitions that can match (as-of days within the TTL before the entity times)."""
    from pyspark.sql import functions as F

    from features.point_in_time import as_of_join
    from features.registry import get, set_for_entity_columns
    from jobs import delta_io

    lake = Lake.from_arg(lake) if isinstance(lake, str) else lake
    fs = get(feature_set) if feature_set else set_for_entity_columns(
        [c for c in entity_df.columns if c in {"labeler_id", "queue", "task_id", "ts"}])
    ttl = fs.ttl if ttl is None else ttl
    path = lake.path(fs.contract)
    if version is None:
        version = delta_io.latest_version(spark, path)
        if version is None:
            raise FileNotFoundError(f"{fs.table} does not exist under {lake.root}: run the features job first")
    table = delta_io.read_version(spark, path, version)
    bounds = entity_df.agg(F.min("ts"), F.max("ts")).first()
    if bounds[0] is not None:
        first = (bounds[0] - ttl).date() - timedelta(days=1)
        table = table.where(F.col(fs.date_column).between(F.lit(first), F.lit(bounds[1].date())))
    return as_of_join(entity_df, table, fs.entity, ttl=ttl, features=features)


def _read_entities(spark: SparkSession, path: str) -> DataFrame:
    from pyspark.sql import functions as F

    df = spark.read.option("header", True).csv(path)
    if "ts" not in df.columns:
        raise SystemExit(f"{path}: the entity file needs a ts column (and the entity keys); it has {df.columns}")
    return df.withColumn("ts", F.to_timestamp("ts"))


def _write(df: DataFrame, out: str) -> None:
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, MapType, StructType

    if out.endswith(".parquet"):
        df.write.mode("overwrite").parquet(out)
        return
    nested = [f.name for f in df.schema.fields if isinstance(f.dataType, (MapType, ArrayType, StructType))]
    flat = df.select(*[F.to_json(c).alias(c) if c in nested else F.col(c) for c in df.columns])
    tmp = Path(out + ".parts")
    flat.coalesce(1).write.mode("overwrite").option("header", True).csv(str(tmp))
    part = next(tmp.glob("part-*.csv"))
    shutil.move(str(part), out)
    shutil.rmtree(tmp)


def run_as_of(args: argparse.Namespace) -> int:
    spark = _spark(args.master)
    entities = _read_entities(spark, args.entities)
    ttl = timedelta(days=args.ttl_days) if args.ttl_days is not None else None
    features = [f.strip() for f in args.features.split(",")] if args.features else None
    result = historical_features(spark, Lake.from_arg(args.lake), entities, args.feature_set, ttl=ttl,
                                 features=features, version=args.version)
    if args.out:
        _write(result, args.out)
        print(f"wrote {args.out}")
    else:
        for row in result.limit(args.limit).toJSON().collect():
            print(row)
    return 0
