"""CDISC Dataset-JSON 1.1 (and its NDJSON form) from a conformed dataset and its spec, and back.

The published JSON schemas (CDISC DataExchange-DatasetJson, MIT licence) are shipped in `schema/`: no PyPI
package of a permissive licence carries them. Metadata follow the spec: column order, labels, lengths, keys
(keySequence), display formats; itemOIDs are the define.xml OIDs (IT.<dataset>.<variable>). Creation and
as-of date-times are the data cut-off, never the wall clock, so a rerun gives the same bytes.

The schema is that of the repository's final 1.1 release, unchanged.

Types (Dataset-JSON 1.1 section "Supported Column Data Type Combinations"): text and ISO 8601 text ->
"string"; integer -> "integer"; float -> "double"; an ADaM numeric date -> "date" with targetDataType
"integer" (a SAS date in XPT), its value the ISO 8601 date. Missing values are null.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

import sap
from sap.specs import DatasetSpec

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
VERSION = "1.1.0"
DATA_TYPES = {"text": "string", "iso8601": "string", "integer": "integer", "float": "double", "date": "date"}


def item_oid(dataset: str, variable: str) -> str:
    """The define.xml ItemDef OID of a variable."""
    return f"IT.{dataset}.{variable}"


def group_oid(dataset: str) -> str:
    """The define.xml ItemGroupDef OID of a dataset."""
    return f"IG.{dataset}"


def metadata(df: pd.DataFrame, spec: DatasetSpec, studyid: str, sponsor: str, stamp: dt.date, mdv_oid: str) -> dict:
    """The dataset-level metadata (everything but the rows), from the spec for the columns present."""
    when = f"{stamp.isoformat()}T00:00:00"
    columns = []
    for var in spec.variables:
        if var.name not in df.columns:
            continue
        column = {"itemOID": item_oid(spec.name, var.name), "name": var.name, "label": var.label,
                  "dataType": DATA_TYPES[var.type]}
        if var.type == "date":
            column["targetDataType"] = "integer"
        if var.type in ("text", "iso8601"):
            column["length"] = _longest(df[var.name])
        if var.format:
            column["displayFormat"] = var.format
        if var.name in spec.keys:
            column["keySequence"] = spec.keys.index(var.name) + 1
        columns.append(column)
    return {
        "datasetJSONVersion": VERSION,
        "fileOID": f"{studyid}.{spec.standard}.{spec.name}",
        "datasetJSONCreationDateTime": when,
        "dbLastModifiedDateTime": when,
        "originator": sponsor,
        "sourceSystem": {"name": "il2-sle-sap", "version": sap.__version__},
        "studyOID": studyid,
        "metaDataVersionOID": mdv_oid,
        "metaDataRef": "define.xml",
        "itemGroupOID": group_oid(spec.name),
        "records": len(df),
        "name": spec.name,
        "label": spec.label,
        "columns": columns,
    }


def _longest(values: pd.Series) -> int:
    present = values.dropna().astype(str)
    return max(1, int(present.map(lambda v: len(v.encode("utf-8"))).max())) if len(present) else 1


def rows(df: pd.DataFrame, meta: dict) -> list[list]:
    """The data rows as JSON values: str, int, float, ISO date text, or None for missing."""
    converted = []
    for column in meta["columns"]:
        values = df[column["name"]]
        kind = column["dataType"]
        if kind == "string":
            out = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values.astype(object)]
        elif kind == "integer":
            out = [None if pd.isna(v) else int(v) for v in values]
        elif kind == "double":
            out = [None if pd.isna(v) else float(v) for v in values]
        else:  # date
            out = [None if pd.isna(v) else pd.Timestamp(v).date().isoformat() for v in values]
        converted.append(out)
    return [list(row) for row in zip(*converted)] if converted else []


def write_dataset_json(df: pd.DataFrame, spec: DatasetSpec, folder: Path, studyid: str, sponsor: str,
                       stamp: dt.date, mdv_oid: str) -> list[Path]:
    """`<name>.json` (Dataset-JSON 1.1) and `<name>.ndjson` (metadata line, then one line per row) in `folder`."""
    meta = metadata(df, spec, studyid, sponsor, stamp, mdv_oid)
    data = rows(df, meta)
    stem = spec.name.lower()
    json_path = folder / f"{stem}.json"
    json_path.write_text(json.dumps({**meta, "rows": data}, ensure_ascii=False) + "\n", encoding="utf-8")
    ndjson_path = folder / f"{stem}.ndjson"
    with ndjson_path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(json.dumps(meta, ensure_ascii=False) + "\n")
        for row in data:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return [json_path, ndjson_path]


def _frame(meta: dict, data: list[list]) -> pd.DataFrame:
    columns = meta["columns"]
    frame = {}
    for i, column in enumerate(columns):
        values = [row[i] for row in data]
        kind = column["dataType"]
        if kind == "string":
            series = pd.Series(values, dtype="object").astype("str").where(pd.Series(values).notna(), np.nan)
        elif kind == "integer":
            series = pd.Series(values, dtype="float64")
            if series.notna().all():
                series = series.astype("int64")
        elif kind in ("double", "float", "decimal"):
            series = pd.Series(values, dtype="float64")
        else:
            series = pd.to_datetime(pd.Series(values, dtype="object")).astype("datetime64[s]")
        frame[column["name"]] = series
    df = pd.DataFrame(frame)
    df.attrs = {"name": meta["name"], "label": meta["label"], "labels": {c["name"]: c["label"] for c in columns}}
    return df


def ndjson_lines(text: str) -> list[str]:
    """The lines of an NDJSON text: split on "\n" only (NDJSON's separator). Not `str.splitlines`, which also
    splits on U+0085, U+2028, U+2029 and other characters a JSON string holds unescaped (a verbatim term
    can carry them)."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_dataset_json(path: Path) -> pd.DataFrame:
    """A Dataset-JSON (.json) or NDJSON (.ndjson) file back as a frame with the dataset and variable labels."""
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix == ".ndjson":
        lines = ndjson_lines(text)
        meta = json.loads(lines[0])
        data = [json.loads(line) for line in lines[1:]]
    else:
        document = json.loads(text)
        meta, data = document, document.get("rows", [])
    return _frame(meta, data)


def schema() -> dict:
    """The published Dataset-JSON 1.1 schema. The repository's NDJSON schema cannot be used: its `$ref`s
    point to definitions it does not hold (`#/$defs/Column`); an NDJSON file's first line is the
    Dataset-JSON metadata without `rows` (NDJSON specification), so it is checked against this schema."""
    return json.loads((SCHEMA_DIR / "dataset.schema.json").read_text(encoding="utf-8"))


def validation_errors(path: Path) -> list[str]:
    """Schema violations of a Dataset-JSON or NDJSON file (the NDJSON metadata line against its schema, each
    row an array of the columns' length); empty when valid."""
    import jsonschema

    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix == ".ndjson":
        lines = ndjson_lines(text)
        meta = json.loads(lines[0])
        errors = [e.message for e in jsonschema.Draft201909Validator(schema()).iter_errors(meta)]
        width = len(meta["columns"])
        errors += [f"row {i}: {len(json.loads(line))} values for {width} columns"
                   for i, line in enumerate(lines[1:], 1) if len(json.loads(line)) != width]
        return errors
    document = json.loads(text)
    return [e.message for e in jsonschema.Draft201909Validator(schema()).iter_errors(document)]
