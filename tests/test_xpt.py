"""sap.xpt: IBM doubles and text fields by hand, and whole files byte-identical to pyreadstat's own writer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyreadstat
import pytest

import sap.xpt
from sap.datasets import _fix_xpt_stamps, _xpt_frame, read_xpt, write_xpt
from sap.xpt import ibm_doubles, text_bytes

STAMP = dt.date(2015, 6, 30)


@pytest.mark.parametrize(
    "value, expected",
    [
        (1.0, "41 10 00 00 00 00 00 00"),   # 16**1 x 1/16: exponent 64+1 = 0x41, fraction 0x10...
        (-1.0, "c1 10 00 00 00 00 00 00"),  # same with the sign bit: 0x80 | 0x41
        (0.5, "40 80 00 00 00 00 00 00"),   # 16**0 x 8/16
        (16.0, "42 10 00 00 00 00 00 00"),  # 16**2 x 1/16
        (100.0, "42 64 00 00 00 00 00 00"),  # 100 = 0x64 = 16**2 x 0x64/256
        (0.0, "00 00 00 00 00 00 00 00"),
        (-0.0, "00 00 00 00 00 00 00 00"),
        (np.nan, "2e 00 00 00 00 00 00 00"),  # SAS missing "."
        (1e80, "7f ff ff ff ff ff ff ff"),    # beyond 16**63: largest IBM double
        (-np.inf, "ff ff ff ff ff ff ff ff"),
        (1e-80, "00 00 00 00 00 00 00 00"),   # below 16**-65: zero
    ],
)
def test_ibm_doubles_by_hand(value, expected):
    assert ibm_doubles(np.array([value])).tobytes().hex(" ") == expected


def test_text_bytes_pads_with_blanks_and_counts_utf8_bytes():
    values = pa.array(["AB", None, "", "é"], type=pa.large_string())  # é is 2 bytes in UTF-8
    assert [bytes(row) for row in text_bytes(values, 3)] == [b"AB ", b"   ", b"   ", "é".encode() + b" "]


def _pyreadstat_bytes(df: pd.DataFrame, path) -> bytes:
    """The file as pyreadstat writes it from the whole frame (the writer before sap.xpt)."""
    frame, formats = _xpt_frame(df)
    pyreadstat.write_xport(frame, str(path), file_label=df.attrs["label"], column_labels=df.attrs["labels"],
                           table_name=df.attrs["name"], file_format_version=5, variable_format=formats or None)
    _fix_xpt_stamps(path, STAMP)
    return path.read_bytes()


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    text = np.array(["ALANINE AMINOTRANSFERASE", "é-accent", "", "X", None], dtype=object)
    df = pd.DataFrame({
        "USUBJID": pd.Series([f"IL2-{i:05d}" for i in range(rows)], dtype="str"),
        "PARAM": pd.Series(text[rng.integers(0, len(text), rows)], dtype="str"),
        "AVAL": rng.normal(0, 1e3, rows) * rng.choice([1, 0, np.nan, 1e-90, 1e90], rows),
        "SEQ": np.arange(1, rows + 1, dtype="int64"),
        "FLAG": rng.integers(0, 2, rows).astype(bool),
        "ADT": pd.Series(pd.to_datetime("2013-08-01") + pd.to_timedelta(rng.integers(-4000, 400, rows), unit="D")).astype("datetime64[s]")
               .where(rng.random(rows) > 0.2),
        "DTHDT": pd.Series(pd.NaT, index=range(rows), dtype="datetime64[s]"),  # missing throughout
        "EMPTY": pd.Series(np.nan, index=range(rows), dtype="str"),
        "OBJ": pd.Series([i if i % 3 else None for i in range(rows)], dtype=object),
    })
    df.attrs = {"name": "ADXX", "label": "Test dataset", "labels": {c: f"{c} label" for c in df.columns}}
    return df


@pytest.mark.parametrize("rows", [0, 1, 7, 250])
def test_write_xpt_is_byte_identical_to_pyreadstat(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(sap.xpt, "ROWS_PER_BLOCK", 3)  # several blocks, the last one partial
    df = _frame(rows)
    expected = _pyreadstat_bytes(df, tmp_path / "expected.xpt")
    assert write_xpt(df, tmp_path / "adxx.xpt", STAMP).read_bytes() == expected


def test_write_xpt_reads_back(tmp_path):
    df = _frame(20).drop(columns=["DTHDT"])  # pyreadstat cannot read its own all-missing date column back
    back = read_xpt(write_xpt(df, tmp_path / "adxx.xpt", STAMP))
    assert back["USUBJID"].tolist() == df["USUBJID"].tolist()
    np.testing.assert_array_equal(back["SEQ"].to_numpy(), np.arange(1, 21))
    assert back["ADT"].isna().tolist() == df["ADT"].isna().tolist()
