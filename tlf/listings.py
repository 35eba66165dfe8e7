"""Subject data listings (ICH E3 16.2): ADaM in, `tlf.output.Output` out."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sap.study import Study
from tlf.catalog import OutputSpec
from tlf.inputs import dataset, population
from tlf.output import Output

ADAE_VARS = ["USUBJID", "AESEQ", "AEBODSYS", "AEDECOD", "AETERM", "ASTDY", "AENDY", "AESEV", "AESER", "AEREL", "AEOUT", "TRTEMFL"]


def _day(values: pd.Series) -> pd.Series:
    """Study day as text ("" when missing); study days are whole numbers (no day 0, ADaMIG)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return pd.Series(np.where(numbers.notna(), numbers.fillna(0).astype("int64").astype(str), ""), index=values.index)


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
        "start": _day(events["ASTDY"]),
        "end": _day(events["AENDY"]),
        "severity": events["AESEV"].fillna("").str.title(),
        "serious": events["AESER"].fillna(""),
        "related": events["AEREL"].fillna("").str.title(),
        "outcome": events["AEOUT"].fillna("").str.title(),
        "teae": events["TRTEMFL"].fillna("N").replace("", "N"),
    })
    footnotes = [] if len(body) else ["No adverse events were reported."]
    return (Output.from_spec(spec)
            .with_n(len(subjects))
            .with_body(body,
                       headers=["Subject", "AE No.", "System organ class / Preferred term / Reported term",
                                "Start day", "End day", "Severity", "Serious", "Related", "Outcome", "TEAE"],
                       col_widths=[12, 6, 43, 7, 7, 8, 7, 14, 16, 6],  # Related wide enough for "Probably Related" on one line
                       align=["l", "c", "l", "c", "c", "l", "c", "l", "l", "c"])
            .with_footnotes(footnotes))
