"""Hand-made SDTM QS and ADSL frames for the ADQS/ADRS tests.

An assessment is written as a few numbers: the SLEDAI-2K descriptors PRESENT (all others ABSENT), the nine
BILAG-2004 grades as one string ("ABBECEEEE" = BLG0401 A, BLG0402 B, ...), and the PGA.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

STUDYID = "IL2SLE01"
TRTSDT = dt.date(2014, 1, 1)
SLEDAI_ITEMS = [f"SLE2K{i:02d}" for i in range(1, 25)]
BILAG_DOMAINS = [f"BLG04{i:02d}" for i in range(1, 10)]
# Visit number -> study day of the assessment (the target days of sap/study.yaml).
TARGET_DAY = {1: 1, 2: 15, 3: 29, 4: 43, 5: 57, 6: 71, 7: 85}


def day_to_iso(day: int) -> str:
    """Study day -> ISO date with day 1 = TRTSDT (no day 0)."""
    offset = day - 1 if day >= 1 else day
    return (TRTSDT + dt.timedelta(days=offset)).isoformat()


def assessment(usubjid: str, visitnum: int, present=(), bilag: str | None = "EEEEEEEEE", pga: float | None = 1.0,
               day: int | None = None, missing_items=()) -> list[dict]:
    """QS records of one visit: 24 descriptors (those in `missing_items` not recorded), 9 BILAG grades (None:
    form not done; "-" in the string: domain not graded) and the PGA (None: not done)."""
    qsdtc = day_to_iso(TARGET_DAY[visitnum] if day is None else day)
    base = {"STUDYID": STUDYID, "USUBJID": usubjid, "VISITNUM": float(visitnum), "QSDTC": qsdtc}
    rows = []
    for code in SLEDAI_ITEMS:
        if code in missing_items:
            continue
        result = "PRESENT" if code in present else "ABSENT"
        rows.append({**base, "QSTESTCD": code, "QSCAT": "SLEDAI-2K", "QSORRES": result, "QSSTRESC": result, "QSSTRESN": np.nan})
    if bilag is not None:
        for code, grade in zip(BILAG_DOMAINS, bilag):
            if grade == "-":
                continue
            rows.append({**base, "QSTESTCD": code, "QSCAT": "BILAG-2004", "QSORRES": grade, "QSSTRESC": grade, "QSSTRESN": np.nan})
    if pga is not None:
        rows.append({**base, "QSTESTCD": "SLEPGA", "QSCAT": "PHYSICIAN GLOBAL ASSESSMENT", "QSORRES": str(pga), "QSSTRESC": str(pga), "QSSTRESN": pga})
    return rows


def make_qs(*assessments: list[dict]) -> pd.DataFrame:
    """QS from assessments, with QSSEQ 1, 2, ... per subject in the order given."""
    qs = pd.DataFrame([row for rows in assessments for row in rows])
    qs["QSSEQ"] = qs.groupby("USUBJID").cumcount() + 1
    return qs


def make_adsl(*subjects: str, discontinued: dict[str, int] | None = None, fas: dict[str, str] | None = None) -> pd.DataFrame:
    """ADSL: all treated on TRTSDT; `discontinued` maps a subject to the study day of EOSDT."""
    discontinued, fas = discontinued or {}, fas or {}
    rows = []
    for s in subjects:
        eos_day = discontinued.get(s)
        rows.append({
            "STUDYID": STUDYID, "USUBJID": s, "TRTSDT": pd.Timestamp(TRTSDT), "TRTEDT": pd.Timestamp(TRTSDT) + pd.Timedelta(days=68),
            "TRT01A": "Low-dose IL-2 1 MIU SC QOD", "SAFFL": "Y", "FASFL": fas.get(s, "Y"),
            "EOSSTT": "DISCONTINUED" if eos_day else "COMPLETED",
            "EOSDT": pd.Timestamp(day_to_iso(eos_day)) if eos_day else pd.Timestamp(TRTSDT) + pd.Timedelta(days=90),
            "DCSREAS": "ADVERSE EVENT" if eos_day else np.nan, "COMPLFL": "N" if eos_day else "Y",
        })
    adsl = pd.DataFrame(rows)
    adsl["TRTSDT"] = adsl["TRTSDT"].astype("datetime64[s]")
    adsl["TRTEDT"] = adsl["TRTEDT"].astype("datetime64[s]")
    adsl["EOSDT"] = adsl["EOSDT"].astype("datetime64[s]")
    return adsl
