"""Small hand-made ADaM frames for the TLF tests (the real ADaM is built by the adam stage).

ADSL: 42 subjects, IL2-001..IL2-042; IL2-041 and IL2-042 are outside the FAS and the safety population.
ADRS (SRI4..SRI8; ANL01FL = Y only at the primary visit, week 10, AVISITN 6), in the production shape:
every FAS subject has a record at every visit; a record derived from observed data has DTYPE missing, an
imputed one DTYPE "NRI" with AVALC "N" and NRIREAS (as adam/adrs.py writes them):
  SRI4: subjects 1-36 respond (Y), 37-39 do not (N, observed), 40 was not assessed at week 10 (imputed:
  DTYPE NRI, AVALC N), 41-42 (not FAS) respond.
  -> 36 responders / N = 40 FAS; 1 FAS subject without an assessment.
  SRI5..SRI8 at week 10: the first 36 - 4 * (k - 4) subjects respond, i.e. 32, 28, 24, 20.
  Other visits (weeks 2..12): SRI4 responders = 6 * visit number - 6 capped at 36 (0, 6, ..., hence week
  2 -> 6, week 4 -> 12, week 6 -> 18, week 8 -> 24, week 10 -> 36 as above, week 12 -> 30).
ADAE: 130 events, 3 or 4 per safety subject, so the listing runs over several pages.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sap.datasets import write_dataset

N_FAS = 40


def make_adsl() -> pd.DataFrame:
    ids = [f"IL2-{i:03d}" for i in range(1, 43)]
    inside = ["Y"] * N_FAS + ["N", "N"]
    return pd.DataFrame({"STUDYID": "IL2SLE01", "USUBJID": ids, "ENRLFL": "Y", "SAFFL": inside, "FASFL": inside,
                         "COMPLFL": inside, "AGE": 30, "SEX": "F"})


def make_adrs() -> pd.DataFrame:
    week_responders = {2: 6, 3: 12, 4: 18, 5: 24, 6: 36, 7: 30}  # AVISITN -> SRI4 responders among FAS
    visit_names = {2: "WEEK 2", 3: "WEEK 4", 4: "WEEK 6", 5: "WEEK 8", 6: "WEEK 10", 7: "WEEK 12"}
    records = []
    for k in (4, 5, 6, 7, 8):
        for visitnum, sri4 in week_responders.items():
            responders = sri4 - 4 * (k - 4) if visitnum == 6 else max(sri4 - 4 * (k - 4), 0)
            for i in range(1, 43):
                imputed = i == 40 and visitnum == 6  # not assessed at week 10: an NRI record, as ADRS writes it
                respond = (i <= responders or i > N_FAS) and not imputed
                records.append({"USUBJID": f"IL2-{i:03d}", "PARAMCD": f"SRI{k}", "AVALC": "Y" if respond else "N",
                                "AVAL": 1.0 if respond else 0.0, "AVISIT": visit_names[visitnum],
                                "AVISITN": float(visitnum), "DTYPE": "NRI" if imputed else None,
                                "NRIREAS": "MISSING COMPONENT" if imputed else None,
                                "ANL02FL": None if imputed else "Y",
                                # as in the real ADRS: the primary-analysis flag only at the primary visit
                                "ANL01FL": "Y" if visitnum == 6 else None})
    frame = pd.DataFrame(records)
    for column in ("DTYPE", "NRIREAS", "ANL02FL", "ANL01FL"):  # production dtypes: str with NaN for missing
        frame[column] = frame[column].astype("str").where(frame[column].notna())
    return frame


def make_adae(n_events: int = 130) -> pd.DataFrame:
    terms = [("GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS", "Injection site reaction", "redness_at injection site"),
             ("INFECTIONS AND INFESTATIONS", "Upper respiratory tract infection", "common cold"),
             ("GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS", "Pyrexia", "fever"),
             ("GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS", "Influenza like illness", "flu-like symptoms")]
    rows = []
    for e in range(n_events):
        subject = e % 42 + 1
        soc, pt, verbatim = terms[e % 4]
        start, end = 3 + 2 * (e // 42), 5 + 2 * (e // 42)
        # one partial start date ("2014-01"), imputed as ADAE does: the first of the month, but not before the
        # first dose (2014-01-03 here), flag ASTDTF D
        partial = e == 0
        start_date = pd.Timestamp("2014-01-01") + pd.Timedelta(days=start - 1)
        end_date = pd.Timestamp("2014-01-01") + pd.Timedelta(days=end - 1)
        rows.append({"USUBJID": f"IL2-{subject:03d}", "AESEQ": e // 42 + 1, "AEBODSYS": soc, "AEDECOD": pt,
                     "AETERM": verbatim, "ASTDY": start, "AENDY": end,
                     "AESTDTC": "2014-01" if partial else start_date.strftime("%Y-%m-%d"),
                     "ASTDT": start_date, "ASTDTF": "D" if partial else None,
                     "AEENDTC": end_date.strftime("%Y-%m-%d"), "AENDT": end_date, "AENDTF": None,
                     "AESEV": ["MILD", "MODERATE", "SEVERE"][e % 3], "AESER": "N", "AEREL": "RELATED",
                     "AEOUT": "RECOVERED/RESOLVED", "TRTEMFL": "Y"})
    frame = pd.DataFrame(rows)
    for column in ("ASTDT", "AENDT"):
        frame[column] = frame[column].astype("datetime64[s]")
    for column in ("ASTDTF", "AENDTF"):
        frame[column] = frame[column].astype("str").where(frame[column].notna())
    return frame


def write_adam(folder) -> None:
    for name, frame in (("ADSL", make_adsl()), ("ADRS", make_adrs()), ("ADAE", make_adae())):
        frame.attrs = {"name": name, "label": name, "labels": {}}
        write_dataset(frame, folder, pd.Timestamp("2015-10-31").date())


@pytest.fixture
def adam():
    return {"ADSL": make_adsl(), "ADRS": make_adrs(), "ADAE": make_adae()}
