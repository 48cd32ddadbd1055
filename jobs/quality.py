"""Great Expectations gates: a table's suite (from its contract) runs on the DataFrame
*before* it is published, so a failed gate leaves the last published version intact.

Error-severity failures block; warn-severity failures are logged and kept in the
result. Results (our compact JSON) and GX Data Docs are kept under the quality
root (``<lake>/_quality`` for a local lake).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from schemas.contract import Expectation, TableContract

log = logging.getLogger("labelops.quality")

_GX_SEVERITY = {"error": "critical", "warn": "warning"}
_DATASOURCE = "labelops_spark"


@dataclass
class Outcome:
    expectation: str
    severity: str
    success: bool
    unexpected_count: int | None = None
    element_count: int | None = None
    observed: Any = None
    sample: list[Any] = field(default_factory=list)

    def describe(self) -> str:
        if self.unexpected_count is not None:
            total = f" of {self.element_count}" if self.element_count is not None else ""
            sample = f", e.g. {self.sample[:3]}" if self.sample else ""
            return f"{self.expectation}: {self.unexpected_count} unexpected{total}{sample}"
        return f"{self.expectation}: observed {self.observed}"


@dataclass
class GateResult:
    table: str
    run_id: str
    logical_date: str | None
    outcomes: list[Outcome]
    docs_index: str | None = None
    result_file: str | None = None
    seconds: float | None = None

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        text = (f"gate {self.table}: {len(self.outcomes)} expectations, "
                f"{len(self.failures)} failed, {len(self.warnings)} warnings")
        if self.failures:
            text += " | FAILED: " + "; ".join(o.describe() for o in self.failures)
        if self.warnings:
            text += " | warn: " + "; ".join(o.describe() for o in self.warnings)
        return text

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "passed": self.passed}, default=str, indent=1)


class GateFailed(RuntimeError):
    """A stage's output broke an error-severity expectation: nothing was published."""

    def __init__(self, result: GateResult):
        self.result = result
        where = f" Data Docs: {result.docs_index}." if result.docs_index else ""
        super().__init__(
            f"Quality gate failed for table {result.table} (logical date {result.logical_date}, run "
            f"{result.run_id}); nothing was published and the previous table version is unchanged. "
            + "Failed expectations: " + "; ".join(o.describe() for o in result.failures)
            + f".{where} Fix the input data (see the quarantine table and the upstream run) or, if "
            "the rule is wrong, its contract in schemas/."
        )


SCREEN_KIND = "ScreenedRowsExpectation"
SCREEN_LABEL = "UnexpectedRows(screen of the SQL rules)"


@dataclass(frozen=True)
class _Screen(Expectation):
    @property
    def label(self) -> str:
        return SCREEN_LABEL


def _foldable(exp: Expectation) -> bool:
    if exp.severity != "error":
        return False
    return exp.kind == "UnexpectedRowsExpectation" or exp.where is not None or exp.violations_query is not None


def screening_suite(contract: TableContract) -> tuple[TableContract, list[Expectation]]:
    """The contract with its error-severity SQL rules (GX UnexpectedRowsExpectation), column-value
    rules with a row condition (not null, in set, between) and rules that carry a
    ``violations_query`` (key uniqueness) folded into one screen: GX spends about five Spark
    jobs on each SQL rule and a filtered count on each column-value or uniqueness check,
    whatever their size; the fold pays for one count. Row conditions (``Expectation.where``) become one ``WHERE c1 OR c2 ...`` (a row
    violates the fold iff it violates some rule, in SQL's three-valued logic too); other
    queries, and the duplicate keys, are added with ``UNION ALL``. Returns the suite and the
    folded rules (empty when there is nothing to gain)."""
    rules = [e for e in contract.expectations if _foldable(e)]
    if len(rules) < 2:
        return contract, []
    conditions = [f"({e.where})" for e in rules if e.where]
    branches = [f"SELECT 1 AS violation FROM {{batch}} WHERE {' OR '.join(conditions)}"] if conditions else []
    for e in rules:
        if not e.where:
            query = e.violations_query or e.kwargs["unexpected_rows_query"]
            branches.append(f"SELECT 1 AS violation FROM ({query})")
    screen = _Screen(SCREEN_KIND,
                     {"unexpected_rows_query": " UNION ALL ".join(branches),
                      "description": "screen of the row rules, value rules and key checks: " + "; ".join(e.label for e in rules)},
                     "error", note="screen")
    kept = tuple(e for e in contract.expectations if e not in rules)
    return replace(contract, expectations=(*kept, screen)), rules


