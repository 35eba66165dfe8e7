"""Checks across datasets, as plain vectorised checks reported like every other expectation.

- `usubjid_in_dm`, `usubjid_in_adsl`: every USUBJID of every dataset is a subject of DM and of ADSL
  (SDTMIG 3.4 section 5.1: DM holds one record per subject; ADaMIG 3.1: ADSL one record per subject).
- `srcseq_exists`: every (USUBJID, SRCDOM, SRCSEQ) an ADaM record cites exists as (USUBJID, --SEQ) in that
  SDTM domain (ADaMIG 3.3.9 traceability), and so does an SDTM --SEQ an ADaM dataset carries itself
  (OCCDS: ADAE.AESEQ). Checked for the domains that were loaded.
- `population_flag_matches_adsl`: a population flag (SAFFL, FASFL, ...) copied onto a dataset equals the
  subject's flag in ADSL, so e.g. the subjects with SAFFL = Y in ADAE are ADSL SAFFL = Y subjects.
- `population_complete`: the subjects of a population that an analysis dataset must hold in full are all
  there (ADRS: every FASFL = Y subject has records, since non-responder imputation gives everyone a record;
  the FAS count in ADRS equals the ADSL FASFL = Y count).
- `reconciliation_balances`: in the SDTM reconciliation file every raw form's records read equal records
  mapped plus records rejected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from validation.engine import Planned

POPULATION_FLAGS = re.compile(r"^(ENRL|RAND|ITT|SAF|FAS|PPROT|COMP[A-Z0-9]*)FL$")
# analysis dataset -> population whose every subject it must hold (NRI gives every FAS subject a record)
COMPLETE_POPULATIONS: dict[str, str] = {"ADRS": "FASFL"}
RECONCILIATION = "RECONCILIATION"


def _not_in(df: pd.DataFrame, column: str, reference: pd.Series) -> pd.DataFrame:
    return df[df[column].notna() & ~df[column].isin(reference.dropna().unique())]


def _subject_in(reference_name: str, reference: pd.DataFrame):
    subjects = reference["USUBJID"]

    def check(df: pd.DataFrame) -> pd.DataFrame:
        out = _not_in(df, "USUBJID", subjects)
        return out.assign(VALUE=out["USUBJID"].map(lambda s: f"{s} not in {reference_name}"))
    return check


def _srcseq_exists(references: "References"):
    def check(df: pd.DataFrame) -> pd.DataFrame:
        cited = df[df["SRCDOM"].notna() & df["SRCSEQ"].notna()]
        bad = []
        for domain in sorted(cited["SRCDOM"].unique()):  # a few domains, not subjects
            source = references.sequence_numbers(str(domain).upper())
            if source is None:
                continue  # that domain was not loaded; nothing to check against
            rows = cited[cited["SRCDOM"].eq(domain)]
            known = pd.MultiIndex.from_arrays([source.iloc[:, 0], source.iloc[:, 1].astype("float64")])
            asked = pd.MultiIndex.from_arrays([rows["USUBJID"], rows["SRCSEQ"].astype("float64")])
            bad.append(rows[~asked.isin(known)])
        if not bad:
            return df.iloc[0:0]
        out = pd.concat(bad).sort_index()
        return out.assign(VALUE=[f"{d}SEQ {s:g} not in {d}" for d, s in zip(out["SRCDOM"], out["SRCSEQ"].astype(float))])
    return check


def _seq_exists(domain: str, column: str, references: "References"):
    def check(df: pd.DataFrame) -> pd.DataFrame:
        source = references.sequence_numbers(domain)
        if source is None:
            return df.iloc[0:0]
        rows = df[df[column].notna()]
        known = pd.MultiIndex.from_arrays([source.iloc[:, 0], source.iloc[:, 1].astype("float64")])
        asked = pd.MultiIndex.from_arrays([rows["USUBJID"], rows[column].astype("float64")])
        out = rows[~asked.isin(known)]
        return out.assign(VALUE=[f"{column} {s:g} not in {domain}" for s in out[column].astype(float)])
    return check


def _flag_matches(flag: str, adsl: pd.DataFrame):
    by_subject = adsl.drop_duplicates("USUBJID").set_index("USUBJID")[flag]

    def check(df: pd.DataFrame) -> pd.DataFrame:
        theirs = df["USUBJID"].map(by_subject)
        mine = df[flag]
        differ = df["USUBJID"].isin(by_subject.index) & ~(mine.eq(theirs) | (mine.isna() & theirs.isna()))
        out = df[differ]
        return out.assign(VALUE=[f"{flag}={a} but ADSL {flag}={b}" for a, b in zip(mine[differ], theirs[differ])])
    return check


def _population_complete(flag: str, adsl: pd.DataFrame):
    expected = adsl.loc[adsl[flag].eq("Y"), "USUBJID"].dropna().unique()

    def check(df: pd.DataFrame) -> pd.DataFrame:
        held = df["USUBJID"].dropna().unique()
        missing = sorted(set(expected) - set(held))
        return pd.DataFrame({"USUBJID": missing,
                             "VALUE": [f"ADSL {flag}=Y subject {s} has no record ({len(held)} held vs {len(expected)} in ADSL)"
                                       for s in missing]})
    return check


def _column(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    upper = {c.upper(): c for c in df.columns}
    return next((upper[n] for n in names if n in upper), None)


def reconciliation_violations(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the reconciliation file where read != mapped + rejected (column names matched loosely)."""
    read = _column(df, ("RECORDS_IN", "READ", "RAW", "RAW_ROWS", "RAW_RECORDS", "RECORDS_READ", "ROWS", "INPUT"))
    mapped = _column(df, ("MAPPED", "RECORDS_MAPPED", "MAPPED_ROWS"))
    rejected = _column(df, ("REJECTED", "RECORDS_REJECTED", "REJECTED_ROWS"))
    if None in (read, mapped, rejected):
        return pd.DataFrame({"VALUE": [f"cannot find read/mapped/rejected counts in columns {list(df.columns)}"]})
    counts = df[[read, mapped, rejected]].apply(pd.to_numeric, errors="coerce")
    bad = ~(counts[read].eq(counts[mapped] + counts[rejected]))
    out = df[bad]
    return out.assign(VALUE=[f"read {a} != mapped {b} + rejected {c}" for a, b, c in
                             zip(counts.loc[bad, read], counts.loc[bad, mapped], counts.loc[bad, rejected])])


