"""Reconciliation of the raw extract against the SDTM domains: nothing is lost.

Layout of `reconciliation.csv`, one row per (raw form, domain that reads it) pair, in forms.yaml order then
domain name. A form that feeds several domains (enrolment feeds DM, DS, MH, CM and VS) has one row per
domain, and each row must balance on its own: every raw row of the form is either mapped by that domain
or rejected by it with a reason.

    FORM              raw form name (forms.yaml)
    FILE              its CSV file
    DOMAIN            SDTM domain reading the form
    RECORDS_IN        data rows in the file
    RECORDS_MAPPED    raw rows the domain mapped (a row may give zero or several SDTM records)
    RECORDS_REJECTED  raw rows the domain rejected (listed in rejected_records.csv)
    BALANCED          Y when RECORDS_IN = RECORDS_MAPPED + RECORDS_REJECTED

`rejected_records.csv`: DOMAIN, FORM, ROW (1-based data row of the file), SUBJECT, REASON, one line per
(domain, rejected raw row), sorted by FORM, ROW, DOMAIN.

An unbalanced pair, a form read by no domain, or a rejected row that does not exist is a bug in a builder,
never written: `ReconciliationError`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sap.csv_cells import write_csv
from sdtm.raw import REJECTION_COLUMNS, ROW, DomainResult, RawExtract, load_forms

RECONCILIATION_COLUMNS = ["FORM", "FILE", "DOMAIN", "RECORDS_IN", "RECORDS_MAPPED", "RECORDS_REJECTED", "BALANCED"]
REJECTED_COLUMNS = ["DOMAIN", *REJECTION_COLUMNS]


class ReconciliationError(RuntimeError):
    """Raw rows unaccounted for: a builder bug, reported rather than written."""


def reconcile(raw: RawExtract, results: dict[str, DomainResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reconciliation, rejected records) for the domains built from `raw`; raises ReconciliationError when
    any (form, domain) pair does not balance, a form is read by no domain, or a rejection names a row
    that is not in its form."""
    forms = load_forms()
    rejected = _all_rejections(results)
    rows = []
    failures = []
    for form_name in raw.forms:
        records_in = len(raw[form_name])
        readers = sorted(d for d, r in results.items() if form_name in r.mapped or r.rejected["FORM"].eq(form_name).any())
        if not readers:
            failures.append(f"{form_name}: {records_in} rows read by no domain")
        for domain in readers:
            mapped = int(results[domain].mapped.get(form_name, 0))
            n_rejected = int((rejected["DOMAIN"].eq(domain) & rejected["FORM"].eq(form_name)).sum())
            balanced = records_in == mapped + n_rejected
            if not balanced:
                failures.append(f"{form_name} -> {domain}: {records_in} in but {mapped} mapped + {n_rejected} rejected")
            file = forms[form_name].file if form_name in forms else ""
            rows.append([form_name, file, domain, records_in, mapped, n_rejected, "Y" if balanced else "N"])
    failures += _unknown_rows(raw, rejected)
    if failures:
        raise ReconciliationError("raw records unaccounted for: " + "; ".join(failures))
    reconciliation = pd.DataFrame(rows, columns=RECONCILIATION_COLUMNS)
    return reconciliation, rejected


def _all_rejections(results: dict[str, DomainResult]) -> pd.DataFrame:
    frames = [r.rejected[REJECTION_COLUMNS].assign(DOMAIN=d) for d, r in results.items() if len(r.rejected)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == ROW else "str") for c in REJECTED_COLUMNS})
    rejected = pd.concat(frames, ignore_index=True)[REJECTED_COLUMNS]
    rejected["ROW"] = rejected["ROW"].astype("int64")
    for column in ("DOMAIN", "FORM", "SUBJECT", "REASON"):
        rejected[column] = rejected[column].astype("str")
    return rejected.sort_values(["FORM", "ROW", "DOMAIN"], kind="stable").reset_index(drop=True)


def _unknown_rows(raw: RawExtract, rejected: pd.DataFrame) -> list[str]:
    """Rejections must name a real row of their form, once per domain."""
    failures = []
    for form_name, group in rejected.groupby("FORM", sort=True):
        known = raw.forms[form_name][ROW] if form_name in raw.forms else pd.Series(dtype="int64")
        unknown = group.loc[~group[ROW].isin(known), ROW]
        if len(unknown):
            failures.append(f"{form_name}: rejected row(s) {unknown.head(5).tolist()} not in the form")
    twice = rejected.duplicated(["DOMAIN", "FORM", ROW])
    if twice.any():
        first = rejected.loc[twice].iloc[0]
        failures.append(f"{first['FORM']} row {first[ROW]} rejected twice by {first['DOMAIN']}")
    return failures


def write_reconciliation(reconciliation: pd.DataFrame, rejected: pd.DataFrame, folder: Path) -> list[Path]:
    """`reconciliation.csv` and `rejected_records.csv` (UTF-8, LF line ends, deterministic order; text cells
    that start like a spreadsheet formula neutralised, `sap.csv_cells`)."""
    return [write_csv(reconciliation, folder / "reconciliation.csv"), write_csv(rejected, folder / "rejected_records.csv")]
