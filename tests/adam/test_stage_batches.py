"""The ADaM stage derived in small batches of subjects writes the same datasets as in one batch (the 40-subject
twin: XPT files byte for byte, parquet files the same schema, labels and values)."""

import pyarrow.parquet as pq
import pytest

from adam.stage import run_stage as run_adam


@pytest.fixture(scope="module")
def twin(tmp_path_factory, copy_of_twin_run):
    return copy_of_twin_run(tmp_path_factory.mktemp("adam_batches") / "twin")


def test_batches_of_seven_subjects_give_the_same_datasets(twin, tmp_path):
    whole = run_adam(twin)  # 40 subjects: one batch
    whole_dir = tmp_path / "whole"
    twin.folder("adam").rename(whole_dir)
    batched = run_adam(twin, batch_subjects=7)  # 40 subjects: 6 batches (5 x 7 + 5)
    assert batched == whole
    for name in ("adlb", "adqs", "adrs"):
        assert pq.ParquetFile(twin.folder("adam") / f"{name}.parquet").num_row_groups == 6
        a, b = pq.read_table(whole_dir / f"{name}.parquet"), pq.read_table(twin.folder("adam") / f"{name}.parquet")
        assert a.schema.equals(b.schema, check_metadata=True) and a.equals(b), name
    for path in sorted(whole_dir.glob("*.xpt")):
        assert path.read_bytes() == (twin.folder("adam") / path.name).read_bytes(), path.name
