"""Where the per-subject-partition derivations run: in this process (`local`, the default) or on Apache Spark
(`sap run --engine spark --master URL`).

A partitioned derivation is a function `derive(ids) -> DataFrame` over a sorted array of subject ids (the
ADaM BDS datasets of `adam.stage`: every derivation works within a subject). `LocalEngine` calls it for one
partition after the other. `SparkEngine` hands Spark one row per (partition, subject) and runs
`groupBy("PARTITION").applyInPandas(...)`: each Spark task receives the subjects of one partition, calls the
same `derive` (the package imported on the executor, unchanged) and writes the partition's rows to
`<scratch>/<partition>.parquet`; the driver then reads the partitions back in order and writes the dataset
exactly as the local engine does (`sap.batches.write_dataset_batches`), so both engines give the same files.

On a cluster the output folder must be on a file system every executor sees (NFS or similar), the
executors need this package and its dependencies installed (`PYSPARK_PYTHON` names their Python), and Java
(17 or later, what pyspark needs) must be on each machine. In local mode (`--master local[2]`) the
executors are Python processes of this machine started from this interpreter.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from sap.errors import Problem, SapError

ENGINES = ("local", "spark")
DEFAULT_MASTER = "local[2]"

Derive = Callable[[np.ndarray], pd.DataFrame]


class LocalEngine:
    """Partitions derived one after the other in this process."""

    name = "local"

    def run_partitions(self, derive: Derive, partitions: list[np.ndarray], scratch: Path) -> Iterator[pd.DataFrame]:
        for ids in partitions:
            yield derive(ids)


def java_available() -> bool:
    """Whether a Java runtime is reachable (JAVA_HOME or `java` on PATH): pyspark starts a JVM."""
    home = os.environ.get("JAVA_HOME")
    return bool((home and Path(home, "bin", "java").exists()) or shutil.which("java"))


class SparkEngine:
    """Partitions derived as Spark tasks (`groupBy(...).applyInPandas`), one task per partition."""

    name = "spark"

    def __init__(self, master: str = DEFAULT_MASTER):
        self.master = master
        self._session = None

    def session(self):
        """The Spark session (started at first use: a JVM takes seconds to start)."""
        if self._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise SapError(Problem("--engine spark", "pyspark is not installed (pip install -e '.[spark]')")) from None
            if not java_available():
                raise SapError(Problem("--engine spark", "no Java runtime found (install Java 17+, set JAVA_HOME)"))
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter in local mode
            builder = (SparkSession.builder.master(self.master).appName("sap")
                       .config("spark.ui.enabled", "false")
                       .config("spark.sql.session.timeZone", "UTC")
                       .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
            if self.master.startswith("local"):
                builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
            self._session = builder.getOrCreate()
            self._session.sparkContext.setLogLevel("ERROR")
        return self._session

    def run_partitions(self, derive: Derive, partitions: list[np.ndarray], scratch: Path) -> Iterator[pd.DataFrame]:
        from sap.datasets import read_parquet, write_parquet

        scratch.mkdir(parents=True, exist_ok=True)
        subjects = pd.DataFrame({
            "PARTITION": np.repeat(np.arange(len(partitions), dtype="int64"), [len(ids) for ids in partitions]),
            "USUBJID": np.concatenate([np.asarray(ids, dtype=object) for ids in partitions]) if partitions else [],
        })
        target = str(scratch)

        def task(rows: pd.DataFrame) -> pd.DataFrame:  # runs on an executor
            number = int(rows["PARTITION"].iloc[0])
            derived = derive(np.sort(rows["USUBJID"].to_numpy(dtype=str)))
            write_parquet(derived, Path(target) / f"{number:05d}.parquet")
            return pd.DataFrame({"PARTITION": [number], "ROWS": [len(derived)]})

        empty = [number for number, ids in enumerate(partitions) if len(ids) == 0]
        if len(subjects):
            spark = self.session()
            frame = spark.createDataFrame(subjects.astype({"USUBJID": "object"}), "PARTITION long, USUBJID string")
            frame.repartition(max(1, len(partitions)), "PARTITION").groupBy("PARTITION").applyInPandas(
                task, "PARTITION long, ROWS long").collect()
        try:
            for number, ids in enumerate(partitions):
                if number in empty:  # a partition without subjects (a study without any): derived here
                    yield derive(ids)
                    continue
                path = scratch / f"{number:05d}.parquet"
                frame = _as_derived(read_parquet(path), path)
                path.unlink()
                yield frame
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None


def _as_derived(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A partition read back with the dtypes its derivation gave it: parquet has no seconds unit, so a
    datetime64[s] column comes back as datetime64[ms]; the pandas metadata of the file records the original."""
    import pyarrow.parquet as pq

    recorded = {c["name"]: c["numpy_type"] for c in (pq.read_schema(path).pandas_metadata or {}).get("columns", [])}
    changed = {name: recorded[name] for name in frame.columns
               if str(frame[name].dtype).startswith("datetime64") and recorded.get(name, "").startswith("datetime64")
               and recorded[name] != str(frame[name].dtype)}
    if not changed:
        return frame
    out = frame.astype(changed)
    out.attrs = frame.attrs
    return out


def make_engine(name: str = "local", master: str | None = None):
    """The engine named on the command line (`--engine`, `--master`)."""
    if name == "local":
        if master:
            raise SapError(Problem("--master", "only with --engine spark", value=master))
        return LocalEngine()
    if name == "spark":
        return SparkEngine(master or DEFAULT_MASTER)
    raise SapError(Problem("--engine", f"unknown engine (engines: {', '.join(ENGINES)})", value=name))
