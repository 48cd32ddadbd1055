"""Fetch Delta Lake's JVM jars from Maven Central and say where they are.

Why a folder of jars and not ``spark.jars.packages``: Ivy resolution at every
session start costs seconds and needs the network; a fixed folder, filled once by
Maven, works offline, is shipped to executors by ``spark.jars`` and is the same on
a laptop and on a cluster driver.

The Maven coordinates follow the pinned pip packages (``delta-spark`` version,
``pyspark`` major.minor), so there is one place to bump a version: pyproject.toml.
Jars that Spark already ships (Hadoop, Jackson, Parquet, Scala, ...) are dropped
from the closure so the classpath holds exactly one copy of each library.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

SCALA_BINARY = "2.13"
JARS_DIR_ENV = "LABELOPS_JARS_DIR"
DEFAULT_JARS_DIR = Path(__file__).resolve().parent / "jars"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>labelops</groupId>
  <artifactId>labelops-delta-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.delta</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


class DeltaJarsMissing(RuntimeError):
    """Raised when a Spark session is asked for but the Delta jars were never fetched."""


def delta_coordinates() -> tuple[str, str]:
    """(artifactId, version) of the Delta jar matching the installed pip packages."""
    spark_mm = ".".join(version("pyspark").split(".")[:2])
    return f"delta-spark_{spark_mm}_{SCALA_BINARY}", version("delta-spark")


def jars_dir() -> Path:
    return Path(os.environ.get(JARS_DIR_ENV, DEFAULT_JARS_DIR))


def _artifact_name(jar: str) -> str:
    """'jackson-core-2.13.5.jar' -> 'jackson-core' (strip version and extension)."""
    return re.sub(r"-\d[\w.\-]*\.jar$", "", jar)


def _spark_shipped_artifacts() -> set[str]:
    import pyspark

    spark_jars = Path(pyspark.__file__).resolve().parent / "jars"
    return {_artifact_name(p.name) for p in spark_jars.glob("*.jar")}


def jar_paths() -> list[str]:
    """Absolute paths of the Delta jars, or a DeltaJarsMissing that says what to run."""
    folder = jars_dir()
    artifact, ver = delta_coordinates()
    main_jar = folder / f"{artifact}-{ver}.jar"
    if not main_jar.exists():
        raise DeltaJarsMissing(
            f"Delta jar {main_jar.name} is not in {folder}. Run `make jars` "
            f"(or `python -m infra.delta_jars`) once; it fetches io.delta:{artifact}:{ver} "
            f"and its dependencies from Maven Central into that folder."
        )
    return sorted(str(p) for p in folder.glob("*.jar"))


def fetch(dest: Path | None = None) -> list[Path]:
    """Resolve the Delta closure with Maven and keep the jars Spark does not ship."""
    dest = dest or jars_dir()
    artifact, ver = delta_coordinates()
    if (dest / f"{artifact}-{ver}.jar").exists():
        return sorted(dest.glob("*.jar"))
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SystemExit("Maven (`mvn`) is not on PATH: it is needed once to fetch the Delta jars.")
    with tempfile.TemporaryDirectory(prefix="labelops-jars-") as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_POM.format(artifact=artifact, version=ver))
        out = Path(tmp) / "closure"
        cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
               f"-DoutputDirectory={out}", "-DincludeScope=runtime"]
        print(f"[infra] fetching io.delta:{artifact}:{ver} with Maven ...", flush=True)
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(
                f"Maven could not fetch io.delta:{artifact}:{ver}:\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}"
            )
        shipped = _spark_shipped_artifacts()
        dest.mkdir(parents=True, exist_ok=True)
        kept = []
        for jar in sorted(out.glob("*.jar")):
            if _artifact_name(jar.name) in shipped:
                continue
            shutil.copy2(jar, dest / jar.name)
            kept.append(dest / jar.name)
    print(f"[infra] {len(kept)} jars in {dest}: " + ", ".join(p.name for p in kept), flush=True)
    return kept


SPARK_DEFAULTS_FILE = Path(__file__).resolve().parent / "spark-defaults.conf"


SUBMIT_TIME_KEYS = ("spark.sql.session.timeZone", "spark.sql.execution.arrow.pyspark.enabled",
                    "spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions",
                    "spark.ui.showConsoleProgress")


def write_spark_defaults(jars: list[str], dest: Path = SPARK_DEFAULTS_FILE) -> Path:
    """A properties file for hand-written spark-submit commands: Delta jars + confs + UTC."""
    from infra.spark_defaults import DELTA_CONF, SMALL_MACHINE_CONF

    lines = ["# written by `make jars` (python -m infra.delta_jars); pass with --properties-file",
             f"spark.jars {','.join(jars)}"]
    lines += [f"{k} {v}" for k, v in DELTA_CONF.items()]
    lines += [f"spark.pyspark.python {sys.executable}", f"spark.pyspark.driver.python {sys.executable}"]
    # What must hold from JVM start (JVM options) or before the job's session is built; the
    # job's build_spark applies the rest of SMALL_MACHINE_CONF itself.
    lines += [f"{k} {SMALL_MACHINE_CONF[k]}" for k in SUBMIT_TIME_KEYS]
    dest.write_text("\n".join(lines) + "\n")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help=f"folder (default {DEFAULT_JARS_DIR})")
    parser.add_argument("--print", action="store_true", help="print the jar paths and exit")
    args = parser.parse_args(argv)
    if args.print:
        print("\n".join(jar_paths()))
        return 0
    fetch(args.dest)
    conf = write_spark_defaults(jar_paths())
    print(f"[infra] spark-submit properties: {conf}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
