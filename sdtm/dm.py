"""DM (Demographics): one record per enrolled subject, from the enrolment form, the dosing log (reference
dates), the disposition form (end of participation) and AE outcomes (death). SDTMIG 3.4 section 5.2."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sap.study import Study
from sdtm.common import study_day
from sdtm.raw import DomainResult, RawExtract, sdtm_terms
from sdtm.subjects import after_cutoff, edc_date_to_iso, first_and_last_dose, split_enrolment, subject_reference

NOT_TREATED_ARMCD = "NOTTRT"
NOT_TREATED_ARM = "Not Treated"


def build_dm(raw: RawExtract, study: Study) -> DomainResult:
    """DM from enrolment (SDTMIG DM): RFSTDTC = RFXSTDTC = first injection with a positive dose, RFXENDTC =
    last such injection, RFENDTC = RFPENDTC = disposition date, DTHFL/DTHDTC from a fatal AE outcome,
    ACTARMCD NOTTRT for subjects enrolled but never dosed. Subjects enrolled after the data cut-off are
    rejected ("after data cut-off")."""
    enrolment, rejected = split_enrolment(raw, study)
    reference = subject_reference(raw, study).set_index("SUBJECT")
    doses = first_and_last_dose(raw, study).set_index("SUBJECT")
    end_of_study = _end_of_participation(raw, study)
    death = _death_dates(raw, study)

    subject = enrolment["SUBJECT"]
    first_dose = subject.map(doses["FIRST_DOSE"])
    dosed = first_dose.notna()
    end = subject.map(end_of_study)
    death_date = subject.map(death)
    dmdtc = edc_date_to_iso(enrolment["ENROL_DATE"])
    dm = pd.DataFrame(
        {
            "STUDYID": study.study.studyid,
            "DOMAIN": "DM",
            "USUBJID": subject.map(reference["USUBJID"]),
            "SUBJID": subject,
            "RFSTDTC": first_dose,
            "RFENDTC": end,
            "RFXSTDTC": first_dose,
            "RFXENDTC": subject.map(doses["LAST_DOSE"]),
            "RFICDTC": edc_date_to_iso(enrolment["CONSENT_DATE"]),
            "RFPENDTC": end,
            "DTHDTC": death_date,
            "DTHFL": pd.Series("Y", index=enrolment.index, dtype="str").where(death_date.notna(), np.nan),
            "SITEID": enrolment["SITE"],
            "AGE": enrolment["AGE"],
            "AGEU": "YEARS",
            "SEX": sdtm_terms(enrolment["SEX"], "enrolment", "SEX"),
            "RACE": enrolment["RACE"].str.upper(),
            "ETHNIC": enrolment["ETHNICITY"].str.upper(),
            "ARMCD": study.arm.armcd,
            "ARM": study.arm.arm,
            "ACTARMCD": pd.Series(np.where(dosed, study.arm.armcd, NOT_TREATED_ARMCD), index=enrolment.index),
            "ACTARM": pd.Series(np.where(dosed, study.arm.arm, NOT_TREATED_ARM), index=enrolment.index),
            "COUNTRY": study.study.country,
            "DMDTC": dmdtc,
            "DMDY": study_day(dmdtc, first_dose),
        },
        index=enrolment.index,
    )
    dm = dm.sort_values("USUBJID", kind="stable").reset_index(drop=True)
    return DomainResult(domain=dm, mapped={"enrolment": len(enrolment)}, rejected=rejected)


def _end_of_participation(raw: RawExtract, study: Study) -> pd.Series:
    """Disposition date (ISO) by SUBJECT, for disposition records dated on or before the cut-off."""
    disposition = raw["disposition"]
    dates = edc_date_to_iso(disposition["DISPOSITION_DATE"])
    kept = ~after_cutoff(dates, study)
    return pd.Series(dates[kept].to_numpy(), index=disposition.loc[kept, "SUBJECT"].to_numpy(), dtype="str")


def _death_dates(raw: RawExtract, study: Study) -> pd.Series:
    """Date of death by SUBJECT from AEs with outcome Fatal (the AE end date, else its start date; the
    earliest when several), for AEs starting on or before the cut-off. Partial dates stay partial."""
    ae = raw["adverse_events"]
    start = edc_date_to_iso(ae["START_DATE"])
    fatal = ae["OUTCOME"].eq("Fatal") & ~after_cutoff(start, study)
    date = edc_date_to_iso(ae["END_DATE"]).fillna(start)
    frame = pd.DataFrame({"SUBJECT": ae.loc[fatal, "SUBJECT"], "DTHDTC": date[fatal]})
    earliest = frame.sort_values(["SUBJECT", "DTHDTC"], kind="stable").drop_duplicates("SUBJECT")
    return earliest.set_index("SUBJECT")["DTHDTC"]