def _unfold(outcomes: list[Outcome], folded: list[Expectation]) -> list[Outcome]:
    """A passed screen stands for each of its rules: no row violates any of them."""
    out = [o for o in outcomes if o.expectation != SCREEN_LABEL]
    if len(out) == len(outcomes):
        return outcomes
    return out + [Outcome(expectation=e.label, severity=e.severity, success=True,
                          observed="0 rows (screened with the table's other row rules, value rules and key checks in one query)") for e in folded]


_screen_class: type | None = None


def _screened_rows_expectation() -> type:
    """GX's UnexpectedRowsExpectation asking only for the query's row count.

    The stock class also fetches the unexpected rows (a second run of the query) even when the
    result format is BOOLEAN_ONLY; the screen is pass/fail by design (on failure the full suite
    re-runs rule by rule with counts and samples), so one run is enough. Created on first use,
    as GX is imported lazily."""
    global _screen_class
    if _screen_class is None:
        from great_expectations.expectations import UnexpectedRowsExpectation

        class ScreenedRowsExpectation(UnexpectedRowsExpectation):
            metric_dependencies = ("unexpected_rows_query.row_count",)

            def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
                count = metrics["unexpected_rows_query.row_count"]
                return {"success": count == 0, "result": {"observed_value": count}}

        _screen_class = ScreenedRowsExpectation
    return _screen_class


def _to_gx(exp: Expectation):
    import great_expectations.expectations as gxe

    cls = _screened_rows_expectation() if exp.kind == SCREEN_KIND else getattr(gxe, exp.kind)
    return cls(**exp.kwargs, severity=_GX_SEVERITY[exp.severity],
               meta={"labelops_label": exp.label, "labelops_severity": exp.severity})


_contexts: dict[str, Any] = {}


def _gx_context(quality_root: Path | None) -> Any:
    """The process's GX context for a quality root (one ephemeral context without a root).

    Shared by every gate of the process, so an in-process pipeline (``labelops demo``, the
    tests) builds it once and the suites it registered stay known from job to job."""
    key = str(quality_root) if quality_root is not None else ""
    ctx = _contexts.get(key)
    if ctx is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        if quality_root is not None:
            quality_root.mkdir(parents=True, exist_ok=True)
            ctx = gx.get_context(mode="file", project_root_dir=str(quality_root))
        else:
            ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        _read_config_variables_once(ctx)
        _contexts[key] = ctx
    return ctx


def _read_config_variables_once(ctx: Any) -> None:
    """A file context re-reads and YAML-parses ``uncommitted/config_variables.yml`` each time
    it reads one of its own settings: ~36 times a gate, ~0.1 s. labelops owns that project and
    nothing edits the file while a job runs, so its values are read once per process.
    (GX private API, pinned version: if it moves, GX keeps its own behaviour.)"""
    try:
        from great_expectations.core.config_provider import (
            _ConfigurationVariablesConfigurationProvider,
        )

        provider = ctx.config_provider.get_provider(_ConfigurationVariablesConfigurationProvider)
    except (ImportError, AttributeError):
        return
    if provider is not None:
        values = provider.get_values()
        provider.get_values = lambda: dict(values)


