"""Subject elements and visits (SDTMIG 3.4 section 5: SE, SV) and the EPOCH of every record (SDTMIG 3.4
section 4.4.2: EPOCH of the element of SE the record's date falls in; FDA TCG asks EPOCH in every
subject-level findings, events and interventions domain).

SE follows the planned elements of TA (`sdtm.trial_design.planned_elements`) with the dates of the dosing
log: screening from informed consent to the first injection; for each cycle with an injection, the IL-2
element from its first injection for the element's planned duration, then the treatment-free element to
the next cycle's first injection or, after the last cycle, to the end of participation. Elements are cut at
the end of participation; an element that would start after it is not recorded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdtm.common import iso_to_date, sequence_number, study_day, visit_columns
from sdtm.raw import RawExtract, load_forms
from sdtm.subjects import after_cutoff, edc_date_to_iso
from sap.study import Study

# How a record on an element's first day is placed: findings are taken before that day's dose (the SAP's
# baseline rule), so they belong to the element that was running; events and interventions to the new one.
FINDINGS, EVENTS = "findings", "events"


def _cycle_starts(raw: RawExtract, study: Study) -> pd.DataFrame:
    """SUBJECT, CYCLE, START: the first injection date (DOSE > 0, on or before the cut-off) of each cycle."""
    dosing = raw["dosing"]
    dates = edc_date_to_iso(dosing["DOSE_DATE"])
    given = dosing["DOSE"].gt(0) & dates.notna() & ~after_cutoff(dates, study)
    frame = pd.DataFrame({"SUBJECT": dosing.loc[given, "SUBJECT"], "CYCLE": dosing.loc[given, "CYCLE"].astype("int64"),
                          "START": dates[given]})
    return frame.sort_values(["SUBJECT", "CYCLE", "START"], kind="stable").drop_duplicates(["SUBJECT", "CYCLE"])


def build_se(raw: RawExtract, study: Study, dm: pd.DataFrame) -> pd.DataFrame:
    """SE from DM (RFICDTC, RFPENDTC) and the dosing log, by the element rules above."""
    design = study.trial_design
    starts = _cycle_starts(raw, study)
    by_subject = {s: g for s, g in starts.groupby("SUBJECT", sort=False)}
    treatment_days = pd.Timedelta(days=design.treatment.duration_days or 0)
    records = []
    for subject in dm.itertuples(index=False):
        end_of_study = subject.RFPENDTC if isinstance(subject.RFPENDTC, str) else None
        cycles = by_subject.get(subject.SUBJID)
        spans: list[tuple[object, int, str]] = [(design.screening, 1, subject.RFICDTC)]
        if cycles is not None:
            for cycle, start in zip(cycles["CYCLE"], cycles["START"]):
                rest_start = (pd.Timestamp(start) + treatment_days).date().isoformat()
                spans += [(design.treatment, 2 * cycle, start), (design.rest, 2 * cycle + 1, rest_start)]
        spans = [s for i, s in enumerate(spans) if end_of_study is None or i == 0 or s[2] < end_of_study]
        for i, (element, taetord, start) in enumerate(spans):
            end = spans[i + 1][2] if i + 1 < len(spans) else end_of_study
            records.append((subject.USUBJID, element.etcd, element.element, taetord, element.epoch, start, end,
                            subject.RFSTDTC))
    se = pd.DataFrame(records, columns=["USUBJID", "ETCD", "ELEMENT", "TAETORD", "EPOCH", "SESTDTC", "SEENDTC", "RFSTDTC"])
    se.insert(0, "STUDYID", study.study.studyid)
    se.insert(1, "DOMAIN", "SE")
    se["SESEQ"] = sequence_number(se, order=["SESTDTC", "TAETORD"])
    se["SESTDY"] = study_day(se["SESTDTC"], se["RFSTDTC"])
    se["SEENDY"] = study_day(se["SEENDTC"], se["RFSTDTC"])
    return se.drop(columns="RFSTDTC").sort_values(["USUBJID", "SESEQ"], kind="stable").reset_index(drop=True)


def epoch_of(usubjid: pd.Series, dates: pd.Series, se: pd.DataFrame, kind: str) -> pd.Series:
    """EPOCH of each record from SE: the element whose start is on or before the record's date (for
    findings: strictly before, see FINDINGS) and whose end is on or after it. Missing for partial or
    missing dates and for dates outside every element (before consent, after end of participation)."""
    day = iso_to_date(dates)
    frame = pd.DataFrame({"USUBJID": usubjid.astype("str"), "DAY": day, "_ROW": np.arange(len(dates))})
    known = frame.dropna(subset=["DAY"]).sort_values("DAY", kind="stable")
    elements = se.assign(START=iso_to_date(se["SESTDTC"]), END=iso_to_date(se["SEENDTC"]))
    elements = elements.dropna(subset=["START"]).sort_values("START", kind="stable")
    epoch = pd.Series(np.nan, index=dates.index, dtype="object")
    if known.empty or elements.empty:
        return epoch.astype("str").where(epoch.notna(), np.nan)
    matched = pd.merge_asof(known, elements[["USUBJID", "START", "END", "EPOCH", "TAETORD"]], left_on="DAY",
                            right_on="START", by="USUBJID", direction="backward", allow_exact_matches=kind == EVENTS)
    # a finding on the first day of screening (or with no earlier element) falls back to the element starting that day
    first = pd.merge_asof(known, elements[["USUBJID", "START", "END", "EPOCH"]], left_on="DAY", right_on="START",
                          by="USUBJID", direction="backward", allow_exact_matches=True)
    matched = matched.set_index("_ROW")
    first = first.set_index("_ROW")
    chosen_epoch = matched["EPOCH"].where(matched["EPOCH"].notna(), first["EPOCH"])
    chosen_end = matched["END"].where(matched["EPOCH"].notna(), first["END"])
    inside = chosen_end.isna() | (matched["DAY"] <= chosen_end)
    chosen = chosen_epoch.where(inside)
    epoch.iloc[chosen.index.to_numpy()] = chosen.to_numpy()
    return epoch.astype("str").where(epoch.notna(), np.nan)


def add_epoch(domain: pd.DataFrame, se: pd.DataFrame, date_variable: str, kind: str) -> pd.DataFrame:
    """`domain` with EPOCH from SE by the date in `date_variable` (see `epoch_of`)."""
    out = domain.copy()
    out["EPOCH"] = epoch_of(out["USUBJID"], out[date_variable], se, kind).to_numpy()
    return out


def build_sv(raw: RawExtract, study: Study, dm: pd.DataFrame, se: pd.DataFrame) -> pd.DataFrame:
    """SV: one record per subject and visit that took place, from every form with a visit column (the
    form contract's `visit: true`) and its first date column: SVSTDTC/SVENDTC the earliest and latest
    date of the visit, dated rows on or before the cut-off of subjects in DM."""
    parts = []
    for name, form in load_forms().items():
        visit = next((c for c, spec in form.columns.items() if spec.visit), None)
        date = next((c for c, spec in form.columns.items() if spec.type == "date"), None)
        if visit is None or date is None or name not in raw.forms:
            continue
        rows = raw[name]
        iso = edc_date_to_iso(rows[date])
        keep = iso.notna() & ~after_cutoff(iso, study) & rows["SUBJECT"].isin(dm["SUBJID"])
        parts.append(pd.DataFrame({"SUBJID": rows.loc[keep, "SUBJECT"], "LABEL": rows.loc[keep, visit], "DATE": iso[keep]}))
    visits = pd.concat(parts, ignore_index=True)
    span = visits.groupby(["SUBJID", "LABEL"], sort=True)["DATE"].agg(["min", "max"]).reset_index()
    sv = pd.concat([span, visit_columns(span["LABEL"], study)], axis=1)
    target = {v.visit: v.target_day for v in study.visits}
    reference = dm.set_index("SUBJID")
    sv = pd.DataFrame(
        {
            "STUDYID": study.study.studyid,
            "DOMAIN": "SV",
            "USUBJID": sv["SUBJID"].map(reference["USUBJID"]),
            "VISITNUM": sv["VISITNUM"],
            "VISIT": sv["VISIT"],
            "VISITDY": sv["VISIT"].map(target).astype("int64"),
            "SVSTDTC": sv["min"],
            "SVENDTC": sv["max"],
            "SVSTDY": study_day(sv["min"], sv["SUBJID"].map(reference["RFSTDTC"])),
            "SVENDY": study_day(sv["max"], sv["SUBJID"].map(reference["RFSTDTC"])),
        }
    )
    sv["EPOCH"] = epoch_of(sv["USUBJID"], sv["SVSTDTC"], se, FINDINGS).to_numpy()
    return sv.sort_values(["USUBJID", "VISITNUM"], kind="stable").reset_index(drop=True)
