"""The ADaM BDS derivations run unchanged on Apache Spark (pyspark local mode, `groupBy(...).applyInPandas`
over subject partitions) and give the same files as this process; a GX suite runs on a Spark DataFrame
through GX's Spark data source with the same outcomes as on pandas. Skipped only without a Java runtime."""

import hashlib

import pytest

from sap.engine import java_available

pytestmark = pytest.mark.skipif(not java_available(), reason="no Java runtime (JAVA_HOME or java on PATH): pyspark needs Java 17+")

SUBJECTS = 240
PARTITION = 64  # 4 partitions: 3 x 64 + 48


@pytest.fixture(scope="module")
def spark_engine():
    from sap.engine import SparkEngine

    engine = SparkEngine("local[2]")
    engine.session()
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    from sap.pipeline import make_context, run_stage

    out = tmp_path_factory.mktemp("spark_twin")
    ctx = make_context(out=out, subjects=SUBJECTS, log=lambda line: None)
    for stage in ("simulate", "sdtm"):
        run_stage(ctx, stage)
    return ctx


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_adam_on_spark_gives_the_same_files_as_one_machine(twin, spark_engine, tmp_path, monkeypatch):
    import sap.engine
    from adam.stage import run_stage as run_adam

    local = run_adam(twin, batch_subjects=PARTITION)
    local_files = _digests(twin.folder("adam"))
    twin.folder("adam").rename(tmp_path / "local")
    calls = []
    real = sap.engine.SparkEngine.run_partitions

    def counted(self, derive, partitions, scratch):
        calls.append(len(partitions))
        yield from real(self, derive, partitions, scratch)

    monkeypatch.setattr(sap.engine.SparkEngine, "run_partitions", counted)
    monkeypatch.setattr(sap.engine, "SparkEngine", lambda master: spark_engine)  # one JVM for the module
    twin.engine, twin.master = "spark", "local[2]"
    try:
        on_spark = run_adam(twin, batch_subjects=PARTITION)
    finally:
        twin.engine, twin.master = "local", None
    assert calls == [4, 4, 4]  # ADLB, ADQS, ADRS each as four Spark tasks
    assert on_spark == local and local["adlb"] > SUBJECTS * 10
    assert _digests(twin.folder("adam")) == local_files
    assert {"adsl.xpt", "adlb.xpt", "adqs.parquet", "adrs.parquet"} <= set(local_files)


def test_a_gx_suite_on_a_spark_dataframe_has_the_same_outcomes_as_on_pandas(twin, spark_engine):
    from sap.datasets import read_dataset
    from validation.engine import GxRunner
    from validation.stage import plan_dataset
    from validation.engine import run_planned

    dm = read_dataset(twin.folder("sdtm") / "dm.parquet")
    planned, keys = plan_dataset("DM", dm)
    gx_planned = [p for p in planned if p.gx is not None]
    assert len(gx_planned) > 20
    on_pandas = run_planned("DM", dm, gx_planned, keys, GxRunner())
    spark_runner = GxRunner(spark=spark_engine.session())
    on_spark = run_planned("DM", dm, gx_planned, keys, spark_runner)
    assert [o.as_dict() for o in on_spark] == [o.as_dict() for o in on_pandas]
    assert all(o.success for o in on_pandas)
    # a planted defect fails the same expectation on both
    bad = dm.copy()
    bad.loc[3, "SEX"] = "X"
    failed_pandas = [o for o in run_planned("DM", bad, gx_planned, keys, GxRunner()) if not o.success]
    failed_spark = [o for o in run_planned("DM", bad, gx_planned, keys, spark_runner) if not o.success]
    assert [(o.rule, o.column, o.unexpected_count) for o in failed_spark] == [(o.rule, o.column, o.unexpected_count) for o in failed_pandas]
    assert [(o.rule, o.column) for o in failed_pandas] == [("codelist", "SEX")]
