"""The ingest and silver jobs on generated exports, in-process: dirt, reconciliation, idempotency."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import functions as F

from experiments.synth import DirtConfig, generate
from jobs import ingest, silver
from schemas import bronze
from schemas import silver as silver_contracts

pytestmark = pytest.mark.e2e

START = date(2026, 1, 5)
D1, D2 = "2026-01-05", "2026-01-06"


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """Two days of small exports with every kind of dirt at a visible rate."""
    out = tmp_path_factory.mktemp("raw")
    dirt = DirtConfig().with_row_rate(0.01)
    generate(out, START, days=2, seed=11, judgments_per_day=4000, dirt=dirt)
    return out


@pytest.fixture(scope="module")
def two_days(spark, raw, tmp_path_factory) -> str:
    """A lake with both days ingested and conformed once (shared: the jobs dominate the time)."""
    lake = str(tmp_path_factory.mktemp("two_days") / "lake")
    for day in (D1, D2):
        assert ingest.main(["--date", day, "--raw", str(raw), "--lake", lake]) == 0
        assert silver.main(["--date", day, "--lake", lake]) == 0
    return lake


def _table(spark, lake, contract):
    return spark.read.format("delta").load(f"{lake}/{contract.layer}/{contract.name}")


def _physical_data_lines(raw: Path, source: str, day: str) -> int:
    total = 0
    for f in sorted((raw / source / f"dt={day}").glob("*")):
        n = sum(1 for _ in f.open("rb"))
        total += n - (1 if f.suffix == ".csv" else 0)
    return total


def test_every_dirty_row_is_quarantined_with_its_reason_and_no_good_row_is_lost(spark, two_days, raw):
    lake = two_days
    manifest = pd.read_csv(raw / "truth" / "dirt" / f"dt={D1}" / "manifest.csv", keep_default_na=False)
    expected = {
        (r.file, int(r.line_number)): r.expected_reason
        for r in manifest.itertuples() if r.expected_reason
    }
    q = _table(spark, lake, bronze.QUARANTINE).where(F.col("ingest_date") == D1)
    got = {(r.source_file, r.line_number): r.reason for r in q.select("source_file", "line_number", "reason").collect()}
    assert len(expected) > 100, "the generator should have injected dirt"
    wrong = {k: (expected.get(k), got.get(k)) for k in expected.keys() | got.keys() if expected.get(k) != got.get(k)}
    assert not wrong, f"{len(wrong)} rows differ (expected, got): {list(wrong.items())[:10]}"

    audit = {r.source: r for r in _table(spark, lake, bronze.INGEST_AUDIT).where(F.col("ingest_date") == D1).collect()}
    for source, contract in bronze.BY_SOURCE.items():
        lines = _physical_data_lines(raw, source, D1)
        rows = _table(spark, lake, contract).where(F.col("ingest_date") == D1).count()
        quarantined = q.where(F.col("source") == source).count()
        assert lines == rows + quarantined, source
        assert audit[source].lines == lines and audit[source].reconciled
        assert audit[source].bronze_rows == rows and audit[source].quarantined_rows == quarantined


def _fingerprint(spark, lake, contracts) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash per table."""
    out = {}
    for c in contracts:
        df = _table(spark, lake, c)
        cols = sorted(df.columns)
        digests = sorted(
            r[0] for r in df.select(F.sha2(F.to_json(F.struct(*cols)), 256)).collect()
        )
        out[c.qualified_name] = (len(digests), hashlib.sha256("".join(digests).encode()).hexdigest())
    return out


def test_late_judgments_land_in_their_event_date_partition(spark, two_days, raw):
    manifest = pd.read_csv(raw / "truth" / "dirt" / f"dt={D2}" / "manifest.csv", keep_default_na=False)
    late_keys = [k for k in manifest.loc[manifest.kind == "late", "key"] if k]
    assert late_keys, "the generator should have written late judgments into day 2"
    rows = (_table(spark, two_days, silver_contracts.JUDGMENTS)
            .where(F.col("judgment_id").isin(late_keys)).select("event_date", "ingest_date", "is_late").collect())
    assert len(rows) == len(set(late_keys))
    assert all(r.is_late and r.event_date < r.ingest_date for r in rows)


