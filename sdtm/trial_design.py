"""Trial design domains from the plan (`sap/study.yaml`): TA, TE, TV, TI (SDTMIG 3.4 section 7) and TS
(section 7.6, with the parameters the FDA Study Data Technical Conformance Guide asks for: SSTDTC, the
standard and terminology versions, the registry id, ...). Coded TS values take their NCI code (TSVALCD) from
the codelists under `sap/specs/codelists`; a term the codelists lack is a one-line error naming it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sap.errors import Problem, SpecError
from sap.specs import load_codelists
from sap.study import Element, Study

CDISC_CT = "CDISC CT"
PLAN = "sap/study.yaml"


def planned_elements(study: Study) -> list[tuple[int, Element]]:
    """(TAETORD, element) of the one arm in planned order: screening, then each cycle's IL-2 element and
    treatment-free element."""
    design = study.trial_design
    order = [(1, design.screening)]
    for cycle in range(1, study.dosing.cycles + 1):
        order += [(2 * cycle, design.treatment), (2 * cycle + 1, design.rest)]
    return order


def build_te(study: Study) -> pd.DataFrame:
    """TE: one record per planned element, with its start and end rules and planned duration (ISO 8601)."""
    design = study.trial_design
    elements = [design.screening, design.treatment, design.rest]
    return pd.DataFrame(
        {
            "STUDYID": study.study.studyid,
            "DOMAIN": "TE",
            "ETCD": [e.etcd for e in elements],
            "ELEMENT": [e.element for e in elements],
            "TESTRL": [e.start_rule for e in elements],
            "TEENRL": [e.end_rule for e in elements],
            "TEDUR": [f"P{e.duration_days}D" if e.duration_days else np.nan for e in elements],
        }
    )


def build_ta(study: Study) -> pd.DataFrame:
    """TA: the planned sequence of elements of the one arm (no branches); TATRANS says where a subject who
    stops treatment goes (the treatment-free element to end of participation)."""
    order = planned_elements(study)
    last_treatment = max(taetord for taetord, e in order if e is study.trial_design.treatment)
    transition = [
        "If the subject stops treatment, go to the treatment-free interval until the end of participation"
        if e is study.trial_design.treatment and taetord < last_treatment else np.nan
        for taetord, e in order
    ]
    return pd.DataFrame(
        {
            "STUDYID": study.study.studyid,
            "DOMAIN": "TA",
            "ARMCD": study.arm.armcd,
            "ARM": study.arm.arm,
            "TAETORD": [t for t, _ in order],
            "ETCD": [e.etcd for _, e in order],
            "ELEMENT": [e.element for _, e in order],
            "TABRANCH": np.nan,
            "TATRANS": transition,
            "EPOCH": [e.epoch for _, e in order],
        }
    )


def build_tv(study: Study) -> pd.DataFrame:
    """TV: the scheduled visits of the plan; VISITDY is the target study day, the rules quote the window.
    ARMCD is blank: the schedule is the same for every arm (SDTMIG TV assumption 3)."""
    visits = study.visits
    return pd.DataFrame(
        {
            "STUDYID": study.study.studyid,
            "DOMAIN": "TV",
            "VISITNUM": [v.visitnum for v in visits],
            "VISIT": [v.visit for v in visits],
            "VISITDY": [v.target_day for v in visits],
            "ARMCD": np.nan,
            "TVSTRL": [f"Study day {v.target_day} (week {v.week}); analysis window days {v.window[0]} to {v.window[1]}" for v in visits],
            "TVENRL": "End of the visit's assessments",
        }
    )


def build_ti(study: Study) -> pd.DataFrame:
    """TI: the registry's inclusion and exclusion criteria, protocol version from the plan."""
    criteria = study.trial_design.criteria
    return pd.DataFrame(
        {
            "STUDYID": study.study.studyid,
            "DOMAIN": "TI",
            "IETESTCD": [c.code for c in criteria],
            "IETEST": [c.text for c in criteria],
            "IECAT": [c.category for c in criteria],
            "TIVERS": study.trial_design.protocol_version,
        }
    )


def _coded(codelist_id: str, value: str, parameter: str, version: str) -> tuple[str, str, str, str]:
    """(TSVAL, TSVALCD, TSVCDREF, TSVCDVER) of a CDISC CT term; a term absent from the codelist is an error."""
    codelist = load_codelists()[codelist_id]
    for term in codelist.terms:
        if term.value == value:
            return value, term.c_code or "", CDISC_CT, version
    raise SpecError(Problem(PLAN, f"not a term of codelist {codelist_id} (sap/specs/codelists)", variable=f"TS {parameter}", value=value))


