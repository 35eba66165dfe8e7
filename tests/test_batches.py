"""sap.batches: subject batches, and datasets written in batches give the same files as one whole write."""

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sap.batches import subject_batches, write_dataset_batches
from sap.datasets import read_dataset, write_dataset
from sap.xpt import CHARACTER, NUMERIC, header_variables

STAMP = dt.date(2026, 11, 1)
ATTRS = {"name": "ADXX", "label": "Batched test", "labels": {"USUBJID": "Subject", "ASEQ": "Sequence",
                                                                 "TEXT": "Text", "ADT": "Date"}}


def _frame(usubjid, aseq, text, adt) -> pd.DataFrame:
    df = pd.DataFrame({"USUBJID": pd.Series(usubjid, dtype="str"), "ASEQ": aseq,
                       "TEXT": pd.Series(text, dtype="str"), "ADT": pd.Series(pd.to_datetime(adt), dtype="datetime64[s]")})
    df.attrs = dict(ATTRS)
    return df


def test_subject_batches_are_sorted_consecutive_slices():
    # distinct ids C, A, B (missing dropped) sorted -> A, B, C; slices of 2 -> [A, B], [C]
    batches = subject_batches(pd.Series(["C", "A", "B", "A", np.nan], dtype="str"), 2)
    assert [list(b) for b in batches] == [["A", "B"], ["C"]]
    assert [list(b) for b in subject_batches(pd.Series([], dtype="str"), 2)] == [[]]
    with pytest.raises(ValueError, match="batch size must be at least 1 subject, not 0"):
        subject_batches(pd.Series(["A"]), 0)


def test_one_batch_is_the_unbatched_write(tmp_path):
    df = _frame(["A", "A"], [1, 2], ["x", "yy"], ["2014-01-02", None])
    write_dataset(df, tmp_path / "whole", STAMP)
    assert write_dataset_batches([df], tmp_path / "batched", STAMP) == 2
    for name in ("adxx.parquet", "adxx.xpt"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "batched" / name).read_bytes()


def test_batches_take_the_type_and_width_of_the_whole_column(tmp_path):
    # batch 1: ASEQ has no missing value -> int64; batch 2 has one -> float64. The whole column has a missing
    # value, so `sap.specs._cast` would type it float64: every batch is written float64.
    first = _frame(["A", "A"], [1, 2], ["x", None], ["2014-01-02", None])
    second = _frame(["B", "C"], [1.0, np.nan], ["longest", "yy"], [None, "2014-03-04"])
    assert first["ASEQ"].dtype == "int64" and second["ASEQ"].dtype == "float64"
    folder = tmp_path / "batched"
    folder.mkdir()
    assert write_dataset_batches([first, second], folder, STAMP) == 4
    assert not list(folder.glob(".*")), "scratch files are removed"

    back = read_dataset(folder / "adxx.parquet")
    assert back["ASEQ"].dtype == "float64"
    assert back["ASEQ"].tolist()[:3] == [1.0, 2.0, 1.0] and np.isnan(back["ASEQ"].iloc[3])
    assert back["USUBJID"].tolist() == ["A", "A", "B", "C"]
    assert back.attrs == ATTRS
    assert pq.read_schema(folder / "adxx.parquet").field("ASEQ").metadata[b"label"] == b"Sequence"

    # XPT: TEXT is 7 bytes wide ("longest" in batch 2; batch 1's widest is 1 byte); the others numeric
    header = (folder / "adxx.xpt").read_bytes()
    assert header_variables(header, 4) == [(CHARACTER, 1), (NUMERIC, 8), (CHARACTER, 7), (NUMERIC, 8)]
    # the rows are 1 + 8 + 7 + 8 = 24 bytes: 4 rows = 96 bytes, padded to 2 records of 80 after the header
    whole = pd.concat([first, second], ignore_index=True)
    whole.attrs = dict(ATTRS)
    write_dataset(whole, tmp_path / "whole", STAMP)
    assert (tmp_path / "whole" / "adxx.xpt").read_bytes() == (folder / "adxx.xpt").read_bytes()
    # after the OBS header record: the 4 rows (96 bytes), then blank padding to the end of the second record
    observations = header[header.index(b"HEADER RECORD*******OBS     HEADER RECORD") + 80:]
    assert len(observations) == 160
    assert observations[96:] == b" " * 64
    # row 3 (subject B) starts at byte 2 x 24 = 48: USUBJID 1 byte, ASEQ 8, then TEXT "longest" at 57-63
    assert observations[48:49] == b"B" and observations[57:64] == b"longest"
