"""ADRS: SLE Responder Index (BDS), one record per FAS subject x parameter x post-baseline analysis visit.

Rules (domain.md sections 3 and 4.3; SRI of Furie 2009), per subject and analysis visit, from the ADQS
records with ANL01FL = "Y" and their baseline (ADQS BASE/BASEC):
- SLEDRk  SLEDAI-2K reduction >= k (k = each of endpoints.sri_thresholds): ADQS SLEDAI CHG <= -k.
- BILNW   no new BILAG-2004 A and at most one new B: newA = grade A with baseline B-E, newB = grade B with
          baseline C-E; needs all 9 domains graded at the visit and at baseline.
- PGANW   no PGA worsening: round(PGA, 2) - round(baseline PGA, 2) < endpoints.pga_worsening_limit, compared
          as whole hundredths so that 1.2 -> 1.5 (+0.30) is a worsening although 1.5 - 1.2 < 0.3 in floats.
- SRIk    SLEDRk and BILNW and PGANW all "Y".

Non-responder imputation (NRI; admiralonco `no_data_n` event): every FAS subject gets a record for every
parameter at every post-baseline visit. A record whose inputs are missing (SRIk: any component), or of a
subject who discontinued the study before the visit window opened, is AVALC "N", AVAL 0, DTYPE "NRI", with
NRIREAS saying why. Observed records (DTYPE missing) carry ANL02FL = "Y" (observed-case analysis); the
records of the primary visit of the plan carry ANL01FL = "Y".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adam.adqs import BILAG_GLOBAL, SLEDAI_TOTAL, bilag_domains, check_sledai_version, derive_parameter_names, derive_sequence
from adam.derive._common import flag_y, require_columns
from adam.derive.dates import derive_study_day
from adam.derive.imputation import derive_nonresponder_records
from adam.derive.traceability import derive_traceability
from sap.errors import InputError, Problem
from sap.specs import apply_spec
from sap.study import Study

PARCAT1 = "SLE RESPONDER INDEX"
PARCAT2 = {"2K": "SLEDAI-2K", "SELENA": "SELENA-SLEDAI"}
ADSL_COLUMNS = ["STUDYID", "USUBJID", "TRTSDT", "TRT01A", "FASFL", "EOSSTT", "EOSDT"]
ADQS_COLUMNS = ["USUBJID", "PARAMCD", "AVISITN", "ANL01FL", "AVAL", "AVALC", "BASE", "BASEC", "CHG", "ADT", "ASEQ"]
VISIT = ["USUBJID", "AVISITN"]


def hundredths(values: pd.Series) -> pd.Series:
    """Value rounded to 2 decimals, as a whole number of hundredths (half away from zero, with a 1e-9 fuzz
    like SAS ROUND), so that differences are compared exactly: 1.5 -> 150, 1.2 -> 120, 0.3 -> 30."""
    x = values.astype("float64")
    return np.sign(x) * np.floor(np.abs(x) * 100 + 0.5 + 1e-9)


def _analysis_records(adqs: pd.DataFrame, paramcds: list[str], visits: list[float]) -> pd.DataFrame:
    keep = adqs["PARAMCD"].isin(paramcds) & adqs["ANL01FL"].eq("Y") & adqs["AVISITN"].isin(visits)
    return adqs.loc[keep]


def sri_components(adqs: pd.DataFrame, visits: list[float]) -> pd.DataFrame:
    """One row per subject x post-baseline visit that has any ADQS analysis record, with the component
    inputs: SLEDAI CHG (and ADT, ASEQ), PGA value and baseline (and ADT, ASEQ), number of BILAG domains
    graded at the visit and at baseline, counts of new A and new B domains, latest BILAG ADT."""
    sledai = _analysis_records(adqs, [SLEDAI_TOTAL], visits)[[*VISIT, "CHG", "ADT", "ASEQ"]]
    sledai = sledai.rename(columns={"CHG": "SLEDAI_CHG", "ADT": "SLEDAI_ADT", "ASEQ": "SLEDAI_ASEQ"})
    pga = _analysis_records(adqs, ["SLEPGA"], visits)[[*VISIT, "AVAL", "BASE", "ADT", "ASEQ"]]
    pga = pga.rename(columns={"AVAL": "PGA", "BASE": "PGA_BASE", "ADT": "PGA_ADT", "ASEQ": "PGA_ASEQ"})
    domains = _analysis_records(adqs, bilag_domains(), visits)
    grade, base = domains["AVALC"], domains["BASEC"]
    bilag = (
        domains[VISIT]
        .assign(
            BILAG_N=(grade.notna() & base.notna()).astype("int64"),
            NEW_A=(grade.eq("A") & base.isin(["B", "C", "D", "E"])).astype("int64"),
            NEW_B=(grade.eq("B") & base.isin(["C", "D", "E"])).astype("int64"),
            BILAG_ADT=domains["ADT"],
        )
        .groupby(VISIT, as_index=False)
        .agg(BILAG_N=("BILAG_N", "sum"), NEW_A=("NEW_A", "sum"), NEW_B=("NEW_B", "sum"), BILAG_ADT=("BILAG_ADT", "max"))
    )
    return sledai.merge(pga, on=VISIT, how="outer").merge(bilag, on=VISIT, how="outer")


def _long(components: pd.DataFrame, paramcd: str, observed: pd.Series, responder: pd.Series, adt: pd.Series,
          srcvar: str | None = None, srcseq: pd.Series | None = None) -> pd.DataFrame:
    """Records of one parameter for the observed rows only (the missing ones are imputed later)."""
    rows = components.loc[observed.fillna(False).astype(bool)]
    return pd.DataFrame(
        {
            "USUBJID": rows["USUBJID"],
            "AVISITN": rows["AVISITN"],
            "PARAMCD": paramcd,
            "AVALC": pd.Series(np.where(responder[rows.index], "Y", "N"), index=rows.index, dtype="str"),
            "ADT": adt[rows.index],
            "_SRCVAR": srcvar if srcvar else np.nan,
            "_SRCSEQ": srcseq[rows.index] if srcseq is not None else np.nan,
        }
    )


def derive_sri_parameters(components: pd.DataFrame, thresholds: list[int], pga_limit: float) -> pd.DataFrame:
    """Observed component and SRI records (see the module docstring for the rules)."""
    c = components
    sledai_seen = c["SLEDAI_CHG"].notna()
    bilag_seen = c["BILAG_N"].eq(len(bilag_domains()))
    bilag_ok = c["NEW_A"].eq(0) & c["NEW_B"].le(1)
    pga_seen = c["PGA"].notna() & c["PGA_BASE"].notna()
    pga_ok = (hundredths(c["PGA"]) - hundredths(c["PGA_BASE"])) < hundredths(pd.Series([pga_limit])).iloc[0]
    all_seen = sledai_seen & bilag_seen & pga_seen
    latest = pd.concat([c["SLEDAI_ADT"], c["BILAG_ADT"], c["PGA_ADT"]], axis=1).max(axis=1)
    parts = [
        _long(c, "BILNW", bilag_seen, bilag_ok, c["BILAG_ADT"]),
        _long(c, "PGANW", pga_seen, pga_ok, c["PGA_ADT"], "AVAL", c["PGA_ASEQ"]),
    ]
    for k in thresholds:
        reduced = c["SLEDAI_CHG"] <= -k
        parts.append(_long(c, f"SLEDR{k}", sledai_seen, reduced, c["SLEDAI_ADT"], "CHG", c["SLEDAI_ASEQ"]))
        parts.append(_long(c, f"SRI{k}", all_seen, reduced & bilag_ok & pga_ok, latest))
    return pd.concat(parts, ignore_index=True)


def parameter_table(thresholds: list[int], sledai_version: str) -> pd.DataFrame:
    """PARAMCD, PARAM, PARAMN, PARCAT1, PARCAT2 of every ADRS parameter (codelist RSPARMCD)."""
    codes = [f"SRI{k}" for k in thresholds] + [f"SLEDR{k}" for k in thresholds] + ["BILNW", "PGANW"]
    table = pd.DataFrame({"PARAMCD": pd.Series(codes, dtype="str")})
    return derive_parameter_names(table, "RSPARMCD").assign(PARCAT1=PARCAT1, PARCAT2=PARCAT2[sledai_version])


def visit_table(study: Study) -> pd.DataFrame:
    """AVISITN, AVISIT and window start day (AWLO) of the post-baseline visits of the plan."""
    visits = study.post_baseline_visits
    return pd.DataFrame(
        {
            "AVISITN": pd.Series([float(v.visitnum) for v in visits], dtype="float64"),
            "AVISIT": pd.Series([v.visit for v in visits], dtype="str"),
            "AWLO": pd.Series([float(v.window[0]) for v in visits], dtype="float64"),
        }
    )


def discontinued_before_visit(dataset: pd.DataFrame) -> pd.Series:
    """The subject discontinued the study before the first day of the visit window:
    EOSSTT = DISCONTINUED and EOSDT < TRTSDT + (AWLO - 1) days (window days are study days, day 1 = TRTSDT)."""
    window_opens = dataset["TRTSDT"] + pd.to_timedelta(dataset["AWLO"] - 1, unit="D")
    return dataset["EOSSTT"].eq("DISCONTINUED") & dataset["EOSDT"].notna() & (dataset["EOSDT"] < window_opens)


def derive_nri_reason(dataset: pd.DataFrame) -> pd.DataFrame:
    """NRIREAS on DTYPE = NRI records: why the record was imputed."""
    reason = np.where(discontinued_before_visit(dataset), "DISCONTINUED BEFORE VISIT", "MISSING COMPONENT")
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out["NRIREAS"] = pd.Series(reason, index=dataset.index, dtype="str").where(dataset["DTYPE"].eq("NRI"))
    return out


def derive_adrs(sdtm: dict[str, pd.DataFrame], study: Study, adsl: pd.DataFrame, adqs: pd.DataFrame) -> pd.DataFrame:
    """ADRS from ADQS and ADSL (template; rules in the module docstring and sap/specs/adam/adrs.yaml).
    `sdtm` is accepted for the common stage signature; ADRS reads no SDTM domain directly."""
    check_sledai_version(study)
    if adqs is None:
        raise InputError(Problem("ADRS", "derive_adrs needs the ADQS dataset (adqs=...)"))
    require_columns(adsl, ADSL_COLUMNS, "ADSL")
    require_columns(adqs, ADQS_COLUMNS, "ADQS")
    thresholds, endpoints = study.endpoints.sri_thresholds, study.endpoints
    visits = visit_table(study)
    subjects = adsl.loc[adsl["FASFL"].eq("Y"), ADSL_COLUMNS].rename(columns={"TRT01A": "TRTA"})
    subjects = subjects.astype({"TRTSDT": "datetime64[s]", "EOSDT": "datetime64[s]"})

    observed = (
        derive_sri_parameters(sri_components(adqs, visits["AVISITN"].tolist()), thresholds, endpoints.pga_worsening_limit)
        .merge(subjects, on="USUBJID", how="inner")  # FAS subjects only
        .merge(visits, on="AVISITN", how="left")
    )
    # Data at a visit that opened after the subject left the study is not used: the record is imputed.
    observed = observed.loc[~discontinued_before_visit(observed)]
    parameters = parameter_table(thresholds, endpoints.sledai_version)
    adrs = (
        observed.drop(columns=[c for c in subjects.columns if c not in ("STUDYID", "USUBJID")] + ["AVISIT", "AWLO"])
        .merge(parameters, on="PARAMCD", how="left")
        .pipe(derive_nonresponder_records, dataset_adsl=subjects, parameters=parameters, visits=visits[["AVISITN"]], population="FASFL")
        .merge(subjects, on=["STUDYID", "USUBJID"], how="left")
        .merge(visits, on="AVISITN", how="left")
        .assign(AVAL=lambda d: d["AVALC"].eq("Y").astype("float64"))
        .pipe(derive_nri_reason)
        .pipe(derive_study_day, source_var="ADT", reference_var="TRTSDT", new_var="ADY")
        .pipe(derive_traceability, domain="ADQS", source_var="@_SRCVAR", seq_var="_SRCSEQ")
        .assign(
            ANL01FL=lambda d: flag_y(d["AVISITN"].eq(float(study.primary_visit.visitnum))),
            ANL02FL=lambda d: flag_y(d["DTYPE"].isna()),
        )
        .pipe(derive_sequence, ["PARAMN", "AVISITN"])
    )
    return apply_spec(adrs.drop(columns=["_SRCVAR", "_SRCSEQ", "AWLO", "TRTSDT", "EOSSTT", "EOSDT"]), "adrs")
