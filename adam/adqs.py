"""ADQS: disease-activity scores (BDS), one record per subject x parameter x assessment.

Parameters (codelist QSPARMCD in sap/specs/codelists/ct_adam_efficacy.yaml; PARAM is its decode):
- SLE2K01-SLE2K24  SLEDAI-2K descriptors: AVALC PRESENT/ABSENT, AVAL = descriptor weight or 0 (Gladman 2002;
                   weights from sap/specs/raw/instruments.yaml).
- SLEDAI           SLEDAI-2K total RECOMPUTED as the sum of the 24 descriptor AVALs of one assessment (the
                   SDTM total QS SLE2K25 is not copied; validation may compare the two). Missing unless all 24
                   descriptors are recorded.
- BLG0401-BLG0409  BILAG-2004 domain grades: AVALC A-E, AVAL = numeric score (A=12, B=8, C=1, D=E=0; Yee 2010).
- BILAG            BILAG-2004 numeric global score: sum of the 9 domain scores; missing unless all 9 are graded.
- SLEPGA           Physician global assessment, 0-3 (QSSTRESN).

The template chains the study-agnostic library `adam.derive` (dates, visit windows, baseline, change,
ANL01FL); only the instrument scoring is written here (domain.md sections 2, 3 and 4.3).
SELENA-SLEDAI (endpoints.sledai_version: SELENA) is not yet supported and raises a SpecError.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from adam.derive._common import desc, require_columns
from adam.derive.baseline import derive_baseline, derive_change, derive_percent_change, post_baseline
from adam.derive.dates import derive_analysis_date, derive_study_day
from adam.derive.flags import derive_extreme_flag
from adam.derive.merge import derive_vars_merged
from adam.derive.traceability import derive_traceability
from adam.derive.visits import derive_analysis_visit
from sap.errors import InputError, Problem, SpecError
from sap.specs import apply_spec, load_codelists, load_instruments
from sap.study import Study


SLEDAI_TOTAL = "SLEDAI"
BILAG_GLOBAL = "BILAG"
QS_COLUMNS = ["STUDYID", "USUBJID", "QSSEQ", "QSTESTCD", "QSCAT", "QSORRES", "QSSTRESC", "QSSTRESN", "QSDTC", "VISITNUM"]
ADSL_COLUMNS = ["USUBJID", "TRTSDT", "TRT01A", "SAFFL", "FASFL"]
# One assessment of an instrument: the subject's form at one visit on one date.
ASSESSMENT = ["STUDYID", "USUBJID", "VISITNUM", "QSDTC"]


def sledai_weights(instruments: dict | None = None) -> dict[str, int]:
    """QSTESTCD -> SLEDAI-2K descriptor weight (Gladman 2002: 8 x 8, 6 x 4, 7 x 2, 3 x 1)."""
    instruments = instruments or load_instruments()
    return {item["testcd"]: int(item["weight"]) for item in instruments["sledai_2k"]["items"]}


def bilag_scores(instruments: dict | None = None) -> dict[str, int]:
    """BILAG-2004 grade -> numeric score (Yee 2010: A=12, B=8, C=1, D=0, E=0)."""
    instruments = instruments or load_instruments()
    return {grade: int(score) for grade, score in instruments["bilag_2004"]["grade_scores"].items()}


def bilag_domains(instruments: dict | None = None) -> list[str]:
    instruments = instruments or load_instruments()
    return [domain["testcd"] for domain in instruments["bilag_2004"]["domains"]]


def _bad_values(qs: pd.DataFrame, bad: pd.Series, variable: str, message: str) -> list[Problem]:
    return [
        Problem("QS", message, row=f"{qs.at[i, 'USUBJID']}/QSSEQ {qs.at[i, 'QSSEQ']}", variable=variable, value=qs.at[i, variable])
        for i in qs.index[bad]
    ]


def check_qs(qs: pd.DataFrame, instruments: dict | None = None) -> None:
    """InputError, one Problem per bad record: unknown QSTESTCD, descriptor result not PRESENT/ABSENT,
    BILAG grade not A-E, PGA outside its range, or the same test twice in one assessment."""
    instruments = instruments or load_instruments()
    require_columns(qs, QS_COLUMNS, "QS")
    weights, scores = sledai_weights(instruments), bilag_scores(instruments)
    pga = instruments["pga"]
    known = set(weights) | set(bilag_domains(instruments)) | {pga["testcd"], instruments["sledai_2k"]["total_testcd"]}
    code = qs["QSTESTCD"]
    problems = _bad_values(qs, ~code.isin(known), "QSTESTCD", "not a test code of sap/specs/raw/instruments.yaml")
    item, grade, global_ = code.isin(list(weights)), code.isin(bilag_domains(instruments)), code.eq(pga["testcd"])
    problems += _bad_values(qs, item & qs["QSORRES"].notna() & ~qs["QSORRES"].isin(["PRESENT", "ABSENT"]), "QSORRES", "SLEDAI-2K descriptor result is not PRESENT or ABSENT")
    problems += _bad_values(qs, grade & qs["QSSTRESC"].notna() & ~qs["QSSTRESC"].isin(list(scores)), "QSSTRESC", "BILAG-2004 grade is not A-E")
    low, high = pga["range"]
    pga_value = pd.to_numeric(qs["QSSTRESN"], errors="coerce")
    problems += _bad_values(qs, global_ & pga_value.notna() & ~pga_value.between(low, high), "QSSTRESN", f"PGA outside {low}-{high}")
    duplicated = qs.duplicated(ASSESSMENT + ["QSTESTCD"], keep="first")
    problems += _bad_values(qs, duplicated, "QSTESTCD", "test recorded twice in one assessment (same visit and date)")
    if problems:
        raise InputError(problems)


def _records(qs: pd.DataFrame, mask: pd.Series, aval: pd.Series, avalc: pd.Series | None, srcvar: str) -> pd.DataFrame:
    """ADQS records taken one-to-one from QS records, keeping QSSEQ and the source variable (_SRCVAR) for
    the traceability variables."""
    part = qs.loc[mask]
    return pd.DataFrame(
        {
            **{col: part[col] for col in ASSESSMENT},
            "PARAMCD": part["QSTESTCD"],
            "PARCAT1": part["QSCAT"],
            "AVAL": aval[mask].astype("float64"),
            "AVALC": avalc[mask] if avalc is not None else pd.Series(np.nan, index=part.index, dtype="str"),
            "_SRCVAR": srcvar,
            "QSSEQ": part["QSSEQ"],
        }
    )


def derive_sledai_items(qs: pd.DataFrame, instruments: dict | None = None) -> pd.DataFrame:
    """SLEDAI-2K descriptors: AVALC = QSORRES (PRESENT/ABSENT); AVAL = descriptor weight if PRESENT, 0 if
    ABSENT, missing if not recorded (Gladman 2002 weights from instruments.yaml, not QSSTRESN)."""
    weights = pd.Series(sledai_weights(instruments), dtype="float64")
    mask = qs["QSTESTCD"].isin(weights.index)
    weight = qs["QSTESTCD"].map(weights)
    aval = (weight * qs["QSORRES"].eq("PRESENT")).where(qs["QSORRES"].notna())
    return _records(qs, mask, aval, qs["QSORRES"], "QSORRES")


def derive_bilag_domains(qs: pd.DataFrame, instruments: dict | None = None) -> pd.DataFrame:
    """BILAG-2004 domain grades: AVALC = QSSTRESC (A-E); AVAL = numeric score A=12, B=8, C=1, D=E=0."""
    mask = qs["QSTESTCD"].isin(bilag_domains(instruments))
    aval = qs["QSSTRESC"].map(pd.Series(bilag_scores(instruments), dtype="float64"))
    return _records(qs, mask, aval, qs["QSSTRESC"], "QSSTRESC")


def derive_pga(qs: pd.DataFrame, instruments: dict | None = None) -> pd.DataFrame:
    """Physician global assessment: AVAL = QSSTRESN (0-3); AVALC missing."""
    instruments = instruments or load_instruments()
    mask = qs["QSTESTCD"].eq(instruments["pga"]["testcd"])
    return _records(qs, mask, pd.to_numeric(qs["QSSTRESN"], errors="coerce"), None, "QSSTRESN")


def derive_param_sum(items: pd.DataFrame, paramcd: str, parcat1: str, n_required: int) -> pd.DataFrame:
    """One summary record per assessment: AVAL = sum of the item AVALs, missing unless all `n_required` items
    have a non-missing AVAL (no proration). Used for the SLEDAI-2K total (24 descriptors, Gladman 2002) and
    the BILAG-2004 numeric global score (9 domains, Yee 2010). No single source record (QSSEQ missing), so
    the traceability variables stay missing."""
    grouped = items.groupby(ASSESSMENT, dropna=False, sort=True)["AVAL"]
    totals = grouped.agg(["sum", "count"]).reset_index()
    return pd.DataFrame(
        {
            **{col: totals[col] for col in ASSESSMENT},
            "PARAMCD": paramcd,
            "PARCAT1": parcat1,
            "AVAL": totals["sum"].where(totals["count"].eq(n_required)).astype("float64"),
            "AVALC": pd.Series(np.nan, index=totals.index, dtype="str"),
            "_SRCVAR": pd.Series(np.nan, index=totals.index, dtype="str"),
            "QSSEQ": np.nan,
        }
    )


def derive_score_records(qs: pd.DataFrame, instruments: dict | None = None) -> pd.DataFrame:
    """All ADQS parameters from QS, before the timing and baseline derivations. The SDTM total SLE2K25 is
    left out: SLEDAI is recomputed from the descriptors."""
    instruments = instruments or load_instruments()
    items = derive_sledai_items(qs, instruments)
    domains = derive_bilag_domains(qs, instruments)
    return pd.concat(
        [
            items,
            derive_param_sum(items, SLEDAI_TOTAL, instruments["sledai_2k"]["qscat"], len(sledai_weights(instruments))),
            domains,
            derive_param_sum(domains, BILAG_GLOBAL, instruments["bilag_2004"]["qscat"], len(bilag_domains(instruments))),
            derive_pga(qs, instruments),
        ],
        ignore_index=True,
    )


def derive_parameter_names(dataset: pd.DataFrame, codelist: str = "QSPARMCD") -> pd.DataFrame:
    """PARAM = decode of PARAMCD in the codelist; PARAMN = its position (1-based) in the codelist."""
    terms = load_codelists()[codelist].terms
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out["PARAM"] = dataset["PARAMCD"].map({t.value: t.decode for t in terms})
    out["PARAMN"] = dataset["PARAMCD"].map({t.value: i for i, t in enumerate(terms, 1)})
    return out


def derive_sequence(dataset: pd.DataFrame, order: list[str], new_var: str = "ASEQ") -> pd.DataFrame:
    """ASEQ: 1, 2, ... within USUBJID after a stable sort by `order` (missing values last); the frame is
    returned in that order."""
    out = dataset.sort_values(["USUBJID", *order], kind="stable", na_position="last").reset_index(drop=True)
    out[new_var] = out.groupby("USUBJID", sort=False).cumcount() + 1
    return out


def derive_crit_change(dataset: pd.DataFrame, paramcd: str, threshold: int) -> pd.DataFrame:
    """CRIT1 = "CHG <= -<threshold>" on the records of `paramcd`; CRIT1FL = Y/N where CHG is present, missing
    where CHG is missing (admiral `derive_vars_crit_flag()`: the criterion uses same-row variables only)."""
    on_param = dataset["PARAMCD"].eq(paramcd)
    met = dataset["CHG"] <= -threshold
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out["CRIT1"] = pd.Series(f"CHG <= -{threshold}", index=dataset.index, dtype="str").where(on_param)
    out["CRIT1FL"] = pd.Series(np.where(met, "Y", "N"), index=dataset.index, dtype="str").where(on_param & dataset["CHG"].notna())
    return out


def merge_adsl(dataset: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Subject variables from ADSL (TRTA = TRT01A, single-period trial). Records of subjects absent from
    ADSL are an InputError (they cannot be timed against first dose)."""
    require_columns(adsl, ADSL_COLUMNS, "ADSL")
    new_vars = {("TRTA" if c == "TRT01A" else c): c for c in ADSL_COLUMNS if c != "USUBJID"}
    merged = derive_vars_merged(dataset, dataset_add=adsl, by_vars=["USUBJID"], new_vars=new_vars, require_match="QS").reset_index(drop=True)
    merged["TRTSDT"] = merged["TRTSDT"].astype("datetime64[s]")
    return merged


