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
    # Jobs whose published tables this one reads: its upstream tasks in the daily DAG.
    after: tuple[str, ...] = ()
    # DAG params the task passes on as ``--<param> {{ params.<param> }}`` (``_`` -> ``-``).
    dag_params: tuple[str, ...] = ()

    @property
    def script(self) -> str:
        """Path handed to spark-submit."""
        return str(JOBS_DIR / (self.module.rsplit(".", 1)[1] + ".py"))


JOBS: dict[str, JobSpec] = {
    j.name: j
    for j in (
        JobSpec("ingest", "jobs.ingest", "raw exports -> bronze + quarantine", needs_raw=True),
        JobSpec("silver", "jobs.silver", "bronze -> deduplicated, conformed silver", after=("ingest",)),
        JobSpec("features", "jobs.build_features", "silver -> daily aggregates + point-in-time feature tables, gated, versioned",
                after=("silver",)),
        JobSpec("confidence", "jobs.confidence", "silver judgments -> task posteriors, labeler confusion, model runs",
                after=("silver",)),
        JobSpec("allocate", "jobs.allocate", "open tasks x labelers -> scored, capacity-matched assignment plan",
                after=("features", "confidence"), dag_params=("top_k",)),
    )
}

# The daily DAG's jobs, in an order that respects every ``after``: each job runs once the jobs
# it reads from succeeded, so features and confidence (both read silver only) can run side by
# side where the executor has room, and a failed gate stops only what reads its tables.
DAILY = ["ingest", "silver", "features", "confidence", "allocate"]


def daily_upstreams(name: str, chained: bool = False) -> tuple[str, ...]:
    """The upstream tasks of ``name`` in the daily DAG: the jobs it reads from, or with ``chained``
    (one warm in-process session runs a task at a time anyway) the job before it in ``DAILY``,
    so that every day runs its jobs in the same order."""
    if chained:
        return tuple(DAILY[:DAILY.index(name)][-1:])
    return get(name).after


def get(name: str) -> JobSpec:
    try:
        return JOBS[name]
    except KeyError:
        raise SystemExit(f"unknown job {name!r}; known jobs: {', '.join(JOBS)}") from None
