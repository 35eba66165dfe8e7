"""A small, hand-made, valid set of SDTM and ADaM datasets (three subjects) and the miniature spec set of
`tests/validation/specs/` they conform to. Mutation tests plant one defect at a time into a copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sap.specs import load_spec

SPECS = Path(__file__).resolve().parent / "specs"
SDTM = {"DM", "AE", "QS", "RECONCILIATION"}
STUDY = "IL2SLE01"
S1, S2, S3 = "IL2SLE01-01-001", "IL2SLE01-01-002", "IL2SLE01-01-003"

# SLEDAI-2K descriptors present at each assessment and their weights (Gladman 2002):
# visit 1: SLE2K09 arthritis 4 + SLE2K15 rash 2 + SLE2K20 low complement 2 = 8
# visit 2: SLE2K15 rash 2                                                    = 2
PRESENT = {1: {"SLE2K09": 4, "SLE2K15": 2, "SLE2K20": 2}, 2: {"SLE2K15": 2}}
TOTALS = {1: 8.0, 2: 2.0}


def labelled(df: pd.DataFrame, name: str) -> pd.DataFrame:
    spec = load_spec(name, SPECS)
    df.attrs = {"name": spec.name, "label": spec.label, "labels": {c: spec.labels[c] for c in df.columns if c in spec.labels}}
    return df


def _dates(*values):
    return pd.to_datetime(pd.Series(values, dtype="object")).astype("datetime64[s]")


def make_datasets() -> dict[str, pd.DataFrame]:
    dm = pd.DataFrame({
        "STUDYID": [STUDY] * 3, "DOMAIN": ["DM"] * 3, "USUBJID": [S1, S2, S3],
        "RFSTDTC": ["2014-01-10", "2014-01-12", np.nan],
        "DTHDTC": [np.nan, "2014-06", np.nan],  # partial allowed for DTHDTC
        "AGE": [31, 45, 60], "AGEU": ["YEARS"] * 3, "SEX": ["F", "F", "M"],
        "ARM": ["Low-dose IL-2 1 MIU SC QOD"] * 3,
    })
    ae = pd.DataFrame({
        "STUDYID": [STUDY] * 3, "USUBJID": [S1, S1, S2], "AESEQ": [1, 2, 1],
        "AETERM": ["Injection site reaction", "Fever", "Headache"],
        "AESEV": ["MILD", "MODERATE", "MILD"], "AESTDTC": ["2014-01-15", "2014-02", "2014-01-20"],
    })
    qs_rows = []
    for visit in (1, 2):
        for item in range(1, 25):
            code = f"SLE2K{item:02d}"
            weight = PRESENT[visit].get(code)
            qs_rows.append((code, "PRESENT" if weight else "ABSENT", float(weight or 0), float(visit)))
        qs_rows.append(("SLE2K25", str(int(TOTALS[visit])), TOTALS[visit], float(visit)))
    qs = pd.DataFrame(qs_rows, columns=["QSTESTCD", "QSORRES", "QSSTRESN", "VISITNUM"])
    qs.insert(0, "STUDYID", STUDY)
    qs.insert(1, "USUBJID", S1)
    qs.insert(2, "QSSEQ", np.arange(1, len(qs) + 1))
    adsl = pd.DataFrame({
        "STUDYID": [STUDY] * 3, "USUBJID": [S1, S2, S3], "AGE": [31, 45, 60],
        "TRTSDT": _dates("2014-01-10", "2014-01-12", None),
        "SAFFL": ["Y", "Y", "N"], "FASFL": ["Y", "Y", "N"],
    })
    adae = pd.DataFrame({
        "STUDYID": [STUDY] * 3, "USUBJID": [S1, S1, S2], "AESEQ": [1, 2, 1], "SAFFL": ["Y", "Y", "Y"],
        "TRTSDT": _dates("2014-01-10", "2014-01-10", "2014-01-12"),
        "ASTDT": _dates("2014-01-15", "2014-02-01", "2014-01-20"),
        "TRTEMFL": ["Y", "Y", "Y"], "SRCDOM": ["AE"] * 3, "SRCSEQ": [1, 2, 1],
    })
    # ADQS from QS: descriptors keep their weight as AVAL; SLEDAI = recomputed total.
    # BASE = visit-1 value; CHG = AVAL - BASE on visit 2 only (SLEDAI: 2 - 8 = -6).
    items = qs[qs["QSTESTCD"].ne("SLE2K25")]
    adqs_items = pd.DataFrame({"PARAMCD": items["QSTESTCD"], "AVAL": items["QSSTRESN"], "AVALC": items["QSORRES"],
                               "AVISITN": items["VISITNUM"]})
    totals = pd.DataFrame({"PARAMCD": ["SLEDAI", "SLEDAI"], "AVAL": [8.0, 2.0], "AVALC": [np.nan, np.nan], "AVISITN": [1.0, 2.0]})
    adqs = pd.concat([adqs_items, totals], ignore_index=True)
    adqs.insert(0, "STUDYID", STUDY)
    adqs.insert(1, "USUBJID", S1)
    base = adqs[adqs["AVISITN"].eq(1.0)].set_index("PARAMCD")["AVAL"]
    adqs["BASE"] = adqs["PARAMCD"].map(base)
    adqs["CHG"] = (adqs["AVAL"] - adqs["BASE"]).where(adqs["AVISITN"].eq(2.0))
    adqs["ADT"] = _dates(*["2014-01-10" if v == 1.0 else "2014-01-24" for v in adqs["AVISITN"]])
    adqs["ANL01FL"] = "Y"
    decodes = {"SRI4": "SRI-4 Response", "SLEDR4": "SLEDAI-2K Reduction >= 4",
               "BILNW": "No New BILAG A and <= 1 New B", "PGANW": "No PGA Worsening >= 0.3"}
    # S1: SLEDAI 8 -> 2 (reduction 6 >= 4), no new BILAG, no PGA worsening: all Y. S2: reduction < 4: SRI4 N.
    adrs_rows = [(S1, p, "Y") for p in decodes] + [(S2, "SRI4", "N"), (S2, "SLEDR4", "N"), (S2, "BILNW", "Y"), (S2, "PGANW", "Y")]
    adrs = pd.DataFrame(adrs_rows, columns=["USUBJID", "PARAMCD", "AVALC"])
    adrs.insert(0, "STUDYID", STUDY)
    adrs.insert(2, "FASFL", "Y")
    adrs.insert(4, "PARAM", adrs["PARAMCD"].map(decodes))
    adrs["AVISITN"] = 2.0
    adrs["ANL01FL"] = "Y"
    reconciliation = pd.DataFrame({"FORM": ["enrolment", "adverse_events"], "READ": [3, 4], "MAPPED": [3, 3], "REJECTED": [0, 1]})
    reconciliation.attrs = {"name": "RECONCILIATION", "label": "", "labels": {}}
    frames = {"DM": dm, "AE": ae, "QS": qs, "ADSL": adsl, "ADAE": adae, "ADQS": adqs, "ADRS": adrs}
    out = {name: labelled(df.reset_index(drop=True), name) for name, df in frames.items()}
    out["RECONCILIATION"] = reconciliation
    return out


@pytest.fixture
def datasets():
    return make_datasets()
