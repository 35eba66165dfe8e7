"""Dataset files: parquet and XPT keep values and labels; XPT bytes are reproducible; pandas reads our XPT."""

import datetime as dt

import pandas as pd
import pyreadstat
import pytest

from sap.datasets import read_dataset, write_dataset


def _frame():
    df = pd.DataFrame(
        {
            "USUBJID": ["S-01-001", "S-01-002"],
            "AGE": [31, 45],
            "TRTSDT": pd.to_datetime(["2013-08-05", None]).astype("datetime64[s]"),
            "AVAL": [1.25, None],
            "NOTE": ["言", None],
        }
    )
    df.attrs = {"name": "ADXX", "label": "Test Dataset", "labels": {"USUBJID": "Unique Subject Identifier", "AGE": "Age",
                "TRTSDT": "Date of First Exposure to Treatment", "AVAL": "Analysis Value", "NOTE": "Note"}}
    return df


def test_parquet_round_trip_keeps_labels(tmp_path):
    write_dataset(_frame(), tmp_path, dt.date(2015, 10, 31))
    back = read_dataset(tmp_path / "adxx.parquet")
    assert back.attrs["label"] == "Test Dataset"
    assert back.attrs["labels"]["TRTSDT"] == "Date of First Exposure to Treatment"
    assert back["AGE"].tolist() == [31, 45]
    assert back["TRTSDT"].iloc[0] == pd.Timestamp("2013-08-05") and pd.isna(back["TRTSDT"].iloc[1])


def test_xpt_reads_back_with_pandas_and_labels(tmp_path):
    write_dataset(_frame(), tmp_path, dt.date(2015, 10, 31))
    path = tmp_path / "adxx.xpt"
    by_pandas = pd.read_sas(path, format="xport", encoding="utf-8")
    assert by_pandas["USUBJID"].tolist() == ["S-01-001", "S-01-002"]
    assert by_pandas["AGE"].tolist() == [31.0, 45.0]
    # SAS dates are days since 1960-01-01: 2013-08-05 is day 19575 (53 x 365 + 14 leap days (1960-2012) + 216 days into 2013)
    assert by_pandas["TRTSDT"].iloc[0] in (19575.0, pd.Timestamp("2013-08-05"))
    _, meta = pyreadstat.read_xport(str(path))
    assert dict(zip(meta.column_names, meta.column_labels))["AVAL"] == "Analysis Value"
    assert meta.table_name == "ADXX" and meta.file_label == "Test Dataset"


def test_xpt_bytes_are_reproducible_and_stamped_with_plan_date(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_dataset(_frame(), a, dt.date(2015, 10, 31))
    write_dataset(_frame(), b, dt.date(2015, 10, 31))
    first = (a / "adxx.xpt").read_bytes()
    assert first == (b / "adxx.xpt").read_bytes()
    assert (a / "adxx.parquet").read_bytes() == (b / "adxx.parquet").read_bytes()
    assert b"31OCT15:00:00:00" in first[:800]


def test_windows_1252_xpt_is_read(tmp_path):
    # Older SAS sessions wrote Windows-1252: the CDISC pilot's ts.xpt holds this TSVAL with a right single
    # quote stored as the one byte 0x92 (not valid UTF-8). Write the text with a one-byte stand-in for the
    # quote, then put the cp1252 byte in its place (same length, so the XPT layout is unchanged).
    text = "Patients with Probable Mild to Moderate Alzheimer\u2019s Disease"
    df = pd.DataFrame({"TSPARMCD": ["INDIC", "TITLE"], "TSVAL": [text.replace("\u2019", "|"), "plain ASCII"]})
    df.attrs = {"name": "TS", "label": "Trial Summary", "labels": {"TSPARMCD": "Trial Summary Parameter Short Name",
                "TSVAL": "Parameter Value"}}
    write_dataset(df, tmp_path, dt.date(2015, 10, 31))
    path = tmp_path / "ts.xpt"
    data = path.read_bytes()
    assert data.count(b"|") == 1
    path.write_bytes(data.replace(b"|", b"\x92"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    ts = read_dataset(path)
    assert ts["TSVAL"].tolist() == [text, "plain ASCII"]
    assert ts.attrs["labels"]["TSVAL"] == "Parameter Value"


def test_date_column_without_any_value_stays_numeric(tmp_path):
    # ADSL.DTHDT is empty when nobody died: it must be a numeric SAS date column, readable by pyreadstat
    df = _frame()
    df["DTHDT"] = pd.Series([pd.NaT, pd.NaT], dtype="datetime64[s]")
    df.attrs["labels"]["DTHDT"] = "Date of Death"
    write_dataset(df, tmp_path, dt.date(2015, 10, 31))
    back, meta = pyreadstat.read_xport(str(tmp_path / "adxx.xpt"))
    assert back["DTHDT"].isna().all()
    assert meta.readstat_variable_types["DTHDT"] == "double"
    assert meta.original_variable_types["DTHDT"] == "DATE9."  # pyreadstat >= 1.3 reports the format with its period
