"""The jobs labelops knows, by name: module, script path (for spark-submit) and daily order.

Light on purpose (no Spark import): the DAG and the CLI read it at parse time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

JOBS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class JobSpec:
    name: str
    module: str
    summary: str
    needs_raw: bool = False

    @property
    def script(self) -> str:
        """Path handed to spark-submit."""
        return str(JOBS_DIR / (self.module.rsplit(".", 1)[1] + ".py"))


JOBS: dict[str, JobSpec] = {
    j.name: j
    for j in (
        JobSpec("ingest", "jobs.ingest", "raw exports -> bronze + quarantine", needs_raw=True),
        JobSpec("silver", "jobs.silver", "bronze -> deduplicated, conformed silver"),
        JobSpec("features", "jobs.build_features", "silver -> daily aggregates + point-in-time feature tables, gated, versioned"),
        JobSpec("confidence", "jobs.confidence", "silver judgments -> task posteriors, labeler confusion, model runs"),
        JobSpec("allocate", "jobs.allocate", "open tasks x labelers -> scored, capacity-matched assignment plan"),
    )
}

# The daily DAG runs these in this order (each after the previous one succeeded).
DAILY = ["ingest", "silver", "features", "confidence", "allocate"]


def get(name: str) -> JobSpec:
    try:
        return JOBS[name]
    except KeyError:
        raise SystemExit(f"unknown job {name!r}; known jobs: {', '.join(JOBS)}") from None
