"""A Spark standalone cluster on this machine (master + one worker), for trying the jobs
exactly as they run on a real cluster: ``spark-submit --master spark://127.0.0.1:7077``.

    python -m infra.local_cluster up      # or: make cluster-up
    python -m infra.local_cluster down    # or: make cluster-down

Uses ``spark-class`` from the pyspark wheel (it has no sbin scripts). Logs and pids
live in ``.spark-cluster/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATE = REPO / ".spark-cluster"
HOST, PORT, UI_PORT = "127.0.0.1", 7077, 8080
MASTER_URL = f"spark://{HOST}:{PORT}"


def _spark_home() -> str:
    import pyspark

    return str(Path(pyspark.__file__).resolve().parent)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("SPARK_HOME", _spark_home())
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env["SPARK_LOG_DIR"] = str(STATE)
    return env


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def _start(name: str, args: list[str]) -> None:
    STATE.mkdir(exist_ok=True)
    spark_class = str(Path(_spark_home()) / "bin" / "spark-class")
    with open(STATE / f"{name}.log", "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([spark_class, *args], stdout=log, stderr=subprocess.STDOUT, env=_env(),
                                start_new_session=True)
    (STATE / f"{name}.pid").write_text(str(proc.pid))


def up(cores: int = 2, memory: str = "4g", timeout: float = 60) -> str:
    if _port_open(PORT):
        print(f"[cluster] master already up at {MASTER_URL}")
        return MASTER_URL
    _start("master", ["org.apache.spark.deploy.master.Master", "--host", HOST, "--port", str(PORT),
                      "--webui-port", str(UI_PORT)])
    deadline = time.monotonic() + timeout
    while not _port_open(PORT):
        if time.monotonic() > deadline:
            raise SystemExit(f"Spark master did not open {MASTER_URL} in {timeout}s; see {STATE/'master.log'}")
        time.sleep(0.5)
    _start("worker", ["org.apache.spark.deploy.worker.Worker", MASTER_URL, "--cores", str(cores),
                      "--memory", memory, "--host", HOST])
    time.sleep(3)
    print(f"[cluster] master {MASTER_URL} (UI http://{HOST}:{UI_PORT}), worker {cores} cores / {memory}; "
          f"logs in {STATE}")
    return MASTER_URL


def down() -> None:
    for name in ("worker", "master"):
        pid_file = STATE / f"{name}.pid"
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(pid, signal.SIGTERM)
        pid_file.unlink()
        print(f"[cluster] stopped {name} (pid {pid})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--memory", default="4g")
    args = parser.parse_args(argv)
    if args.action == "up":
        up(args.cores, args.memory)
    else:
        down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