class QualityGate:
    """Validates DataFrames with GX, in the process's GX context for its quality root."""

    def __init__(self, quality_root: str | None):
        self.quality_root = Path(quality_root) if quality_root else None
        self._context = None
        self._new_results: list = []  # validation result ids of this process, for incremental docs

    def _get_context(self) -> Any:
        if self._context is None:
            self._context = _gx_context(self.quality_root)
        return self._context

    def validate(self, df: DataFrame, contract: TableContract, *, run_id: str,
                 logical_date: str | None) -> GateResult:
        """Run the contract's suite. A first pass asks GX only for pass/fail (about 3x cheaper
        on Spark), with the error-severity row, value and key rules screened by one query (``screening_suite``);
        only if something failed is the full suite re-run for counts and sample values."""
        t0 = time.monotonic()
        screened, folded = screening_suite(contract)
        result = self._run(df, screened, run_id, logical_date, "BOOLEAN_ONLY")
        if result.failures or result.warnings:
            result = self._run(df, contract, run_id, logical_date, "SUMMARY")
        else:
            result.outcomes = _unfold(result.outcomes, folded)
        if self.quality_root is not None:
            out = self.quality_root / "results" / result.table / (logical_date or "none")
            out.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            result.result_file = str(out / f"{stamp}_{run_id.replace('/', '_')}.json")
            result.docs_index = str(self.docs_index)
            Path(result.result_file).write_text(result.to_json())
        result.seconds = round(time.monotonic() - t0, 2)
        (log.info if result.passed else log.error)("%s (%.1fs)", result.summary(), result.seconds)
        return result

    @property
    def docs_index(self) -> Path | None:
        if self.quality_root is None:
            return None
        return self.quality_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"

    def build_docs(self) -> Path | None:
        """Render GX Data Docs once per job: only this job's validation pages and the index (a
        full build re-renders every result ever kept, which grows with the lake's age)."""
        if self.quality_root is None or self._context is None:
            return None
        self._context.build_data_docs(resource_identifiers=self._new_results or None)
        self._new_results = []
        log.info("Data Docs: %s", self.docs_index)
        return self.docs_index

    def _run(self, df: DataFrame, contract: TableContract, run_id: str, logical_date: str | None,
             result_format: str) -> GateResult:
        import great_expectations as gx
        from great_expectations.exceptions.resource_freshness import ResourceFreshnessAggregateError

        ctx = self._get_context()
        table = contract.qualified_name
        source = _spark_source(ctx)
        try:
            asset = source.get_asset(table)
        except LookupError:
            asset = source.add_dataframe_asset(name=table)
        try:
            batch_def = asset.get_batch_definition("whole")
        except (KeyError, ValueError, LookupError):
            batch_def = asset.add_batch_definition_whole_dataframe("whole")
        checkpoint = _checkpoint(ctx, batch_def, table, contract, result_format)
        try:
            run = checkpoint.run(batch_parameters={"dataframe": df},
                                 run_id=gx.core.run_identifier.RunIdentifier(run_name=run_id))
        except ResourceFreshnessAggregateError:
            # another process re-registered the suite since this one did: register it again
            checkpoint = _checkpoint(ctx, batch_def, table, contract, result_format, cached=False)
            run = checkpoint.run(batch_parameters={"dataframe": df},
                                 run_id=gx.core.run_identifier.RunIdentifier(run_name=run_id))
        self._new_results.extend(run.run_results.keys())
        outcomes = []
        for vres in run.run_results.values():
            for res in vres.results:
                cfg = res.expectation_config
                meta = cfg.meta or {}
                r = res.result or {}
                outcome = Outcome(
                    expectation=meta.get("labelops_label", cfg.type),
                    severity=meta.get("labelops_severity", "error"),
                    success=bool(res.success),
                    unexpected_count=r.get("unexpected_count"),
                    element_count=r.get("element_count"),
                    observed=r.get("observed_value"),
                    sample=[str(v) for v in (r.get("partial_unexpected_list") or [])][:5],
                )
                if res.exception_info and res.exception_info.get("raised_exception"):
                    outcome.success = False
                    outcome.observed = res.exception_info.get("exception_message")
                outcomes.append(outcome)
        return GateResult(table=table, run_id=run_id, logical_date=logical_date, outcomes=outcomes)


def _spark_source(ctx: Any) -> Any:
    """GX's Spark datasource, with GX's own ``persist`` off.

    The caller caches what it gates (``Job.publish`` persists each conformed output, runs the
    gate and the write on it, then unpersists it). GX's default would persist it again - one
    ``WARN CacheManager: Asked to cache already cached data`` per gate, 147 in a 7-day demo -
    and, on a DataFrame nobody cached, keep it cached after the gate, since GX never unpersists.
    A quality root made before 2026-12-06 has the datasource with ``persist: true``: it is
    updated once; the update drops its assets, which ``_run`` adds again."""
    try:
        source = ctx.data_sources.get(_DATASOURCE)
    except (KeyError, ValueError):
        return ctx.data_sources.add_spark(_DATASOURCE, persist=False)
    if source.persist:
        source = ctx.data_sources.update_spark(name=_DATASOURCE, persist=False)
    return source


_checkpoints: dict[tuple[int, str], tuple[str, Any]] = {}


def _checkpoint(ctx: Any, batch_def: Any, table: str, contract: TableContract, result_format: str,
                cached: bool = True) -> Any:
    """The table's registered GX checkpoint for this suite and result format.

    Registering (``add_or_update`` of suite, validation definition and checkpoint) rewrites
    three JSON files and re-reads them, ~0.2 s a gate; a process that gates the same table
    with the same suite again (each day of an in-process pipeline, a rerun) reuses what it
    registered. A changed suite or format registers again."""
    import great_expectations as gx

    fingerprint = f"{result_format}|{contract.expectations!r}"
    key = (id(ctx), table)
    hit = _checkpoints.get(key)
    if cached and hit is not None and hit[0] == fingerprint:
        return hit[1]
    suite = ctx.suites.add_or_update(
        gx.ExpectationSuite(name=table, expectations=[_to_gx(e) for e in contract.expectations])
    )
    vdef = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=table, data=batch_def, suite=suite)
    )
    checkpoint = ctx.checkpoints.add_or_update(
        gx.Checkpoint(name=f"gate_{table}", validation_definitions=[vdef], actions=[],
                      result_format={"result_format": result_format, "partial_unexpected_count": 5})
    )
    _checkpoints[key] = (fingerprint, checkpoint)
    return checkpoint
