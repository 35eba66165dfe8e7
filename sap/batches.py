"""Datasets derived in batches of whole subjects and written as one file, for twins of 100,000 subjects.

The wide BDS datasets (SDTM LB/QS, ADaM ADLB/ADQS/ADRS) take several gigabytes each at 100,000 subjects.
Every one of their derivations works within a subject (sequence numbers, baseline, windows, flags), so they
can be derived for a slice of subjects at a time - contiguous in USUBJID order, so the concatenated rows keep
the order of the unbatched derivation - and only one slice is held in memory.

`write_dataset_batches` writes such slices as one `<name>.parquet` and one `<name>.xpt`, with the same
content as `sap.datasets.write_dataset` on the concatenated frame:
- a single batch is written by `write_dataset` itself (byte-identical to the unbatched path);
- with several batches, each conformed batch goes to a scratch parquet file first, because two things of
  the written file depend on all the rows: a spec `integer` column is int64 only when no batch has a missing
  value (`sap.specs._cast`; otherwise every batch is written as float64), and each XPT text variable's width
  is its longest value over all batches. The scratch files are then copied into one parquet file (one row
  group per batch at most; values identical) and one XPT file (byte-identical to the unbatched one).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sap.datasets import (
    _as_declared,
    _xpt_columns,
    labelled_table,
    parquet_attrs,
    read_parquet,
    write_dataset,
    write_parquet,
    write_xpt,
)
from sap.xpt import header_length, header_variables, write_observations

DEFAULT_BATCH_SUBJECTS = 10_000  # subjects derived at a time (ADaM peak ~3 GB at 10,000); a trial below it is one batch


def subject_batches(subjects: pd.Series, size: int = DEFAULT_BATCH_SUBJECTS) -> list[np.ndarray]:
    """The distinct subject ids in sorted order, cut into consecutive slices of at most `size` ids (at
    least one slice, possibly empty, so that a dataset with no subjects is still written)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1 subject, not {size}")
    ids = np.sort(pd.unique(subjects.dropna().astype(str)))
    return [ids[start:start + size] for start in range(0, len(ids), size)] or [ids]


