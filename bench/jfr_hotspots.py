"""Where the JVM spends a run: execution samples of a Java Flight Recording, by kind of work.

Record any labelops run (a job, a bench script, the tests) with the JDK's own profiler, then
summarise it:

    JDK_JAVA_OPTIONS="-XX:StartFlightRecording=filename=/tmp/run.jfr,settings=profile" \\
        .venv/bin/python bench/feature_steps.py --lake L --date 2026-01-11 --rounds 2
    .venv/bin/python bench/jfr_hotspots.py /tmp/run.jfr

Counts the ``jdk.ExecutionSample`` events of Spark's task threads (``Executor task launch
worker``) whose stack holds each marker below - interpreted higher-order functions, Spark 4.2's
per-value ``SQLConf.get``, object aggregation (``collect_list``), the in-memory cache's column
compression, ... - as shares of all task-thread samples; a sample can hold several markers.
Last line: one JSON object. Needs the ``jfr`` tool of the JDK on PATH.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter

MARKERS: dict[str, tuple[str, ...]] = {
    "higher-order functions (interpreted)": ("ArrayAggregate", "MapZipWith", "ArrayTransform", "ArrayFilter",
                                             "MapFilter"),
    "SQLConf.get per value (Spark 4.2 types framework)": ("TypeOps$.apply",),
    "System.getenv": ("ProcessEnvironment",),
    "object aggregation (collect_list & co)": ("ObjectAggregationIterator",),
    "in-memory cache column compression": ("CompressibleColumnBuilder",),
    "map lookups (interpreted)": ("GetMapValue",),
    "sorts": ("UnsafeExternalSorter", "UnsafeExternalRowSorter"),
    "window functions": ("WindowExec", "WindowEvaluatorFactory"),
    "Python UDF / Arrow I/O": ("PythonRunner", "BatchedPythonArrowInput", "ArrowWriter"),
    "Parquet": ("org.apache.parquet",),
    "Delta": ("io.delta", "org.apache.spark.sql.delta"),
    "code generation (Janino)": ("org.codehaus.janino",),
}
TASK_THREAD = "Executor task launch worker"


def samples(recording: str) -> list[tuple[str, list[str]]]:
    """(thread name, stack frames) of every execution sample, via ``jfr print``."""
    text = subprocess.run(["jfr", "print", "--events", "jdk.ExecutionSample", "--stack-depth", "96", recording],
                          check=True, capture_output=True, text=True).stdout
    out = []
    for event in text.split("jdk.ExecutionSample {")[1:]:
        thread = re.search(r'sampledThread = "([^"]*)"', event)
        out.append((thread.group(1) if thread else "", re.findall(r"^\s+([\w$.<>]+)\(", event, re.M)))
    return out


def hotspots(events: list[tuple[str, list[str]]]) -> dict[str, object]:
    tasks = [frames for thread, frames in events if thread.startswith(TASK_THREAD)]
    counts: Counter[str] = Counter()
    for frames in tasks:
        stack = "\n".join(frames)
        for name, keys in MARKERS.items():
            if any(k in stack for k in keys):
                counts[name] += 1
    n = max(len(tasks), 1)
    return {"samples": len(events), "task_thread_samples": len(tasks),
            "share_of_task_samples": {name: round(counts[name] / n, 3) for name in MARKERS}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recording", help="a .jfr file")
    args = p.parse_args(argv)
    figures = hotspots(samples(args.recording))
    for name, share in sorted(figures["share_of_task_samples"].items(), key=lambda kv: -kv[1]):  # type: ignore[union-attr]
        print(f"{share:6.1%}  {name}", file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
