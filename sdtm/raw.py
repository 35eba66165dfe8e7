"""The raw EDC extract: reading and checking the CSV forms against `sap/specs/raw/forms.yaml`.

`read_raw_extract` returns typed frames; every malformed cell, unknown visit, unenrolled subject or
duplicate record is collected and raised together as one InputError (one line each: file, row, column,
value). Builders never see malformed input.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sap.errors import InputError, Problem, SpecError
from sap.specs import SPECS_DIR, LabTests, byte_lengths, list_specs, load_spec, read_plan_file
from sap.study import Study
from sdtm.common import MONTHS, edc_date_to_iso

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


def range_bound(value: float) -> str:
    """A range bound as written in the contract: 18, 0.5, 10000000 (never 1e+07)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


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
    cardinality: Literal["one per subject", "any"] = "any"

    @model_validator(mode="after")
    def _one_per_subject_keys(self) -> "RawForm":
        if self.cardinality == "one per subject" and self.keys != ["SUBJECT"]:
            raise ValueError(f"cardinality 'one per subject' needs keys [SUBJECT], not {self.keys}")
        return self


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
# Reading a CSV file: encoding, delimiter, header and field count, control characters

# An extract from an EDC is UTF-8 (an Excel byte order mark is tolerated). Bytes that are not UTF-8 and NUL
# bytes (which pandas' parser would silently treat as the end of the field) are carried through the parser
# as private-use characters, one per byte, so the problem can be named at its row and column.
_SCAN_BLOCK = 1 << 24
_ESCAPED_BYTE = 0xF700  # U+F700 + byte value: a non-UTF-8 byte (0x80-0xFF) or NUL (0x00), kept for the message
_ESCAPED = re.compile("[\uf700-\uf7ff]")
# C0 control characters other than tab, line feed and carriage return, DEL, and C1 controls: no EDC text
# holds them and several output formats cannot (XML 1.0, XPT readers, PDF text).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_PATTERN = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\uf700-\uf7ff]"
_LINE_BREAKS = "[\t\r\n]"
_EXTRA = "\x1fextra"  # name of the column that catches a record's fields beyond the header's


