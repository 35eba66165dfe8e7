"""DM and DS builders on the hand-made extract (tests/sdtm/raw_extract.py); expected rows worked by hand."""

import numpy as np
import pandas as pd

from sap.specs import apply_spec
from sdtm.dm import build_dm
from sdtm.ds import build_ds
from sdtm.raw import RawExtract


def test_dm_reference_dates_and_demographics(raw, study):
    result = build_dm(raw, study)
    dm = apply_spec(result.domain, "dm")
    # subject 003 enrolled 02-NOV-2015 > cut-off 2015-10-31: rejected, not dropped
    assert dm["USUBJID"].tolist() == ["IL2SLE01-01-001", "IL2SLE01-01-002"]
    one = dm.iloc[0]
    # first/last injection with DOSE > 0 on or before the cut-off: 05-AUG-2013 and 07-AUG-2013 (the
    # 01-NOV-2015 injection is after the cut-off and does not count)
    assert (one.RFSTDTC, one.RFXSTDTC, one.RFXENDTC) == ("2013-08-05", "2013-08-05", "2013-08-07")
    assert (one.RFENDTC, one.RFPENDTC, one.RFICDTC) == ("2013-10-28", "2013-10-28", "2013-08-01")
    assert (one.SEX, one.RACE, one.ETHNIC, one.AGE, one.AGEU) == ("F", "ASIAN", "NOT HISPANIC OR LATINO", 31, "YEARS")
    # DMDTC 2013-08-03 is 2 days before RFSTDTC 2013-08-05: DMDY = -2 (no day 0 before the reference)
    assert (one.DMDTC, one.DMDY) == ("2013-08-03", -2)
    assert (one.ACTARMCD, one.SITEID, one.COUNTRY) == ("IL2LD", "01", "CHN")
    assert dm["DTHFL"].isna().all()
    assert result.mapped == {"enrolment": 2}
    assert result.rejected.to_dict("records") == [{"FORM": "enrolment", "ROW": 3, "SUBJECT": "003", "REASON": "after data cut-off"}]


def _replace(raw, form, frame):
    return RawExtract(forms={**raw.forms, form: frame}, folder=raw.folder)


def test_dm_never_dosed_and_death(raw, study):
    dosing = raw["dosing"]
    ae = raw["adverse_events"].copy()
    ae.loc[ae["SUBJECT"].eq("002") & ae["AE_NO"].eq(1), "OUTCOME"] = "Fatal"  # headache, ended 14-AUG-2013
    changed = _replace(_replace(raw, "dosing", dosing[dosing["SUBJECT"].ne("002")]), "adverse_events", ae)
    dm = build_dm(changed, study).domain.set_index("SUBJID")
    assert pd.isna(dm.loc["002", "RFSTDTC"]) and pd.isna(dm.loc["002", "DMDY"])
    # SDTMIG 3.4: no actual arm for a subject never dosed, and ARMNRS says why
    assert pd.isna(dm.loc["002", "ACTARMCD"]) and pd.isna(dm.loc["002", "ACTARM"])
    assert dm.loc["002", "ARMNRS"] == "ASSIGNED, NOT TREATED" and pd.isna(dm.loc["001", "ARMNRS"])
    assert (dm.loc["002", "DTHFL"], dm.loc["002", "DTHDTC"]) == ("Y", "2013-08-14")
    assert pd.isna(dm.loc["001", "DTHFL"])


def test_ds_milestone_and_disposition(raw, study):
    result = build_ds(raw, study)
    ds = apply_spec(result.domain, "ds")
    got = ds[["USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSTDTC", "DSSTDY"]].values.tolist()
    assert got == [
        # consent 2013-08-01 vs RFSTDTC 2013-08-05: 1 - 5 = -4; completion 2013-10-28: 26 (Aug) + 30 (Sep)
        # + 28 (Oct) = 84 days after, +1 -> 85
        ["IL2SLE01-01-001", 1, "INFORMED CONSENT OBTAINED", "INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "2013-08-01", -4],
        ["IL2SLE01-01-001", 2, "COMPLETED", "COMPLETED", "DISPOSITION EVENT", "2013-10-28", 85],
        # consent 2013-08-10 vs 2013-08-14: -4; discontinued 2013-09-20: 17 (Aug 14->31) + 20 = 37, +1 -> 38
        ["IL2SLE01-01-002", 1, "INFORMED CONSENT OBTAINED", "INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "2013-08-10", -4],
        ["IL2SLE01-01-002", 2, "ADVERSE EVENT", "ADVERSE EVENT", "DISPOSITION EVENT", "2013-09-20", 38],
    ]
    assert result.mapped == {"enrolment": 2, "disposition": 2}
    assert result.rejected[["FORM", "ROW"]].values.tolist() == [["enrolment", 3]]


def test_ds_disposition_after_cutoff_is_rejected(raw, study):
    disposition = raw["disposition"].copy()
    disposition.loc[0, "DISPOSITION_DATE"] = "01-NOV-2015"
    result = build_ds(_replace(raw, "disposition", disposition), study)
    assert result.mapped["disposition"] == 1
    assert ["disposition", 1, "001", "after data cut-off"] in result.rejected.values.tolist()
    assert not result.domain["DSDECOD"].eq("COMPLETED").any()


def test_rfpendtc_is_the_last_contact(raw, study):
    # 002 discontinued on 20-SEP-2013; an AE ending 02-OCT-2013 is a later contact (CORE-000952)
    ae = raw["adverse_events"].copy()
    ae.loc[ae["SUBJECT"].eq("002") & ae["AE_NO"].eq(1), "END_DATE"] = "02-OCT-2013"
    dm = build_dm(_replace(raw, "adverse_events", ae), study).domain.set_index("SUBJID")
    assert (dm.loc["002", "RFENDTC"], dm.loc["002", "RFPENDTC"]) == ("2013-09-20", "2013-10-02")
    assert dm.loc["001", "RFPENDTC"] == "2013-10-28"  # nothing later than the disposition date
