"""The harness every job's ``main(argv)`` goes through.

It parses the standard arguments, builds the Spark session, pins the versions of
the tables a job reads, gates and writes what it publishes, and appends one
lineage row per run. A job's own module holds only its I/O wiring; the logic
lives in pure transformations.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession

from jobs import delta_io
from jobs.exit_codes import ERROR as EXIT_ERROR
from jobs.exit_codes import GATE_FAILED as EXIT_GATE
from jobs.exit_codes import OK as EXIT_OK
from jobs.lake import RAW_ENV, Lake
from jobs.quality import GateFailed, GateResult, QualityGate
from jobs.runs import RunRecord, code_version, record_run
from schemas.contract import TableContract

log = logging.getLogger("labelops.job")



def setup_logging() -> None:
    """Our loggers always print to stderr (Spark, Airflow and spark-submit capture it),
    whatever the host process did to the root logger."""
    ours = logging.getLogger("labelops")
    ours.setLevel(os.environ.get("LABELOPS_LOG_LEVEL", "INFO"))
    if not any(getattr(h, "_labelops", False) for h in ours.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._labelops = True
        ours.addHandler(handler)
        ours.propagate = False
    for noisy in ("py4j", "great_expectations", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def base_parser(job: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"labelops run {job}", description=description)
    parser.add_argument("--date", required=True, type=date.fromisoformat,
                        help="logical date YYYY-MM-DD: the partition this run (re)writes")
    parser.add_argument("--lake", default=None, help="lake root (default $LABELOPS_LAKE or ./lakehouse)")
    parser.add_argument("--raw", default=None, help="raw landing root (default $LABELOPS_RAW)")
    parser.add_argument("--master", default=None,
                        help="Spark master (default: spark-submit's, else $LABELOPS_MASTER or local[*])")
    parser.add_argument("--run-id", default=None, help="run id to record (default: generated)")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Spark conf, repeatable")
    return parser


@dataclass
class JobContext:
    """What a job body gets: session, locations, logical date, and publish/read helpers."""

    spark: SparkSession
    lake: Lake
    raw_root: str | None
    logical_date: date
    job: str
    run_id: str
    args: argparse.Namespace
    gate: QualityGate
    record: RunRecord
    gate_results: list[GateResult] = field(default_factory=list)

    # -- metadata ------------------------------------------------------------------------
    def user_metadata(self) -> str:
        return json.dumps({"run_id": self.run_id, "job": self.job,
                           "logical_date": self.logical_date.isoformat(),
                           "code_version": code_version()}, sort_keys=True)

    def metric(self, name: str, value: int) -> None:
        self.record.metrics[name] = int(value)
        log.info("metric %s = %s", name, value)

    def require_raw(self) -> str:
        if not self.raw_root:
            raise SystemExit(f"{self.job}: no raw root given: pass --raw DIR or set ${RAW_ENV}")
        return self.raw_root

    # -- reads ---------------------------------------------------------------------------
    def read(self, contract: TableContract, *, required: bool = True) -> DataFrame | None:
        """The table's latest version, pinned (recorded in the run's inputs)."""
        path = self.lake.path(contract)
        version = delta_io.latest_version(self.spark, path)
        if version is None:
            if required:
                raise FileNotFoundError(
                    f"{self.job}: input table {contract.qualified_name} does not exist at {path}. "
                    f"Run the upstream job for {self.logical_date} first (labelops run ... --date "
                    f"{self.logical_date}) or check --lake."
                )
            return None
        self.record.inputs[contract.qualified_name] = version
        return delta_io.read_version(self.spark, path, version)

    # -- publication ---------------------------------------------------------------------
    def publish(self, outputs: list[tuple[DataFrame, TableContract]],
                write_options: dict[str, dict] | None = None) -> dict[str, int]:
        """Gate every output first, then write them all: a failed gate publishes nothing.

        ``write_options`` maps a table's qualified name to the options of its write mode:
        ``delta_io.merge`` options for MERGE tables (``prune_values``, ``update_when``), ``first``
        and ``last`` for ``replace_range`` tables (default: the logical date)."""
        staged = []
        try:
            for df, contract in outputs:
                conformed = delta_io.conform(df, contract).persist()
                staged.append((conformed, contract))
                result = self.gate.validate(conformed, contract, run_id=self.run_id,
                                            logical_date=self.logical_date.isoformat())
                self.gate_results.append(result)
                if not result.passed:
                    raise GateFailed(result)
            return self._write_all(staged, write_options or {})
        finally:
            for conformed, _ in staged:
                conformed.unpersist()

    def _write_all(self, staged: list[tuple[DataFrame, TableContract]], write_options: dict[str, dict]) -> dict[str, int]:
        """Write the gated outputs one after another (side by side measured no faster on 2 cores:
        the writes are CPU-bound, docs/runtime.md "Fifteenth pass"). A failed write stops the
        rest and is raised as ``WriteFailed``, which names the table and what did land."""
        versions: dict[str, int] = {}
        for i, (df, contract) in enumerate(staged):
            try:
                versions[contract.qualified_name] = self._write(df, contract, write_options.get(contract.qualified_name))
            except Exception as exc:
                not_written = [c.qualified_name for _, c in staged[i + 1:]]
                message = (str(exc).strip().splitlines() or [""])[0].rstrip(".")  # Delta's first line
                raise WriteFailed(
                    f"writing {contract.qualified_name} at {self.lake.path(contract)} failed: "
                    f"{type(exc).__name__}: {message}. That table keeps its previous version; "
                    f"written by this run: {', '.join(versions) or 'nothing'}; not written: "
                    f"{', '.join(not_written) or 'nothing'}. Fix the cause and rerun the job for "
                    f"{self.logical_date} (a rerun replaces what it writes, never duplicates)."
                ) from exc
        return versions

    def _write(self, df: DataFrame, contract: TableContract, opts: dict | None) -> int:
        path = self.lake.path(contract)
        md = self.user_metadata()
        t0 = time.monotonic()
        if contract.write_mode != "merge":  # a MERGE's files come from its own join, not from df
            df = delta_io.fewer_write_partitions(df)
        if contract.write_mode == "replace_partition":
            delta_io.replace_partition(df, contract, path, self.logical_date, md)
        elif contract.write_mode == "replace_range":
            opts = opts or {}
            delta_io.replace_range(df, contract, path, opts.get("first", self.logical_date),
                                   opts.get("last", self.logical_date), md)
        elif contract.write_mode == "merge":
            delta_io.merge(df, contract, path, md, **(opts or {}))
        elif contract.write_mode == "append":
            delta_io.append(df, contract, path, md)
        else:
            delta_io.overwrite(df, contract, path, md)
        version = delta_io.latest_version(self.spark, path)
        self.record.outputs[contract.qualified_name] = version
        log.info("published %s version %s (%s, %.1fs) at %s", contract.qualified_name, version,
                 contract.write_mode, time.monotonic() - t0, path)
        return version


class WriteFailed(RuntimeError):
    """A gated output could not be written; the outputs after it were not attempted."""


JobBody = Callable[[JobContext], None]


def new_run_id(job: str, logical_date: date) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{job}-{logical_date.isoformat()}-{stamp}-{uuid.uuid4().hex[:6]}"


def run_job(job: str, body: JobBody, argv: list[str] | None, *, description: str = "",
            add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
            spark: SparkSession | None = None) -> int:
    """Parse args, build Spark, run ``body``, record the run. Returns the process exit code."""
    setup_logging()
    parser = base_parser(job, description)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    lake = Lake.from_arg(args.lake)
    raw_root = args.raw or os.environ.get(RAW_ENV)
    if raw_root:
        from jobs.lake import normalize_root

        raw_root = normalize_root(raw_root)
    run_id = args.run_id or os.environ.get("LABELOPS_RUN_ID") or new_run_id(job, args.date)
    extra_conf = dict(kv.split("=", 1) for kv in args.conf)
    if spark is None:
        from jobs.session import build_spark

        spark = build_spark(f"labelops-{job}-{args.date}", master=args.master, extra_conf=extra_conf)
    started = datetime.now(UTC)
    record = RunRecord(run_id=run_id, job=job, logical_date=args.date, started_at=started,
                       spark_master=spark.sparkContext.master)
    ctx = JobContext(spark=spark, lake=lake, raw_root=raw_root, logical_date=args.date, job=job,
                     run_id=run_id, args=args, gate=QualityGate(lake.quality_root), record=record)
    log.info("run %s: job=%s date=%s lake=%s raw=%s code=%s", run_id, job, args.date, lake.root,
             raw_root, code_version())
    exit_code = EXIT_OK
    try:
        body(ctx)
    except GateFailed as exc:
        record.status, record.error, exit_code = "gate_failed", str(exc), EXIT_GATE
        log.error("%s", exc)
    except Exception as exc:  # recorded, then reported with its traceback
        record.status, exit_code = "failed", EXIT_ERROR
        record.error = f"{type(exc).__name__}: {exc}"
        log.error("job %s failed for %s: %s\n%s", job, args.date, record.error, traceback.format_exc())
    finally:
        if ctx.gate_results:
            try:
                ctx.gate.build_docs()
            except Exception as exc:  # docs are a view; never fail a run over them
                log.warning("could not build Data Docs: %s", exc)
            record.gate_passed = all(r.passed for r in ctx.gate_results)
            record.gate_summary = " || ".join(r.summary() for r in ctx.gate_results)[:8000]
        record.finished_at = datetime.now(UTC)
        try:
            record_run(spark, lake, record, ctx.user_metadata())
        except Exception as exc:  # never hide the job's own outcome behind a bookkeeping error
            log.error("could not record run %s in the runs table: %s", run_id, exc)
    took = (record.finished_at - started).total_seconds()
    log.info("run %s %s in %.1fs; outputs %s; metrics %s", run_id, record.status, took,
             record.outputs, record.metrics)
    return exit_code
