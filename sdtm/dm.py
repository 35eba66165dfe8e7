"""DM (Demographics): one record per enrolled subject, from the enrolment form, the dosing log (reference
dates), the disposition form (end of participation) and AE outcomes (death). SDTMIG 3.4 section 5.2."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sap.study import Study
from sdtm.common import study_day
from sdtm.raw import DomainResult, RawExtract, load_forms, sdtm_terms
from sdtm.subjects import after_cutoff, edc_date_to_iso, first_and_last_dose, split_enrolment, subject_reference

# SDTMIG 3.4 DM: a subject assigned but never dosed has no actual arm and says why (ARMNULRS codelist)
NOT_TREATED = "ASSIGNED, NOT TREATED"


def build_dm(raw: RawExtract, study: Study) -> DomainResult:
    """DM from enrolment (SDTMIG DM): RFSTDTC = RFXSTDTC = first injection with a positive dose, RFXENDTC =
    last such injection, RFENDTC = disposition date, RFPENDTC = last contact (latest date of any record), DTHFL/DTHDTC from a fatal AE outcome,
    ACTARMCD/ACTARM missing and ARMNRS "ASSIGNED, NOT TREATED" for subjects enrolled but never dosed
    (SDTMIG 3.4), ACTARMUD missing (no unplanned treatment). Subjects enrolled after the data cut-off are
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
            "RFPENDTC": _last_contact(raw, study, subject, end),
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
            "ACTARMCD": pd.Series(study.arm.armcd, index=enrolment.index, dtype="str").where(dosed, np.nan),
            "ACTARM": pd.Series(study.arm.arm, index=enrolment.index, dtype="str").where(dosed, np.nan),
            "ARMNRS": pd.Series(NOT_TREATED, index=enrolment.index, dtype="str").where(~dosed, np.nan),
            "ACTARMUD": pd.Series(np.nan, index=enrolment.index, dtype="str"),
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


def _last_contact(raw: RawExtract, study: Study, subject: pd.Series, end: pd.Series) -> pd.Series:
    """RFPENDTC, the end of participation: the latest complete date of any record of the subject on any form
    (visits, doses, AE starts and ends, disposition) on or before the cut-off (SDTMIG 3.4 DM: last contact;
    CORE-000952: no AE may end after it)."""
    dates = [pd.DataFrame({"SUBJECT": subject.to_numpy(), "DATE": end.to_numpy()})]
    for name, form in load_forms().items():
        if name not in raw.forms or "SUBJECT" not in form.columns:
            continue
        rows = raw[name]
        for column, spec in form.columns.items():
            if spec.type in ("date", "pdate"):
                iso = edc_date_to_iso(rows[column])
                complete = iso.notna() & iso.astype("str").str.len().eq(10) & ~after_cutoff(iso, study)
                dates.append(pd.DataFrame({"SUBJECT": rows.loc[complete, "SUBJECT"].to_numpy(), "DATE": iso[complete].to_numpy()}))
    every = pd.concat(dates, ignore_index=True).dropna()
    last = every.sort_values(["SUBJECT", "DATE"], kind="stable").drop_duplicates("SUBJECT", keep="last").set_index("SUBJECT")["DATE"]
    return subject.map(last).astype("str").where(subject.map(last).notna(), np.nan)


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
