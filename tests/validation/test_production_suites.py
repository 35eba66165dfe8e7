"""The production suites (sap/specs/, the study rules, the cross-dataset checks) on the production data (the
synthetic twin, default seed, through SDTM and ADaM): the unmutated run passes every expectation it plans,
and planting one defect at a time into the production datasets makes validation fail, naming the dataset,
the variable and the rule. (test_mutations.py does the same on a miniature spec set with hand-made frames.)"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from validation.cross_checks import References, cross_expectations
from validation.stage import failure_problems, load_folder, plan_dataset, validate_datasets

README_EXPECTATIONS = 2798  # README: "On the twin: 2,798 expectations on 24 datasets ..., all passed."


@pytest.fixture(scope="module")
def production_data(twin_run):
    return load_folder(twin_run)


@pytest.fixture
def production(production_data):
    """A fresh copy of the production datasets (with their labels) for one test to mutate."""
    datasets, sdtm_names = production_data
    fresh = {}
    for name, df in datasets.items():
        fresh[name] = df.copy()
        fresh[name].attrs = copy.deepcopy(df.attrs)
    return fresh, sdtm_names


def test_production_twin_passes_every_planned_expectation(production, gx_runner):
    datasets, sdtm_names = production
    references = References.from_datasets(datasets, sdtm_names)
    planned = sum(len(plan_dataset(name, df)[0]) + len(cross_expectations(name, df, references))
                  for name, df in datasets.items())
    outcomes = validate_datasets(datasets, sdtm_names, runner=gx_runner)
    failed = [(o.dataset, o.column, o.rule, o.unexpected_count) for o in outcomes if not o.success]
    assert failed == []
    assert len(outcomes) == planned == sum(o.success for o in outcomes)
    assert (planned, len(datasets)) == (README_EXPECTATIONS, 24)  # 23 SDTM/ADaM datasets + the reconciliation


def _set(df: pd.DataFrame, mask: pd.Series, column: str, value) -> pd.DataFrame:
    """A copy of df with `column` set to `value` on the first row where mask holds (labels kept)."""
    rows = df.index[mask.fillna(False).to_numpy(dtype=bool)]
    assert len(rows), f"no row to mutate for {column}"
    out = df.copy()
    if isinstance(value, float) and pd.api.types.is_integer_dtype(out[column]):
        out[column] = out[column].astype("float64")
    out.loc[rows[0], column] = value
    out.attrs = df.attrs
    return out


def impossible_lab_date(d):
    d["LB"] = _set(d["LB"], d["LB"]["LBDTC"].notna(), "LBDTC", "2014-13-45")


def impossible_partial_ae_date(d):
    d["AE"] = _set(d["AE"], d["AE"]["AESTDTC"].notna(), "AESTDTC", "2014-13")  # partial allowed, month 13 is not


def thirtieth_of_february(d):
    d["DM"] = _set(d["DM"], d["DM"]["RFSTDTC"].notna(), "RFSTDTC", "2014-02-30")


def sex_outside_codelist(d):
    d["DM"] = _set(d["DM"], d["DM"]["SEX"].notna(), "SEX", "X")


def chg_not_aval_minus_base(d):
    adqs = d["ADQS"]
    first = adqs.index[adqs["CHG"].notna()][0]
    d["ADQS"] = _set(adqs, adqs.index.to_series().eq(first), "CHG", float(adqs.loc[first, "CHG"]) + 1.0)


def sri4_yes_with_pga_worsening(d):
    adrs = d["ADRS"]
    sri = adrs[adrs["PARAMCD"].eq("SRI4") & adrs["AVALC"].eq("Y")].iloc[0]
    component = adrs["PARAMCD"].eq("PGANW") & adrs["USUBJID"].eq(sri["USUBJID"]) & adrs["AVISITN"].eq(sri["AVISITN"])
    d["ADRS"] = _set(adrs, component, "AVALC", "N")


def teae_before_first_dose(d):
    adae = d["ADAE"]
    teae = adae["TRTEMFL"].eq("Y") & adae["TRTSDT"].notna()
    first = adae.index[teae.to_numpy(dtype=bool)][0]
    d["ADAE"] = _set(adae, adae.index.to_series().eq(first), "ASTDT", adae.loc[first, "TRTSDT"] - pd.Timedelta(days=1))


def ae_of_subject_not_in_dm(d):
    d["AE"] = _set(d["AE"], d["AE"]["USUBJID"].notna(), "USUBJID", "IL2SLE01-99-999")


def age_not_whole(d):
    d["ADSL"] = _set(d["ADSL"], d["ADSL"]["AGE"].notna(), "AGE", 31.5)


def lab_test_name_not_its_decode(d):
    d["LB"] = _set(d["LB"], d["LB"]["LBTESTCD"].notna(), "LBTEST", "Not The Decode")


def term_of_201_bytes(d):
    d["AE"] = _set(d["AE"], d["AE"]["AETERM"].notna(), "AETERM", "注" * 67)  # 67 characters, 201 bytes of UTF-8


PRODUCTION_MUTATIONS = [
    (impossible_lab_date, ("LB", "LBDTC", "iso8601")),
    (impossible_partial_ae_date, ("AE", "AESTDTC", "iso8601")),
    (thirtieth_of_february, ("DM", "RFSTDTC", "iso8601")),
    (sex_outside_codelist, ("DM", "SEX", "codelist")),
    (chg_not_aval_minus_base, ("ADQS", "CHG", "chg_equals_aval_minus_base")),
    (sri4_yes_with_pga_worsening, ("ADRS", "AVALC", "sri_components_yes")),
    (teae_before_first_dose, ("ADAE", "TRTEMFL", "trtemfl_on_or_after_trtsdt")),
    (ae_of_subject_not_in_dm, ("AE", "USUBJID", "usubjid_in_dm")),
    (age_not_whole, ("ADSL", "AGE", "type")),
    (lab_test_name_not_its_decode, ("LB", "LBTEST", "test_name_matches_code")),
    (term_of_201_bytes, ("AE", "AETERM", "xpt_value_bytes")),
]


@pytest.mark.parametrize("mutate, expected", PRODUCTION_MUTATIONS, ids=[m.__name__ for m, _ in PRODUCTION_MUTATIONS])
def test_production_mutation_is_caught(mutate, expected, production, gx_runner):
    datasets, sdtm_names = production
    mutate(datasets)
    dataset, column, rule = expected
    outcomes = validate_datasets(datasets, sdtm_names, runner=gx_runner, only={dataset})
    [outcome] = [o for o in outcomes if (o.dataset, o.column, o.rule) == expected]
    assert not outcome.success and outcome.unexpected_count == 1  # one cell planted, one value reported
    lines = [str(p) for p in failure_problems(outcomes)]
    assert any(line.startswith(dataset) and rule in line and column in line for line in lines), lines