def test_runs_table_records_lineage(spark, two_days):
    lake = two_days
    runs = {r.job: r for r in spark.read.format("delta").load(f"{lake}/_ops/runs")
            .where(F.col("logical_date") == D2).collect()}
    assert runs["ingest"].status == "success" and runs["ingest"].gate_passed
    assert runs["silver"].inputs["bronze.judgments"] == runs["ingest"].outputs["bronze.judgments"]
    assert set(runs["silver"].outputs) == {c.qualified_name for c in silver_contracts.ALL}
    # every silver table's commit (three MERGEs, one replace) carries its run, and the
    # session-wide conf that stamps a MERGE's metadata is gone once the job is done
    for contract in silver_contracts.ALL:
        history = spark.sql(f"DESCRIBE HISTORY delta.`{lake}/silver/{contract.name}`").first()
        assert history.version == runs["silver"].outputs[contract.qualified_name], contract.name
        assert runs["silver"].run_id in history.userMetadata, contract.name
    assert spark.conf.get("spark.databricks.delta.commitInfo.userMetadata", None) is None
    assert Path(lake, "_quality", "gx", "uncommitted", "data_docs", "local_site", "index.html").exists()


def test_rerunning_a_date_three_times_changes_nothing(spark, two_days, raw):
    """Runs last among the shared-lake tests: it appends runs (and must change nothing else)."""
    lake = two_days
    tables = [*bronze.BY_SOURCE.values(), bronze.QUARANTINE, bronze.INGEST_AUDIT, *silver_contracts.ALL]
    before = _fingerprint(spark, lake, tables)
    for _ in range(3):
        assert ingest.main(["--date", D2, "--raw", str(raw), "--lake", lake]) == 0
        assert silver.main(["--date", D2, "--lake", lake]) == 0
    after = _fingerprint(spark, lake, tables)
    assert before == after
    judgments = _table(spark, lake, silver_contracts.JUDGMENTS)
    assert judgments.count() == judgments.select("judgment_id").distinct().count()


def test_garbage_export_fails_the_gate_and_publishes_nothing(spark, lake, raw, tmp_path):
    assert ingest.main(["--date", D1, "--raw", str(raw), "--lake", lake]) == 0
    version_before = spark.sql(f"DESCRIBE HISTORY delta.`{lake}/bronze/judgments`").first().version
    bad_raw = tmp_path / "bad"
    for source in ("judgments", "tasks", "labelers", "events"):
        src = raw / source / f"dt={D2}"
        dst = bad_raw / source / f"dt={D2}"
        dst.mkdir(parents=True)
        for f in src.glob("*"):
            text = f.read_text()
            if source == "judgments":  # cut every other line in half: ~50% malformed
                text = "\n".join(line[: len(line) // 2] if i % 2 else line
                                 for i, line in enumerate(text.splitlines())) + "\n"
            (dst / f.name).write_text(text)
    assert ingest.main(["--date", D2, "--raw", str(bad_raw), "--lake", lake]) == 2
    assert spark.sql(f"DESCRIBE HISTORY delta.`{lake}/bronze/judgments`").first().version == version_before
    assert _table(spark, lake, bronze.JUDGMENTS).where(F.col("ingest_date") == D2).count() == 0
    run = (spark.read.format("delta").load(f"{lake}/_ops/runs")
           .where(F.col("logical_date") == D2).first())
    assert run.status == "gate_failed" and not run.gate_passed
    assert "max_quarantine_share" in run.error and "nothing was published" in run.error


def test_missing_raw_folder_is_a_clear_error(spark, lake, tmp_path):
    assert ingest.main(["--date", D1, "--raw", str(tmp_path / "nowhere"), "--lake", lake]) == 1
    run = spark.read.format("delta").load(f"{lake}/_ops/runs").first()
    assert run.status == "failed" and "no judgments export" in run.error and "--raw" in run.error
