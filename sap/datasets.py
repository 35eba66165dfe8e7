"""Dataset files: parquet with labels in the schema metadata, SAS transport v5 (XPT), and CSV.

Writes are byte-reproducible: parquet carries no timestamps, and the XPT header's creation and modification
stamps (which pyreadstat sets to the wall clock) are replaced with a date taken from the plan.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat

from sap.errors import Problem, SapError
from sap.specs import DatasetSpec
from sap.xpt import CHARACTER, NUMERIC, header_length, header_variables, text_byte_lengths, write_observations

LABEL_KEY = b"label"
DATASET_LABEL_KEY = b"dataset_label"
DATASET_NAME_KEY = b"dataset_name"
_XPT_STAMP = re.compile(rb"\d{2}[A-Z]{3}\d{2}:\d{2}:\d{2}:\d{2}")
_XPT_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD"


def labelled_table(df: pd.DataFrame, default_name: str = "") -> pa.Table:
    """The Arrow table of a frame with the dataset name and label and each variable label (from
    `df.attrs`) in the schema metadata."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    labels = df.attrs.get("labels", {})
    fields = [
        field.with_metadata({LABEL_KEY: labels[field.name].encode()}) if field.name in labels else field
        for field in table.schema
    ]
    metadata = dict(table.schema.metadata or {})
    metadata[DATASET_NAME_KEY] = str(df.attrs.get("name", default_name)).encode()
    metadata[DATASET_LABEL_KEY] = str(df.attrs.get("label", "")).encode()
    return table.cast(pa.schema(fields, metadata=metadata))


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Parquet with the dataset label and each variable label in the schema metadata (from `df.attrs`)."""
    pq.write_table(labelled_table(df, path.stem.upper()), path, compression="zstd")
    return path


def parquet_attrs(path: Path, schema: pa.Schema | None = None) -> dict:
    """Dataset name, dataset label and variable labels of a parquet dataset, from its schema alone (the
    `attrs` that `read_parquet` attaches)."""
    schema = schema if schema is not None else pq.read_schema(path)
    meta = schema.metadata or {}
    return {
        "name": meta.get(DATASET_NAME_KEY, path.stem.upper().encode()).decode(),
        "label": meta.get(DATASET_LABEL_KEY, b"").decode(),
        "labels": {f.name: f.metadata[LABEL_KEY].decode() for f in schema if f.metadata and LABEL_KEY in f.metadata},
    }


def read_parquet(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    df = table.to_pandas()
    df.attrs = parquet_attrs(path, table.schema)
    return df


def _xpt_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """pyreadstat wants datetime.date objects for SAS dates, and missing text as empty strings."""
    out = {}
    formats = {}
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            # a date column with no value at all must still be numeric: pyreadstat would type [None] as text
            out[name] = pd.Series(np.nan, index=col.index) if col.isna().all() else [None if pd.isna(v) else v.date() for v in col]
            formats[name] = "DATE9."
        elif pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            out[name] = col.astype("float64")
        else:
            out[name] = col.astype(object).where(col.notna(), "").astype(str)
    return pd.DataFrame(out, columns=list(df.columns)), formats


def write_xpt(df: pd.DataFrame, path: Path, stamp: dt.date) -> Path:
    """SAS transport v5 with variable labels and the dataset label; header stamps set to `stamp`.

    pyreadstat writes the header from a one-row frame of each column's widest value (so it sets the same
    types, widths, labels and formats as for the whole frame); the observations are then encoded by
    `sap.xpt` with numpy, byte for byte as pyreadstat writes them, but in seconds for millions of rows."""
    name = str(df.attrs.get("name", path.stem.upper()))
    labels = df.attrs.get("labels", {})
    columns, header_row = _xpt_columns(df)
    frame, formats = _xpt_frame(header_row)
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=str(df.attrs.get("label", "")),
        column_labels={c: labels.get(c) for c in df.columns},
        table_name=name,
        file_format_version=5,
        variable_format=formats or None,
    )
    _fix_xpt_stamps(path, stamp)
    if df.empty:
        return path
    data = path.read_bytes()
    header_end = header_length(data)
    columns = _as_declared(columns, header_variables(data, len(df.columns)), df, path)
    with path.open("wb") as handle:
        handle.write(data[:header_end])
        write_observations(handle, columns, len(df), header_end)
    return path


def _xpt_columns(df: pd.DataFrame) -> tuple[list[tuple[str, object, int]], pd.DataFrame]:
    """Each column as `sap.xpt.write_observations` takes it, typed as `_xpt_frame` types it for pyreadstat
    (dates -> SAS days since 1960-01-01; numbers, booleans -> float64; anything else -> text, missing =
    blank, width = longest UTF-8 value, at least 1 byte), and the one-row frame for the header: each text
    column's longest value, each other column's first non-missing value."""
    columns, picks = [], {}
    for name in df.columns:
        col = df[name]
        pick = int(col.notna().to_numpy().argmax()) if len(col) else 0
        if pd.api.types.is_datetime64_any_dtype(col):
            days = col.to_numpy().astype("datetime64[D]")
            numbers = (days - np.datetime64("1960-01-01", "D")).astype("int64").astype("float64")
            columns.append(("number", np.where(np.isnat(days), np.nan, numbers), 8))
        elif pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            columns.append(("number", col.astype("float64").to_numpy(), 8))
        else:
            text = col if isinstance(col.dtype, pd.StringDtype) else col.astype(object).where(col.notna(), "").astype(str)
            values = pa.array(text, type=pa.large_string(), from_pandas=True)
            lengths = text_byte_lengths(values)
            pick = int(lengths.argmax()) if len(lengths) else 0
            columns.append(("text", values, max(1, int(lengths.max(initial=0)))))
        picks[name] = col.iloc[pick:pick + 1].reset_index(drop=True)
    return columns, (pd.DataFrame(picks, columns=df.columns) if len(df) else df)


def _as_declared(columns: list[tuple[str, object, int]], declared: list[tuple[int, int]], df: pd.DataFrame,
                 path: Path) -> list[tuple[str, object, int]]:
    """The encoded columns checked against the header pyreadstat wrote. pyreadstat declares a date column
    that is missing throughout as 1-byte text (it cannot tell its type from no values), so such a column is
    written as blanks of that width, exactly as pyreadstat writes it; any other disagreement is a bug here."""
    checked = []
    for name, (kind, values, width), (ntype, length) in zip(df.columns, columns, declared):
        if ntype == CHARACTER and kind == "number" and df[name].isna().all():
            checked.append(("text", pa.nulls(len(df), pa.large_string()), length))
        elif (ntype, length) != ((NUMERIC, 8) if kind == "number" else (CHARACTER, width)):
            raise AssertionError(f"{path}: {name} declared type {ntype} width {length}, encoded {kind} width {width}")
        else:
            checked.append((kind, values, width))
    return checked


def _fix_xpt_stamps(path: Path, stamp: dt.date) -> None:
    data = path.read_bytes()
    end = data.find(_XPT_OBS_HEADER)
    end = len(data) if end < 0 else end
    fixed = stamp.strftime("%d%b%y").upper().encode() + b":00:00:00"
    path.write_bytes(_XPT_STAMP.sub(fixed, data[:end]) + data[end:])


def read_xpt(path: Path) -> pd.DataFrame:
    """Read XPT with pyreadstat (labels) and return text columns with missing values as NaN. Files are read
    as UTF-8; a file that is not valid UTF-8 (older SAS sessions wrote Windows-1252, as the CDISC pilot's
    ts.xpt) is read as Windows-1252 instead."""
    try:
        df, meta = pyreadstat.read_xport(str(path))
    except (pyreadstat.ReadstatError, UnicodeDecodeError):
        df, meta = pyreadstat.read_xport(str(path), encoding="cp1252")
    for name in df.columns:
        if df[name].dtype == object or pd.api.types.is_string_dtype(df[name]):
            df[name] = df[name].replace("", np.nan)
    df.attrs = {
        "name": (meta.table_name or path.stem).upper(),
        "label": meta.file_label or "",
        "labels": {k: v for k, v in zip(meta.column_names, meta.column_labels) if v},
    }
    return df


def read_dataset(path: str | Path) -> pd.DataFrame:
    """Read parquet, XPT or CSV by extension; a missing or unreadable file is a one-line SapError."""
    path = Path(path)
    if not path.exists():
        raise SapError(Problem(str(path), "file not found"))
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return read_parquet(path)
        if suffix == ".xpt":
            return read_xpt(path)
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            df.attrs = {"name": path.stem.upper(), "label": "", "labels": {}}
            return df
    except (OSError, ValueError, pa.ArrowException, pyreadstat.ReadstatError) as exc:
        raise SapError(Problem(str(path), f"cannot read: {exc}".splitlines()[0])) from None
    raise SapError(Problem(str(path), "unknown dataset format (expected .parquet, .xpt or .csv)"))


def find_datasets(folder: Path) -> dict[str, Path]:
    """Datasets in a folder by upper-case name; parquet preferred over XPT over CSV for the same name."""
    found: dict[str, Path] = {}
    for suffix in (".csv", ".xpt", ".parquet"):
        for path in sorted(folder.glob(f"*{suffix}")):
            found[path.stem.upper()] = path
    return dict(sorted(found.items()))


def write_dataset(df: pd.DataFrame, folder: Path, stamp: dt.date, spec: DatasetSpec | None = None) -> list[Path]:
    """Write `<name>.parquet` and `<name>.xpt` (lower-case name) into `folder`."""
    if spec is not None and "name" not in df.attrs:
        df.attrs = {"name": spec.name, "label": spec.label, "labels": spec.labels}
    stem = str(df.attrs["name"]).lower()
    folder.mkdir(parents=True, exist_ok=True)
    return [write_parquet(df, folder / f"{stem}.parquet"), write_xpt(df, folder / f"{stem}.xpt", stamp)]


def write_json(obj: object, path: Path) -> Path:
    """Deterministic JSON (sorted keys, two-space indent, trailing newline)."""
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path
