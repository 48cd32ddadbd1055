"""An HTML page that says what a lake holds and how its runs went, with plots.

Reads only small things (the run table, the ingest audit, quarantine counts by
reason, the plans' overall figures, table versions) and links everything else: GX Data Docs, the stage
reports (PNG/HTML) that jobs leave under ``<lake>/_reports``.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from pyspark.sql import DataFrame, SparkSession, Window  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from jobs import delta_io  # noqa: E402
from jobs.catalog import describe_tables  # noqa: E402
from jobs.lake import Lake  # noqa: E402
from jobs.runs import code_version  # noqa: E402
from schemas import allocation, bronze, ops  # noqa: E402

log = logging.getLogger("labelops.report")


def _read(spark: SparkSession, lake: Lake, contract):
    path = lake.path(contract)
    version = delta_io.latest_version(spark, path)
    return None if version is None else delta_io.read_version(spark, path, version)


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _plot_quarantine(pdf, out: Path) -> Path | None:
    if pdf.empty:
        return None
    pivot = pdf.pivot_table(index="ingest_date", columns="reason", values="n", aggfunc="sum", fill_value=0)
    ax = pivot.plot(kind="bar", stacked=True, figsize=(9, 4), colormap="tab20")
    ax.set_title("Quarantined lines per day, by reason")
    ax.set_xlabel("ingest date")
    ax.set_ylabel("lines")
    ax.legend(fontsize=7, ncol=2)
    plt.tight_layout()
    path = out / "quarantine_by_reason.png"
    plt.savefig(path, dpi=110)
    plt.close("all")
    return path


def _plot_durations(pdf, out: Path) -> Path | None:
    if pdf.empty:
        return None
    pivot = pdf.pivot_table(index="logical_date", columns="job", values="duration_s", aggfunc="max")
    ax = pivot.plot(kind="bar", figsize=(9, 4))
    ax.set_title("Job wall time per logical date (latest successful run)")
    ax.set_ylabel("seconds")
    plt.tight_layout()
    path = out / "job_durations.png"
    plt.savefig(path, dpi=110)
    plt.close("all")
    return path


PLAN_SUMMARY_COLUMNS = ("plan_date", "policy", "assigned", "demand_labels", "mean_expected_accuracy",
                        "cost_per_label", "on_time_share", "filled_share", "greedy_gap", "strategy", "pairs")


def plan_summary(plan_metrics: DataFrame) -> DataFrame:
    """The overall ("_all") rows of ``allocation.plan_metrics``: one per plan date and policy
    (the plan, and the random baseline on the same pairs and capacities), newest first."""
    return (plan_metrics.where(F.col("queue") == "_all")
            .select(*PLAN_SUMMARY_COLUMNS)
            .orderBy(F.desc("plan_date"), "policy"))


def plan_bounds(runs: DataFrame) -> DataFrame:
    """``(plan_date, top_k)`` of the latest successful allocate run per logical date: the candidate
    bound that shaped that day's plan (a run parameter since 2026-12-06; null for older runs)."""
    latest = Window.partitionBy("logical_date").orderBy(F.desc("started_at"), F.desc("run_id"))
    return (runs.where((F.col("job") == "allocate") & (F.col("status") == "success"))
            .withColumn("_n", F.row_number().over(latest)).where(F.col("_n") == 1)
            .select(F.col("logical_date").alias("plan_date"),
                    F.col("metrics").getItem("allocation.top_k").cast("int").alias("top_k")))


def _plot_plans(pdf, out: Path) -> Path | None:
    """Expected accuracy and cost per label of each day's plan next to the random baseline."""
    if pdf.empty:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, column, title in ((axes[0], "mean_expected_accuracy", "Mean expected accuracy per label"),
                              (axes[1], "cost_per_label", "Expected cost per label (USD)")):
        pivot = pdf.pivot_table(index="plan_date", columns="policy", values=column, aggfunc="first")
        pivot.plot(ax=ax, marker="o")
        ax.set_title(title)
        ax.set_xlabel("plan date")
        ax.tick_params(axis="x", labelrotation=30)
    plt.tight_layout()
    path = out / "allocation_plans.png"
    fig.savefig(path, dpi=110)
    plt.close("all")
    return path


def _fmt(value, spec: str) -> str:
    return "-" if value is None or value != value else format(value, spec)  # None and NaN read "-"


def _allocation_section(spark: SparkSession, lake: Lake, runs: DataFrame | None, out: Path) -> str | None:
    metrics = _read(spark, lake, allocation.PLAN_METRICS)
    if metrics is None:
        return None
    summary = plan_summary(metrics)
    summary = (summary.join(plan_bounds(runs), on="plan_date", how="left") if runs is not None
               else summary.withColumn("top_k", F.lit(None).cast("int")))
    pdf = summary.orderBy(F.desc("plan_date"), "policy").toPandas()  # two rows per plan date
    pdf["plan_date"] = pdf["plan_date"].astype(str)
    png = _plot_plans(pdf, out)
    rows = [[r.plan_date, r.policy, f"{r.assigned:,} / {r.demand_labels:,}", _fmt(r.mean_expected_accuracy, ".4f"),
             _fmt(r.cost_per_label, ".4f"), _fmt(r.on_time_share, ".3f"), _fmt(r.filled_share, ".3f"),
             _fmt(r.greedy_gap, ".4f"), r.strategy, _fmt(r.pairs, ",.0f"), _fmt(r.top_k, ".0f")]
            for r in pdf.itertuples()]
    return ("<h2>Allocation plans</h2><p>Each day's plan (<code>policy</code>) and a random assignment of the "
            "same candidate pairs under the same capacities (<code>random</code>): expected figures from "
            "<code>allocation.plan_metrics</code>, all queues, with the candidate pairs both chose from and the "
            "bound that made them (at most <code>top_k</code> labelers per task; the allocate run's "
            "<code>allocation.top_k</code> in <code>_ops/runs</code>). A day without open tasks or people has no row.</p>"
            + (f'<img src="{png.name}">' if png else "")
            + _table(["plan date", "policy", "labels assigned / needed", "mean expected accuracy",
                      "cost per label (USD)", "on-time share", "filled share", "greedy gap", "strategy",
                      "candidate pairs", "top_k"], rows))


