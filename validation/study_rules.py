"""Study rules of NCT02084238 as expectations: GX where GX can say it on the dataset itself, plain
vectorised checks otherwise; both are reported as `Outcome`s like the spec-driven ones.

A rule is planned for a dataset only when the dataset has the columns it needs, so the rules follow the
data (any BDS dataset with AVAL/BASE/CHG gets the CHG rule), and the instrument definitions come from
`sap/specs/raw/instruments.yaml` (SLEDAI-2K descriptor codes and weights), not from this file.

Rules:
- `sledai_total_equals_weighted_sum` (QS and the ADaM scores dataset): the SLEDAI-2K total (SLE2K25) of a
  subject's assessment (QS) or the SLEDAI parameter (ADQS) equals the sum of the weights of the descriptors
  present at that assessment (Gladman 2002).
- `chg_equals_aval_minus_base` (any BDS): CHG = AVAL - BASE wherever CHG is given (ADaMIG 3.3.4; admiral
  derive_var_chg); CHG may be missing (baseline and pre-baseline records).
- `sri_components_yes` (ADRS): SRI-X = Y implies every component present in the dataset is Y at the same
  subject and visit: SLEDAI reduction >= X, no new BILAG A / <= 1 new B, no PGA worsening >= 0.3
  (Furie 2009). A component parameter the dataset does not derive at all (e.g. BILAG not collected) is
  not required.
- `trtemfl_on_or_after_trtsdt` (ADAE): TRTEMFL = Y only when ASTDT >= TRTSDT (admiral derive_var_trtemfl;
  a missing ASTDT may be Y, rule 3).
- `anl01fl_one_per_visit` (any BDS): at most one ANL01FL = Y record per USUBJID, PARAMCD and AVISITN.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from sap.specs import load_instruments
from validation.engine import Planned

# SRI-X components (domain.md 4.3, ADRS): X -> the SLEDAI reduction parameter, plus BILAG and PGA.
SRI_COMPONENTS: dict[str, list[str]] = {f"SRI{x}": [f"SLEDR{x}", "BILNW", "PGANW"] for x in range(4, 9)}
YES = "Y"
ADAM_SLEDAI_TOTALS = ("SLEDAI", "SLE2K25")  # PARAMCD of the total in the ADaM scores dataset
CHG_TOLERANCE = 1e-6  # absolute, after the values have been stored as float64


@lru_cache(maxsize=1)
def sledai_definition() -> tuple[str, str, dict[str, float]]:
    """(QSCAT, total test code, {descriptor code: weight}) from instruments.yaml."""
    spec = load_instruments()["sledai_2k"]
    return spec["qscat"], spec["total_testcd"], {item["testcd"]: float(item["weight"]) for item in spec["items"]}


def _first(df: pd.DataFrame, names: list[str]) -> str | None:
    return next((n for n in names if n in df.columns), None)


# --------------------------------------------------------------------------------------------------------
# SLEDAI-2K total


def sledai_violations(df: pd.DataFrame, code: str, total_value: str, result_text: str | None, group: list[str],
                      total_code: str) -> pd.DataFrame:
    """Total records whose value differs from the weighted count of descriptors present in the same group.

    A descriptor counts as present when its text result is PRESENT (when the dataset carries one), else when
    its numeric result is > 0 (the result is then the weight, or 1/0: either way present)."""
    weights = sledai_definition()[2]
    items = df[df[code].isin(list(weights))]
    if result_text is not None and items[result_text].notna().any():
        present = items[result_text].astype(str).str.upper().eq("PRESENT")
    else:
        present = pd.to_numeric(items[total_value], errors="coerce").fillna(0).gt(0)
    scored = items[code].map(weights).where(present, 0.0).astype("float64")
    expected = scored.groupby([items[g] for g in group], dropna=False).sum().rename("EXPECTED").reset_index()
    totals = df[df[code].eq(total_code) & df[total_value].notna()]
    merged = totals.reset_index().merge(expected, on=group, how="left").set_index("index")
    merged["EXPECTED"] = merged["EXPECTED"].fillna(0.0)
    bad = ~np.isclose(merged[total_value].astype("float64"), merged["EXPECTED"])
    out = df.loc[merged.index[bad]].copy()
    out["VALUE"] = [f"total {t:g} != weighted sum {e:g}" for t, e in zip(merged.loc[bad, total_value], merged.loc[bad, "EXPECTED"])]
    return out


def _sledai_qs(df: pd.DataFrame) -> pd.DataFrame:
    group = ["USUBJID"] + [c for c in ("VISITNUM", "QSDTC") if c in df.columns]
    return sledai_violations(df, "QSTESTCD", "QSSTRESN", "QSORRES" if "QSORRES" in df.columns else None, group,
                             total_code=sledai_definition()[1])


def _sledai_adam(df: pd.DataFrame) -> pd.DataFrame:
    if "DTYPE" in df.columns:  # imputed records (LOCF, NRI) are not assessments
        df = df[df["DTYPE"].isna()]
    group = ["USUBJID"] + [c for c in ("VISITNUM", "AVISITN", "ADT") if c in df.columns]
    return sledai_violations(df, "PARAMCD", "AVAL", "AVALC" if "AVALC" in df.columns else None, group,
                             total_code=_adam_total_code(df))


def _adam_total_code(df: pd.DataFrame) -> str | None:
    """The ADaM parameter of the SLEDAI-2K total: SLEDAI (recomputed, ADQS spec) or the QS code SLE2K25."""
    present = set(df["PARAMCD"].dropna().unique())
    return next((c for c in ADAM_SLEDAI_TOTALS if c in present), None)


# --------------------------------------------------------------------------------------------------------
# BDS rules


def chg_violations(df: pd.DataFrame) -> pd.DataFrame:
    """Rows where CHG is given but is not AVAL - BASE."""
    chg = df["CHG"].astype("float64")
    expected = df["AVAL"].astype("float64") - df["BASE"].astype("float64")
    given = chg.notna()
    wrong = given & ~(np.abs(chg - expected) <= CHG_TOLERANCE)  # NaN expected (no AVAL or BASE) is wrong too
    out = df.loc[wrong].copy()
    out["VALUE"] = [f"CHG {c:g} != AVAL - BASE = {e:g}" for c, e in zip(chg[wrong], expected[wrong])]
    return out


def _visit_column(df: pd.DataFrame) -> str | None:
    return _first(df, ["AVISITN", "AVISIT"])


def sri_violations(df: pd.DataFrame) -> pd.DataFrame:
    """SRI-X = Y records with a component (same USUBJID and visit) that is not Y or is absent."""
    visit = _visit_column(df)
    by = ["USUBJID"] + ([visit] if visit else [])
    params = set(df["PARAMCD"].dropna().unique())
    flagged = []
    for sri, components in SRI_COMPONENTS.items():  # a handful of parameters, not subjects
        responders = df[df["PARAMCD"].eq(sri) & df["AVALC"].eq(YES)]
        if responders.empty:
            continue
        for component in (c for c in components if c in params):
            yes = df.loc[df["PARAMCD"].eq(component) & df["AVALC"].eq(YES), by].drop_duplicates()
            yes["_OK"] = True
            merged = responders.reset_index().merge(yes, on=by, how="left").set_index("index")
            missing = merged.index[merged["_OK"].isna()]
            if len(missing):
                rows = df.loc[missing].copy()
                rows["VALUE"] = f"{sri}=Y but {component} is not Y"
                flagged.append(rows)
    if not flagged:
        return df.iloc[0:0]
    out = pd.concat(flagged)
    return out[~out.index.duplicated()].sort_index()


# --------------------------------------------------------------------------------------------------------
# Planning


def study_rule_expectations(name: str, df: pd.DataFrame) -> list[Planned]:
    """The study rules that apply to dataset `name` given its columns."""
    cols = set(df.columns)
    planned: list[Planned] = []
    qscat, total_code, _ = sledai_definition()
    if {"QSTESTCD", "QSSTRESN", "USUBJID"} <= cols:
        planned.append(Planned(name, "sledai_total_equals_weighted_sum", "QSSTRESN",
                               f"{qscat} total {total_code} equals the weighted sum of the descriptors present",
                               check=_sledai_qs))
    if {"PARAMCD", "AVAL", "USUBJID"} <= cols and _adam_total_code(df) is not None:
        planned.append(Planned(name, "sledai_total_equals_weighted_sum", "AVAL",
                               f"{qscat} total {total_code} equals the weighted sum of the descriptors present",
                               check=_sledai_adam))
    if {"AVAL", "BASE", "CHG"} <= cols:
        planned.append(Planned(name, "chg_equals_aval_minus_base", "CHG", "CHG = AVAL - BASE where CHG is given",
                               check=chg_violations))
    if {"PARAMCD", "AVALC", "USUBJID"} <= cols and df["PARAMCD"].isin(list(SRI_COMPONENTS)).any():
        planned.append(Planned(name, "sri_components_yes", "AVALC",
                               "SRI-X = Y implies each component (SLEDAI reduction, BILAG, PGA) = Y at that visit",
                               check=sri_violations))
    if {"TRTEMFL", "ASTDT", "TRTSDT"} <= cols:
        planned.append(Planned(name, "trtemfl_on_or_after_trtsdt", "TRTEMFL", "TRTEMFL = Y only when ASTDT >= TRTSDT",
                               gx=("ExpectColumnPairValuesAToBeGreaterThanB",
                                   {"column_A": "ASTDT", "column_B": "TRTSDT", "or_equal": True,
                                    "ignore_row_if": "either_value_is_missing",
                                    "row_condition": 'TRTEMFL=="Y"', "condition_parser": "pandas"})))
    visit = _visit_column(df)
    if {"ANL01FL", "PARAMCD", "USUBJID"} <= cols and visit:
        planned.append(Planned(name, "anl01fl_one_per_visit", "ANL01FL",
                               f"one ANL01FL = Y record per USUBJID, PARAMCD, {visit}",
                               gx=("ExpectCompoundColumnsToBeUnique",
                                   {"column_list": ["USUBJID", "PARAMCD", visit],
                                    "row_condition": 'ANL01FL=="Y"', "condition_parser": "pandas"})))
    return planned
