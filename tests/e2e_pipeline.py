"""The runs that ``test_pipeline_e2e.py`` checks, started when the test session starts.

The pipeline runs in JVMs of its own - one spark-submit per job on day 1, one in-process
``labelops pipeline`` for days 2-3, the broken day 4, a ``labelops tables --json`` after
the good days and after the broken one - and that took 803 of the suite's 1808 s (13.4 of
30.1 min, 2026-12-01) when it ran in turn. The unit tests keep the session's one Spark
mostly driver-bound (user+sys CPU was 0.65 of the 2 cores), so these JVMs, started first,
fill the idle core instead of waiting their turn, and conftest orders the e2e module last
to give them the whole session. The module's fixture only waits for the results: 60 s, and
the suite took 22.1 instead of 26.9 min (same machine, 2026-12-02; docs/runtime.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LABELOPS = [sys.executable, "-m", "jobs.cli"]
DAYS = ["2026-01-05", "2026-01-06", "2026-01-07"]
BROKEN = "2026-01-08"
TIMEOUT_S = 1500


def write_exports(raw: Path) -> None:
    """Four days of exports; day 4's judgments are garbage (most lines cut short)."""
    from experiments.synth import generate

    generate(raw, date(2026, 1, 5), days=4, seed=5, judgments_per_day=3000)
    for f in (raw / "judgments" / f"dt={BROKEN}").glob("*.jsonl"):
        lines = f.read_text().splitlines()
        f.write_text("\n".join(line[: len(line) // 3] if i % 4 else line for i, line in enumerate(lines)) + "\n")


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the run's process group; it may have exited between the check and the kill."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


class PipelineRuns:
    """Generates the exports and runs the days in order in a background thread.

    ``env`` is copied when the run is created (at session start), so a test that patches
    ``os.environ`` meanwhile cannot leak into the pipeline's subprocesses."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.raw, self.lake = root / "raw", root / "lake"
        self._env = dict(env)
        self._results: dict[str, subprocess.CompletedProcess] | None = None
        self._error: BaseException | None = None
        self._procs: list[subprocess.Popen] = []
        self._stopped = False
        self._lock = threading.Lock()  # a subprocess is either started before stop() or not at all
        self._thread = threading.Thread(target=self._run, name="e2e-pipeline", daemon=True)

    def start(self) -> PipelineRuns:
        self._thread.start()
        return self

    def _step(self, *args: str) -> subprocess.CompletedProcess:
        env = {**self._env, "LABELOPS_LOG_LEVEL": "INFO"}
        with self._lock:
            if self._stopped:
                raise RuntimeError("the test session ended before the e2e pipeline ran")
            proc = subprocess.Popen([*LABELOPS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=env, cwd=REPO, start_new_session=True)
            self._procs.append(proc)
        try:
            out, err = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def _run(self) -> None:
        try:
            write_exports(self.raw)
            io = ("--raw", str(self.raw), "--lake", str(self.lake))
            first = self._step("pipeline", "--start", DAYS[0], *io)
            rest = self._step("pipeline", "--start", DAYS[1], "--end", DAYS[-1], *io, "--runner", "in-process")
            good = subprocess.CompletedProcess(first.args, first.returncode or rest.returncode,
                                               first.stdout + rest.stdout, first.stderr + rest.stderr)
            tables_good = self._step("tables", "--lake", str(self.lake), "--json")
            broken = self._step("pipeline", "--start", BROKEN, *io)
            tables_broken = self._step("tables", "--lake", str(self.lake), "--json")
            self._results = {"good": good, "tables_good": tables_good, "broken": broken,
                             "tables_broken": tables_broken}
        except BaseException as exc:  # handed to the test that waits
            self._error = exc

    def results(self) -> dict[str, subprocess.CompletedProcess]:
        """Waits for every run; re-raises what went wrong in the thread.

        Keys: ``good`` (days 1-3, both pipeline runs), ``tables_good``, ``broken`` (day 4),
        ``tables_broken``."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._results is not None
        return self._results

    def stop(self) -> None:
        """At session end: a run nobody waited for (interrupted session) must not outlive it."""
        with self._lock:
            self._stopped = True
            for proc in self._procs:
                if proc.poll() is None:
                    _kill_group(proc)
        self._thread.join(timeout=30)
