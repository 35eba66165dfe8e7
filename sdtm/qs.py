"""SDTM QS: the disease-activity instruments, one record per subject, visit and item.

- SLEDAI-2K (`sledai` form): the 24 descriptors SLE2K01-24, QSORRES PRESENT or ABSENT, QSSTRESC/QSSTRESN the
  descriptor's weight if present and 0 if absent (Gladman 2002), plus the total SLE2K25 = sum of the 24
  weighted descriptors, derived here (QSDRVFL "Y"), missing when any descriptor is missing (no imputation
  in SDTM).
- BILAG-2004 (`bilag` form): the nine domain grades BLG0401-09, QSORRES/QSSTRESC A-E, no QSSTRESN (the
  numeric global score is an analysis derivation, ADaM).
- PGA (`pga` form): SLEPGA, QSORRES as collected, QSSTRESN the number (0-3).

Codes, categories and weights come from `sap/specs/raw/instruments.yaml`; QSTEST is the decode of the QSTESTCD
codelist (`sap/specs/codelists/qs.yaml`). A blank answer on a done form is mapped with QSSTAT "NOT DONE".
Form rows with NOT_DONE = Yes are rejected "assessment not done"; rows of subjects absent from DM or
assessed after the data cut-off are rejected with that reason. `mapped` counts raw rows (one SLEDAI row
gives 25 records).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from sap.specs import load_codelists, load_instruments
from sap.study import Study
from sdtm.common import sequence_number, study_day
from sdtm.findings import (
    REASON_AFTER_CUTOFF,
    REASON_NOT_DONE,
    REASON_NOT_IN_DM,
    after_cutoff,
    edc_dates_to_iso,
    in_order,
    attach_dm,
    baseline_flag,
    input_problems,
    number_text,
    on_unique,
    raise_if,
    rejected_rows,
    rejection_reasons,
    visits,
)
from sdtm.raw import REJECTION_COLUMNS, ROW, DomainResult, RawExtract

SLEDAI_FORM, BILAG_FORM, PGA_FORM = "sledai", "bilag", "pga"
NOT_DONE = "NOT DONE"
SLEDAI_ANSWERS = {"Present": "PRESENT", "Absent": "ABSENT"}

# Columns carried from a screened form row to each of its records
ROW_COLUMNS = [ROW, "USUBJID", "RFSTDTC", "RFXSTDTC", "EDC_VISIT", "QSDTC"]
RESULT_COLUMNS = ["QSCAT", "QSTESTCD", "QSORRES", "QSSTRESN", "QSDRVFL"]

QS_COLUMNS = [
    "STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSTEST", "QSCAT", "QSORRES", "QSSTRESC", "QSSTRESN",
    "QSSTAT", "QSBLFL", "QSLOBXFL", "QSDRVFL", "VISITNUM", "VISIT", "QSDTC", "QSDY",
]


# --------------------------------------------------------------------------------------------------------
# Screening: which raw rows are mapped, which rejected and why


def screen_form(form: str, rows: pd.DataFrame, dm: pd.DataFrame, study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split one instrument form into the rows to map (with USUBJID, RFSTDTC, RFXSTDTC, EDC_VISIT, QSDTC)
    and the rejected rows, first reason in this order: subject not in DM, assessment not done (NOT_DONE
    = Yes), after data cut-off (ASSESSMENT_DATE later than study.yaml data_cutoff)."""
    df = attach_dm(rows, dm).rename(columns={"VISIT": "EDC_VISIT"})
    df["QSDTC"] = edc_dates_to_iso(df["ASSESSMENT_DATE"])
    reasons = rejection_reasons(
        [(df["USUBJID"].isna(), REASON_NOT_IN_DM),
         (df["NOT_DONE"].eq("Yes"), REASON_NOT_DONE),
         (after_cutoff(df["QSDTC"], study.data_cutoff), REASON_AFTER_CUTOFF)],
        df.index,
    )
    return df[reasons.isna()], rejected_rows(form, df, reasons)


# --------------------------------------------------------------------------------------------------------
# One function per instrument: screened form rows (wide) -> records (long)


def sledai_records(rows: pd.DataFrame, sledai: dict) -> pd.DataFrame:
    """The 24 SLEDAI-2K descriptors and the derived total (weights from instruments.yaml, Gladman 2002:
    e.g. rash 2 + arthritis 4 + low complement 2 + DNA binding 2 + proteinuria 4 = 14)."""
    items = pd.DataFrame(sledai["items"])
    raw_answers = rows[items["column"].tolist()]
    unknown = raw_answers.notna() & ~raw_answers.isin(list(SLEDAI_ANSWERS))
    raise_if([p for column in items["column"]
              for p in input_problems(SLEDAI_FORM, rows, unknown[column], column, "not Present or Absent")])

    long = rows[ROW_COLUMNS].join(raw_answers).melt(id_vars=ROW_COLUMNS, var_name="column", value_name="ANSWER")
    long = long.merge(items[["column", "testcd", "weight"]], on="column", how="left", validate="many_to_one")
    long["QSORRES"] = long["ANSWER"].map(SLEDAI_ANSWERS).astype("str")
    long["QSSTRESN"] = np.select(
        [long["QSORRES"].eq("PRESENT"), long["QSORRES"].eq("ABSENT")], [long["weight"], 0], default=np.nan
    ).astype("float64")
    long["QSTESTCD"] = long["testcd"]
    long["QSDRVFL"] = pd.Series(np.nan, index=long.index, dtype="str")

    per_row = long.groupby(ROW, sort=False)["QSSTRESN"].agg(["sum", "count"])
    complete_total = per_row["sum"].where(per_row["count"].eq(len(items)))
    total = rows[ROW_COLUMNS].copy()
    total["QSSTRESN"] = total[ROW].map(complete_total).astype("float64")
    total["QSORRES"] = number_text(total["QSSTRESN"])
    total["QSTESTCD"] = sledai["total_testcd"]
    total["QSDRVFL"] = "Y"

    records = pd.concat([long[ROW_COLUMNS + RESULT_COLUMNS[1:]], total[ROW_COLUMNS + RESULT_COLUMNS[1:]]], ignore_index=True)
    records["QSCAT"] = sledai["qscat"]
    return records


