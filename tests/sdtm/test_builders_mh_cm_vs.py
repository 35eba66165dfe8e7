"""MH, CM and VS builders on the hand-made extract (tests/sdtm/raw_extract.py); expected rows worked by hand."""

import numpy as np

from sap.specs import apply_spec
from sdtm.cm import build_cm
from sdtm.mh import build_mh
from sdtm.vs import build_vs


def test_mh_sle_diagnosis_partial_dates(raw, study):
    mh = apply_spec(build_mh(raw, study).domain, "mh")
    # UN-MAR-2008 -> 2008-03 ; UN-UNK-2010 -> 2010 (partial kept partial)
    assert mh[["USUBJID", "MHSEQ", "MHSTDTC", "MHDTC", "MHDY"]].values.tolist() == [
        ["IL2SLE01-01-001", 1, "2008-03", "2013-08-03", -2],  # enrolled 2 days before the first dose
        ["IL2SLE01-01-002", 1, "2010", "2013-08-12", -2],
    ]
    assert set(mh["MHDECOD"]) == {"Systemic lupus erythematosus"} and set(mh["MHENRTPT"]) == {"ONGOING"}


def test_cm_prespecified_checklist(raw, study):
    result = build_cm(raw, study)
    cm = apply_spec(result.domain, "cm")
    # 2 subjects x (prednisone + 8 checklist drugs) = 18 records
    assert len(cm) == 18 and set(cm["CMPRESP"]) == {"Y"}
    one = cm[cm["USUBJID"].eq("IL2SLE01-01-001")].set_index("CMTRT")
    assert one["CMSEQ"].tolist() == list(range(1, 10))
    assert (one.loc["PREDNISONE", "CMSEQ"], one.loc["PREDNISONE", "CMOCCUR"]) == (1, "Y")
    assert (one.loc["PREDNISONE", "CMDOSE"], one.loc["PREDNISONE", "CMDOSU"]) == (30.0, "mg/day")
    taken = one.index[one["CMOCCUR"].eq("Y")].tolist()
    assert taken == ["PREDNISONE", "HYDROXYCHLOROQUINE", "MYCOPHENOLATE MOFETIL"]
    assert one.loc["METHOTREXATE", "CMOCCUR"] == "N" and np.isnan(one.loc["METHOTREXATE", "CMDOSE"])
    assert one.loc["HYDROXYCHLOROQUINE", "CMENRTPT"] == "ONGOING"
    two = cm[cm["USUBJID"].eq("IL2SLE01-01-002")].set_index("CMTRT")
    # 0 mg/day prednisone: not taken, no dose
    assert two.loc["PREDNISONE", "CMOCCUR"] == "N" and np.isnan(two.loc["PREDNISONE", "CMDOSE"])
    assert two["CMOCCUR"].eq("N").all()
    assert result.mapped == {"enrolment": 2} and result.rejected["ROW"].tolist() == [3]


def test_vs_height_weight_at_baseline(raw, study):
    vs = apply_spec(build_vs(raw, study).domain, "vs")
    cols = ["USUBJID", "VSSEQ", "VSTESTCD", "VSORRES", "VSORRESU", "VSSTRESN", "VSSTRESU", "VISITNUM", "VISIT", "VSDY"]
    assert vs[cols].values.tolist() == [
        ["IL2SLE01-01-001", 1, "HEIGHT", "160", "cm", 160.0, "cm", 1.0, "WEEK 0", -2],
        ["IL2SLE01-01-001", 2, "WEIGHT", "54", "kg", 54.0, "kg", 1.0, "WEEK 0", -2],
        ["IL2SLE01-01-002", 1, "HEIGHT", "172", "cm", 172.0, "cm", 1.0, "WEEK 0", -2],
        ["IL2SLE01-01-002", 2, "WEIGHT", "70.5", "kg", 70.5, "kg", 1.0, "WEEK 0", -2],
    ]
    # VSTEST is the CDISC test name (C67153) for each code: Height, Weight
    assert vs[["VSTESTCD", "VSTEST"]].drop_duplicates().values.tolist() == [["HEIGHT", "Height"], ["WEIGHT", "Weight"]]
