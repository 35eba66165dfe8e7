"""The plan and the spec machinery: loading, validation errors, spec application."""

import pandas as pd
import pytest
import yaml

from sap.errors import SpecError
from sap.specs import apply_spec, conformance_problems, load_spec
from sap.study import DEFAULT_STUDY_FILE, load_study


def test_plan_dosing_schedule(study):
    # 3 cycles of injections on days 1,3,...,13 of each 28-day cycle: 21 injections, last on day 56+13=69
    days = study.dosing.planned_dose_days()
    assert len(days) == 21
    assert days[:7] == [1, 3, 5, 7, 9, 11, 13]
    assert days[7] == 29 and days[-1] == 69
    assert study.dosing.planned_cumulative_dose == 21


def test_plan_primary_visit(study):
    assert study.primary_visit.visit == "WEEK 10"
    assert study.baseline_visit.week == 0


def _write_plan(tmp_path, mutate):
    data = yaml.safe_load(DEFAULT_STUDY_FILE.read_text())
    mutate(data)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_misspelt_key_is_named(tmp_path):
    path = _write_plan(tmp_path, lambda d: d["endpoints"].update({"primary_visit_weeks": 10}))
    with pytest.raises(SpecError) as err:
        load_study(path)
    assert "endpoints.primary_visit_weeks" in str(err.value)


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d["endpoints"].update({"primary_visit_week": 11}), "week 11 is not a scheduled visit"),
        (lambda d: d["visits"][2].update({"window": [15, 35]}), "overlap"),
        (lambda d: d["dosing"].update({"dose_days_in_cycle": [1, 3, 30]}), "outside a 28-day cycle"),
        (lambda d: d["endpoints"].update({"historical_response_rate": 1.5}), "historical_response_rate"),
    ],
)
def test_impossible_values_are_errors(tmp_path, mutate, fragment):
    with pytest.raises(SpecError) as err:
        load_study(_write_plan(tmp_path, mutate))
    assert fragment in str(err.value)


def test_plan_level_rule_does_not_quote_the_whole_plan(tmp_path):
    # the visit check is a rule on the whole plan (empty location): its line must not carry the plan as "value"
    with pytest.raises(SpecError) as err:
        load_study(_write_plan(tmp_path, lambda d: d["endpoints"].update({"primary_visit_week": 11})))
    (line,) = err.value.lines()
    assert "week 11 is not a scheduled visit" in line and "value" not in line and "studyid" not in line


def _dm_row(**changes):
    row = dict(STUDYID="S1", DOMAIN="DM", USUBJID="S1-01-001", SUBJID="001", RFSTDTC="2013-08-05",
               RFENDTC="2013-10-28", RFXSTDTC="2013-08-05", RFXENDTC="2013-10-12", RFICDTC="2013-07-30",
               RFPENDTC="2013-10-28", DTHDTC=None, DTHFL=None, SITEID="01", AGE=31, AGEU="YEARS", SEX="F",
               RACE="ASIAN", ETHNIC="NOT HISPANIC OR LATINO", ARMCD="IL2LD", ARM="Low-dose IL-2",
               ACTARMCD="IL2LD", ACTARM="Low-dose IL-2", ARMNRS=None, ACTARMUD=None, COUNTRY="CHN", DMDTC="2013-08-01")
    row.update(changes)
    return row


def test_apply_spec_orders_casts_and_labels():
    dm = pd.DataFrame([_dm_row()])
    dm = dm[list(reversed(dm.columns))]
    out = apply_spec(dm, "dm")
    assert list(out.columns)[:3] == ["STUDYID", "DOMAIN", "USUBJID"]
    assert out["AGE"].dtype == "int64"
    assert out.attrs["label"] == "Demographics"
    assert out.attrs["labels"]["RFICDTC"] == "Date/Time of Informed Consent"


def test_conformance_problems_name_variable_and_value():
    dm = pd.DataFrame([_dm_row(SEX="FEMALE", RFSTDTC="05AUG2013", USUBJID="X" * 41)]).drop(columns=["SITEID"])
    dm["EXTRA"] = 1
    text = "\n".join(str(p) for p in conformance_problems(dm, load_spec("dm")))
    assert "SITEID: Req variable missing" in text
    assert "SEX: 1 value(s) outside codelist SEX (value 'FEMALE')" in text
    assert "RFSTDTC: 1 value(s) not complete ISO 8601" in text
    assert "USUBJID: 1 value(s) longer than 40 bytes" in text
    assert "EXTRA: variable not in the spec" in text
