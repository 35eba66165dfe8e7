"""ADSL on hand-made SDTM frames; every expected value is worked out by hand from the rule in the comment."""

import datetime as dt

import pandas as pd
import pytest

from adam.adsl import derive_adsl
from sap.errors import InputError
from sap.specs import apply_spec

START = dt.date(2014, 1, 1)


def _dm():
    return pd.DataFrame({
        "STUDYID": "IL2SLE01", "USUBJID": ["S1", "S2", "S3"], "SUBJID": ["1", "2", "3"], "SITEID": "01",
        "AGE": [31, 45, 29], "AGEU": "YEARS", "SEX": ["F", "F", "M"], "RACE": "ASIAN",
        "ETHNIC": "NOT HISPANIC OR LATINO", "COUNTRY": "CHN", "ARM": "Low-dose IL-2",
        "ACTARM": ["Low-dose IL-2", "Not Treated", "Low-dose IL-2"],
        "RFICDTC": ["2013-12-20", "2014-01-25", "2013-12-01"],
        "DTHDTC": [None, None, None],
    })


def _ex(study):
    """S1: every planned injection but the last (20 of 21); S2: none; S3: all 21 (first dose 2014-01-02)."""
    days = study.dosing.planned_dose_days()
    rows = [("S1", d) for d in days[:-1]] + [("S3", d) for d in days]
    first = {"S1": START, "S3": dt.date(2014, 1, 2)}
    dates = [(first[s] + dt.timedelta(days=d - 1)).isoformat() for s, d in rows]
    return pd.DataFrame({
        "USUBJID": [s for s, _ in rows], "EXSEQ": range(1, len(rows) + 1), "EXTRT": "INTERLEUKIN-2",
        "EXDOSE": 1.0, "EXDOSU": "10^6 IU", "EXSTDTC": dates, "EXENDTC": dates,
    })


def _qs():
    rows = []

    def add(subject, visitnum, dtc, testcd, stresc, stresn=None):
        rows.append({"USUBJID": subject, "VISITNUM": visitnum, "QSDTC": dtc, "QSTESTCD": testcd,
                     "QSSTRESC": stresc, "QSSTRESN": stresn})

    bilag = {"S1": "ABCDEEEEE", "S2": "CCCCCCCCC", "S3": "BBCCEEEEE"}
    for subject, dtc in (("S1", "2014-01-01"), ("S2", "2014-02-01"), ("S3", "2014-01-02")):
        add(subject, 1, dtc, "SLE2K25", "12", 12.0)
        add(subject, 1, dtc, "SLEPGA", "2.3", 2.3)
        for i, grade in enumerate(bilag[subject], 1):
            add(subject, 1, dtc, f"BLG040{i}", grade)
    # S1 baseline descriptors: rash (SKIN) and fever present, arthritis and proteinuria absent; haematologic
    # descriptors not recorded at all.
    # SDTM QS shape (SDTMIG 3.4): QSSTRESC/QSSTRESN are the descriptor's score, its weight if present
    # (instruments.yaml: rash 2, fever 1), 0 if absent
    for testcd, score in (("SLE2K15", 2.0), ("SLE2K22", 1.0), ("SLE2K09", 0.0), ("SLE2K13", 0.0)):
        add("S1", 1, "2014-01-01", testcd, f"{score:g}", score)
    # An earlier screening SLEDAI of S1 that the later baseline-visit value replaces.
    add("S1", 0.5, "2013-12-20", "SLE2K25", "16", 16.0)
    # S1 week 2 SLEDAI without an assessment date: post-baseline by its visit.
    add("S1", 2, None, "SLE2K25", "6", 6.0)
    # S3 week 2 SLEDAI not done (no result): S3 has no post-baseline SLEDAI.
    add("S3", 2, "2014-01-16", "SLE2K25", None, None)
    return pd.DataFrame(rows)


def _sdtm(study):
    return {
        "DM": _dm(),
        "EX": _ex(study),
        "DS": pd.DataFrame({
            "USUBJID": ["S1", "S2"], "DSCAT": "DISPOSITION EVENT", "DSSEQ": 1,
            "DSDECOD": ["COMPLETED", "WITHDRAWAL BY SUBJECT"], "DSSTDTC": ["2014-03-26", "2014-02-10"],
        }),
        "VS": pd.DataFrame({
            "USUBJID": ["S1", "S1", "S1"], "VISITNUM": [1, 1, 2], "VSTESTCD": ["WEIGHT", "HEIGHT", "WEIGHT"],
            "VSSTRESN": [54.0, 160.0, 56.0], "VSSTRESU": ["kg", "cm", "kg"],
            "VSDTC": ["2014-01-01", "2014-01-01", "2014-01-15"],
        }),
        "MH": pd.DataFrame({
            "USUBJID": ["S1", "S3", "S3"], "MHTERM": ["SLE", "Lupus", "Hypertension"],
            "MHDECOD": ["Systemic lupus erythematosus", "Systemic lupus erythematosus", "Hypertension"],
            "MHSTDTC": ["2009-03", "2010", "2012-05-05"],
        }),
        "CM": pd.DataFrame({
            "USUBJID": ["S1", "S1", "S1", "S1"],
            "CMDECOD": ["PREDNISONE", "PREDNISONE", "HYDROXYCHLOROQUINE", "MYCOPHENOLATE MOFETIL"],
            "CMDOSE": [30.0, 10.0, 400.0, 1000.0],
            "CMSTDTC": ["2013-06", "2014-02-01", "2012", "2013-01-01"],
            "CMENDTC": [None, None, None, "2013-12-01"],
        }),
        "QS": _qs(),
    }


