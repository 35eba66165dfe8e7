"""Trial design and subject element domains (TS, TA, TE, TV, TI, SE, SV) and EPOCH, on the hand-made extract
(tests/sdtm/raw_extract.py) and the plan; expected rows worked out by hand from the element rules of
sap/study.yaml (trial_design) and the dates in the extract's docstring."""

import numpy as np
import pandas as pd
import pytest

from sap.errors import SpecError
from sap.specs import apply_spec
from sdtm.ae import build_ae
from sdtm.dm import build_dm
from sdtm.elements import EVENTS, FINDINGS, build_se, build_sv, epoch_of
from sdtm.trial_design import build_ta, build_te, build_ti, build_ts, build_tv

# FDA Study Data Technical Conformance Guide (section 4.1.1.3 and its TS appendix) and SDTMIG 3.4 TS
# assumptions: parameters expected for an interventional study.
REQUIRED_TS = {"SSTDTC", "SDTIGVER", "TITLE", "TPHASE", "INDIC", "TRT", "DOSE", "DOSU", "DOSFRQ", "ROUTE",
               "PLANSUB", "ACTSUB", "AGEMIN", "AGEMAX", "SEXPOP", "ADDON", "RANDOM", "STYPE", "TBLIND", "TCNTRL",
               "OBJPRIM", "OUTMSPRI", "REGID", "SPONSOR", "TTYPE", "INTMODEL", "INTTYPE", "FCNTRY", "DCUTDTC",
               "NARMS", "LENGTH", "HLTSUBJI", "ADAPT", "TINDTP", "TDIGRP", "CURTRT"}


@pytest.fixture(scope="module")
def dm(raw, study):
    return build_dm(raw, study).domain


@pytest.fixture(scope="module")
def se(raw, study, dm):
    return apply_spec(build_se(raw, study, dm), "se")


def test_ts_start_date_and_required_parameters(study, dm):
    ts = apply_spec(build_ts(study, dm), "ts")
    values = ts.set_index(["TSPARMCD", "TSSEQ"])
    # earliest informed consent of a subject in DM: 001 on 01-AUG-2013 (003, enrolled after the cut-off, is not in DM)
    assert values.loc[("SSTDTC", 1), "TSVAL"] == "2013-08-01"
    assert values.loc[("SSTDTC", 1), "TSVCDREF"] == "ISO 8601"
    # latest end of participation: 001 completed 28-OCT-2013
    assert values.loc[("SENDTC", 1), "TSVAL"] == "2013-10-28"
    assert values.loc[("ACTSUB", 1), "TSVAL"] == "2" and values.loc[("PLANSUB", 1), "TSVAL"] == "40"
    assert REQUIRED_TS <= set(ts["TSPARMCD"])
    assert values.loc[("REGID", 1), ["TSVAL", "TSVALCD", "TSVCDREF"]].tolist() == ["NCT02084238", "NCT02084238", "ClinicalTrials.gov"]
    assert values.loc[("SDTIGVER", 1), "TSVAL"] == "3.4"
    # NCI codes of the CDISC CT terms (SDTM CT): open label C49659, no control C41132, N C49487, Y C49488,
    # subcutaneous C38299, QOD C64525, interventional C98388
    coded = {p: values.loc[(p, 1), "TSVALCD"] for p in ("TBLIND", "TCNTRL", "RANDOM", "ADDON", "ROUTE", "DOSFRQ", "STYPE")}
    assert coded == {"TBLIND": "C49659", "TCNTRL": "C41132", "RANDOM": "C49487", "ADDON": "C49488",
                     "ROUTE": "C38299", "DOSFRQ": "C64525", "STYPE": "C98388"}
    assert set(ts.loc[ts["TSVCDREF"].eq("CDISC CT"), "TSVCDVER"]) == {"2025-03-28"}
    assert values.loc[("INDIC", 1), ["TSVALCD", "TSVCDREF"]].tolist() == ["55464009", "SNOMED"]
    assert ts.loc[ts["TSPARMCD"].eq("TTYPE"), "TSVAL"].tolist() == ["EFFICACY", "SAFETY"]
    assert values.loc[("TTYPE", 2), "TSPARM"] == "Trial Type"
    assert values.loc[("OUTMSPRI", 1), "TSVAL"] == "SRI-4 response at week 10"


def test_ts_term_outside_its_codelist_is_an_error(study, dm):
    wrong = study.model_copy(update={"trial_summary": study.trial_summary.model_copy(update={"blinding": "BLINDISH"})})
    with pytest.raises(SpecError, match="TS TBLIND.*BLINDISH"):
        build_ts(wrong, dm)


