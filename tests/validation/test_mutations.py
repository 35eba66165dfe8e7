"""Mutation tests: the hand-made valid datasets pass; planting one defect at a time makes validation fail
and name the dataset, the variable and the rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.validation.conftest import S1, S2, SDTM, SPECS
from validation.stage import failure_problems, validate_datasets


def failures(datasets, runner, only=None):
    outcomes = validate_datasets(datasets, SDTM, runner=runner, specs_dir=SPECS, only=only)
    return {(o.dataset, o.column, o.rule) for o in outcomes if not o.success}, outcomes


def test_unmutated_datasets_pass(datasets, gx_runner):
    failed, outcomes = failures(datasets, gx_runner)
    assert failed == set()
    rules = {o.rule for o in outcomes}
    # every family ran on the valid data (so the mutations below are not passing by absence)
    assert {"variable_exists", "key_unique", "required_not_null", "codelist", "type", "iso8601", "range",
            "xpt_value_bytes", "xpt_label_length", "xpt_name_length", "xpt_dataset_label_length",
            "sledai_total_equals_weighted_sum", "chg_equals_aval_minus_base", "sri_components_yes",
            "trtemfl_on_or_after_trtsdt", "anl01fl_one_per_visit", "usubjid_in_dm", "usubjid_in_adsl",
            "srcseq_exists", "population_flag_matches_adsl", "population_complete",
            "reconciliation_balances", "test_name_matches_code"} <= rules


def _set(df, row, column, value):
    """A copy of df with one cell changed (labels kept); int columns become float for a fractional value."""
    out = df.copy()
    if isinstance(value, float) and pd.api.types.is_integer_dtype(out[column]):
        out[column] = out[column].astype("float64")
    out.loc[row, column] = value
    out.attrs = df.attrs
    return out


def null_usubjid(d):
    d["DM"] = _set(d["DM"], 0, "USUBJID", np.nan)


def duplicated_key(d):
    d["AE"] = _set(d["AE"], 1, "AESEQ", 1)  # S1 now has AESEQ 1 twice


def outside_codelist(d):
    d["DM"] = _set(d["DM"], 2, "SEX", "X")


def label_41(d):
    d["AE"].attrs["labels"]["AETERM"] = "A" * 41


def value_201_bytes(d):
    # 67 CJK characters: 67 characters (<= 200) but 67 * 3 = 201 bytes of UTF-8 (> 200)
    d["AE"] = _set(d["AE"], 0, "AETERM", "注" * 67)


def malformed_date(d):
    d["DM"] = _set(d["DM"], 0, "RFSTDTC", "10JAN2014")


def partial_not_allowed(d):
    d["DM"] = _set(d["DM"], 1, "RFSTDTC", "2014-01")  # RFSTDTC has no `partial: true`


def chg_wrong(d):
    # visit-2 SLEDAI: AVAL 2, BASE 8, so CHG must be 2 - 8 = -6; plant -5
    adqs = d["ADQS"]
    d["ADQS"] = _set(adqs, adqs.index[adqs["PARAMCD"].eq("SLEDAI") & adqs["AVISITN"].eq(2.0)][0], "CHG", -5.0)


def sri_failed_component(d):
    adrs = d["ADRS"]
    d["ADRS"] = _set(adrs, adrs.index[adrs["USUBJID"].eq(S1) & adrs["PARAMCD"].eq("BILNW")][0], "AVALC", "N")


def ae_subject_not_in_dm(d):
    d["AE"] = _set(d["AE"], 2, "USUBJID", "IL2SLE01-01-999")


def trtemfl_before_trtsdt(d):
    d["ADAE"] = _set(d["ADAE"], 0, "ASTDT", pd.Timestamp("2014-01-09"))  # TRTSDT 2014-01-10


def two_anl01fl(d):
    adqs = d["ADQS"]
    extra = adqs[adqs["PARAMCD"].eq("SLEDAI") & adqs["AVISITN"].eq(2.0)].copy()
    extra["ADT"] = pd.Timestamp("2014-01-26")  # a second assessment in the week-2 window, also flagged
    d["ADQS"] = pd.concat([adqs, extra], ignore_index=True)
    d["ADQS"].attrs = adqs.attrs


def sledai_total_wrong(d):
    # visit-1 descriptors weigh 4 + 2 + 2 = 8; plant a total of 9
    qs = d["QS"]
    d["QS"] = _set(qs, qs.index[qs["QSTESTCD"].eq("SLE2K25") & qs["VISITNUM"].eq(1.0)][0], "QSSTRESN", 9.0)


def sledai_adqs_total_wrong(d):
    adqs = d["ADQS"]
    d["ADQS"] = _set(adqs, adqs.index[adqs["PARAMCD"].eq("SLEDAI") & adqs["AVISITN"].eq(1.0)][0], "AVAL", 10.0)


def missing_req_variable(d):
    attrs = d["AE"].attrs
    d["AE"] = d["AE"].drop(columns="AETERM")
    d["AE"].attrs = attrs


def age_out_of_range(d):
    d["DM"] = _set(d["DM"], 0, "AGE", 130)


def wrong_type(d):
    attrs = d["DM"].attrs
    d["DM"] = d["DM"].assign(AGE=d["DM"]["AGE"].astype(str))
    d["DM"].attrs = attrs


def integer_not_whole(d):
    d["ADSL"] = _set(d["ADSL"], 0, "AGE", 31.5)


def long_name(d):
    attrs = d["AE"].attrs
    d["AE"] = d["AE"].assign(AETERMLONG="x")
    d["AE"].attrs = attrs


def dataset_label_41(d):
    d["ADSL"].attrs["label"] = "B" * 41


def srcseq_missing(d):
    d["ADAE"] = _set(d["ADAE"], 1, "SRCSEQ", 7)  # S1 has AESEQ 1 and 2 only


def aeseq_missing_from_ae(d):
    attrs = d["AE"].attrs
    d["AE"] = d["AE"].iloc[1:].reset_index(drop=True)  # ADAE still carries S1's AESEQ 1
    d["AE"].attrs = attrs


def population_count_mismatch(d):
    attrs = d["ADRS"].attrs
    d["ADRS"] = d["ADRS"][d["ADRS"]["USUBJID"].ne(S2)].reset_index(drop=True)  # FAS: 2 in ADSL, 1 in ADRS
    d["ADRS"].attrs = attrs


def population_flag_mismatch(d):
    d["ADAE"] = _set(d["ADAE"], 2, "SAFFL", "N")  # ADSL SAFFL=Y for S2


def unbalanced_reconciliation(d):
    d["RECONCILIATION"] = _set(d["RECONCILIATION"], 1, "READ", 5)  # 5 != 3 + 1


def param_not_decode(d):
    d["ADRS"] = _set(d["ADRS"], 0, "PARAM", "SRI-5 Response")


MUTATIONS = [
    (null_usubjid, ("DM", "USUBJID", "required_not_null")),
    (duplicated_key, ("AE", "STUDYID,USUBJID,AESEQ", "key_unique")),
    (outside_codelist, ("DM", "SEX", "codelist")),
    (label_41, ("AE", "AETERM", "xpt_label_length")),
    (value_201_bytes, ("AE", "AETERM", "xpt_value_bytes")),
    (malformed_date, ("DM", "RFSTDTC", "iso8601")),
    (partial_not_allowed, ("DM", "RFSTDTC", "iso8601")),
    (chg_wrong, ("ADQS", "CHG", "chg_equals_aval_minus_base")),
    (sri_failed_component, ("ADRS", "AVALC", "sri_components_yes")),
    (ae_subject_not_in_dm, ("AE", "USUBJID", "usubjid_in_dm")),
    (trtemfl_before_trtsdt, ("ADAE", "TRTEMFL", "trtemfl_on_or_after_trtsdt")),
    (two_anl01fl, ("ADQS", "ANL01FL", "anl01fl_one_per_visit")),
    (sledai_total_wrong, ("QS", "QSSTRESN", "sledai_total_equals_weighted_sum")),
    (sledai_adqs_total_wrong, ("ADQS", "AVAL", "sledai_total_equals_weighted_sum")),
    (missing_req_variable, ("AE", "AETERM", "variable_exists")),
    (age_out_of_range, ("DM", "AGE", "range")),
    (wrong_type, ("DM", "AGE", "type")),
    (integer_not_whole, ("ADSL", "AGE", "type")),
    (long_name, ("AE", "AETERMLONG", "xpt_name_length")),
    (dataset_label_41, ("ADSL", None, "xpt_dataset_label_length")),
    (srcseq_missing, ("ADAE", "SRCSEQ", "srcseq_exists")),
    (aeseq_missing_from_ae, ("ADAE", "AESEQ", "srcseq_exists")),
    (population_count_mismatch, ("ADRS", "FASFL", "population_complete")),
    (population_flag_mismatch, ("ADAE", "SAFFL", "population_flag_matches_adsl")),
    (unbalanced_reconciliation, ("RECONCILIATION", None, "reconciliation_balances")),
    (param_not_decode, ("ADRS", "PARAM", "test_name_matches_code")),
]


@pytest.mark.parametrize("mutate, expected", MUTATIONS, ids=[m.__name__ for m, _ in MUTATIONS])
def test_mutation_is_caught(mutate, expected, datasets, gx_runner):
    mutate(datasets)
    failed, outcomes = failures(datasets, gx_runner, only={expected[0]})
    assert expected in failed
    dataset, column, rule = expected
    lines = [str(p) for p in failure_problems(outcomes)]
    assert any(line.startswith(dataset) and rule in line and (column is None or column in line) for line in lines)


def test_unexpected_values_carry_keys(datasets, gx_runner):
    outside_codelist(datasets)
    _, outcomes = failures(datasets, gx_runner, only={"DM"})
    [codelist] = [o for o in outcomes if o.rule == "codelist" and o.column == "SEX" and o.dataset == "DM"]
    assert codelist.unexpected_count == 1
    assert codelist.unexpected == [{"value": "X", "key": {"STUDYID": "IL2SLE01", "USUBJID": "IL2SLE01-01-003"}}]
