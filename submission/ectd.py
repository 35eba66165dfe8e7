"""The eCTD module 5 dataset folders (ICH eCTD; FDA Study Data Technical Conformance Guide section 7):

    m5/datasets/<studyid>/tabulations/sdtm/          XPT + Dataset-JSON of every SDTM domain
    m5/datasets/<studyid>/analysis/adam/datasets/    XPT + Dataset-JSON of every ADaM dataset
    m5/datasets/<studyid>/analysis/adam/programs/    the package source and the exact dependency lock

File and folder names are lower case (eCTD and TCG 3.3.1). A dataset larger than the TCG limit (5 GB) is
also submitted split into parts no larger than the limit, whole subjects per part, in a `split/` folder
beside it (TCG 3.3.2). Non-ASCII text is reported (TCG 3.3.1: XPT v5 is ASCII; the CJK verbatim terms an EDC
can hold are UTF-8 here), one row per value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pandas as pd

from sap.datasets import read_parquet, write_xpt

SPLIT_LIMIT_BYTES = 5 * 1000**3  # TCG: datasets over 5 GB are split
# What a reviewer needs to rerun the analysis: the packages' source and the plan, the build file and the lock.
PROGRAM_PACKAGES = ("sap", "sdtm", "adam", "validation", "tlf", "submission")
PROGRAM_FILES = ("pyproject.toml", "requirements.lock", "README.md", "_quarto.yml", "index.qmd")
SOURCE_SUFFIXES = {".py", ".yaml", ".yml", ".qmd", ".css", ".typ", ".json", ".xsd", ".xsl", ".md", ".txt"}


def study_folder(submission: Path, studyid: str) -> Path:
    return submission / "m5" / "datasets" / studyid.lower()


def non_ascii_values(df: pd.DataFrame, dataset: str) -> list[dict]:
    """One row per text value holding a non-ASCII character: dataset, variable, 1-based record, value."""
    found = []
    for name in df.columns:
        column = df[name]
        if column.dtype.kind not in "OUT" and str(column.dtype) != "str":
            continue
        text = column.dropna().astype(str)
        flagged = text[~text.map(str.isascii)]
        for index, value in flagged.items():
            found.append({"DATASET": dataset, "VARIABLE": name, "RECORD": int(df.index.get_loc(index)) + 1, "VALUE": value})
    return found


def split_parts(df: pd.DataFrame, file_bytes: int, limit: int) -> list[pd.DataFrame]:
    """Consecutive parts of whole subjects (USUBJID) each estimated under `limit` bytes (rows in proportion
    to the file size); one part when the file is within the limit."""
    if file_bytes <= limit or df.empty:
        return [df]
    per_row = file_bytes / len(df)
    rows_per_part = max(1, int(limit * 0.95 / per_row))
    parts, start = [], 0
    subject = df["USUBJID"] if "USUBJID" in df.columns else pd.Series(range(len(df)))
    while start < len(df):
        stop = min(start + rows_per_part, len(df))
        while stop < len(df) and stop > start + 1 and subject.iloc[stop] == subject.iloc[stop - 1]:
            stop -= 1  # keep a subject's records together
        parts.append(df.iloc[start:stop].reset_index(drop=True))
        start = stop
    for part in parts:
        part.attrs = df.attrs
    return parts


def copy_datasets(source: Path, target: Path, stamp: dt.date, limit: int = SPLIT_LIMIT_BYTES) -> tuple[list[str], list[dict]]:
    """Copy every XPT of `source` into `target` under its lower-case name (split parts under `split/` when
    larger than `limit`); returns the dataset names and the non-ASCII values found in the parquet twins."""
    target.mkdir(parents=True, exist_ok=True)
    names, non_ascii = [], []
    for xpt in sorted(source.glob("*.xpt")):
        name = xpt.stem.lower()
        destination = target / f"{name}.xpt"
        shutil.copyfile(xpt, destination)
        names.append(name.upper())
        df = read_parquet(source / f"{xpt.stem}.parquet")
        non_ascii += non_ascii_values(df, name.upper())
        size = destination.stat().st_size
        parts = split_parts(df, size, limit)
        if len(parts) > 1:
            split = target / "split"
            split.mkdir(exist_ok=True)
            for i, part in enumerate(parts, 1):
                write_xpt(part, split / f"{name}{i}.xpt", stamp)
    return names, non_ascii


def copy_programs(root: Path, target: Path) -> list[str]:
    """The package source (text files of the packages), the build file and the dependency lock, with their
    paths kept, so that `pip install -r requirements.lock && pip install --no-deps .` reruns the analysis."""
    copied = []
    for package in PROGRAM_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts:
                copied.append(path.relative_to(root).as_posix())
    copied += [name for name in PROGRAM_FILES if (root / name).is_file()]
    for relative in copied:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, destination)
    return copied


def write_checksums(folder: Path, path: Path) -> int:
    """`sha256sum`-format list of every file under `folder` (paths relative to `path`'s folder), sorted."""
    lines = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        lines.append(f"{digest}  {file.relative_to(path.parent).as_posix()}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)
