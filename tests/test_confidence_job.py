"""End to end: jobs/confidence.py on a small silver table, and `labelops aggregate` on files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.crowd_sim import make_crowd, simulate
from jobs import delta_io
from jobs.cli import main as cli_main
from jobs.confidence import main as confidence_main
from jobs.lake import Lake
from schemas import silver
from schemas.confidence import LABELER_CONFUSION, MODEL_RUNS, TASK_POSTERIORS
from schemas.reference import QUEUES

DAY = dt.date(2026, 1, 5)
QUEUE_NAMES = ("sentiment", "spam")


def silver_rows(seed: int = 0) -> list[tuple]:
    """Submitted judgments on two queues over two days, 20% gold tasks, plus dirt: a skipped
    judgment, a label outside the queue's classes, a re-answer."""
    rows = []
    base = dt.datetime(2026, 1, 4, 9)
    jid = 0
    for qi, queue in enumerate(QUEUE_NAMES):
        classes = np.array(QUEUES[queue].labels)
        crowd = make_crowd(n_workers=8, k=len(classes), seed=seed + qi)
        j = simulate(crowd, n_tasks=60, min_labels=2, max_labels=4, seed=seed + 5 + qi)
        for t, w, y in zip(j.task, j.worker, j.label, strict=True):
            jid += 1
            is_gold = bool(t % 5 == 0)
            ts = base + dt.timedelta(hours=int(jid % 30))  # Jan 4 09:00 .. Jan 5 14:00
            rows.append((f"j{jid}", f"{queue}-{t}", f"lab{w}", queue, "submitted", str(classes[y]), ts, ts, ts,
                         30.0, is_gold, str(classes[j.truth[t]]) if is_gold else None, None, "1.0", ts,
                         ts.date(), ts.date(), False))
    ts = base + dt.timedelta(hours=30)
    rows.append(("jx1", "spam-1", "lab1", "spam", "skipped", None, ts, None, None, None, False, None, None,
                 "1.0", ts, ts.date(), ts.date(), False))
    rows.append(("jx2", "spam-2", "lab2", "spam", "submitted", "eggs", ts, ts, ts, 5.0, False, None, None,
                 "1.0", ts, ts.date(), ts.date(), False))
    return rows


def write_silver(spark, lake: str, rows: list[tuple]) -> None:
    df = spark.createDataFrame(rows, silver.JUDGMENTS.schema)
    (df.write.format("delta").mode("overwrite").partitionBy(*silver.JUDGMENTS.partition_by)
       .save(Lake.from_arg(lake).path(silver.JUDGMENTS)))


def read_table(spark, lake: str, contract):
    path = Lake.from_arg(lake).path(contract)
    return delta_io.read_version(spark, path, delta_io.latest_version(spark, path))


def test_confidence_job_end_to_end(spark, lake):
    rows = silver_rows()
    write_silver(spark, lake, rows)
    args = ["--date", DAY.isoformat(), "--lake", lake, "--methods", "ds,mv", "--max-iter", "5",
            "--threshold", "0.9", "--max-labels", "spam=3"]
    assert confidence_main(args) == 0

    post = read_table(spark, lake, TASK_POSTERIORS).where(f"as_of_date = '{DAY}'").toPandas()
    n_tasks = 120
    assert len(post) == 2 * n_tasks  # every task, for both methods
    assert set(post["method"]) == {"ds", "mv"}
    assert np.allclose(post["posterior"].map(sum), 1.0)
    assert (post["confidence"] >= 1 / post["n_classes"] - 1e-9).all()
    spam = post[post["queue"] == "spam"]
    assert set(spam["max_labels"]) == {3}
    assert not (spam["needs_more_labels"] & (spam["n_labels"] >= 3)).any()
    assert (post["needs_more_labels"] == ((post["confidence"] < 0.9) & (post["n_labels"] < post["max_labels"]))).all()
    assert post["gold_label"].notna().sum() == 2 * 24  # tasks 0, 5, ..., 55 of each queue

    conf = read_table(spark, lake, LABELER_CONFUSION).toPandas()
    assert set(conf["method"]) == {"ds"}                      # majority vote has no confusion model
    assert len(conf) == conf[["labeler_id", "queue"]].drop_duplicates().shape[0]
    sentiment = conf[conf["queue"] == "sentiment"].iloc[0]
    assert len(sentiment["confusion"]) == 3 and all(len(r) == 3 for r in sentiment["confusion"])
    judged = sum(1 for r in rows if r[4] == "submitted" and r[5] in QUEUES[r[3]].labels)
    assert conf["n_judgments"].sum() == judged

    runs = read_table(spark, lake, MODEL_RUNS).toPandas()
    assert len(runs) == 4  # (ds, mv) x two queues
    ds = runs[runs["method"] == "ds"]
    assert (ds["iterations"] <= 5).all() and (ds["log_likelihood_history"].map(len) == ds["iterations"]).all()
    assert ds["n_gold"].sum() == 24 and ds["ece"].between(0, 1).all()
    png = Path(ds["reliability_png"].iloc[0])
    assert png.exists() and png.stat().st_size > 1000
    calibration = json.loads((png.parent / "calibration_ds.json").read_text())
    assert calibration["n_gold"] == 24

    # A rerun rewrites exactly that date: with majority vote only, nothing of the first run is left.
    assert confidence_main(["--date", DAY.isoformat(), "--lake", lake, "--methods", "mv"]) == 0
    again = read_table(spark, lake, TASK_POSTERIORS).where(f"as_of_date = '{DAY}'")
    assert again.count() == n_tasks and {r.method for r in again.select("method").distinct().collect()} == {"mv"}
    assert read_table(spark, lake, MODEL_RUNS).count() == 2


