"""What every SDTM builder of this package shares: the enrolled subjects with their USUBJID and reference
start date (DM.RFSTDTC = first dose), the data cut-off rule, and rejection records for the reconciliation.

All functions are pure and vectorised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sap.study import Study
from sdtm.common import edc_date_to_iso, usubjid  # noqa: F401 (edc_date_to_iso: builders import it from here)
from sdtm.raw import REJECTION_COLUMNS, ROW, RawExtract

AFTER_CUTOFF = "after data cut-off"
NOT_IN_DM = "subject not in DM (enrolled after data cut-off)"


def earliest_possible_date(iso: pd.Series) -> pd.Series:
    """The first calendar day an ISO 8601 (possibly partial) date can mean: 2015-11 -> 2015-11-01,
    2015 -> 2015-01-01; complete dates unchanged (time parts dropped), missing stays missing."""
    text = iso.astype("str").str[:10]
    padded = text.where(text.str.len() != 4, text + "-01-01")
    padded = padded.where(padded.str.len() != 7, padded + "-01")
    return padded.where(iso.notna(), np.nan)


def after_cutoff(iso: pd.Series, study: Study) -> pd.Series:
    """True where a record's date is certainly after study.data_cutoff: its earliest possible day is later
    than the cut-off (a partial date that may fall on or before the cut-off is kept). Missing dates: False."""
    earliest = earliest_possible_date(iso)
    return earliest.gt(study.data_cutoff.isoformat()).fillna(False).astype(bool)


def rejected_rows(rows: pd.DataFrame, form: str, reason: str) -> pd.DataFrame:
    """Rejection records (FORM, ROW, SUBJECT, REASON) for raw rows a builder does not map."""
    return pd.DataFrame(
        {
            "FORM": pd.Series(form, index=rows.index, dtype="str"),
            "ROW": rows[ROW].astype("int64"),
            "SUBJECT": rows["SUBJECT"].astype("str"),
            "REASON": pd.Series(reason, index=rows.index, dtype="str"),
        },
        columns=REJECTION_COLUMNS,
    ).reset_index(drop=True)


def split_by_cutoff(rows: pd.DataFrame, iso_dates: pd.Series, form: str, study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows kept, rejection records) where rows dated after the data cut-off are rejected, never dropped."""
    late = after_cutoff(iso_dates, study)
    return rows.loc[~late], rejected_rows(rows.loc[late], form, AFTER_CUTOFF)


def split_by_cutoff_and_subject(rows: pd.DataFrame, iso_dates: pd.Series, form: str, raw: RawExtract,
                                 study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Like `split_by_cutoff`, and also rejects rows of subjects absent from DM (enrolled after the cut-off)
    with reason NOT_IN_DM, so that every domain holds only DM subjects (cut-off checked first)."""
    kept, late = split_by_cutoff(rows, iso_dates, form, study)
    enrolled, _ = split_enrolment(raw, study)
    in_dm = kept["SUBJECT"].isin(enrolled["SUBJECT"])
    return kept.loc[in_dm], pd.concat([late, rejected_rows(kept.loc[~in_dm], form, NOT_IN_DM)], ignore_index=True)


def split_enrolment(raw: RawExtract, study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Enrolment rows of subjects enrolled on or before the cut-off (ENROL_DATE), and the others rejected.
    DM, DS (consent), MH, CM and VS all apply this same rule so the domains hold the same subjects."""
    enrolment = raw["enrolment"]
    return split_by_cutoff(enrolment, edc_date_to_iso(enrolment["ENROL_DATE"]), "enrolment", study)


def first_and_last_dose(raw: RawExtract, study: Study) -> pd.DataFrame:
    """Per SUBJECT: FIRST_DOSE and LAST_DOSE (ISO dates) over injections with DOSE > 0 dated on or before
    the cut-off (admiral TRTSDTM rule: exposure records with a positive dose). Subjects never dosed are absent."""
    dosing = raw["dosing"]
    dates = edc_date_to_iso(dosing["DOSE_DATE"])
    given = dosing["DOSE"].gt(0) & ~after_cutoff(dates, study) & dates.notna()
    # sort + first/last row per subject rather than groupby min/max, which loops in Python over `str` groups
    frame = pd.DataFrame({"SUBJECT": dosing.loc[given, "SUBJECT"], "DATE": dates[given]})
    frame = frame.sort_values(["SUBJECT", "DATE"], kind="stable")
    first = frame.drop_duplicates("SUBJECT", keep="first").set_index("SUBJECT")["DATE"]
    last = frame.drop_duplicates("SUBJECT", keep="last").set_index("SUBJECT")["DATE"]
    return pd.DataFrame({"SUBJECT": first.index, "FIRST_DOSE": first.to_numpy(), "LAST_DOSE": last.to_numpy()})


def subject_reference(raw: RawExtract, study: Study) -> pd.DataFrame:
    """One row per enrolled subject: SUBJECT, SITEID, USUBJID and RFSTDTC (date of first dose, missing if
    never dosed), the anchor of every --DY (SDTMIG: study day against DM.RFSTDTC)."""
    enrolment = raw["enrolment"]
    subjects = pd.DataFrame(
        {
            "SUBJECT": enrolment["SUBJECT"],
            "SITEID": enrolment["SITE"],
            "USUBJID": usubjid(study.study.studyid, enrolment["SITE"], enrolment["SUBJECT"]),
        }
    )
    doses = first_and_last_dose(raw, study).rename(columns={"FIRST_DOSE": "RFSTDTC"})[["SUBJECT", "RFSTDTC"]]
    return subjects.merge(doses, on="SUBJECT", how="left", validate="one_to_one")


def add_subject_reference(rows: pd.DataFrame, raw: RawExtract, study: Study) -> pd.DataFrame:
    """`rows` with USUBJID and RFSTDTC of their SUBJECT added (row order and index kept)."""
    reference = subject_reference(raw, study).set_index("SUBJECT")
    out = rows.copy()
    out["USUBJID"] = rows["SUBJECT"].map(reference["USUBJID"])
    out["RFSTDTC"] = rows["SUBJECT"].map(reference["RFSTDTC"])
    return out


def number_text(values: pd.Series) -> pd.Series:
    """Numbers as result text without a spurious '.0' (160.0 -> '160', 54.5 -> '54.5')."""
    whole = values.notna() & values.eq(values.round())
    text = values.astype("str")
    text = text.where(~whole, values.where(whole, 0).round().astype("int64").astype("str"))
    return text.where(values.notna(), np.nan)