def build_report(spark: SparkSession, lake: Lake) -> Path:
    """Write ``<lake>/_reports/index.html`` (local lakes) and return its path."""
    out = Path(lake.reports_root)
    out.mkdir(parents=True, exist_ok=True)
    sections: list[str] = []

    tables = describe_tables(spark, lake)
    sections.append("<h2>Tables</h2>" + _table(
        ["layer", "table", "Delta version", "rows", "path"],
        [[t["layer"], t["name"], "-" if t["version"] is None else t["version"],
          "-" if t["rows"] is None else f"{t['rows']:,}", t["path"]] for t in tables]))

    audit = _read(spark, lake, bronze.INGEST_AUDIT)
    if audit is not None:
        rows = audit.orderBy("ingest_date", "source").collect()
        sections.append("<h2>Ingest reconciliation</h2><p>Every raw line is a bronze row or a quarantine row.</p>"
                        + _table(["ingest date", "source", "files", "lines", "bronze", "quarantined", "share",
                                  "reconciled", "schema drift"],
                                 [[r.ingest_date, r.source, r.files, f"{r.lines:,}", f"{r.bronze_rows:,}",
                                   f"{r.quarantined_rows:,}", f"{r.quarantine_share:.2%}", r.reconciled,
                                   ", ".join(r.extra_fields + [f"-{m}" for m in r.missing_columns])] for r in rows]))
    quarantine = _read(spark, lake, bronze.QUARANTINE)
    if quarantine is not None:
        by_reason = (quarantine.groupBy(F.date_format("ingest_date", "yyyy-MM-dd").alias("ingest_date"), "reason")
                     .agg(F.count("*").alias("n")).toPandas())
        png = _plot_quarantine(by_reason, out)
        samples = (quarantine.groupBy("source", "reason")
                   .agg(F.count("*").alias("n"), F.first(F.concat_ws(":", "source_file", "line_number")).alias("at"),
                        F.first("detail").alias("detail"))
                   .orderBy(F.desc("n")).limit(30).collect())
        sections.append("<h2>Quarantine</h2>" + (f'<img src="{png.name}">' if png else "")
                        + _table(["source", "reason", "lines", "example at", "example detail"],
                                 [[r.source, r.reason, f"{r.n:,}", r.at, r.detail[:160]] for r in samples]))

    runs = _read(spark, lake, ops.RUNS)
    if runs is not None:
        latest = runs.orderBy(F.desc("started_at")).limit(40).collect()
        ok = runs.where(F.col("status") == "success").select(
            F.date_format("logical_date", "yyyy-MM-dd").alias("logical_date"), "job", "duration_s").toPandas()
        png = _plot_durations(ok, out)
        sections.append("<h2>Runs (latest 40)</h2>" + (f'<img src="{png.name}">' if png else "")
                        + _table(["started", "job", "logical date", "status", "seconds", "gate", "outputs (Delta versions)",
                                  "code"],
                                 [[r.started_at.strftime("%Y-%m-%d %H:%M:%S"), r.job, r.logical_date, r.status,
                                   f"{r.duration_s:.0f}", "pass" if r.gate_passed else ("-" if r.gate_passed is None else "FAIL"),
                                   ", ".join(f"{k}@{v}" for k, v in sorted(r.outputs.items())), r.code_version]
                                  for r in latest]))

    plans = _allocation_section(spark, lake, runs, out)  # the run table read above, once
    if plans is not None:
        sections.append(plans)

    docs = Path(lake.quality_root or "") / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    extra = sorted(p for p in out.rglob("*") if p.suffix in (".png", ".html") and p.name != "index.html"
                   and p.name not in ("quarantine_by_reason.png", "job_durations.png", "allocation_plans.png"))
    links = [f'<li><a href="{docs.as_uri()}">Great Expectations Data Docs</a> (every gate run)</li>'] if docs.exists() else []
    links += [f'<li><a href="{p.relative_to(out).as_posix()}">{html.escape(p.relative_to(out).as_posix())}</a></li>'
              for p in extra]
    images = "".join(f'<figure><img src="{p.relative_to(out).as_posix()}"><figcaption>'
                     f'{html.escape(p.relative_to(out).as_posix())}</figcaption></figure>'
                     for p in extra if p.suffix == ".png")
    sections.append("<h2>Quality and stage reports</h2><ul>" + "".join(links) + "</ul>" + images)

    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>labelops report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}} th{{background:#f3f3f3}}
img{{max-width:100%;margin:1em 0}} figure{{display:inline-block;max-width:48%;margin:0.5em}}</style></head>
<body><h1>labelops</h1><p>lake <code>{html.escape(lake.root)}</code> &middot; generated
{datetime.now(UTC):%Y-%m-%d %H:%M UTC} &middot; code {html.escape(code_version())}</p>{''.join(sections)}</body></html>"""
    index = out / "index.html"
    index.write_text(page)
    log.info("report: %s", index)
    return index
