"""An HTML page that says what a lake holds and how its runs went, with plots.

Reads only small things (the run table, the ingest audit, quarantine counts by
reason, table versions) and links everything else: GX Data Docs, the stage
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
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from jobs import delta_io  # noqa: E402
from jobs.catalog import describe_tables  # noqa: E402
from jobs.lake import Lake  # noqa: E402
from jobs.runs import code_version  # noqa: E402
from schemas import bronze, ops  # noqa: E402

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

    docs = Path(lake.quality_root or "") / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    extra = sorted(p for p in out.rglob("*") if p.suffix in (".png", ".html") and p.name != "index.html"
                   and p.name not in ("quarantine_by_reason.png", "job_durations.png"))
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
