"""EX and AE builders on the hand-made extract (tests/sdtm/raw_extract.py); expected rows worked by hand."""

import numpy as np
import pandas as pd

from sap.specs import apply_spec
from sdtm.ae import build_ae
from sdtm.ex import build_ex
from sdtm.raw import RawExtract


def test_ex_one_record_per_injection(raw, study):
    result = build_ex(raw, study)
    ex = apply_spec(result.domain, "ex")
    got = ex[["USUBJID", "EXSEQ", "EXSPID", "EXDOSE", "EXDOSU", "EXLOC", "EXSTDTC", "EXSTDY", "EXENDY"]].values.tolist()
    assert got == [
        # 001 first dose 2013-08-05 = day 1; 2013-08-07 = 2 days later -> day 3
        ["IL2SLE01-01-001", 1, "CYCLE 1 INJECTION 1", 1.0, "10^6 IU", "ABDOMEN", "2013-08-05", 1, 1],
        ["IL2SLE01-01-001", 2, "CYCLE 1 INJECTION 2", 1.0, "10^6 IU", "THIGH", "2013-08-07", 3, 3],
        ["IL2SLE01-01-002", 1, "CYCLE 1 INJECTION 1", 1.0, "10^6 IU", "UPPER ARM", "2013-08-14", 1, 1],
    ]
    assert set(ex["EXROUTE"]) == {"SUBCUTANEOUS"} and set(ex["EXDOSFRM"]) == {"INJECTION"}
    assert set(ex["EXDOSFRQ"]) == {"QOD"} and set(ex["EXTRT"]) == {"INTERLEUKIN-2"}
    # dosing row 3 (001, 01-NOV-2015) is after the cut-off: 4 rows in = 3 mapped + 1 rejected
    assert result.mapped == {"dosing": 3}
    assert result.rejected.values.tolist() == [["dosing", 3, "001", "after data cut-off"]]


def test_ae_terms_dates_and_sequence(raw, study):
    result = build_ae(raw, study)
    ae = apply_spec(result.domain, "ae")
    rows = ae.set_index(["USUBJID", "AESPID"])
    # 001: AE 2 starts "UN-AUG-2013" -> "2013-08", which sorts before "2013-08-06" (AE 1): AESEQ 1 then 2
    assert rows.loc[("IL2SLE01-01-001", "2"), "AESEQ"] == 1
    assert rows.loc[("IL2SLE01-01-001", "1"), "AESEQ"] == 2
    partial = rows.loc[("IL2SLE01-01-001", "2")]
    assert partial.AESTDTC == "2013-08" and np.isnan(partial.AESTDY)  # partial kept partial, no study day
    assert (partial.AEENRTPT, partial.AEENTPT) == ("ONGOING", "END OF STUDY") and pd.isna(partial.AEENDTC)
    assert (partial.AEDECOD, partial.AESEV, partial.AEREL, partial.AEACN, partial.AEOUT) == (
        "Pyrexia", "MODERATE", "UNLIKELY RELATED", "NOT APPLICABLE", "NOT RECOVERED/NOT RESOLVED")
    complete = rows.loc[("IL2SLE01-01-001", "1")]
    # 2013-08-06 vs RFSTDTC 2013-08-05 -> day 2; 2013-08-08 -> day 4
    assert (complete.AESTDY, complete.AEENDY, complete.AETERM) == (2, 4, "redness at injection site")
    assert complete.AEBODSYS == complete.AESOC == "General disorders and administration site conditions"
    before = rows.loc[("IL2SLE01-01-002", "1")]
    # 2013-08-04 is 10 days before RFSTDTC 2013-08-14 -> day -10 (no day 0); ends on 2013-08-14 -> day 1
    assert (before.AESTDY, before.AEENDY, before.AESER, before.AEREL, before.AESEV) == (-10, 1, "Y", "RELATED", "SEVERE")
    assert pd.isna(before.AEHLT)  # blank HLT stays missing
    assert pd.isna(before.AEHLTCD) and pd.isna(before.AEHLGT) and pd.isna(before.AEHLGTCD)  # and so do its code and HLGT
    # MedDRA codes as the form carries them (raw_extract.py): PT, LLT, SOC codes; AEBDSYCD = AESOCCD (primary SOC)
    assert (before.AELLTCD, before.AEPTCD, before.AEBDSYCD, before.AESOCCD) == (10019211, 10019211, 10029205, 10029205)
    assert (partial.AELLTCD, partial.AEPTCD, partial.AEHLTCD, partial.AEHLGT, partial.AEHLGTCD, partial.AESOCCD) == (
        99000301, 10037660, 99000202, "Body temperature conditions", 99000102, 10018065)
    assert ae["AEPTCD"].dtype == "int64" and ae["AEHLTCD"].dtype == "float64"  # a blank HLT code: SAS numeric
    # 002 AE 2 starts UN-NOV-2015: earliest possible day 2015-11-01 > 2015-10-31 -> rejected
    assert result.mapped == {"adverse_events": 3}
    assert result.rejected.values.tolist() == [["adverse_events", 4, "002", "after data cut-off"]]
    assert ae["AESTDY"].dtype == "float64"  # integer with missing values stays SAS numeric


def test_ex_rows_of_subjects_not_in_dm_are_rejected(raw, study):
    # subject 003 is enrolled after the cut-off (not in DM); an injection of 003 dated before the cut-off
    # cannot be mapped either: rejected with its own reason, never dropped
    dosing = raw["dosing"]
    extra = dosing.iloc[[0]].assign(SUBJECT="003", DOSE_DATE="01-OCT-2015", ROW=5)
    changed = RawExtract(forms={**raw.forms, "dosing": pd.concat([dosing, extra], ignore_index=True)}, folder=raw.folder)
    result = build_ex(changed, study)
    assert result.mapped == {"dosing": 3}
    assert result.rejected.values.tolist() == [
        ["dosing", 3, "001", "after data cut-off"],
        ["dosing", 5, "003", "subject not in DM (enrolled after data cut-off)"],
    ]
