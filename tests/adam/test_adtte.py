"""ADTTE (time to first SRI-4 response) on hand-made ADSL/ADRS frames in the production shape (NRI records
present, DTYPE missing on observed ones); expected values worked out by hand from the SAP 8.6 rules."""

import numpy as np
import pandas as pd

from adam.adtte import derive_adtte


def test_events_and_censoring_follow_the_sap(study):
    trtsdt = pd.Timestamp("2014-01-10")
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A", "B", "C", "D"], "TRT01A": "IL-2", "FASFL": ["Y", "Y", "Y", "N"],
                         "TRTSDT": [trtsdt] * 4}).astype({"TRTSDT": "datetime64[s]"})
    rows = [
        # A: N at visit 2, Y at visit 3 (28 Jan), Y at visit 4 -> event on 28 Jan, day 19
        ("A", "SRI4", "N", "2014-01-24", 2.0, None, 1), ("A", "SRI4", "Y", "2014-01-28", 3.0, None, 2),
        ("A", "SRI4", "Y", "2014-02-11", 4.0, None, 3), ("A", "SRI5", "Y", "2014-01-24", 2.0, None, 4),
        # B: observed N twice, then imputed N (NRI, no date) -> censored at the last assessment, 7 Feb = day 29
        ("B", "SRI4", "N", "2014-01-24", 2.0, None, 1), ("B", "SRI4", "N", "2014-02-07", 3.0, None, 2),
        ("B", "SRI4", "N", None, 4.0, "NRI", 3),
        # C: only imputed records -> censored on day 1; D: outside the FAS -> no record
        ("C", "SRI4", "N", None, 2.0, "NRI", 1), ("D", "SRI4", "Y", "2014-01-24", 2.0, None, 1),
    ]
    adrs = pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVALC", "ADT", "AVISITN", "DTYPE", "ASEQ"]).assign(STUDYID="S")
    adrs["ADT"] = pd.to_datetime(adrs["ADT"]).astype("datetime64[s]")
    adrs["DTYPE"] = adrs["DTYPE"].astype("str").where(adrs["DTYPE"].notna())
    got = derive_adtte({}, study, adsl, adrs)
    assert got["USUBJID"].tolist() == ["A", "B", "C"]
    assert got["PARAMCD"].unique().tolist() == ["TTSRI4"]
    assert got["AVAL"].tolist() == [19.0, 29.0, 1.0]
    assert got["CNSR"].tolist() == [0, 1, 1]
    assert got["EVNTDESC"].tolist() == ["SRI4 RESPONSE", "NO RESPONSE", "NO RESPONSE"]
    assert got["CNSDTDSC"].fillna("-").tolist() == ["-", "LAST SRI4 ASSESSMENT", "NO POST-BASELINE SRI4 ASSESSMENT"]
    assert got["SRCDOM"].tolist() == ["ADRS", "ADRS", "ADSL"] and got["SRCSEQ"].tolist()[:2] == [2, 2] and np.isnan(float(got["SRCSEQ"].iloc[2]))
    assert got.attrs["name"] == "ADTTE"