def read_subjects(path: Path, subjects: np.ndarray, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of a parquet dataset whose USUBJID is in `subjects`, in file order, with the labels;
    `columns`: only those (the ones the file has, in the given order)."""
    if columns is not None:
        present = set(pq.read_schema(path).names)
        columns = [c for c in columns if c in present]
    table = pq.read_table(path, columns=columns, filters=[("USUBJID", "in", list(subjects))])
    full = parquet_attrs(path)
    df = table.to_pandas()
    df.attrs = full
    return df


def _common_dtypes(dtypes: list[pd.Series]) -> dict[str, object]:
    """One dtype per column over all batches: int64 in some batches and float64 in others (an integer
    variable with missing values in some batch) is float64, as `sap.specs._cast` types the whole column."""
    common = {}
    for name in dtypes[0].index:
        seen = {str(d[name]) for d in dtypes}
        if len(seen) == 1:
            common[name] = dtypes[0][name]
        elif seen == {"int64", "float64"}:
            common[name] = np.dtype("float64")
        else:
            raise AssertionError(f"{name}: batches have different types {sorted(seen)}")
    return common


def _conformed(df: pd.DataFrame, dtypes: dict[str, object]) -> pd.DataFrame:
    changed = {name: dtype for name, dtype in dtypes.items() if df[name].dtype != dtype}
    out = df.astype(changed) if changed else df
    out.attrs = df.attrs
    return out


def write_dataset_batches(batches: Iterable[pd.DataFrame], folder: Path, stamp: dt.date) -> int:
    """Write conformed batches of one dataset (same columns and attrs, rows in output order) as
    `<name>.parquet` and `<name>.xpt`; returns the number of rows. See the module docstring."""
    iterator = iter(batches)
    first = next(iterator)
    second = next(iterator, None)
    if second is None:  # one batch: exactly the unbatched write
        write_dataset(first, folder, stamp)
        return len(first)
    stem = str(first.attrs["name"]).lower()
    scratch = folder / f".{stem}.batches"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        paths, dtypes, picks = [], [], None
        for number, batch in enumerate(_chain(first, second, iterator)):
            paths.append(write_parquet(batch, scratch / f"{number:05d}.parquet"))
            dtypes.append(batch.dtypes)
            picks = _widest(picks, batch)
            del batch
        del first, second
        common = _common_dtypes(dtypes)
        return _copy_batches(paths, _conformed(picks, common), common, folder / f"{stem}.parquet", folder / f"{stem}.xpt", stamp)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _chain(first: pd.DataFrame, second: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield first
    yield second
    yield from rest


def _widest(picks: pd.DataFrame | None, batch: pd.DataFrame) -> pd.DataFrame:
    """The one-row frame from which pyreadstat writes the XPT header, over the batches so far: each text
    column's longest value (the first of that length), each other column's first non-missing value - what
    `sap.datasets._xpt_columns` picks from the whole frame."""
    columns, row = _xpt_columns(batch)
    if picks is None:
        out = row.copy()
        out.attrs = batch.attrs
        return out
    if row.empty:
        return picks
    if picks.empty:
        out = row.copy()
        out.attrs = batch.attrs
        return out
    out = picks.copy()
    old_columns, _ = _xpt_columns(picks)
    for (kind, _, width), (_, _, old_width), name in zip(columns, old_columns, batch.columns):
        better = width > old_width if kind == "text" else picks[name].isna().all() and row[name].notna().all()
        if better:
            out[name] = row[name].astype(np.result_type(row[name].dtype, picks[name].dtype)) if kind != "text" else row[name]
    out.attrs = picks.attrs
    return out


def _copy_batches(paths: list[Path], picks: pd.DataFrame, dtypes: dict[str, object], parquet: Path, xpt: Path,
                  stamp: dt.date) -> int:
    """The scratch batches -> one parquet file and one XPT file whose header comes from `picks`."""
    write_xpt(picks, xpt, stamp)  # header (and one observation, cut off below) for the widest values
    header = xpt.read_bytes()
    header = header[:header_length(header)]
    declared = header_variables(header, len(picks.columns))
    widths = {name: length for name, (_, length) in zip(picks.columns, declared)}
    rows = 0
    writer = None
    schema = None
    with xpt.open("wb") as handle:
        handle.write(header)
        written = len(header)
        for path in paths:
            batch = _conformed(read_parquet(path), dtypes)
            batch.attrs = picks.attrs
            table = labelled_table(batch)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(parquet, schema, compression="zstd")
            writer.write_table(table.cast(schema))
            if len(batch):
                columns, _ = _xpt_columns(batch)
                columns = [(kind, values, widths[name] if kind == "text" else width)
                           for (kind, values, width), name in zip(columns, batch.columns)]
                columns = _as_declared(columns, declared, batch, xpt)
                # observations follow on from the previous batch: the blank padding of the last 80-byte
                # record is cut off again, except after the last batch
                end = written + len(batch) * sum(width for _, _, width in columns)
                write_observations(handle, columns, len(batch), written)
                handle.seek(end)
                handle.truncate()
                written = end
            rows += len(batch)
            del batch, table
        handle.write(b" " * (-written % 80))
    if writer is not None:
        writer.close()
    return rows



def write_parquet_batches(batches: Iterable[pd.DataFrame], path: Path) -> int:
    """Batches of one table (same columns and attrs, rows in output order) as one parquet file with the
    labels of `sap.datasets.write_parquet`: one batch is `write_parquet` itself (byte-identical); several go
    through scratch files so that a column that is int64 in some batches and float64 in others is float64
    in all (`_common_dtypes`), one row group per batch. Returns the number of rows."""
    iterator = iter(batches)
    first = next(iterator)
    second = next(iterator, None)
    if second is None:
        write_parquet(first, path)
        return len(first)
    scratch = path.parent / f".{path.stem}.batches"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        paths, dtypes, attrs = [], [], first.attrs
        for number, batch in enumerate(_chain(first, second, iterator)):
            paths.append(write_parquet(batch, scratch / f"{number:05d}.parquet"))
            dtypes.append(batch.dtypes)
            del batch
        del first, second
        common = _common_dtypes(dtypes)
        rows, writer, schema = 0, None, None
        for part in paths:
            batch = _conformed(read_parquet(part), common)
            batch.attrs = attrs
            table = labelled_table(batch, path.stem.upper())
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            writer.write_table(table.cast(schema))
            rows += len(batch)
            del batch, table
        writer.close()
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