def bilag_records(rows: pd.DataFrame, bilag: dict) -> pd.DataFrame:
    """The nine BILAG-2004 domain grades A-E as collected; no numeric score in SDTM."""
    domains = pd.DataFrame(bilag["domains"])
    grades = rows[domains["column"].tolist()]
    unknown = grades.notna() & ~grades.isin(list(bilag["grade_scores"]))
    raise_if([p for column in domains["column"]
              for p in input_problems(BILAG_FORM, rows, unknown[column], column, "grade not A-E")])
    long = rows[ROW_COLUMNS].join(grades).melt(id_vars=ROW_COLUMNS, var_name="column", value_name="QSORRES")
    long["QSTESTCD"] = long["column"].map(domains.set_index("column")["testcd"])
    long["QSORRES"] = long["QSORRES"].astype("str")
    long["QSSTRESN"] = np.nan
    long["QSDRVFL"] = pd.Series(np.nan, index=long.index, dtype="str")
    long["QSCAT"] = bilag["qscat"]
    return long[ROW_COLUMNS + RESULT_COLUMNS]


def pga_records(rows: pd.DataFrame, pga: dict) -> pd.DataFrame:
    """The physician global assessment (0-3): QSORRES the collected number as text, QSSTRESN the number."""
    low, high = pga["range"]
    score = rows["PGA"].astype("float64")
    raise_if(input_problems(PGA_FORM, rows, score.notna() & ~score.between(low, high), "PGA", f"outside {low}-{high}"))
    records = rows[ROW_COLUMNS].copy()
    records["QSCAT"] = pga["qscat"]
    records["QSTESTCD"] = pga["testcd"]
    records["QSORRES"] = number_text(score)
    records["QSSTRESN"] = score
    records["QSDRVFL"] = pd.Series(np.nan, index=records.index, dtype="str")
    return records[ROW_COLUMNS + RESULT_COLUMNS]


# --------------------------------------------------------------------------------------------------------
# The builder


def build_qs(raw: RawExtract, study: Study, dm: pd.DataFrame) -> DomainResult:
    """QS from the `sledai`, `bilag` and `pga` forms (rules in the module docstring and qs.yaml)."""
    instruments = load_instruments()
    builders = [
        (SLEDAI_FORM, sledai_records, instruments["sledai_2k"]),
        (BILAG_FORM, bilag_records, instruments["bilag_2004"]),
        (PGA_FORM, pga_records, instruments["pga"]),
    ]
    parts, rejected, mapped = [], [], {}
    for order, (form, to_records, definition) in enumerate(builders):
        kept, dropped = screen_form(form, raw[form], dm, study)
        mapped[form] = len(kept)
        rejected.append(dropped)
        parts.append(to_records(kept, definition).assign(_INSTRUMENT=order))
    qs = pd.concat(parts, ignore_index=True)

    qs = pd.concat([qs, visits(qs["EDC_VISIT"], study)], axis=1)
    decodes = _decodes("QSTESTCD")
    qs["QSTEST"] = on_unique(qs["QSTESTCD"], lambda codes: codes.map(decodes))
    # SDTMIG 3.4 QS: QSSTRESN is the numeric form of QSSTRESC (CORE-000732); a scored answer's standard
    # result is its score (SLEDAI-2K descriptor weight or 0, the total, PGA), an unscored one (BILAG grade) the answer
    qs["QSSTRESC"] = number_text(qs["QSSTRESN"]).where(qs["QSSTRESN"].notna(), qs["QSORRES"])
    qs["QSSTAT"] = pd.Series(NOT_DONE, index=qs.index, dtype="str").where(qs["QSORRES"].isna())
    qs["QSDY"] = study_day(qs["QSDTC"], qs["RFSTDTC"])
    qs["QSBLFL"] = baseline_flag(qs, by=["USUBJID", "QSCAT", "QSTESTCD"], result="QSSTRESC", dtc="QSDTC",
                                 first_dose="RFXSTDTC", order=["VISITNUM"])
    qs["QSLOBXFL"] = qs["QSBLFL"]  # SDTMIG 3.4: last observation before exposure, the same records here
    seq_order = ["QSDTC", "VISITNUM", "_INSTRUMENT", "QSTESTCD"]
    qs["QSSEQ"] = sequence_number(qs[["USUBJID", *seq_order]], order=seq_order)
    qs = in_order(qs, ["USUBJID", "QSSEQ"], QS_COLUMNS, {"STUDYID": study.study.studyid, "DOMAIN": "QS"})
    rejected = pd.concat([r for r in rejected if len(r)], ignore_index=True) if any(len(r) for r in rejected) \
        else pd.DataFrame(columns=REJECTION_COLUMNS)
    return DomainResult(domain=qs, mapped=mapped, rejected=rejected)


def _decodes(codelist_id: str) -> dict[str, str]:
    return {term.value: term.decode for term in load_codelists()[codelist_id].terms}