def trial_summary_rows(study: Study, dm: pd.DataFrame) -> list[tuple[str, str, str, str, str]]:
    """(TSPARMCD, TSVAL, TSVALCD, TSVCDREF, TSVCDVER) in output order. SSTDTC is the earliest informed
    consent of an enrolled subject and SENDTC the latest end of participation (FDA TCG 4.1.1.3); ACTSUB the
    subjects in DM."""
    ts = study.trial_summary
    ct = ts.standards.ct.isoformat()

    def coded(parmcd: str, codelist_id: str, value: str) -> tuple:
        return (parmcd, *_coded(codelist_id, value, parmcd, ct))

    def text(parmcd: str, value: object, ref: str = "", version: str = "") -> tuple:
        return (parmcd, str(value), "", ref, version)

    def number_text(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else str(value)

    consent = dm["RFICDTC"].dropna()
    end = dm["RFPENDTC"].dropna()
    if consent.empty:
        raise SpecError(Problem("DM", "no informed consent date: TS SSTDTC (study start date) cannot be derived", variable="RFICDTC"))
    endpoints = study.endpoints.model_dump()
    rows = [
        text("TITLE", study.study.title),
        coded("TPHASE", "TPHASE", ts.phase),
        *[coded("TTYPE", "TTYPE", t) for t in ts.trial_types],
        coded("STYPE", "STYPE", ts.study_type),
        coded("INTMODEL", "INTMODEL", ts.intervention_model),
        coded("INTTYPE", "INTTYPE", ts.intervention_type),
        coded("TINDTP", "TINDTP", ts.intent),
        coded("TBLIND", "TBLIND", ts.blinding),
        coded("TCNTRL", "TCNTRL", ts.control),
        coded("RANDOM", "NY", ts.randomised),
        coded("ADDON", "NY", ts.add_on),
        coded("ADAPT", "NY", ts.adaptive),
        coded("HLTSUBJI", "NY", ts.healthy_subjects),
        ("INDIC", ts.indication.term, ts.indication.snomed, "SNOMED", ts.standards.snomed),
        ("TDIGRP", ts.indication.term, ts.indication.snomed, "SNOMED", ts.standards.snomed),
        text("OBJPRIM", ts.objective_primary),
        *[text("OBJSEC", o) for o in ts.objectives_secondary],
        text("OUTMSPRI", ts.outcome_primary.format(**endpoints)),
        *[text("OUTMSSEC", o.format(**endpoints)) for o in ts.outcomes_secondary],
        text("TRT", study.arm.treatment),
        text("CURTRT", ts.current_therapy),
        text("DOSE", number_text(study.dosing.dose)),
        text("DOSU", study.dosing.dose_unit),
        coded("DOSFRQ", "EXDOSFRQ", study.dosing.frequency),
        coded("ROUTE", "EXROUTE", study.dosing.route),
        coded("SEXPOP", "SEXPOP", ts.sex_population),
        text("AGEMIN", ts.min_age, "ISO 8601"),
        text("AGEMAX", ts.max_age, "ISO 8601"),
        text("LENGTH", ts.length, "ISO 8601"),
        text("PLANSUB", study.study.planned_subjects),
        text("ACTSUB", len(dm)),
        text("NARMS", 1),
        ("FCNTRY", study.study.country, study.study.country, "ISO 3166-1 alpha-3", ""),
        ("REGID", study.study.nct, study.study.nct, "ClinicalTrials.gov", ""),
        text("SPONSOR", study.study.sponsor),
        text("SSTDTC", consent.min(), "ISO 8601"),
        text("SENDTC", end.max() if not end.empty else "", "ISO 8601"),
        text("DCUTDTC", study.data_cutoff.isoformat(), "ISO 8601"),
        text("DCUTDESC", ts.cutoff_description),
        text("SDTMVER", ts.standards.sdtm),
        text("SDTIGVER", ts.standards.sdtmig),
    ]
    return rows


def build_ts(study: Study, dm: pd.DataFrame) -> pd.DataFrame:
    """TS: one record per parameter value; TSSEQ numbers the values of a parameter; TSPARM is the decode of
    TSPARMCD in its codelist (a parameter without one is an error)."""
    rows = trial_summary_rows(study, dm)
    names = {t.value: t.decode for t in load_codelists()["TSPARMCD"].terms}
    unknown = sorted({r[0] for r in rows} - set(names))
    if unknown:
        raise SpecError([Problem("sap/specs/codelists/ct_trial_design.yaml", "TS parameter not in codelist TSPARMCD", value=u) for u in unknown])
    ts = pd.DataFrame(rows, columns=["TSPARMCD", "TSVAL", "TSVALCD", "TSVCDREF", "TSVCDVER"]).replace("", np.nan)
    ts.insert(0, "STUDYID", study.study.studyid)
    ts.insert(1, "DOMAIN", "TS")
    ts["TSSEQ"] = ts.groupby("TSPARMCD", sort=False).cumcount() + 1
    ts["TSPARM"] = ts["TSPARMCD"].map(names)
    ts["TSVALNF"] = pd.Series("NI", index=ts.index, dtype="str").where(ts["TSVAL"].isna(), np.nan)  # ISO 21090 null flavour
    if ts["TSVALNF"].isna().all():
        ts = ts.drop(columns="TSVALNF")
    return ts