@dataclass
class References:
    """What the cross-dataset checks compare against, without holding every dataset in memory: DM and ADSL
    (one record per subject), the names of the datasets present, and each SDTM domain's (USUBJID, --SEQ)
    pairs, read only when an ADaM dataset cites that domain."""

    names: set[str]
    sdtm_names: set[str]
    dm: pd.DataFrame | None = None
    adsl: pd.DataFrame | None = None
    read_columns: Callable[[str, list[str]], pd.DataFrame | None] | None = None
    _seq_cache: dict[str, pd.DataFrame | None] = field(default_factory=dict)

    @classmethod
    def from_datasets(cls, datasets: dict[str, pd.DataFrame], sdtm_names: set[str]) -> "References":
        def read_columns(name: str, columns: list[str]) -> pd.DataFrame | None:
            df = datasets.get(name)
            return None if df is None or not set(columns) <= set(df.columns) else df[columns]
        return cls(set(datasets), set(sdtm_names), datasets.get("DM"), datasets.get("ADSL"), read_columns)

    def sequence_numbers(self, domain: str) -> pd.DataFrame | None:
        if domain not in self._seq_cache:
            loaded = domain in self.sdtm_names and self.read_columns is not None
            self._seq_cache[domain] = self.read_columns(domain, ["USUBJID", f"{domain}SEQ"]) if loaded else None
        return self._seq_cache[domain]


def cross_expectations(name: str, df: pd.DataFrame, references: References) -> list[Planned]:
    """Cross-dataset expectations of dataset `name`; each runs on the dataset holding the offending rows."""
    planned: list[Planned] = []
    sdtm_names = references.sdtm_names
    if name == RECONCILIATION:
        return [Planned(RECONCILIATION, "reconciliation_balances", None,
                        "raw records read = mapped + rejected, per form", check=reconciliation_violations)]
    if "USUBJID" not in df.columns:
        return planned
    for reference_name, reference in (("DM", references.dm), ("ADSL", references.adsl)):
        if reference is not None and reference_name != name and "USUBJID" in reference.columns:
            planned.append(Planned(name, f"usubjid_in_{reference_name.lower()}", "USUBJID",
                                   f"every USUBJID is a subject of {reference_name}",
                                   check=_subject_in(reference_name, reference)))
    if {"SRCDOM", "SRCSEQ"} <= set(df.columns) and sdtm_names:
        planned.append(Planned(name, "srcseq_exists", "SRCSEQ", "SRCDOM/SRCSEQ cite an existing SDTM record",
                               check=_srcseq_exists(references)))
    if name not in sdtm_names:  # OCCDS copies the SDTM --SEQ itself (ADAE.AESEQ): it must exist too
        for column in df.columns:
            match = re.fullmatch(r"([A-Z]{2})SEQ", column)
            if match and match.group(1) in sdtm_names:
                planned.append(Planned(name, "srcseq_exists", column, f"{column} cites an existing {match.group(1)} record",
                                       check=_seq_exists(match.group(1), column, references)))
    adsl = references.adsl
    if adsl is not None and name != "ADSL" and name not in sdtm_names:
        for flag in [c for c in df.columns if POPULATION_FLAGS.match(c) and c in adsl.columns]:
            planned.append(Planned(name, "population_flag_matches_adsl", flag, f"{flag} equals the subject's ADSL {flag}",
                                   check=_flag_matches(flag, adsl)))
        flag = COMPLETE_POPULATIONS.get(name)
        if flag and flag in adsl.columns:
            planned.append(Planned(name, "population_complete", flag,
                                   f"every ADSL {flag} = Y subject has records (counts agree)",
                                   check=_population_complete(flag, adsl)))
    return planned
