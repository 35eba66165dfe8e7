"""DS (Disposition): the informed-consent protocol milestone (enrolment form) and the end-of-study
disposition event (disposition form). SDTMIG 3.4 section 6.2 (DS); DSDECOD from CDISC CT NCOMPLT (C66727)
and Protocol Milestone (C114118)."""

from __future__ import annotations

import pandas as pd

from sap.study import Study
from sdtm.common import sequence_number, study_day
from sdtm.raw import DomainResult, RawExtract, sdtm_terms
from sdtm.subjects import add_subject_reference, edc_date_to_iso, split_by_cutoff_and_subject, split_enrolment

CONSENT = "INFORMED CONSENT OBTAINED"
MILESTONE = "PROTOCOL MILESTONE"
DISPOSITION_EVENT = "DISPOSITION EVENT"


def build_ds(raw: RawExtract, study: Study) -> DomainResult:
    """DS: one INFORMED CONSENT OBTAINED milestone per enrolled subject (DSSTDTC = consent date) and one
    disposition event per disposition record (DSDECOD COMPLETED, or the reason for discontinuation; DSTERM
    the collected text). DSSTDY against RFSTDTC (no day 0); DSSEQ by date, milestone before event.
    Records dated after the cut-off are rejected."""
    enrolment, enrolment_rejected = split_enrolment(raw, study)
    disposition_all = raw["disposition"]
    disposition, disposition_rejected = split_by_cutoff_and_subject(
        disposition_all, edc_date_to_iso(disposition_all["DISPOSITION_DATE"]), "disposition", raw, study
    )
    consent = pd.DataFrame(
        {
            "SUBJECT": enrolment["SUBJECT"],
            "DSTERM": CONSENT,
            "DSDECOD": CONSENT,
            "DSCAT": MILESTONE,
            "DSSTDTC": edc_date_to_iso(enrolment["CONSENT_DATE"]),
            "_ORDER": 1,
        }
    )
    completed = disposition["STATUS"].eq("Completed")
    events = pd.DataFrame(
        {
            "SUBJECT": disposition["SUBJECT"],
            "DSTERM": disposition["STATUS"].where(completed, disposition["REASON"]).str.upper(),
            "DSDECOD": sdtm_terms(disposition["REASON"], "disposition", "REASON").where(~completed, "COMPLETED"),
            "DSCAT": DISPOSITION_EVENT,
            "DSSTDTC": edc_date_to_iso(disposition["DISPOSITION_DATE"]),
            "_ORDER": 2,
        }
    )
    ds = add_subject_reference(pd.concat([consent, events], ignore_index=True), raw, study)
    ds["STUDYID"] = study.study.studyid
    ds["DOMAIN"] = "DS"
    ds["DSSTDY"] = study_day(ds["DSSTDTC"], ds["RFSTDTC"])
    ds["DSSEQ"] = sequence_number(ds, order=["DSSTDTC", "_ORDER"])
    ds = ds.sort_values(["USUBJID", "DSSEQ"], kind="stable").reset_index(drop=True)
    columns = ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSTDTC", "DSSTDY"]
    return DomainResult(
        domain=ds[columns],
        mapped={"enrolment": len(enrolment), "disposition": len(disposition)},
        rejected=pd.concat([enrolment_rejected, disposition_rejected], ignore_index=True),
    )
