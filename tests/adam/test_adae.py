"""ADAE on a hand-made ADSL and AE; expected values worked out by hand from the rule in each comment."""

import pandas as pd
import pytest

from adam.adae import derive_adae
from sap.errors import InputError
from sap.specs import apply_spec

GEN = "General disorders and administration site conditions"
INF = "Infections and infestations"


def _adsl():
    return pd.DataFrame({
        "USUBJID": ["S1", "S2"], "SUBJID": ["1", "2"], "SITEID": "01", "AGE": [31, 45], "AGEGR1": ["30-39", ">=40"],
        "SEX": "F", "RACE": "ASIAN", "SAFFL": ["Y", "N"], "TRT01A": ["IL-2", None],
        "TRTSDT": pd.to_datetime(["2014-01-10", None]).astype("datetime64[s]"),
        "TRTEDT": pd.to_datetime(["2014-03-08", None]).astype("datetime64[s]"),
        "EOSDT": pd.to_datetime(["2014-03-26", "2014-02-20"]).astype("datetime64[s]"),
        "DTHDT": pd.to_datetime([None, None]).astype("datetime64[s]"),
    })


def _ae():
    rows = [
        # seq, subject, PT, SOC, start, end, severity, causality
        (1, "S1", "Injection site erythema", GEN, "2014-01-10", "2014-01-12", "MILD", "PROBABLY RELATED"),
        (2, "S1", "Pyrexia", GEN, "2013-12-20", "2013-12-28", "MILD", "NOT RELATED"),
        (3, "S1", "Upper respiratory tract infection", INF, "2014-01", "2014-03", "SEVERE", "UNLIKELY RELATED"),
        (4, "S1", "Arthralgia", "Musculoskeletal and connective tissue disorders", "2013", None, "MODERATE", "NOT RELATED"),
        (5, "S1", "Upper respiratory tract infection", INF, "2014-04-20", "2014-04-25", "MILD", "NOT RELATED"),
        (6, "S1", "Injection site erythema", GEN, "2014-04-07", "2014-04-07", "MODERATE", None),
        (7, "S2", "Headache", "Nervous system disorders", "2014-02-05", "2014-02-06", "MILD", "NOT RELATED"),
    ]
    frame = pd.DataFrame(rows, columns=["AESEQ", "USUBJID", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC", "AESEV", "AEREL"])
    return frame.assign(STUDYID="IL2SLE01", AETERM=frame["AEDECOD"].str.lower(), AESER="N")


@pytest.fixture(scope="module")
def adae(study):
    return derive_adae({"AE": _ae()}, study, adsl=_adsl()).set_index("AESEQ", drop=False)


def test_conforms_to_spec(adae):
    assert len(adae) == 7
    apply_spec(adae.reset_index(drop=True), "adae")


def test_treatment_emergent_flag(adae):
    te = adae["TRTEMFL"]
    assert te[1] == "Y"          # starts on the first-dose day (2014-01-10 = TRTSDT)
    assert pd.isna(te[2])        # ended 2013-12-28, before the first dose
    assert te[3] == "Y"          # partial start imputed to TRTSDT (below)
    assert pd.isna(te[4])        # started 2013, ongoing: before treatment, not TE
    assert te[6] == "Y"          # 2014-04-07 = TRTEDT 2014-03-08 + 30 days: last day of the window
    assert pd.isna(te[5])        # 2014-04-20 is after the 30-day window
    assert pd.isna(te[7]) and pd.isna(adae.loc[7, "TRTA"])  # subject never dosed


def test_partial_dates_are_imputed_admiral_style(adae):
    # "2014-01": first of month 2014-01-01, raised to TRTSDT 2014-01-10 which lies in January 2014; flag D.
    assert adae.loc[3, "ASTDT"] == pd.Timestamp("2014-01-10") and adae.loc[3, "ASTDTF"] == "D"
    # "2014-03": last of month 2014-03-31, lowered to EOSDT 2014-03-26 which lies in March 2014; flag D.
    assert adae.loc[3, "AENDT"] == pd.Timestamp("2014-03-26") and adae.loc[3, "AENDTF"] == "D"
    # Jan 10 -> Mar 26 = 21 + 28 + 26 = 75 days, + 1 = 76.
    assert adae.loc[3, "ADURN"] == 76 and adae.loc[3, "ADURU"] == "DAYS"
    # "2013": 2013-01-01 (TRTSDT not in 2013, so no raise); flag M; ongoing -> no end date.
    assert adae.loc[4, "ASTDT"] == pd.Timestamp("2013-01-01") and adae.loc[4, "ASTDTF"] == "M"
    assert pd.isna(adae.loc[4, "AENDT"]) and pd.isna(adae.loc[4, "ADURN"])


def test_study_days_and_duration(adae):
    assert (adae.loc[1, "ASTDY"], adae.loc[1, "AENDY"], adae.loc[1, "ADURN"]) == (1, 3, 3)
    # 2013-12-20 is 21 days before 2014-01-10 -> day -21 (no day 0).
    assert adae.loc[2, "ASTDY"] == -21
    assert pd.isna(adae.loc[1, "ASTDTF"])  # complete date: no imputation flag


def test_severity_and_causality(adae):
    assert list(adae["ASEVN"]) == [1, 1, 3, 2, 1, 2, 1]
    assert adae.loc[1, "ARELFL"] == "Y"  # PROBABLY RELATED
    assert adae.loc[3, "ARELFL"] == "N"  # UNLIKELY RELATED
    assert adae.loc[6, "ARELFL"] == "Y"  # missing causality counts as related
    assert adae.loc[2, "ARELFL"] == "N"


def test_first_occurrence_flags_among_teaes(adae):
    # S1 TEAEs in ASTDT, AESEQ order: 1 (01-10, GEN/ISE), 3 (01-10, INF/URTI), 6 (04-07, GEN/ISE).
    assert adae["AOCCFL"].eq("Y").sum() == 1 and adae.loc[1, "AOCCFL"] == "Y"
    assert list(adae["AOCCSFL"].eq("Y")) == [True, False, True, False, False, False, False]
    assert list(adae["AOCCPFL"].eq("Y")) == [True, False, True, False, False, False, False]


def test_injection_site_query(adae):
    assert list(adae["CQ01NAM"].notna()) == [True, False, False, False, False, True, False]
    assert adae.loc[1, "CQ01NAM"] == "INJECTION SITE REACTION"


def test_ae_of_unknown_subject_is_an_input_error(study):
    ae = _ae()
    ae.loc[0, "USUBJID"] = "S9"
    with pytest.raises(InputError, match="S9/AESEQ 1"):
        derive_adae({"AE": ae}, study, adsl=_adsl())