@pytest.fixture(scope="module")
def adsl(study):
    return derive_adsl(_sdtm(study), study).set_index("USUBJID", drop=False)


def test_one_record_per_subject_and_conforms_to_spec(adsl):
    assert list(adsl["USUBJID"]) == ["S1", "S2", "S3"]
    apply_spec(adsl.reset_index(drop=True), "adsl")  # raises SpecError on any nonconformance


def test_treatment_dates_and_population_flags(adsl):
    s1, s2, s3 = adsl.loc["S1"], adsl.loc["S2"], adsl.loc["S3"]
    # S1 doses on study days 1..67 (21st planned dose, day 69, missing): 2014-01-01 + 66 days = 2014-03-08.
    assert s1["TRTSDT"] == pd.Timestamp("2014-01-01") and s1["TRTEDT"] == pd.Timestamp("2014-03-08")
    assert s1["TRTDURD"] == 67
    assert (s1["SAFFL"], s1["FASFL"], s1["ENRLFL"]) == ("Y", "Y", "Y")
    # S2 never dosed: not in the safety set, no actual treatment, no FAS even with a baseline SLEDAI.
    assert (s2["SAFFL"], s2["FASFL"], s2["ENRLFL"]) == ("N", "N", "Y")
    assert pd.isna(s2["TRT01A"]) and pd.isna(s2["TRTSDT"]) and s2["TRT01P"] == "Low-dose IL-2"
    # S3 dosed with a baseline SLEDAI but no post-baseline SLEDAI result -> FASFL N.
    assert (s3["SAFFL"], s3["FASFL"]) == ("Y", "N")
    assert s3["TRT01A"] == "Low-dose IL-2"


def test_exposure_and_compliance(adsl):
    # 20 of 21 planned injections: 20 / 21 * 100 = 95.238...; S3 21/21 = 100; S2 none = 0.
    assert adsl.loc["S1", "INJNUM"] == 20 and adsl.loc["S1", "CUMDOSE"] == 20.0
    assert adsl.loc["S1", "COMPLPCT"] == pytest.approx(95.238095, abs=1e-5)
    assert adsl.loc["S3", "COMPLPCT"] == 100.0
    assert (adsl.loc["S2", "INJNUM"], adsl.loc["S2", "COMPLPCT"]) == (0, 0.0)


def test_disposition(adsl):
    assert (adsl.loc["S1", "EOSSTT"], adsl.loc["S1", "COMPLFL"]) == ("COMPLETED", "Y")
    assert pd.isna(adsl.loc["S1", "DCSREAS"]) and adsl.loc["S1", "EOSDT"] == pd.Timestamp("2014-03-26")
    assert (adsl.loc["S2", "EOSSTT"], adsl.loc["S2", "DCSREAS"], adsl.loc["S2", "COMPLFL"]) == ("DISCONTINUED", "WITHDRAWAL BY SUBJECT", "N")
    # No disposition event yet -> ONGOING.
    assert (adsl.loc["S3", "EOSSTT"], adsl.loc["S3", "COMPLFL"]) == ("ONGOING", "N")


def test_age_groups(adsl):
    assert list(adsl["AGEGR1"]) == ["30-39", ">=40", "<30"]  # ages 31, 45, 29
    assert list(adsl["AGEGR1N"]) == [2, 3, 1]


def test_body_size_at_baseline(adsl):
    s1 = adsl.loc["S1"]
    # The week-2 weight (56 kg) is after TRTSDT: baseline stays 54 kg.
    assert (s1["WEIGHTBL"], s1["HEIGHTBL"]) == (54.0, 160.0)
    # Mosteller sqrt(160 * 54 / 3600) = sqrt(2.4) = 1.549193; BMI 54 / 1.6^2 = 21.09375.
    assert s1["BSABL"] == pytest.approx(1.549193, abs=1e-6)
    assert s1["BMIBL"] == pytest.approx(21.09375)
    assert pd.isna(adsl.loc["S2", "WEIGHTBL"])


