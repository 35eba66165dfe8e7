"""Conventions shared by the SDTM builders: EDC dates to ISO 8601, study day, --SEQ, USUBJID, visits.

All functions are vectorised over pandas Series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sap.study import Study

MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
EDC_DATE_SHAPE = r"^(\d{2}|UN)-([A-Z]{3}|UNK)-\d{4}$"  # always 11 characters: DD-MMM-YYYY, UN-MMM-YYYY, UN-UNK-YYYY
MONTH_TEXT = {name: f"{number:02d}" for name, number in MONTHS.items()}


def edc_date_to_iso(values: pd.Series) -> pd.Series:
    """EDC dates (DD-MMM-YYYY, with UN/UNK for unknown day/month) to ISO 8601, keeping partial dates
    partial: 05-AUG-2013 -> 2013-08-05, UN-AUG-2013 -> 2013-08, UN-UNK-2013 -> 2013; blank or malformed
    -> missing (`sdtm.raw` rejects malformed dates before a builder sees them). The parts are read by fixed
    position (the three shapes are all 11 characters), which stays in pyarrow kernels; a regex extract runs
    row by row in Python (about 7 s per million rows)."""
    if values.empty:
        return pd.Series([], index=values.index, dtype="str")
    text = values.astype("str").str.strip().str.upper()
    well_formed = text.str.match(EDC_DATE_SHAPE, na=False) & values.notna()
    day = text.str.slice(0, 2)
    month = text.str.slice(3, 6).map(MONTH_TEXT)
    year = text.str.slice(7, 11)
    has_month = well_formed & month.notna()
    has_day = has_month & day.ne("UN")
    iso = year.where(well_formed, np.nan)
    iso = iso.where(~has_month, year + "-" + month.where(has_month, "").astype("str"))
    iso = iso.where(~has_day, iso + "-" + day)
    return iso.astype("str").where(well_formed, np.nan)


def iso_to_date(values: pd.Series) -> pd.Series:
    """Complete ISO 8601 dates to datetime64; partial or missing ones become NaT."""
    return pd.to_datetime(values.where(values.astype("str").str.len() >= 10).astype("str").str[:10], errors="coerce", format="%Y-%m-%d")


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """SDTM --DY: date - reference + 1 on or after the reference date, date - reference before it (no day 0).
    Missing when either date is missing or partial."""
    delta = (iso_to_date(dates) - iso_to_date(reference)).dt.days
    return (delta + (delta >= 0)).astype("Float64").astype("float64")


def sequence_number(df: pd.DataFrame, by: list[str] | None = None, order: list[str] | None = None) -> pd.Series:
    """--SEQ: 1, 2, ... within USUBJID after sorting by `order` (stable), unique within subject."""
    by = by or ["USUBJID"]
    ordered = df.sort_values(by + (order or []), kind="stable")
    seq = ordered.groupby(by, sort=False).cumcount() + 1
    return seq.reindex(df.index).astype("int64")


def usubjid(studyid: str, site: pd.Series, subject: pd.Series) -> pd.Series:
    """USUBJID = STUDYID-SITE-SUBJECT, unique across the sponsor's studies."""
    return studyid + "-" + site.astype("str") + "-" + subject.astype("str")


def visit_columns(edc_labels: pd.Series, study: Study) -> pd.DataFrame:
    """VISITNUM and VISIT from the EDC visit label through the plan's schedule."""
    by_label = study.visit_by_edc_label
    return pd.DataFrame(
        {
            "VISITNUM": edc_labels.map({k: v.visitnum for k, v in by_label.items()}).astype("float64"),
            "VISIT": edc_labels.map({k: v.visit for k, v in by_label.items()}),
        },
        index=edc_labels.index,
    )