def test_ta_te_tv_ti_from_the_plan(study):
    ta = apply_spec(build_ta(study), "ta")
    # screening, then IL-2 and treatment-free interval for each of the 3 cycles
    assert ta["ETCD"].tolist() == ["SCRN", "IL2", "REST", "IL2", "REST", "IL2", "REST"]
    assert ta["TAETORD"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert ta["EPOCH"].tolist() == ["SCREENING"] + ["TREATMENT"] * 6
    te = apply_spec(build_te(study), "te")
    assert te.set_index("ETCD")["TEDUR"].fillna("").to_dict() == {"SCRN": "", "IL2": "P14D", "REST": ""}
    tv = apply_spec(build_tv(study), "tv")
    assert tv["VISITDY"].tolist() == [1, 15, 29, 43, 57, 71, 85]
    ti = apply_spec(build_ti(study), "ti")
    assert ti["IECAT"].value_counts().to_dict() == {"INCLUSION": 6, "EXCLUSION": 6}
    assert ti.loc[ti["IETESTCD"].eq("IN05"), "IETEST"].item() == "SLEDAI-2K of 8 or more"


def test_se_elements_from_consent_dosing_and_end_of_participation(se):
    got = se[["USUBJID", "SESEQ", "ETCD", "TAETORD", "EPOCH", "SESTDTC", "SEENDTC", "SESTDY", "SEENDY"]].values.tolist()
    assert got == [
        # 001: consent 08-01, cycle 1 first dose 08-05 (cycle 2 dose is after the cut-off), completed 10-28
        ["IL2SLE01-01-001", 1, "SCRN", 1, "SCREENING", "2013-08-01", "2013-08-05", -4, 1],
        ["IL2SLE01-01-001", 2, "IL2", 2, "TREATMENT", "2013-08-05", "2013-08-19", 1, 15],
        ["IL2SLE01-01-001", 3, "REST", 3, "TREATMENT", "2013-08-19", "2013-10-28", 15, 85],
        # 002: consent 08-10, first dose 08-14, discontinued 09-20
        ["IL2SLE01-01-002", 1, "SCRN", 1, "SCREENING", "2013-08-10", "2013-08-14", -4, 1],
        ["IL2SLE01-01-002", 2, "IL2", 2, "TREATMENT", "2013-08-14", "2013-08-28", 1, 15],
        ["IL2SLE01-01-002", 3, "REST", 3, "TREATMENT", "2013-08-28", "2013-09-20", 15, 38],
    ]


def test_epoch_on_boundary_days_partial_and_outside_dates(se):
    usubjid = pd.Series(["IL2SLE01-01-001"] * 6, dtype="str")
    dates = pd.Series(["2013-08-05", "2013-08-05", "2013-08", "2013-07-30", "2013-10-29", "2013-08-19"], dtype="str")
    # first-dose day: a finding is pre-dose (screening), an event is on treatment; partial, before consent and
    # after the end of participation have no epoch; 08-19 (REST start) is TREATMENT either way
    assert epoch_of(usubjid, dates, se, FINDINGS).iloc[0] == "SCREENING"
    events = epoch_of(usubjid, dates, se, EVENTS)
    assert events.iloc[0] == "TREATMENT"
    assert events.iloc[2:5].isna().all()
    assert events.iloc[5] == "TREATMENT"


def test_ae_epoch(raw, study, se):
    from sdtm.elements import add_epoch

    ae = add_epoch(build_ae(raw, study).domain, se, "AESTDTC", EVENTS).set_index(["USUBJID", "AESPID"])
    assert ae.loc[("IL2SLE01-01-001", "1"), "EPOCH"] == "TREATMENT"  # 2013-08-06, day 2
    assert pd.isna(ae.loc[("IL2SLE01-01-001", "2"), "EPOCH"])  # partial start 2013-08
    assert pd.isna(ae.loc[("IL2SLE01-01-002", "1"), "EPOCH"])  # 2013-08-04, before consent on 08-10


def test_sv_visits_from_the_visit_forms(raw, study, dm, se):
    sv = apply_spec(build_sv(raw, study, dm, se), "sv")
    first = sv.iloc[0]
    # 001 week 0: laboratory, flow cytometry, SLEDAI-2K, BILAG and PGA all on 05-AUG-2013 = first-dose day
    assert (first.USUBJID, first.VISIT, first.SVSTDTC, first.SVENDTC, first.SVSTDY, first.EPOCH) == (
        "IL2SLE01-01-001", "WEEK 0", "2013-08-05", "2013-08-05", 1, "SCREENING")
    assert first.VISITDY == 1
    week2 = sv[(sv["USUBJID"] == "IL2SLE01-01-001") & (sv["VISIT"] == "WEEK 2")].iloc[0]
    assert (week2.SVSTDTC, week2.SVSTDY, week2.EPOCH) == ("2013-08-19", 15, "TREATMENT")
    assert not sv.duplicated(["USUBJID", "VISITNUM"]).any()