def test_sle_duration_from_imputed_diagnosis_date(adsl):
    # S1 "2009-03" -> 2009-03-15 (mid, flag D); 2009-03-15 to 2014-03-15 = 1826 days (2012 leap day),
    # minus 73 days (2014-01-01 to 2014-03-15: 30 + 28 + 15) = 1753 days / 365.25 = 4.799452.
    assert adsl.loc["S1", "DIAGDT"] == pd.Timestamp("2009-03-15") and adsl.loc["S1", "DIAGDTF"] == "D"
    assert adsl.loc["S1", "SLEDURY"] == pytest.approx(1753 / 365.25)
    # S3 "2010" -> 2010-06-30 (flag M); to TRTSDT 2014-01-02: 2010-06-30 -> 2013-06-30 = 1096 days (2012 leap),
    # + 186 days (2013-06-30 -> 2014-01-02: 0 + 31+31+30+31+30+31 + 2) = 1282 days.
    assert adsl.loc["S3", "DIAGDT"] == pd.Timestamp("2010-06-30") and adsl.loc["S3", "DIAGDTF"] == "M"
    assert adsl.loc["S3", "SLEDURY"] == pytest.approx(1282 / 365.25)
    assert pd.isna(adsl.loc["S2", "SLEDURY"])


def test_baseline_medications(adsl):
    s1 = adsl.loc["S1"]
    # Prednisone 30 mg ongoing since 2013-06 counts; the 10 mg started 2014-02-01 (after TRTSDT) does not.
    assert s1["BPREDDOS"] == 30.0
    assert s1["HCQBLFL"] == "Y"
    # Mycophenolate ended 2013-12-01, before the first dose.
    assert s1["MMFBLFL"] == "N" and s1["MTXBLFL"] == "N"
    # No CM record: prednisone 0 mg/day, every flag N.
    assert adsl.loc["S2", "BPREDDOS"] == 0.0 and adsl.loc["S2", "HCQBLFL"] == "N"


def test_baseline_disease_scores(adsl):
    # The screening value 16 (visit 0.5) is replaced by the later baseline-visit value 12.
    assert adsl.loc["S1", "BSLEDAI"] == 12.0 and adsl.loc["S1", "BPGA"] == pytest.approx(2.3)
    # BILAG A,B,C,D,E,E,E,E,E -> 12 + 8 + 1 + 0 + 0 = 21; one A -> flag Y.
    assert adsl.loc["S1", "BBILAG"] == 21 and adsl.loc["S1", "BBLGABFL"] == "Y"
    # 9 x C -> 9, no A and no B -> N.
    assert adsl.loc["S2", "BBILAG"] == 9 and adsl.loc["S2", "BBLGABFL"] == "N"
    # B,B,C,C,E,E,E,E,E -> 8 + 8 + 1 + 1 = 18; two B -> Y.
    assert adsl.loc["S3", "BBILAG"] == 18 and adsl.loc["S3", "BBLGABFL"] == "Y"


def test_baseline_organ_involvement(adsl):
    s1 = adsl.loc["S1"]
    assert (s1["BSKINFL"], s1["BFEVERFL"]) == ("Y", "Y")  # rash, fever present
    assert (s1["BMSKFL"], s1["BRENALFL"]) == ("N", "N")  # arthritis, proteinuria absent
    assert pd.isna(s1["BHAEMFL"])  # no haematologic descriptor recorded
    assert pd.isna(adsl.loc["S2", "BSKINFL"])  # no descriptor recorded at all


def test_missing_domain_is_one_line_error(study):
    sdtm = _sdtm(study)
    del sdtm["QS"]
    with pytest.raises(InputError, match="SDTM QS: required domain is missing"):
        derive_adsl(sdtm, study)


def test_wrong_dose_unit_is_an_input_error(study):
    sdtm = _sdtm(study)
    sdtm["EX"].loc[0, "EXDOSU"] = "mg"
    with pytest.raises(InputError, match="EXDOSU"):
        derive_adsl(sdtm, study)


def test_input_frames_are_not_mutated(study):
    sdtm = _sdtm(study)
    copies = {k: v.copy() for k, v in sdtm.items()}
    derive_adsl(sdtm, study)
    for name, frame in sdtm.items():
        pd.testing.assert_frame_equal(frame, copies[name])


def test_checklist_cm_without_dates(study):
    """The study's CM is the enrolment checklist: no dates; CMOCCUR N answers are not medications taken."""
    sdtm = _sdtm(study)
    sdtm["CM"] = pd.DataFrame({
        "USUBJID": ["S1", "S1", "S3", "S3"], "CMDECOD": ["PREDNISONE", "HYDROXYCHLOROQUINE", "PREDNISONE", "CICLOSPORIN"],
        "CMOCCUR": ["Y", "N", "N", "Y"], "CMDOSE": [45.0, None, None, None],
    })
    adsl = derive_adsl(sdtm, study).set_index("USUBJID")
    assert (adsl.loc["S1", "BPREDDOS"], adsl.loc["S1", "HCQBLFL"]) == (45.0, "N")
    assert (adsl.loc["S3", "BPREDDOS"], adsl.loc["S3", "CSABLFL"]) == (0.0, "Y")