def check_sledai_version(study: Study) -> None:
    """Only SLEDAI-2K scoring is implemented; SELENA-SLEDAI needs the new-or-increased proteinuria rule
    (> 0.5 g/24h vs the previous value, LB PROTEXR), which is not."""
    if study.endpoints.sledai_version != "2K":
        raise SpecError(
            Problem("sap/study.yaml", "SELENA-SLEDAI scoring is not yet supported (needs the new/increased proteinuria rule from LB PROTEXR); set 2K",
                    variable="endpoints.sledai_version", value=study.endpoints.sledai_version)
        )


def derive_adqs(sdtm: dict[str, pd.DataFrame], study: Study, adsl: pd.DataFrame) -> pd.DataFrame:
    """ADQS from SDTM QS and ADSL (template; rules in the module docstring and sap/specs/adam/adqs.yaml)."""
    check_sledai_version(study)
    qs = sdtm["QS"]
    instruments = load_instruments()
    check_qs(qs, instruments)
    crit_threshold = min(study.endpoints.sri_thresholds)
    # Study choices: baseline = last assessment with a value dated on or before first dose (by ADT, VISITNUM,
    # ASEQ); CHG/PCHG on post-baseline records; ANL01FL = per analysis visit the record with a value closest to
    # the target day, then the later date, then the higher ASEQ.
    baseline_candidate = lambda df: df["AVAL"].notna() & df["ADT"].notna() & (df["ADT"] <= df["TRTSDT"])  # noqa: E731
    analysed = lambda df: df["AVISITN"].notna() & df["AVAL"].notna()  # noqa: E731
    by_param = ["USUBJID", "PARAMCD"]
    adqs = (
        derive_score_records(qs, instruments)
        .pipe(merge_adsl, adsl)
        .pipe(derive_parameter_names)
        .pipe(derive_analysis_date, dtc="QSDTC", new_var="ADT", where="QS")
        .pipe(derive_study_day, source_var="ADT", reference_var="TRTSDT", new_var="ADY")
        .pipe(derive_analysis_visit, windows=study.visits)
        .pipe(derive_sequence, ["PARAMN", "ADT", "VISITNUM"])
        .pipe(derive_extreme_flag, by_vars=by_param, order=["ADT", "VISITNUM", "ASEQ"], new_var="ABLFL", mode="last",
              filter_add=baseline_candidate)
        .pipe(derive_baseline, by_vars=by_param, source_var="AVAL", new_var="BASE")
        .pipe(derive_baseline, by_vars=by_param, source_var="AVALC", new_var="BASEC")
        .pipe(derive_change, filter_add=post_baseline)
        .pipe(derive_percent_change, filter_add=post_baseline)
        .pipe(derive_crit_change, SLEDAI_TOTAL, crit_threshold)
        .pipe(derive_extreme_flag, by_vars=[*by_param, "AVISITN"], order=["AWTDIFF", desc("ADT"), desc("ASEQ")],
              new_var="ANL01FL", mode="first", filter_add=analysed)
        .pipe(derive_traceability, domain="QS", source_var="@_SRCVAR", seq_var="QSSEQ")
    )
    return apply_spec(adqs.drop(columns=["QSDTC", "QSSEQ", "_SRCVAR"]), "adqs")
