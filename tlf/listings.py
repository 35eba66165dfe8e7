"""Subject data listings (ICH E3 16.2): ADaM in, `tlf.output.Output` out."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sap.study import Study
from tlf.catalog import OutputSpec
from tlf.inputs import dataset, population
from tlf.output import Output

ADAE_VARS = ["USUBJID", "AESEQ", "AEBODSYS", "AEDECOD", "AETERM", "ASTDY", "AENDY", "AESEV", "AESER", "AEREL", "AEOUT", "TRTEMFL",
             "AESTDTC", "ASTDT", "ASTDTF", "AEENDTC", "AENDT", "AENDTF"]
# ADaM date imputation flags (ADaMIG *DTF): the level imputed
IMPUTED_LEVEL = {"D": "day imputed", "M": "month and day imputed", "Y": "year, month and day imputed"}


def _day(values: pd.Series) -> pd.Series:
    """Study day as text ("" when missing); study days are whole numbers (no day 0, ADaMIG)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return pd.Series(np.where(numbers.notna(), numbers.fillna(0).astype("int64").astype(str), ""), index=values.index)


def date_with_imputation(date: pd.Series, flag: pd.Series, collected: pd.Series, day: pd.Series) -> pd.Series:
    """"2014-03-13 (12)": analysis date and study day; an imputed date is followed by its imputation flag
    and the collected (partial) date, "2014-03-01 (D; collected 2014-03) (12)" - never shown as if collected."""
    iso = pd.to_datetime(date, errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
    imputed = flag.notna() & flag.astype("str").ne("")
    note = ("[" + flag.astype("str") + "; collected " + collected.fillna("").astype("str") + "]").where(imputed, "")
    days = _day(day)
    text = iso + np.where(imputed, " " + note, "") + np.where(days.ne(""), " (day " + days + ")", "")
    return text.str.strip()


def adverse_event_listing(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Listing 16.2.7: every adverse event of the safety population, by subject, start day and AESEQ (ICH
    E3 16.2.7 "adverse event listings, each patient"). Treatment-emergent and non-emergent events alike,
    flagged in the TEAE column; SOC and PT stacked in one column to save width."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", spec.population]), spec.population)
    adae = dataset(adam, "ADAE", ADAE_VARS)
    events = adae[adae["USUBJID"].isin(subjects["USUBJID"])]
    events = events.assign(_start=pd.to_numeric(events["ASTDY"], errors="coerce"),
                           _seq=pd.to_numeric(events["AESEQ"], errors="coerce"))
    events = events.sort_values(["USUBJID", "_start", "_seq"], na_position="last", kind="stable")
    body = pd.DataFrame({
        "subject": events["USUBJID"],
        "seq": _day(events["AESEQ"]),
        "term": events["AEBODSYS"].fillna("") + " / " + events["AEDECOD"].fillna("") + " / " + events["AETERM"].fillna(""),
        "start": date_with_imputation(events["ASTDT"], events["ASTDTF"], events["AESTDTC"], events["ASTDY"]),
        "end": date_with_imputation(events["AENDT"], events["AENDTF"], events["AEENDTC"], events["AENDY"]),
        "severity": events["AESEV"].fillna("").str.title(),
        "serious": events["AESER"].fillna(""),
        "related": events["AEREL"].fillna("").str.title(),
        "outcome": events["AEOUT"].fillna("").str.title(),
        "teae": events["TRTEMFL"].fillna("N").replace("", "N"),
    })
    footnotes = ["Start and end: analysis date (study day); an imputed date shows its imputation flag in brackets "
                 "(D: day imputed, M: month and day imputed, Y: year, month and day imputed) and the date as collected."]
    footnotes += [] if len(body) else ["No adverse events were reported."]
    return (Output.from_spec(spec)
            .with_n(len(subjects))
            .with_body(body,
                       headers=["Subject", "AE No.", "System organ class / Preferred term / Reported term",
                                "Start date", "End date", "Severity", "Serious", "Related", "Outcome", "TEAE"],
                       col_widths=[14, 5, 30, 17, 17, 8, 6, 12, 13, 5],  # Related wide enough for "Probably Related" on one line
                       align=["l", "c", "l", "c", "c", "l", "c", "l", "l", "c"])
            .with_footnotes(footnotes))
