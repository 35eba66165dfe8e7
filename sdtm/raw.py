"""The raw EDC extract: reading and checking the CSV forms against `sap/specs/raw/forms.yaml`.

`read_raw_extract` returns typed frames; every malformed cell, unknown visit, unenrolled subject or
duplicate record is collected and raised together as one InputError (one line each: file, row, column,
value). Builders never see malformed input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sap.errors import InputError, Problem, SpecError
from sap.specs import SPECS_DIR, LabTests, read_plan_file
from sap.study import Study
from sdtm.common import MONTHS

# Columns every typed raw frame carries besides the form's own: the 1-based data row of the CSV file.
ROW = "ROW"
REJECTION_COLUMNS = ["FORM", "ROW", "SUBJECT", "REASON"]


@dataclass
class RawExtract:
    """Typed raw forms by form name (`enrolment`, `dosing`, ...), each with a ROW column."""

    forms: dict[str, pd.DataFrame]
    folder: Path

    def __getitem__(self, form: str) -> pd.DataFrame:
        return self.forms[form]


@dataclass
class DomainResult:
    """What a builder returns: the domain (before the spec is applied), how many raw rows of each form it
    mapped, and the raw rows it rejected with a reason (columns FORM, ROW, SUBJECT, REASON)."""

    domain: pd.DataFrame
    mapped: dict[str, int]
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTION_COLUMNS))


# --------------------------------------------------------------------------------------------------------
# The forms contract (`sap/specs/raw/forms.yaml`) and the lab-test dictionary (`sap/specs/raw/lab_tests.yaml`)

FORMS_FILE = SPECS_DIR / "raw" / "forms.yaml"
LAB_TESTS_FILE = SPECS_DIR / "raw" / "lab_tests.yaml"

# A broken extract of 100,000 subjects could fail on millions of rows; the user needs the first few of each
# kind plus a count, not millions of lines. Beyond this many rows per (file, column, check), one summary line.
MAX_ROWS_PER_CHECK = 20

RawType = Literal["text", "integer", "number", "date", "pdate", "choice", "result"]
NUMERIC_TYPES = ("integer", "number")
DATE_PATTERN = r"^\d{2}-[A-Z]{3}-\d{4}$"
PDATE_PATTERN = r"^(\d{2}|UN)-([A-Z]{3}|UNK)-\d{4}$"
RESULT_PATTERN = r"^(<=|>=|<|>)?\s*-?(\d+\.?\d*|\.\d+)$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RawColumn(_Strict):
    """One column of a raw form: its EDC type, whether a blank is malformed, allowed values or range."""

    type: RawType
    required: bool = False
    values: list[str] | None = None
    sdtm: dict[str, str] | None = None  # collected choice -> SDTM controlled term (annotated CRF)
    range: tuple[float, float] | None = None
    visit: bool = False

    @model_validator(mode="after")
    def _every_choice_mapped(self) -> "RawColumn":
        if self.sdtm is not None and set(self.sdtm) != set(self.values or []):
            raise ValueError(f"sdtm mapping keys {sorted(self.sdtm)} differ from the choices {self.values}")
        return self


class RawForm(_Strict):
    """One CRF form exported as one CSV file."""

    file: str
    description: str
    keys: list[str] = Field(min_length=1)
    columns: dict[str, RawColumn]
    not_done: str | None = None


class RawForms(_Strict):
    """`specs/raw/forms.yaml`: every CRF form of the raw extract, by form name."""

    forms: dict[str, RawForm] = Field(min_length=1)


@lru_cache(maxsize=4)
def load_forms(path: Path = FORMS_FILE) -> dict[str, RawForm]:
    """The raw forms contract by form name, in file order; a malformed contract (a misspelt key, a wrong
    type) is a SpecError naming the file and the key."""
    return read_plan_file(path, RawForms).forms


def sdtm_terms(values: pd.Series, form: str, column: str) -> pd.Series:
    """The SDTM controlled terms of a collected choice column, from the `sdtm` mapping of the forms
    contract (values were checked against the choices when the extract was read; blanks stay blank)."""
    mapping = load_forms()[form].columns[column].sdtm
    if mapping is None:
        raise SpecError(Problem(str(FORMS_FILE), "no sdtm mapping for this column", variable=f"{form}.{column}"))
    return values.map(mapping)


@dataclass(frozen=True)
class LabDictionary:
    """Collected lab test names with their known units, and flow-cytometry population names."""

    units_by_test: dict[str, frozenset[str]]
    populations: frozenset[str]


@lru_cache(maxsize=4)
def load_lab_dictionary(path: Path = LAB_TESTS_FILE) -> LabDictionary:
    data = read_plan_file(path, LabTests).model_dump(exclude_unset=True)
    return LabDictionary(
        units_by_test={t["edc_test"]: frozenset(map(str, t["units"])) for t in data["laboratory"]},
        populations=frozenset(p["edc_population"] for p in data["flow_cytometry"]),
    )


# --------------------------------------------------------------------------------------------------------
# Reading and checking


def read_raw_extract(folder: Path, study: Study, forms: dict[str, RawForm] | None = None) -> RawExtract:
    """Read every form of the contract from `folder`, check it, and return typed frames.

    Checks (all collected, then raised as one InputError, one line per problem: file, row, column, value):
    missing file or column; blank required value; date not DD-MMM-YYYY (pdate allows UN day / UNK month);
    choice not allowed; non-numeric number or lab result; value outside its range; visit not scheduled in
    study.yaml; subject not in enrolment; duplicate record by the form's keys; lab test or flow population
    unknown to lab_tests.yaml; lab unit unknown for its test; and the cross-column rules the contract states
    (lab result blank only when not done, discontinuation reason, AE end date vs ongoing).

    Typed frames: integer/number columns float64, all others `str` (stripped, NaN for blank), plus ROW =
    1-based data row of the file (header excluded). Dates stay EDC text (`sdtm.common.edc_date_to_iso`).
    """
    forms = load_forms() if forms is None else forms
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(Problem(str(folder), "raw extract folder not found (run `sap simulate` or give --raw DIR)"))
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    for name, form in forms.items():
        text = _read_text_frame(folder / form.file, form, problems)
        if text is None:
            continue
        problems += _cell_problems(text, form, study)
        problems += _duplicate_problems(text, form)
        frames[name] = text
    if "enrolment" in frames:
        enrolled = frames["enrolment"]["SUBJECT"].dropna()
        for name, df in frames.items():
            if name != "enrolment":
                unknown = df["SUBJECT"].notna() & ~df["SUBJECT"].isin(enrolled)
                problems += _row_problems(forms[name].file, df, unknown, "SUBJECT", "subject not in enrolment")
    problems += _form_rule_problems(frames, forms)
    if problems:
        raise InputError(problems)
    return RawExtract(forms={name: _typed(df, forms[name]) for name, df in frames.items()}, folder=folder)


def _read_text_frame(path: Path, form: RawForm, problems: list[Problem]) -> pd.DataFrame | None:
    """The CSV as stripped text with NaN for blanks and a ROW column; None (with problems) if unusable."""
    if not path.is_file():
        problems.append(Problem(path.name, f"file not found in {path.parent}"))
        return None
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")  # tolerate an Excel BOM
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problems.append(Problem(path.name, f"cannot read as CSV: {exc}".splitlines()[0]))
        return None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in form.columns if c not in df.columns]
    for column in missing:
        problems.append(Problem(path.name, "column missing", variable=column))
    # A column the contract does not know would not be mapped anywhere: nothing is dropped silently, so it
    # is an error (add it to sap/specs/raw/forms.yaml, or remove it from the extract).
    for column in (c for c in df.columns if c not in form.columns):
        problems.append(Problem(path.name, "column not in the form contract (sap/specs/raw/forms.yaml)", variable=column))
    if missing or len(df.columns) != len(form.columns):
        return None
    df = df[list(form.columns)]
    out = {c: df[c].str.strip() for c in form.columns}
    out = {c: s.where(s.ne(""), np.nan) for c, s in out.items()}
    frame = pd.DataFrame(out)
    frame.insert(0, ROW, np.arange(1, len(frame) + 1, dtype="int64"))
    return frame


def _row_problems(file: str, df: pd.DataFrame, mask: pd.Series, column: str, message: str,
                  values: pd.Series | None = None) -> list[Problem]:
    """One Problem per failing row (the first MAX_ROWS_PER_CHECK, then a count of the rest)."""
    if not mask.any():
        return []
    failing = df.loc[mask]
    shown = failing.head(MAX_ROWS_PER_CHECK)
    values = df[column] if values is None else values
    problems = [
        Problem(file, message, row=int(row), variable=column, value=None if pd.isna(value) else value)
        for row, value in zip(shown[ROW], values.loc[shown.index])
    ]
    rest = len(failing) - len(shown)
    if rest:
        problems.append(Problem(file, f"{rest} more row(s): {message}", variable=column))
    return problems


def _cell_problems(df: pd.DataFrame, form: RawForm, study: Study) -> list[Problem]:
    file = form.file
    problems: list[Problem] = []
    visit_labels = list(study.visit_by_edc_label)
    for column, spec in form.columns.items():
        values = df[column]
        present = values.notna()
        if spec.required:
            problems += _row_problems(file, df, ~present, column, "required value is blank")
        if spec.type == "date":
            problems += _row_problems(file, df, present & _complete_date(values).isna(), column,
                                      "not a complete date DD-MMM-YYYY")
        elif spec.type == "pdate":
            problems += _row_problems(file, df, present & ~_valid_partial_date(values), column,
                                      "not a date DD-MMM-YYYY (UN for an unknown day, UNK for an unknown month)")
        elif spec.type == "choice" and spec.values is not None:
            allowed = ", ".join(spec.values)
            problems += _row_problems(file, df, present & ~values.isin(spec.values), column,
                                      f"value not allowed (allowed: {allowed})")
        elif spec.type in NUMERIC_TYPES:
            numbers = pd.to_numeric(values, errors="coerce")
            not_number = present & ~np.isfinite(numbers.fillna(np.nan).to_numpy(dtype="float64"))
            problems += _row_problems(file, df, not_number, column, "not a number")
            if spec.type == "integer":
                problems += _row_problems(file, df, present & ~not_number & numbers.ne(numbers.round()), column,
                                          "not a whole number")
            if spec.range is not None:
                low, high = spec.range
                outside = present & ~not_number & ((numbers < low) | (numbers > high))
                problems += _row_problems(file, df, outside, column, f"value outside the range [{low:g}, {high:g}]")
        elif spec.type == "result":
            problems += _row_problems(file, df, present & ~values.str.match(RESULT_PATTERN, na=False), column,
                                      "not a lab result (a number, optionally with <, <=, > or >=)")
        if spec.visit:
            problems += _row_problems(file, df, present & ~values.isin(visit_labels), column,
                                      f"visit not scheduled in study.yaml (visits: {', '.join(visit_labels)})")
    return problems


def _complete_date(values: pd.Series) -> pd.Series:
    """DD-MMM-YYYY to datetime64 (NaT when not a real calendar date); month names in any case."""
    text = values.str.upper()
    well_formed = text.str.match(DATE_PATTERN, na=False)
    return pd.to_datetime(text.where(well_formed), format="%d-%b-%Y", errors="coerce")


def _valid_partial_date(values: pd.Series) -> pd.Series:
    """DD-MMM-YYYY, UN-MMM-YYYY or UN-UNK-YYYY (an unknown month with a known day is not a date). All three
    shapes are 11 characters, so the parts are read by position (vectorised; no per-row regex extract)."""
    text = values.str.upper()
    shape_ok = text.str.match(PDATE_PATTERN, na=False)
    day_known = text.str.slice(0, 2).ne("UN")
    month = text.str.slice(3, 6)
    month_known = month.ne("UNK")
    month_ok = ~month_known | month.isin(list(MONTHS))
    day_needs_month = ~day_known | month_known
    complete_ok = ~(day_known & month_known) | _complete_date(text).notna()
    return (shape_ok & month_ok & day_needs_month & complete_ok).fillna(False).astype(bool)


def _duplicate_problems(df: pd.DataFrame, form: RawForm) -> list[Problem]:
    """A second record with the same keys as an earlier one (both rows named)."""
    duplicated = df.duplicated(form.keys, keep="first")
    if not duplicated.any():
        return []
    first_row = df.groupby(form.keys, dropna=False, sort=False)[ROW].transform("min")
    key_text = df[form.keys].astype(str).agg("/".join, axis=1) if len(form.keys) > 1 else df[form.keys[0]]
    message = f"duplicate record for keys {'/'.join(form.keys)}"
    problems = []
    shown = duplicated[duplicated].index[:MAX_ROWS_PER_CHECK]
    for row, first, key in zip(df.loc[shown, ROW], first_row[shown], key_text[shown]):
        problems.append(Problem(form.file, f"{message} (first at row {int(first)})", row=int(row),
                                variable="/".join(form.keys), value=key))
    rest = int(duplicated.sum()) - len(problems)
    if rest:
        problems.append(Problem(form.file, f"{rest} more row(s): {message}", variable="/".join(form.keys)))
    return problems


def _form_rule_problems(frames: dict[str, pd.DataFrame], forms: dict[str, RawForm]) -> list[Problem]:
    """Rules that involve the lab dictionary or more than one column, as the contract's comments state."""
    problems: list[Problem] = []
    lab = load_lab_dictionary()
    if "laboratory" in frames:
        df, file = frames["laboratory"], forms["laboratory"].file
        known_test = df["TEST"].isin(list(lab.units_by_test))
        problems += _row_problems(file, df, df["TEST"].notna() & ~known_test, "TEST",
                                  "lab test not in sap/specs/raw/lab_tests.yaml")
        separator = "\x1f"  # a character no test name or unit contains
        pairs = [f"{test}{separator}{unit}" for test, units in lab.units_by_test.items() for unit in units]
        test_unit = df["TEST"] + separator + df["UNIT"]
        unknown_unit = known_test & df["UNIT"].notna() & ~test_unit.isin(pairs).fillna(False).astype(bool)
        problems += _row_problems(file, df, unknown_unit, "UNIT", "unit not known for this test in lab_tests.yaml")
        done = df["NOT_DONE"].eq("No")
        problems += _row_problems(file, df, done & df["RESULT"].isna(), "RESULT", "result blank but NOT_DONE is No")
        problems += _row_problems(file, df, df["NOT_DONE"].eq("Yes") & df["RESULT"].notna(), "RESULT",
                                  "result given but NOT_DONE is Yes")
        problems += _row_problems(file, df, df["RESULT"].notna() & df["UNIT"].isna(), "UNIT", "unit blank for a result")
    if "flow_cytometry" in frames:
        df, file = frames["flow_cytometry"], forms["flow_cytometry"].file
        unknown = df["POPULATION"].notna() & ~df["POPULATION"].isin(list(lab.populations))
        problems += _row_problems(file, df, unknown, "POPULATION", "population not in sap/specs/raw/lab_tests.yaml")
    if "disposition" in frames:
        df, file = frames["disposition"], forms["disposition"].file
        problems += _row_problems(file, df, df["STATUS"].eq("Discontinued") & df["REASON"].isna(), "REASON",
                                  "reason blank for a discontinued subject")
        problems += _row_problems(file, df, df["STATUS"].eq("Completed") & df["REASON"].notna(), "REASON",
                                  "reason given for a subject who completed")
    if "adverse_events" in frames:
        df, file = frames["adverse_events"], forms["adverse_events"].file
        problems += _row_problems(file, df, df["ONGOING"].eq("Yes") & df["END_DATE"].notna(), "END_DATE",
                                  "end date given but ONGOING is Yes")
        start, end = _complete_date(df["START_DATE"]), _complete_date(df["END_DATE"])
        problems += _row_problems(file, df, (end < start).fillna(False).astype(bool), "END_DATE",
                                  "end date before start date")
    return problems


def _typed(df: pd.DataFrame, form: RawForm) -> pd.DataFrame:
    """integer/number columns to float64; everything else stays `str` with NaN for blank."""
    out = df.copy()
    for column, spec in form.columns.items():
        if spec.type in NUMERIC_TYPES:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out
