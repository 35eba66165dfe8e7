"""SDTM LB: local laboratory results (`laboratory` form) and flow-cytometry immunophenotyping
(`flow_cytometry` form, LBCAT IMMUNOPHENOTYPING), one record per subject, visit, test and specimen.

Test codes, names, categories, specimens, standard units and conversion factors all come from
`sap/specs/raw/lab_tests.yaml`; nothing about a test is written here. The rules (see the derivation text in
`sap/specs/sdtm/lb.yaml`):

- LBORRES is the result as collected; LBSTRESN = collected value x factor of the collected unit, rounded to
  `STANDARD_SIGNIFICANT_DIGITS` significant digits (halves away from zero) when the factor is not 1, so a
  unit conversion never invents precision; a factor of 1 keeps the collected value unchanged.
- Reference ranges are converted by the same rule (LBSTNRLO/HI) and LBNRIND compares LBSTRESN with them.
- A result with a comparator ("<10") keeps it in LBSTRESC ("<10", converted number) and has no LBSTRESN
  (SDTMIG 3.4 LB assumption on LBSTRESC/LBSTRESN), hence no LBNRIND.
- A row with NOT_DONE = Yes is mapped with LBSTAT "NOT DONE" and no result, unit or range (SDTMIG --STAT):
  the fact that a test was planned and not done is data.
- Rows of subjects absent from DM, or collected after the data cut-off, are rejected with that reason.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sap.errors import Problem, SpecError
from sap.specs import SPECS_DIR, LabTests, read_plan_file
from sap.study import Study
from sdtm.common import sequence_number, study_day
from sdtm.findings import (
    REASON_AFTER_CUTOFF,
    REASON_NOT_IN_DM,
    after_cutoff,
    edc_dates_to_iso,
    in_order,
    attach_dm,
    baseline_flag,
    input_problems,
    number_text,
    raise_if,
    rejected_rows,
    rejection_reasons,
    round_significant,
    visits,
)
from sdtm.raw import ROW, DomainResult, RawExtract

LAB_TESTS_FILE = SPECS_DIR / "raw" / "lab_tests.yaml"
LAB_FORM = "laboratory"
FLOW_FORM = "flow_cytometry"
STANDARD_SIGNIFICANT_DIGITS = 4
NOT_DONE = "NOT DONE"
RESULT_PATTERN = r"^(?P<comparator><=|>=|<|>)?\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))$"  # "<10", "85", ">= 3.5"

LB_COLUMNS = [
    "STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBORRES", "LBORRESU",
    "LBORNRLO", "LBORNRHI", "LBSTRESC", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBSTAT",
    "LBSPEC", "LBBLFL", "LBLOBXFL", "VISITNUM", "VISIT", "LBDTC", "LBDY",
]


# --------------------------------------------------------------------------------------------------------
# The lab dictionary


@lru_cache(maxsize=4)
def _catalogue(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = read_plan_file(path, LabTests).model_dump(exclude_unset=True)
    tests, units = [], []
    for form, name_key in ((LAB_FORM, "edc_test"), (FLOW_FORM, "edc_population")):
        for entry in data[form]:
            tests.append({
                "FORM": form, "NAME": entry[name_key], "LBTESTCD": entry["lbtestcd"], "LBTEST": entry["lbtest"],
                "LBCAT": entry["lbcat"], "LBSPEC": entry["lbspec"], "STD_UNIT": entry["std_unit"],
            })
            units += [{"FORM": form, "NAME": entry[name_key], "UNIT": str(unit), "FACTOR": float(factor)}
                      for unit, factor in entry["units"].items()]
    return pd.DataFrame(tests), pd.DataFrame(units)


def lab_catalogue(path: Path = LAB_TESTS_FILE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`lab_tests.yaml` as two frames: tests (FORM, NAME, LBTESTCD, LBTEST, LBCAT, LBSPEC, STD_UNIT) and
    collected units (FORM, NAME, UNIT, FACTOR); NAME is the EDC test or population name."""
    tests, units = _catalogue(Path(path))
    return tests.copy(), units.copy()


# --------------------------------------------------------------------------------------------------------
# Steps


