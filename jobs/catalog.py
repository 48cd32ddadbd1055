"""Every table labelops knows (from the contracts), and what the lake holds for each."""

from __future__ import annotations

from pyspark.sql import SparkSession

from jobs import delta_io
from jobs.lake import Lake
from schemas import bronze, ops, silver
from schemas.contract import TableContract


def all_contracts() -> list[TableContract]:
    """Contracts in pipeline order. Later stages register theirs here."""
    contracts: list[TableContract] = [*bronze.BY_SOURCE.values(), bronze.QUARANTINE, bronze.INGEST_AUDIT, *silver.ALL]
    for module in ("schemas.features", "schemas.confidence", "schemas.allocation"):
        try:
            mod = __import__(module, fromlist=["ALL"])
        except ModuleNotFoundError:
            continue
        contracts += list(getattr(mod, "ALL", ()))
    contracts.append(ops.RUNS)
    return contracts


def describe_tables(spark: SparkSession, lake: Lake) -> list[dict]:
    rows = []
    for contract in all_contracts():
        path = lake.path(contract)
        version = delta_io.latest_version(spark, path)
        count = delta_io.read_version(spark, path, version).count() if version is not None else None
        rows.append({"layer": contract.layer, "name": contract.name, "path": path,
                     "version": version, "rows": count})
    return rows
