"""The shape of a contract, and helpers to declare expectations tersely.

An expectation here is a plain description (GX class name + kwargs + severity);
``jobs.quality`` turns it into a Great Expectations object at validation time, so
importing a contract stays cheap and free of GX.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pyspark.sql.types import StructType

Severity = Literal["error", "warn"]
Layer = Literal["raw", "bronze", "silver", "features", "scoring", "allocation", "ops"]
WriteMode = Literal["replace_partition", "replace_range", "merge", "append", "overwrite"]


@dataclass(frozen=True)
class Expectation:
    """One GX expectation: ``gx.expectations.<kind>(**kwargs)``; ``error`` blocks publication."""

    kind: str
    kwargs: dict[str, Any]
    severity: Severity = "error"
    note: str = ""
    # A Spark SQL condition that a row meets exactly when it violates the rule: for a row rule
    # (UnexpectedRowsExpectation over ``SELECT ... FROM {batch} WHERE <where>``) and for the
    # column-value rules that GX decides row by row (not null, in set, between; without
    # ``mostly``), so that a gate can screen all of a table's row rules in one query.
    where: str | None = None
    # For any other error rule: a query returning exactly the rows GX counts as violations
    # (``{batch}`` is the table), so that a gate can screen it with the SQL rules.
    violations_query: str | None = None

    @property
    def label(self) -> str:
        target = self.kwargs.get("column") or self.kwargs.get("column_list") or ""
        if "column_A" in self.kwargs:
            target = f"{self.kwargs['column_A']}, {self.kwargs['column_B']}"
        return f"{self.kind}({target})" if target else self.kind


@dataclass(frozen=True)
class TableContract:
    """Everything a job, a gate or a test needs to know about one table."""

    layer: Layer
    name: str
    schema: StructType
    keys: tuple[str, ...]
    partition_by: tuple[str, ...] = ()
    write_mode: WriteMode = "replace_partition"
    expectations: tuple[Expectation, ...] = ()
    description: str = ""
    # For replace_partition / replace_range tables: the column that carries the logical date.
    logical_date_column: str | None = None
    # Columns (besides keys and partition columns) that readers filter on, so the table keeps
    # Delta file statistics for them: e.g. silver judgments by ``ingest_date``.
    skipping_columns: tuple[str, ...] = ()
    # Further Delta table properties, set when the table is created (``delta_properties``).
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def stats_columns(self) -> tuple[str, ...]:
        """The columns whose min / max / null counts Delta keeps per file: keys and
        ``skipping_columns``, the only ones a lookup or a pruned scan filters on (partition
        columns need none, and Delta refuses them). By default Delta collects statistics for
        the first 32 columns, which costs a write of a wide table ~0.1-0.2 s (of 1-1.8 s)
        (docs/runtime.md, "Tenth pass") and would drop a filter column that moved past 32."""
        wanted = dict.fromkeys((*self.keys, *self.skipping_columns))
        return tuple(c for c in wanted if c not in self.partition_by)

    @property
    def delta_properties(self) -> dict[str, str]:
        """Table properties a write passes when it creates the table."""
        stats = {"delta.dataSkippingStatsColumns": ",".join(self.stats_columns)} if self.stats_columns else {}
        return {**stats, **self.properties}

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.schema.fields]

    def field_type(self, column: str):
        return self.schema[column].dataType


# --- terse constructors for the expectations used across contracts -------------------------


def sql_literal(value: Any) -> str | None:
    """``value`` as a Spark SQL literal, or None for a type this module does not render."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float) and math.isfinite(value):
        return f"{value!r}D"  # a DOUBLE literal: 1.5 alone would be a DECIMAL
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return None


def _value_rule_where(column: str, allowed: str | None, mostly: float | None) -> str | None:
    """The row condition of a GX column-value rule whose valid values satisfy ``allowed``: GX
    skips null values; ``mostly`` tolerates some violating rows, so such a rule is never
    screened."""
    if allowed is None or mostly is not None:
        return None
    return f"`{column}` IS NOT NULL AND NOT ({allowed})"


def not_null(*columns: str, severity: Severity = "error", mostly: float | None = None) -> list[Expectation]:
    extra = {"mostly": mostly} if mostly is not None else {}
    return [Expectation("ExpectColumnValuesToNotBeNull", {"column": c, **extra}, severity,
                        where=f"`{c}` IS NULL" if mostly is None else None) for c in columns]


def unique(*columns: str, severity: Severity = "error") -> Expectation:
    """Key uniqueness, with GX's null rules in ``violations_query`` (``tests/test_quality_gate.py``
    checks them against GX): one column ignores nulls; a column list ignores rows whose columns
    are all null and groups nulls as equal."""
    quoted = ", ".join(f"`{c}`" for c in columns)
    all_null = " AND ".join(f"`{c}` IS NULL" for c in columns)
    duplicates = f"SELECT {quoted} FROM {{batch}} WHERE NOT ({all_null}) GROUP BY {quoted} HAVING count(*) > 1"
    if len(columns) == 1:
        return Expectation("ExpectColumnValuesToBeUnique", {"column": columns[0]}, severity,
                           violations_query=duplicates)
    return Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)}, severity,
                       violations_query=duplicates)


def in_set(column: str, values: Sequence[Any], severity: Severity = "error", mostly: float | None = None) -> Expectation:
    extra = {"mostly": mostly} if mostly is not None else {}
    literals = [sql_literal(v) for v in values]
    allowed = None if not literals or None in literals else f"`{column}` IN ({', '.join(literals)})"  # type: ignore[arg-type]
    return Expectation("ExpectColumnValuesToBeInSet", {"column": column, "value_set": list(values), **extra}, severity,
                       where=_value_rule_where(column, allowed, mostly))


def between(
    column: str,
    min_value: Any = None,
    max_value: Any = None,
    severity: Severity = "error",
    mostly: float | None = None,
) -> Expectation:
    kwargs: dict[str, Any] = {"column": column, "min_value": min_value, "max_value": max_value}
    if mostly is not None:
        kwargs["mostly"] = mostly
    literals = {op: sql_literal(v) for op, v in ((">=", min_value), ("<=", max_value)) if v is not None}
    renderable = literals and None not in literals.values()
    inside = " AND ".join(f"`{column}` {op} {lit}" for op, lit in literals.items()) if renderable else None
    return Expectation("ExpectColumnValuesToBeBetween", kwargs, severity,
                       where=_value_rule_where(column, inside, mostly))


def rows_between(min_value: int | None = None, max_value: int | None = None, severity: Severity = "error") -> Expectation:
    return Expectation("ExpectTableRowCountToBeBetween", {"min_value": min_value, "max_value": max_value}, severity)


def columns_match(schema: StructType, severity: Severity = "error") -> Expectation:
    return Expectation(
        "ExpectTableColumnsToMatchSet", {"column_set": [f.name for f in schema.fields], "exact_match": True}, severity
    )


def row_rule(name: str, condition: str, *, columns: str = "*", severity: Severity = "error",
             cls: type[Expectation] = Expectation) -> Expectation:
    """A row rule: rows matching the Spark SQL ``condition`` violate it (GX UnexpectedRowsExpectation
    over ``SELECT columns FROM {batch} WHERE condition``). ``cls`` picks how the gate labels it."""
    return cls("UnexpectedRowsExpectation",
               {"unexpected_rows_query": f"SELECT {columns} FROM {{batch}} WHERE {condition}", "description": name},
               severity, name, where=condition)