def _scan_bytes(path: Path) -> tuple[bool, bool, bytes]:
    """(valid UTF-8, has NUL, first bytes) of a file, read in blocks (no copy of a large file in memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid, has_nul, head = True, False, b""
    with path.open("rb") as handle:
        while block := handle.read(_SCAN_BLOCK):
            head = head or block[:4]
            has_nul = has_nul or b"\x00" in block
            if valid:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    valid = False
        if valid:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid = False
    return valid, has_nul, head


def _escaped_text(path: Path) -> str:
    """The file as text with each non-UTF-8 byte and each NUL as U+F700 + byte (see `_ESCAPED_BYTE`)."""
    text = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    text = text.translate({0: _ESCAPED_BYTE})
    return re.sub("[\udc80-\udcff]", lambda m: chr(_ESCAPED_BYTE + ord(m.group(0)) - 0xDC00), text)


def _shown(value: str) -> str:
    """A cell for a message: escaped bytes shown as the Windows-1252 character they most likely were
    (or \\xNN), control characters as \\xNN (repr does that)."""
    def byte(match: re.Match) -> str:
        code = ord(match.group(0)) - _ESCAPED_BYTE
        if code == 0:
            return "\x00"
        try:
            return bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            return f"\\x{code:02x}"
    return _ESCAPED.sub(byte, value)


def _header(source: Path | io.StringIO) -> list[str]:
    """The column names of the first record (the csv module reads a quoted header like the parser does)."""
    if isinstance(source, Path):
        with source.open(encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), [])
    else:
        first = next(csv.reader(io.StringIO(source.getvalue())), [])
    return [str(c).strip() for c in first]


def _field_counts(source: Path | io.StringIO) -> np.ndarray:
    """Fields per record after the header, blank lines skipped as the parser skips them. The parser fills a
    record cut short with blanks, indistinguishable from fields left empty, so records are counted here."""
    limit = csv.field_size_limit(2**31 - 1)  # the parser has no field limit; over-long text is named later
    try:
        if isinstance(source, Path):
            with source.open(encoding="utf-8-sig", newline="") as handle:
                counts = [len(record) for record in csv.reader(handle) if record]
        else:
            counts = [len(record) for record in csv.reader(io.StringIO(source.getvalue())) if record]
    finally:
        csv.field_size_limit(limit)
    return np.asarray(counts[1:], dtype="int64")


def _read_text_frame(path: Path, form: RawForm, problems: list[Problem]) -> pd.DataFrame | None:
    """The CSV as stripped text with NaN for blanks and a ROW column; None (with problems) if unusable.
    Rules: the file exists and is not empty; UTF-8 (one line per cell holding another encoding's bytes);
    comma-separated, with every column of the contract once and no other; no record with more or fewer
    fields than the header; no control character in any cell; line feeds and tabs only inside free text."""
    name = path.name
    if not path.is_file():
        problems.append(Problem(name, f"file not found in {path.parent}"))
        return None
    if path.stat().st_size == 0:
        problems.append(Problem(name, "file is empty (zero bytes; expected a header line naming the form's columns)"))
        return None
    valid_utf8, has_nul, head = _scan_bytes(path)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        problems.append(Problem(name, "file is UTF-16 (byte order mark); save the extract as UTF-8"))
        return None
    source: Path | io.StringIO = path if valid_utf8 and not has_nul else io.StringIO(_escaped_text(path))
    try:
        header = _header(source)
    except (UnicodeDecodeError, csv.Error) as exc:
        problems.append(Problem(name, f"cannot read the header line: {exc}".splitlines()[0]))
        return None
    if not any(header):
        problems.append(Problem(name, "no header line (the first line is blank)"))
        return None
    if len(header) == 1 and len(form.columns) > 1:
        delimiter = next((d for d in (";", "\t", "|") if d in header[0]), None)
        if delimiter is not None:
            problems.append(Problem(name, f"not comma-separated (the header is split by {delimiter!r}); "
                                          "export the form as CSV with commas", variable="header"))
            return None
    header_problems = []
    for column in sorted({c for c in header if header.count(c) > 1}):
        header_problems.append(Problem(name, f"column appears {header.count(column)} times in the header", variable=column))
    for column in (c for c in form.columns if c not in header):
        header_problems.append(Problem(name, "column missing", variable=column))
    # A column the contract does not know would not be mapped anywhere: nothing is dropped silently, so it
    # is an error (add it to sap/specs/raw/forms.yaml, or remove it from the extract).
    for column in dict.fromkeys(c for c in header if c not in form.columns):
        header_problems.append(Problem(name, "column not in the form contract (sap/specs/raw/forms.yaml)", variable=column))
    if header_problems:
        problems += header_problems
        return None
    if isinstance(source, io.StringIO):
        source.seek(0)
    try:
        df = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig", header=None, skiprows=1,
                         names=[*header, _EXTRA], index_col=False, skip_blank_lines=True)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        message = str(exc).splitlines()[0].replace("Error tokenizing data. C error: ", "")
        problems.append(Problem(name, f"not a well-formed CSV file: {message} (a field holding a comma must be quoted)"))
        return None
    df.insert(0, ROW, np.arange(1, len(df) + 1, dtype="int64"))
    extra = df[_EXTRA].ne("")
    if extra.any():
        message = (f"more fields than the header's {len(header)} (a value holding a comma, such as a decimal "
                   "comma, must be quoted)")
        problems += _row_problems(name, df, extra, _EXTRA, message, variable="fields beyond the header")
        return None
    counts = _field_counts(source)
    if len(counts) == len(df) and (counts < len(header)).any():
        short = pd.Series(counts < len(header), index=df.index)
        values = pd.Series([f"{n} fields" for n in counts], index=df.index)
        message = (f"fewer fields than the header's {len(header)} (the record is cut short; a line break inside "
                   "a value must be quoted)")
        problems += _row_problems(name, df, short, _EXTRA, message, values=values, variable="fields of the record")
        return None
    out = {c: df[c].str.strip() for c in form.columns}
    out = {c: s.where(s.ne(""), np.nan) for c, s in out.items()}
    frame = pd.DataFrame(out)
    frame.insert(0, ROW, df[ROW].to_numpy())
    problems += _character_problems(frame, form, escaped=isinstance(source, io.StringIO))
    return frame


def _character_problems(df: pd.DataFrame, form: RawForm, escaped: bool) -> list[Problem]:
    """Bytes that are not UTF-8 and control characters, one line per cell; line breaks and tabs are
    allowed in free text only (a key, date, number or choice holding one is malformed)."""
    problems: list[Problem] = []
    for column, spec in form.columns.items():
        values = df[column]
        if escaped:
            not_utf8 = values.str.contains("[\uf701-\uf7ff]", na=False)
            if not_utf8.any():
                first = ord(_ESCAPED.search(values[not_utf8].iloc[0].replace("\uf700", "")).group(0)) - _ESCAPED_BYTE
                problems += _row_problems(form.file, df, not_utf8, column,
                                          f"not UTF-8 text (byte 0x{first:02x}; the file looks Latin-1/Windows-1252): "
                                          "save the extract as UTF-8", values=values.map(_shown, na_action="ignore"))
        control = values.str.contains(_CONTROL_PATTERN.replace("\uf700-\uf7ff", "\uf700"), na=False)
        free_text = spec.type == "text" and column not in form.keys
        if not free_text:
            control |= values.str.contains(_LINE_BREAKS, na=False)
        if control.any():
            allowed = "" if free_text else " (line breaks and tabs are allowed in free text only)"
            problems += _row_problems(form.file, df, control, column, f"control character in the value{allowed}",
                                      values=values.map(_shown, na_action="ignore"))
    return problems


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
        problems += _length_problems(text, name, form)
        frames[name] = text
    if "enrolment" in frames:
        enrolled = frames["enrolment"]["SUBJECT"].dropna()
        for name, df in frames.items():
            if name != "enrolment":
                unknown = df["SUBJECT"].notna() & ~df["SUBJECT"].isin(enrolled)
                problems += _row_problems(forms[name].file, df, unknown, "SUBJECT", "subject not in enrolment")
    problems += _form_rule_problems(frames, forms, study)
    if problems:
        raise InputError(problems)
    return RawExtract(forms={name: _typed(df, forms[name]) for name, df in frames.items()}, folder=folder)


def _row_problems(file: str, df: pd.DataFrame, mask: pd.Series, column: str, message: str,
                  values: pd.Series | None = None, variable: str | None = None) -> list[Problem]:
    """One Problem per failing row (the first MAX_ROWS_PER_CHECK, then a count of the rest)."""
    if not mask.any():
        return []
    failing = df.loc[mask]
    shown = failing.head(MAX_ROWS_PER_CHECK)
    values = df[column] if values is None else values
    problems = [
        Problem(file, message, row=int(row), variable=variable or column, value=None if pd.isna(value) else value)
        for row, value in zip(shown[ROW], values.loc[shown.index])
    ]
    rest = len(failing) - len(shown)
    if rest:
        problems.append(Problem(file, f"{rest} more row(s): {message}", variable=variable or column))
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
        if spec.type in ("date", "pdate"):
            bad_year = present & _year_outside(values, study)
            problems += _row_problems(file, df, bad_year, column, _year_rule(study))
        if spec.type == "date":
            problems += _row_problems(file, df, present & ~bad_year & _complete_date(values).isna(), column,
                                      "not a complete date DD-MMM-YYYY")
        elif spec.type == "pdate":
            problems += _row_problems(file, df, present & ~bad_year & ~_valid_partial_date(values), column,
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
                problems += _row_problems(file, df, outside, column, f"value outside the range [{range_bound(low)}, {range_bound(high)}]")
        elif spec.type == "result":
            problems += _row_problems(file, df, present & ~values.str.match(RESULT_PATTERN, na=False), column,
                                      "not a lab result (a number, optionally with <, <=, > or >=)")
        if spec.visit:
            problems += _row_problems(file, df, present & ~values.isin(visit_labels), column,
                                      f"visit not scheduled in study.yaml (visits: {', '.join(visit_labels)})")
    return problems


def _year_rule(study: Study) -> str:
    first, last = study.raw_years
    return f"year outside {first}-{last} (sap/study.yaml raw_dates)"


def _year_outside(values: pd.Series, study: Study) -> pd.Series:
    """A date of the EDC shape (DD-MMM-YYYY, UN-MMM-YYYY, UN-UNK-YYYY) whose year is outside the plan's
    range (`raw_dates`)."""
    text = values.str.upper()
    year = pd.to_numeric(text.str.slice(7, 11).where(text.str.match(PDATE_PATTERN, na=False)), errors="coerce")
    first, last = study.raw_years
    return ((year < first) | (year > last)).fillna(False).astype(bool)


def valid_iso_dates(values: pd.Series, study: Study, complete: bool = False) -> pd.Series:
    """EDC dates as ISO 8601 text (partial kept partial), missing where the cell is blank, malformed or
    outside the plan's years: the dates the cross-form rules compare (malformed ones are reported once,
    by the cell checks)."""
    ok = _complete_date(values).notna() if complete else _valid_partial_date(values)
    ok &= ~_year_outside(values, study)
    return edc_date_to_iso(values.where(ok))


def is_before(a: pd.Series, b: pd.Series) -> pd.Series:
    """True where ISO date `a` is certainly before ISO date `b`, comparing only the parts both have
    (2013-08 vs 2013-07-15 compares 2013-08 with 2013-07; 2013 vs 2013-07-15 compares the years), so a
    partial date is out of order only when every date it may stand for is. Missing on either side: False."""
    a = a.astype("str")
    b = b.astype("str")
    shared = np.minimum(a.str.len(), b.str.len())
    before = pd.Series(False, index=a.index)
    for length in (4, 7, 10):
        at = shared.eq(length).fillna(False).astype(bool)
        if at.any():
            before |= at & (a.str.slice(0, length) < b.str.slice(0, length)).fillna(False).astype(bool)
    return before


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


def _form_rule_problems(frames: dict[str, pd.DataFrame], forms: dict[str, RawForm], study: Study) -> list[Problem]:
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
        start, end = valid_iso_dates(df["START_DATE"], study), valid_iso_dates(df["END_DATE"], study)
        problems += _row_problems(file, df, is_before(end, start), "END_DATE",
                                  "end date before start date (partial dates compared on the parts both have)")
    if "laboratory" in frames:
        df, file = frames["laboratory"], forms["laboratory"].file
        low, high = (pd.to_numeric(df[c], errors="coerce") for c in ("REF_LOW", "REF_HIGH"))
        problems += _row_problems(file, df, (low > high).fillna(False).astype(bool), "REF_LOW",
                                  "reference range low above its high (REF_HIGH)")
    problems += _cross_form_problems(frames, forms, study)
    return problems


def _cross_form_problems(frames: dict[str, pd.DataFrame], forms: dict[str, RawForm], study: Study) -> list[Problem]:
    """Dates in order across forms (consent <= enrolment <= every dose; SLE diagnosis <= consent; enrolment
    <= disposition), and one record per subject where the contract says `cardinality: one per subject`."""
    if "enrolment" not in frames:
        return []
    problems: list[Problem] = []
    enrolment, file = frames["enrolment"], forms["enrolment"].file
    consent = valid_iso_dates(enrolment["CONSENT_DATE"], study, complete=True)
    enrolled = valid_iso_dates(enrolment["ENROL_DATE"], study, complete=True)
    problems += _row_problems(file, enrolment, is_before(enrolled, consent), "ENROL_DATE",
                              "enrolment date before informed consent (CONSENT_DATE)")
    diagnosis = valid_iso_dates(enrolment["SLE_DIAG_DATE"], study)
    problems += _row_problems(file, enrolment, is_before(consent, diagnosis), "SLE_DIAG_DATE",
                              "SLE diagnosis after informed consent (CONSENT_DATE)")
    by_subject = pd.DataFrame({"consent": consent.to_numpy(), "enrolled": enrolled.to_numpy()},
                              index=enrolment["SUBJECT"].to_numpy())
    by_subject = by_subject[~by_subject.index.duplicated()]

    def subject_dates(df: pd.DataFrame, which: str) -> pd.Series:
        return df["SUBJECT"].map(by_subject[which])

    if "dosing" in frames:
        df, file = frames["dosing"], forms["dosing"].file
        dose = valid_iso_dates(df["DOSE_DATE"], study, complete=True)
        before_consent = is_before(dose, subject_dates(df, "consent"))
        problems += _row_problems(file, df, before_consent, "DOSE_DATE",
                                  "dose before informed consent (enrolment.csv CONSENT_DATE)")
        problems += _row_problems(file, df, ~before_consent & is_before(dose, subject_dates(df, "enrolled")), "DOSE_DATE",
                                  "dose before enrolment (enrolment.csv ENROL_DATE)")
    if "disposition" in frames:
        df, file = frames["disposition"], forms["disposition"].file
        ended = valid_iso_dates(df["DISPOSITION_DATE"], study, complete=True)
        problems += _row_problems(file, df, is_before(ended, subject_dates(df, "enrolled")), "DISPOSITION_DATE",
                                  "disposition before enrolment (enrolment.csv ENROL_DATE)")
    # one record per subject: every subject enrolled on or before the cut-off (a later one is rejected
    # from every domain anyway, and a study still running has no disposition for them yet)
    cutoff = study.data_cutoff.isoformat()
    in_study = enrolment.loc[enrolled.notna() & ~is_before(pd.Series(cutoff, index=enrolled.index), enrolled)]
    for name, form in forms.items():
        if form.cardinality != "one per subject" or name == "enrolment" or name not in frames:
            continue
        missing = in_study.loc[~in_study["SUBJECT"].isin(frames[name]["SUBJECT"].dropna())]
        for row, subject in zip(missing[ROW].head(MAX_ROWS_PER_CHECK), missing["SUBJECT"]):
            problems.append(Problem(form.file, f"no record for a subject enrolled on or before the cut-off (enrolment.csv "
                                               f"row {int(row)}; the form contract says one per subject)",
                                    variable="SUBJECT", value=subject))
        if len(missing) > MAX_ROWS_PER_CHECK:
            problems.append(Problem(form.file, f"{len(missing) - MAX_ROWS_PER_CHECK} more enrolled subject(s) without a record",
                                    variable="SUBJECT"))
    return problems


@lru_cache(maxsize=1)
def text_lengths() -> dict[tuple[str, str], tuple[str, int]]:
    """(form, column) -> (DATASET.VARIABLE, length) for every raw text column an SDTM variable is taken
    from (its spec's `source` names the form and column); the shortest when several are."""
    forms = load_forms()
    lengths: dict[tuple[str, str], tuple[str, int]] = {}
    for dataset in list_specs("sdtm"):
        for variable in load_spec(dataset).variables:
            if not variable.source or variable.type != "text" or variable.length is None:
                continue
            form, _, column = variable.source.split()[0].partition(".")
            spec = forms.get(form)
            if spec is None or column not in spec.columns or spec.columns[column].type != "text":
                continue
            known = lengths.get((form, column))
            if known is None or variable.length < known[1]:
                lengths[(form, column)] = (f"{dataset}.{variable.name}", variable.length)
    return lengths


def _length_problems(df: pd.DataFrame, form_name: str, form: RawForm) -> list[Problem]:
    """Free text longer (in UTF-8 bytes, as XPT stores it) than the SDTM variable it is submitted as."""
    problems: list[Problem] = []
    for (name, column), (target, length) in text_lengths().items():
        if name != form_name:
            continue
        too_long = (byte_lengths(df[column]) > length).reindex(df.index, fill_value=False).astype(bool)
        shown = df[column].map(lambda v: v if len(v) <= 60 else f"{v[:57]}...", na_action="ignore")
        problems += _row_problems(form.file, df, too_long, column,
                                  f"text longer than {length} bytes (UTF-8), the length of {target} in sap/specs/sdtm",
                                  values=shown)
    return problems


def _typed(df: pd.DataFrame, form: RawForm) -> pd.DataFrame:
    """integer/number columns to float64; everything else stays `str` with NaN for blank."""
    out = df.copy()
    for column, spec in form.columns.items():
        if spec.type in NUMERIC_TYPES:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out
