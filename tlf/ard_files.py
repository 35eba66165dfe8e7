"""ARD files of the render stage: `output/tlf/ard/<stem>.parquet` and `<stem>.json` per output.

The JSON follows the CDISC Dataset-JSON 1.1 structure (top-level dataset attributes, `columns` with
itemOID/name/label/dataType/keySequence, `rows` as arrays in column order). Its creation date-time is the
data cut-off, not the wall clock, so two runs give the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sap.datasets import write_parquet
from sap.study import Study
from tlf.ard import ARD_COLUMNS, ARD_KEYS, ARD_LABELS

DATASET_JSON_VERSION = "1.1.0"


def ard_name(stem: str) -> str:
    """Dataset name of an output's ARD: t-14-2-1 -> ARD_T_14_2_1."""
    return "ARD_" + stem.upper().replace("-", "_")


def dataset_json(frame: pd.DataFrame, name: str, label: str, study: Study) -> dict:
    """The ARD as a Dataset-JSON 1.1 object (VALUE a double, every other column a string; missing -> null)."""
    stamp = f"{study.data_cutoff.isoformat()}T00:00:00"
    columns = []
    for column in ARD_COLUMNS:
        entry = {"itemOID": f"IT.{name}.{column}", "name": column, "label": ARD_LABELS[column],
                 "dataType": "double" if column == "VALUE" else "string"}
        if column != "VALUE":
            entry["length"] = max(1, int(frame[column].astype("str").str.len().max())) if len(frame) else 1
        if column in ARD_KEYS:
            entry["keySequence"] = ARD_KEYS.index(column) + 1
        columns.append(entry)
    rows = []
    for values in frame[ARD_COLUMNS].itertuples(index=False):
        row = []
        for column, value in zip(ARD_COLUMNS, values):
            if column == "VALUE":
                row.append(None if value is None or np.isnan(value) else float(value))
            else:
                row.append(None if pd.isna(value) else str(value))
        rows.append(row)
    return {"datasetJSONCreationDateTime": stamp, "datasetJSONVersion": DATASET_JSON_VERSION,
            "fileOID": f"{study.study.studyid}.{name}", "dbLastModifiedDateTime": stamp,
            "originator": study.study.studyid, "sourceSystem": {"name": "il2-sle-sap", "version": "0.1.0"},
            "studyOID": study.study.studyid, "metaDataVersionOID": f"MDV.{study.study.studyid}.ARD",
            "itemGroupOID": f"IG.{name}", "isReferenceData": False, "records": len(rows), "name": name,
            "label": label, "columns": columns, "rows": rows}


def write_ard(frame: pd.DataFrame, folder: Path, stem: str, label: str, study: Study) -> list[Path]:
    """Write one output's ARD as parquet and Dataset-JSON; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    name = ard_name(stem)
    table = frame[ARD_COLUMNS].reset_index(drop=True).copy()
    table.attrs = {"name": name, "label": label[:40], "labels": dict(ARD_LABELS)}
    parquet = write_parquet(table, folder / f"{stem}.parquet")
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(dataset_json(table, name, label, study), indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return [parquet, path]