def collected_results(raw: RawExtract, units: pd.DataFrame) -> pd.DataFrame:
    """Both forms in one shape: FORM, ROW, SUBJECT, EDC_VISIT, COLLECTION_DATE, NAME, RESULT (text), UNIT,
    REF_LOW, REF_HIGH, NOT_DONE (bool). A flow-cytometry PERCENT becomes the text result in the one
    collected unit lab_tests.yaml gives the population ("%")."""
    lab = raw[LAB_FORM]
    lab_part = pd.DataFrame({
        "FORM": LAB_FORM, "ROW": lab[ROW], "SUBJECT": lab["SUBJECT"], "EDC_VISIT": lab["VISIT"],
        "COLLECTION_DATE": lab["COLLECTION_DATE"], "NAME": lab["TEST"], "RESULT": lab["RESULT"],
        "UNIT": lab["UNIT"], "REF_LOW": lab["REF_LOW"].astype("float64"), "REF_HIGH": lab["REF_HIGH"].astype("float64"),
        "NOT_DONE": lab["NOT_DONE"].eq("Yes"),
    })
    flow = raw[FLOW_FORM]
    flow_units = units[units["FORM"].eq(FLOW_FORM)]
    if flow_units["NAME"].duplicated().any():
        raise SpecError(Problem(str(LAB_TESTS_FILE), "a flow-cytometry population must have exactly one unit"))
    flow_part = pd.DataFrame({
        "FORM": FLOW_FORM, "ROW": flow[ROW], "SUBJECT": flow["SUBJECT"], "EDC_VISIT": flow["VISIT"],
        "COLLECTION_DATE": flow["COLLECTION_DATE"], "NAME": flow["POPULATION"], "RESULT": number_text(flow["PERCENT"]),
        "UNIT": flow["POPULATION"].map(flow_units.set_index("NAME")["UNIT"]), "REF_LOW": np.nan, "REF_HIGH": np.nan,
        "NOT_DONE": False,
    })
    return pd.concat([lab_part, flow_part], ignore_index=True)


def check_raw_labs(raw: RawExtract, tests: pd.DataFrame, units: pd.DataFrame) -> None:
    """Malformed rows (the raw reader checks these too; a builder must not map them silently): unknown test
    or population, unit not known for the test, a result that is neither a number nor a comparator and a
    number, a blank result on a done test, a result on a not-done test. One Problem per row."""
    lab, flow = raw[LAB_FORM], raw[FLOW_FORM]
    lab_units = units[units["FORM"].eq(LAB_FORM)]
    known_test = lab["TEST"].isin(lab_units["NAME"])
    known_unit = pd.MultiIndex.from_frame(lab[["TEST", "UNIT"]].astype("str")).isin(
        pd.MultiIndex.from_frame(lab_units[["NAME", "UNIT"]].astype("str")))
    has_result = lab["RESULT"].notna()
    parses = parse_results(lab["RESULT"])["NUMBER"].notna()
    not_done = lab["NOT_DONE"].eq("Yes")
    flow_names = tests.loc[tests["FORM"].eq(FLOW_FORM), "NAME"]
    raise_if(
        input_problems(LAB_FORM, lab, ~known_test, "TEST", "test not in lab_tests.yaml")
        + input_problems(LAB_FORM, lab, known_test & has_result & ~known_unit, "UNIT", "unit not known for the test in lab_tests.yaml")
        + input_problems(LAB_FORM, lab, has_result & ~parses, "RESULT", "result is not a number (optionally after <, <=, >, >=)")
        + input_problems(LAB_FORM, lab, ~not_done & ~has_result, "RESULT", "result blank but NOT_DONE is not Yes")
        + input_problems(LAB_FORM, lab, not_done & has_result, "RESULT", "result given but NOT_DONE is Yes")
        + input_problems(FLOW_FORM, flow, ~flow["POPULATION"].isin(flow_names), "POPULATION", "population not in lab_tests.yaml")
        + input_problems(FLOW_FORM, flow, flow["PERCENT"].isna(), "PERCENT", "percent blank")
    )


def parse_results(results: pd.Series) -> pd.DataFrame:
    """Split a collected result into COMPARATOR (<, <=, >, >= or missing) and NUMBER (float; missing when the
    result is blank or malformed). Arrow's regex engine keeps this vectorised over millions of rows."""
    parts = pc.extract_regex(pa.array(results.str.strip().to_numpy(), type=pa.string(), from_pandas=True), RESULT_PATTERN)
    matched = parts.is_valid()
    comparator = pc.if_else(pc.and_(matched, pc.not_equal(parts.field("comparator"), "")), parts.field("comparator"), None)
    number = pc.cast(pc.if_else(matched, parts.field("number"), None), pa.float64())
    return pd.DataFrame({
        "COMPARATOR": pd.Series(comparator.to_pandas().to_numpy(), index=results.index, dtype="str"),
        "NUMBER": pd.Series(number.to_numpy(zero_copy_only=False), index=results.index, dtype="float64"),
    })


def to_standard(values: pd.Series, factor: pd.Series) -> pd.Series:
    """Collected value x factor; rounded to STANDARD_SIGNIFICANT_DIGITS significant digits when the factor is
    not 1 (85 mg/dL x 0.01 = 0.85 g/L; 0.8 mg/dL x 88.42 = 70.736 -> 70.74 umol/L)."""
    converted = values.astype("float64") * factor
    return converted.where(factor.eq(1), round_significant(converted, STANDARD_SIGNIFICANT_DIGITS))