def test_confidence_job_on_a_day_without_judgments_publishes_empty_partitions(spark, lake):
    write_silver(spark, lake, silver_rows())
    assert confidence_main(["--date", "2026-03-01", "--lake", lake, "--window-days", "7"]) == 0
    for contract in (TASK_POSTERIORS, LABELER_CONFUSION, MODEL_RUNS):
        assert read_table(spark, lake, contract).count() == 0


def _write_files(tmp_path: Path) -> tuple[Path, Path]:
    crowd = make_crowd(n_workers=10, k=3, seed=2)
    j = simulate(crowd, n_tasks=200, labels_per_task=3, seed=3)
    labels = tmp_path / "labels.csv"
    gold = tmp_path / "gold.csv"
    pd.DataFrame({"task": j.task, "worker": j.worker, "label": j.label}).to_csv(labels, index=False)
    pd.DataFrame({"task": np.arange(0, 200, 2), "label": j.truth[::2]}).to_csv(gold, index=False)
    return labels, gold


def test_aggregate_command_json(tmp_path, capsys):
    labels, gold = _write_files(tmp_path)
    out = tmp_path / "posteriors.csv"
    assert cli_main(["aggregate", "--labels", str(labels), "--gold", str(gold), "--method", "ds",
                     "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"method", "n_labels", "n_tasks", "n_workers", "accuracy", "n_gold", "ece", "iterations",
            "seconds"} <= set(summary)
    assert summary["method"] == "ds" and summary["engine"] == "local"
    assert (summary["n_labels"], summary["n_tasks"], summary["n_gold"]) == (600, 200, 100)
    assert summary["accuracy"] > 0.85
    posteriors = pd.read_csv(out)
    assert list(posteriors.columns[:5]) == ["task", "label", "confidence", "entropy", "n_labels"]
    assert np.allclose(posteriors[["p_0", "p_1", "p_2"]].sum(axis=1), 1.0)

    assert cli_main(["aggregate", "--labels", str(labels), "--method", "mv", "--json"]) == 0
    no_gold = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "accuracy" not in no_gold and no_gold["iterations"] == 0


def test_aggregate_command_errors_are_clear(tmp_path, capsys):
    labels, _ = _write_files(tmp_path)
    bad_gold = tmp_path / "bad_gold.csv"
    bad_gold.write_text("task,label\n0,7\n")
    assert cli_main(["aggregate", "--labels", str(labels), "--gold", str(bad_gold), "--method", "ds"]) == 2
    assert "gold labels ['7'] are not among the judgments' labels" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("task,worker,label\n")
    assert cli_main(["aggregate", "--labels", str(empty), "--method", "ds"]) == 2
    assert "no judgments" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["ds"])
def test_aggregate_spark_engine_agrees_with_local(spark, tmp_path, capsys, method):
    labels, gold = _write_files(tmp_path)
    results = {}
    for engine in ("local", "spark"):
        out = tmp_path / f"post_{engine}.csv"
        assert cli_main(["aggregate", "--labels", str(labels), "--gold", str(gold), "--method", method,
                         "--engine", engine, "--max-iter", "5", "--tol", "0", "--out", str(out), "--json"]) == 0
        results[engine] = (json.loads(capsys.readouterr().out.strip().splitlines()[-1]),
                           pd.read_csv(out).sort_values("task").reset_index(drop=True))
    (local, local_post), (remote, remote_post) = results["local"], results["spark"]
    assert remote["engine"] == "spark" and remote["iterations"] == local["iterations"] == 5
    assert remote["accuracy"] == local["accuracy"] and remote["ece"] == pytest.approx(local["ece"])
    assert remote["log_likelihood"] == pytest.approx(local["log_likelihood"], rel=1e-10)
    pd.testing.assert_frame_equal(local_post, remote_post, check_exact=False, atol=1e-9)
