"""The sdtm stage with LB and QS built in small batches of subjects writes the same domains and reconciliation
as in one batch: parquet the same schema, labels and values; XPT and CSV files byte for byte."""

import pyarrow.parquet as pq
import pytest

from sap.pipeline import make_context
from sdtm.stage import run_stage
from tests.sdtm.raw_extract import write_extract


def _same_folders(whole_dir, batched_dir):
    for path in sorted(whole_dir.glob("*.parquet")):
        a, b = pq.read_table(path), pq.read_table(batched_dir / path.name)
        assert a.schema.equals(b.schema, check_metadata=True) and a.equals(b), path.name
    for path in sorted([*whole_dir.glob("*.xpt"), *whole_dir.glob("*.csv")]):
        assert path.read_bytes() == (batched_dir / path.name).read_bytes(), path.name


def test_a_batch_without_records_is_left_out(tmp_path):
    # hand-made extract: DM subjects 001 and 002; only 001 has lab and questionnaire rows, so with one subject
    # per batch the batch of 002 has no row to build: LB and QS are written from 001's batch alone
    raw = write_extract(tmp_path / "raw")
    whole_ctx = make_context(out=tmp_path / "whole", raw=raw, log=lambda line: None)
    batched_ctx = make_context(out=tmp_path / "batched", raw=raw, log=lambda line: None)
    whole = run_stage(whole_ctx)
    batched = run_stage(batched_ctx, batch_subjects=1)
    assert batched == whole
    assert pq.ParquetFile(batched_ctx.folder("sdtm") / "lb.parquet").num_row_groups == 1
    _same_folders(whole_ctx.folder("sdtm"), batched_ctx.folder("sdtm"))


def test_batches_of_seven_twin_subjects_give_the_same_domains(tmp_path, copy_of_twin_run):
    ctx = copy_of_twin_run(tmp_path / "twin")  # the twin's raw extract (and its SDTM, rebuilt here)
    tmp_path = tmp_path / "twin"
    whole = run_stage(ctx)  # 40 subjects: one batch
    whole_dir = tmp_path / "whole_sdtm"
    ctx.folder("sdtm").rename(whole_dir)
    batched = run_stage(ctx, batch_subjects=7)  # 40 subjects: 6 batches (5 x 7 + 5)
    assert batched == whole
    assert pq.ParquetFile(ctx.folder("sdtm") / "qs.parquet").num_row_groups == 6
    _same_folders(whole_dir, ctx.folder("sdtm"))
