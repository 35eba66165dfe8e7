"""The QC stage works by subject partition: in partitions of seven subjects it writes the same report and
results as in one partition (the 40-subject twin), the QC datasets have the same values, and a defect planted
in a later partition is found and counted as in a whole run."""

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sap.datasets import read_dataset, write_parquet
from sap.errors import ValidationFailed
from validation.qc.stage import run_stage as run_qc


@pytest.fixture(scope="module")
def twin(tmp_path_factory, copy_of_twin_run):
    return copy_of_twin_run(tmp_path_factory.mktemp("qc_partitions") / "twin")


def test_partitions_of_seven_subjects_give_the_same_qc(twin, tmp_path):
    whole = run_qc(twin)  # 40 subjects: one partition
    whole_dir = tmp_path / "whole"
    twin.folder("qc").rename(whole_dir)
    parts = run_qc(twin, batch_subjects=7)  # 6 partitions (5 x 7 + 5)
    assert parts == whole and whole["mismatches"] == 0 and whole["values compared"] > 10_000
    for name in ("qc_report.md", "qc_results.json", "srirates_qc.parquet"):
        assert (whole_dir / name).read_bytes() == (twin.folder("qc") / name).read_bytes(), name
    for name in ("adsl", "adqs", "adrs", "adae"):
        path = twin.folder("qc") / f"{name}_qc.parquet"
        assert pq.ParquetFile(path).num_row_groups == 6, name
        a, b = pq.read_table(whole_dir / path.name), pq.read_table(path)
        assert a.schema.equals(b.schema, check_metadata=True) and a.equals(b), name
    assert not list(twin.folder("qc").glob(".*"))  # the partition scratch files are gone


def test_a_defect_in_a_later_partition_is_found_and_counted(twin, tmp_path):
    adsl_path = twin.folder("adam") / "adsl.parquet"
    original = adsl_path.read_bytes()
    adsl = read_dataset(adsl_path)
    # the last two subjects (sorted USUBJID: the sixth partition of seven) get another CUMDOSE
    last = adsl.sort_values("USUBJID").index[-2:]
    adsl.loc[last, "CUMDOSE"] = adsl.loc[last, "CUMDOSE"] + 1.0
    write_parquet(adsl, adsl_path)
    try:
        with pytest.raises(ValidationFailed) as caught:
            run_qc(twin, batch_subjects=7)
    finally:
        adsl_path.write_bytes(original)
    lines = [line for line in caught.value.lines() if "CUMDOSE" in line]
    assert len(lines) == 1 and lines[0].startswith("QC ADSL") and "2 of 40 value(s) differ" in lines[0]
    shown = sorted(adsl.loc[last, "USUBJID"])[0]
    assert shown in lines[0]
    results = pd.read_json(twin.folder("qc") / "qc_results.json", typ="series")
    assert results["status"] == "FAIL"