def derive_lbnrind(df: pd.DataFrame) -> pd.Series:
    """LBNRIND: LOW if LBSTRESN < LBSTNRLO, HIGH if LBSTRESN > LBSTNRHI, NORMAL if within the bounds given;
    missing when LBSTRESN is missing or no bound is given (both already on the same rounding, so the
    comparison is on reported values, as admiral compares ANRIND after signif())."""
    value, low, high = df["LBSTRESN"], df["LBSTNRLO"], df["LBSTNRHI"]
    usable = value.notna() & (low.notna() | high.notna())
    indicator = np.select([usable & (value < low), usable & (value > high), usable], ["LOW", "HIGH", "NORMAL"], default="")
    return pd.Series(indicator, index=df.index, dtype="str").replace("", np.nan)


def derive_results(df: pd.DataFrame) -> pd.DataFrame:
    """LBORRES..LBSTAT from the collected result, unit, ranges and factor (rules in the module docstring)."""
    parsed = parse_results(df["RESULT"])
    number, comparator = parsed["NUMBER"], parsed["COMPARATOR"]
    standard = to_standard(number, df["FACTOR"])
    done = ~df["NOT_DONE"]
    out = pd.DataFrame(index=df.index)
    out["LBORRES"] = df["RESULT"].str.strip()
    out["LBORRESU"] = df["UNIT"].where(done)
    out["LBORNRLO"] = number_text(df["REF_LOW"]).where(done)
    out["LBORNRHI"] = number_text(df["REF_HIGH"]).where(done)
    out["LBSTRESC"] = (comparator.fillna("") + number_text(standard)).where(number.notna())
    out["LBSTRESN"] = standard.where(comparator.isna())
    out["LBSTRESU"] = df["STD_UNIT"].where(done)
    out["LBSTNRLO"] = to_standard(df["REF_LOW"], df["FACTOR"]).where(done)
    out["LBSTNRHI"] = to_standard(df["REF_HIGH"], df["FACTOR"]).where(done)
    out["LBNRIND"] = derive_lbnrind(out)
    out["LBSTAT"] = pd.Series(NOT_DONE, index=df.index, dtype="str").where(df["NOT_DONE"])
    return out


# --------------------------------------------------------------------------------------------------------
# The builder


def build_lb(raw: RawExtract, study: Study, dm: pd.DataFrame) -> DomainResult:
    """LB from the `laboratory` and `flow_cytometry` forms (rules in the module docstring and lb.yaml)."""
    tests, units = lab_catalogue()
    check_raw_labs(raw, tests, units)
    collected = collected_results(raw, units)

    collected = attach_dm(collected, dm)
    collected["LBDTC"] = edc_dates_to_iso(collected["COLLECTION_DATE"])
    reasons = rejection_reasons(
        [(collected["USUBJID"].isna(), REASON_NOT_IN_DM),
         (after_cutoff(collected["LBDTC"], study.data_cutoff), REASON_AFTER_CUTOFF)],
        collected.index,
    )
    rejected = rejected_rows(collected["FORM"], collected, reasons)
    kept = collected[reasons.isna()]
    mapped = {form: int(kept["FORM"].eq(form).sum()) for form in (LAB_FORM, FLOW_FORM)}

    kept = (
        kept.merge(tests, on=["FORM", "NAME"], how="left", validate="many_to_one")
        .merge(units, on=["FORM", "NAME", "UNIT"], how="left", validate="many_to_one")
    )
    lb = pd.concat([kept, derive_results(kept), visits(kept["EDC_VISIT"], study)], axis=1)
    lb["LBDY"] = study_day(lb["LBDTC"], lb["RFSTDTC"])
    lb["LBBLFL"] = baseline_flag(lb, by=["USUBJID", "LBTESTCD", "LBSPEC"], result="LBSTRESC", dtc="LBDTC",
                                 first_dose="RFXSTDTC", order=["VISITNUM"])
    lb["LBLOBXFL"] = lb["LBBLFL"]  # SDTMIG 3.4: last observation before exposure, the same records here
    seq_order = ["LBDTC", "VISITNUM", "LBCAT", "LBTESTCD", "LBSPEC"]
    lb["LBSEQ"] = sequence_number(lb[["USUBJID", *seq_order]], order=seq_order)
    lb = in_order(lb, ["USUBJID", "LBSEQ"], LB_COLUMNS, {"STUDYID": study.study.studyid, "DOMAIN": "LB"})
    return DomainResult(domain=lb, mapped=mapped, rejected=rejected)
