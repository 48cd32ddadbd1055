"""The quality gate's screening pass: row, value and key rules folded into one query must decide exactly as the
rules one by one, and a failure must still name the rule that failed, with counts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

from jobs.quality import _DATASOURCE, SCREEN_LABEL, QualityGate, screening_suite
from schemas.allocation import no_rows
from schemas.contract import Expectation, TableContract, between, in_set, not_null, unique
from schemas.features import rows_where

SCHEMA = StructType([StructField("id", StringType()), StructField("n", LongType()), StructField("rate", DoubleType())])


def rule(name: str, condition: str, severity: str = "error") -> Expectation:
    return rows_where(name, condition, severity=severity)


def group_rule(name: str, query: str) -> Expectation:
    return no_rows(name, query)


CONTRACT = TableContract(
    layer="ops", name="gate_probe", schema=SCHEMA, keys=("id",),
    expectations=(
        *not_null("id"),
        rule("n_non_negative", "n < 0"),
        rule("rate_in_unit", "rate < 0 OR rate > 1"),
        group_rule("id_unique", "SELECT id FROM {batch} GROUP BY id HAVING count(*) > 1"),
        rule("rate_known", "rate IS NULL", severity="warn"),
    ),
)


def test_screening_folds_error_sql_rules_and_keeps_the_rest():
    screened, folded = screening_suite(CONTRACT)
    assert [e.label for e in folded] == ["ExpectColumnValuesToNotBeNull(id)", *(
        e.label for e in CONTRACT.expectations if e.note in ("n_non_negative", "rate_in_unit", "id_unique"))]
    labels = [e.label for e in screened.expectations]
    assert labels.count(SCREEN_LABEL) == 1
    assert any(e.severity == "warn" and e.note == "rate_known" for e in screened.expectations)
    query = screened.expectations[-1].kwargs["unexpected_rows_query"]
    assert "(`id` IS NULL) OR (n < 0) OR (rate < 0 OR rate > 1)" in query and "UNION ALL" in query


def test_one_sql_rule_is_not_screened():
    single = TableContract(layer="ops", name="one", schema=SCHEMA, keys=("id",),
                           expectations=(rule("n_non_negative", "n < 0"),))
    assert screening_suite(single) == (single, [])


@pytest.mark.parametrize(
    ("rows", "failed"),
    [
        # a null rate matches no rule (NULL < 0 is not true): clean, only the warning rule sees it
        ([("a", 1, 0.5), ("b", 2, None)], set()),
        ([("a", -1, 0.5), ("b", 2, 0.2)], {"n_non_negative"}),
        ([("a", 1, 1.5), ("b", 2, None)], {"rate_in_unit"}),
        ([("a", 1, 0.5), ("a", 2, 0.2)], {"id_unique"}),
    ],
)
def test_gate_decides_as_the_rules_one_by_one(spark, rows, failed):
    df = spark.createDataFrame(rows, SCHEMA)
    result = QualityGate(None).validate(df, CONTRACT, run_id="t", logical_date=None)
    names = {o.expectation for o in result.failures}
    assert names == {e.label for e in CONTRACT.expectations if e.note in failed}
    assert result.passed == (not failed)
    assert all(o.expectation != SCREEN_LABEL for o in result.outcomes)
    # every rule of the contract is reported, folded or not
    assert len(result.outcomes) == len(CONTRACT.expectations)
    if failed:  # the re-run in SUMMARY mode gives counts for the rule that failed
        assert all(o.unexpected_count or o.observed for o in result.failures)


KEYS_SCHEMA = StructType([StructField("a", StringType()), StructField("b", StringType())])
KEYS_CONTRACT = TableContract(layer="ops", name="keys_probe", schema=KEYS_SCHEMA, keys=("a", "b"),
                              expectations=(unique("a"), unique("a", "b")))


@pytest.mark.parametrize(
    "rows",
    [
        [("1", "x"), ("2", "y"), (None, "z")],  # clean (with a null row)
        [(None, "x"), (None, "y")],  # a single key column ignores nulls; the pair is distinct
        [("1", None), ("1", None)],  # a pair with one null: nulls compare equal -> duplicate
        [(None, None), (None, None)],  # all-null pairs are ignored by both
        [("1", "x"), ("1", "y")],  # duplicate single key, distinct pair
    ],
)
def test_screened_key_checks_decide_exactly_as_gx(spark, rows):
    """The uniqueness checks folded into the screen pass exactly when GX's own expectations do
    (a laxer screen would let duplicates through; a stricter one would re-run the suite)."""
    assert_screen_decides_as_gx(spark, KEYS_CONTRACT, rows)


VALUES_SCHEMA = StructType([StructField("s", StringType()), StructField("n", LongType()),
                            StructField("x", DoubleType())])
VALUES_CONTRACT = TableContract(
    layer="ops", name="values_probe", schema=VALUES_SCHEMA, keys=("s",),
    expectations=(*not_null("s", "x"), in_set("s", ["a", "o'k", "b\\c"]), between("n", 1, 3),
                  between("x", 0.0, 1.5), between("n", None, 3), between("x", 0.25, None)),
)


@pytest.mark.parametrize(
    "rows",
    [
        [("a", 1, 0.25), ("o'k", 3, 1.5), ("b\\c", None, 1.0)],  # clean, bounds inclusive, a null n
        [(None, 1, 0.5)],  # null s: not-null fails, in-set ignores it
        [("a", 1, None)],  # null x: not-null fails, the between rules ignore it
        [("z", 2, 0.5)],  # not in the set
        [("ok", 2, 0.5)],  # the quote matters
        [("a", 0, 0.5), ("a", 4, 0.5)],  # n out of [1, 3]
        [("a", 2, 1.5000001)],  # x just above 1.5
        [("a", 2, 0.2)],  # x below the lower bound of the one-sided rule
        [("a", 2, float("nan"))],  # NaN: Spark orders it above every number
        [("a", 2, float("inf"))],
    ],
)
def test_screened_value_rules_decide_exactly_as_gx(spark, rows):
    """Not-null, in-set and between rules screened as row conditions pass exactly when GX's own
    expectations do, null and NaN rows included."""
    assert_screen_decides_as_gx(spark, VALUES_CONTRACT, rows)


def assert_screen_decides_as_gx(spark, contract: TableContract, rows: list[tuple]) -> None:
    """Every rule of ``contract`` is screened; the screen passes iff GX passes each rule alone;
    the gate reports each rule as GX decides it (a failure still names its rule)."""
    df = spark.createDataFrame(rows, contract.schema)
    gate = QualityGate(None)
    screened, folded = screening_suite(contract)
    assert folded == list(contract.expectations)
    screen = gate._run(df, screened, "t", None, "BOOLEAN_ONLY").outcomes
    assert [o.expectation for o in screen] == [SCREEN_LABEL]
    one_by_one = [gate._run(df, replace(contract, expectations=(e,)), "t", None, "BOOLEAN_ONLY")
                  .outcomes[0].success for e in contract.expectations]
    assert screen[0].success == all(one_by_one)
    result = gate.validate(df, contract, run_id="t", logical_date=None)
    assert result.passed == all(one_by_one)
    expected = sorted(zip((e.label for e in contract.expectations), one_by_one, strict=True))
    assert sorted((o.expectation, o.success) for o in result.outcomes) == expected  # GX may reorder


def test_value_rules_with_mostly_or_unrenderable_values_are_not_screened():
    assert not_null("s", mostly=0.5)[0].where is None
    assert between("x", 0, 1, mostly=0.9).where is None
    assert between("x").where is None
    assert in_set("d", [object()]).where is None
    assert between("x", 0.5, 2).where == "`x` IS NOT NULL AND NOT (`x` >= 0.5D AND `x` <= 2)"


def _count_registrations(monkeypatch, ctx) -> list[str]:
    calls: list[str] = []
    factory = type(ctx.suites)
    original = factory.add_or_update

    def spy(self, suite):
        calls.append(suite.name)
        return original(self, suite)

    monkeypatch.setattr(factory, "add_or_update", spy)
    return calls


def test_a_process_registers_a_suite_once_and_again_when_it_changes(spark, tmp_path, monkeypatch):
    clean = spark.createDataFrame([("a", 1, 0.5), ("b", 200, 0.2)], SCHEMA)
    first = QualityGate(str(tmp_path))
    assert first.validate(clean, CONTRACT, run_id="r1", logical_date="2026-01-01").passed
    calls = _count_registrations(monkeypatch, first._get_context())

    # the next job of the same process: same context, nothing registered again
    second = QualityGate(str(tmp_path))
    assert second._get_context() is first._get_context()
    assert second.validate(clean, CONTRACT, run_id="r2", logical_date="2026-01-01").passed
    assert calls == []

    # a changed suite is registered and is what decides
    stricter = replace(CONTRACT, expectations=(*CONTRACT.expectations, rule("n_small", "n > 100")))
    result = second.validate(clean, stricter, run_id="r3", logical_date="2026-01-01")
    assert [o.expectation for o in result.failures] == [e.label for e in stricter.expectations if e.note == "n_small"]
    assert calls and set(calls) == {CONTRACT.qualified_name}


def test_a_suite_another_process_changed_is_registered_again(spark, tmp_path):
    import great_expectations as gx

    clean = spark.createDataFrame([("a", 1, 0.5)], SCHEMA)
    gate = QualityGate(str(tmp_path))
    assert gate.validate(clean, CONTRACT, run_id="r1", logical_date=None).passed
    # another process (its own context on the same project) stores a different suite of the same name
    other = gx.get_context(mode="file", project_root_dir=str(tmp_path))
    other.suites.add_or_update(gx.ExpectationSuite(
        name=CONTRACT.qualified_name,
        expectations=[gx.expectations.ExpectColumnValuesToNotBeNull(column="rate")]))
    bad = spark.createDataFrame([("a", -1, 0.5)], SCHEMA)
    result = gate.validate(bad, CONTRACT, run_id="r2", logical_date=None)
    assert [o.expectation for o in result.failures] == [
        e.label for e in CONTRACT.expectations if e.note == "n_non_negative"]


def test_config_variables_are_read_once_with_their_values(tmp_path):
    gate = QualityGate(str(tmp_path))
    ctx = gate._get_context()
    stored = (tmp_path / "gx" / "uncommitted" / "config_variables.yml").read_text()
    values = ctx.config_provider.get_values()
    assert values.get("instance_id") and values["instance_id"] in stored
    # read once: a later edit of the file does not reach this process's context
    (tmp_path / "gx" / "uncommitted" / "config_variables.yml").write_text("instance_id: edited\n")
    assert ctx.config_provider.get_values()["instance_id"] == values["instance_id"]


def test_a_gate_leaves_the_dataframe_cached_as_it_found_it(spark, tmp_path):
    """GX's own persist is off: the caller caches (Job.publish), GX neither caches a second time
    nor leaves an uncached DataFrame cached after the gate."""
    df = spark.createDataFrame([("a", 1, 0.5), (None, None, None)], SCHEMA)
    gate = QualityGate(str(tmp_path))
    gate.validate(df, CONTRACT, run_id="r1", logical_date=None)
    assert not df.is_cached
    cached = df.persist()
    try:
        gate.validate(cached, CONTRACT, run_id="r2", logical_date=None)
        assert cached.is_cached
    finally:
        cached.unpersist()


def test_a_quality_root_with_gx_persist_on_is_switched_off_and_still_gates(spark, tmp_path):
    import great_expectations as gx

    # a quality root as labelops wrote it before 2026-12-06: the datasource persists, with an asset
    old = gx.get_context(mode="file", project_root_dir=str(tmp_path))
    source = old.data_sources.add_spark(_DATASOURCE)
    source.add_dataframe_asset(name=CONTRACT.qualified_name).add_batch_definition_whole_dataframe("whole")
    assert source.persist

    bad = spark.createDataFrame([("a", -1, 0.5)], SCHEMA)
    result = QualityGate(str(tmp_path)).validate(bad, CONTRACT, run_id="r1", logical_date=None)
    assert [o.expectation for o in result.failures] == [
        e.label for e in CONTRACT.expectations if e.note == "n_non_negative"]
    assert not bad.is_cached
    stored = gx.get_context(mode="file", project_root_dir=str(tmp_path)).data_sources.get(_DATASOURCE)
    assert stored.persist is False
    assert [a.name for a in stored.assets] == [CONTRACT.qualified_name]
