"""The bad-input corpus: malformed EDC extracts made from the synthetic twin's own raw files by one small
mutation each, with the outcome each must have.

A kind is a name, a mutation of a copy of the twin's extract, and its expected outcome:
- `Rejected`: `sap sdtm --raw` exits 1 and prints exactly the expected lines (each names file, row,
  column, value and rule, or the file and rule where a whole file is wrong);
- `Mapped`: `sap sdtm --raw` exits 0 and `check` finds the expected SDTM value (worked out from the
  mutation, not read from a previous run).
Never exit 3, never silent. `tests/sdtm/test_bad_input_corpus.py` runs every kind;
`python -m tests.sdtm.corpus OUT` writes the corpus (one folder per kind) for a look by hand.

The mutations read the twin's rows they change, so the expected lines quote the input itself.
"""

from __future__ import annotations

import csv
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

TWIN_SUBJECTS = 8  # the corpus twin: small, so each kind runs in about a second


@dataclass(frozen=True)
class Rejected:
    lines: list[str]  # the first lines printed after "error: ", exactly, in order
    total: int | None = -1  # how many lines in all: -1 means len(lines); None means any number
    last: str | None = None  # the last line (the count of rows beyond the first 20)
    every: str | None = None  # text every line holds (when the number of lines is not fixed)

    @property
    def expected_total(self) -> int | None:
        return len(self.lines) if self.total == -1 else self.total


@dataclass(frozen=True)
class Mapped:
    check: Callable[[Path], None]  # receives the output folder (sdtm/ under it); asserts the SDTM value
    what: str = ""


@dataclass(frozen=True)
class Kind:
    name: str
    group: str
    rule: str  # the rule the kind meets, as the README lists it
    mutate: Callable[[Path], Rejected | Mapped]


KINDS: list[Kind] = []


def kind(group: str, rule: str):
    def register(func: Callable[[Path], Rejected | Mapped]):
        KINDS.append(Kind(func.__name__, group, rule, func))
        return func
    return register


# ----------------------------------------------------------------------------------------------- helpers


def read(folder: Path, file: str) -> pd.DataFrame:
    return pd.read_csv(folder / file, dtype=str, keep_default_na=False)


def write(df: pd.DataFrame, folder: Path, file: str, **options) -> None:
    text = df.to_csv(index=False, quoting=csv.QUOTE_ALL, lineterminator=options.pop("lineterminator", "\n"), **options)
    (folder / file).write_text(text, encoding=options.pop("encoding", "utf-8"))


def set_cell(folder: Path, file: str, row: int, column: str, value: str) -> str:
    """Set a cell (row = 1-based data row) and return the value it had."""
    df = read(folder, file)
    old = df.at[row - 1, column]
    df.at[row - 1, column] = value
    write(df, folder, file)
    return old


def cell(folder: Path, file: str, row: int, column: str) -> str:
    return read(folder, file).at[row - 1, column]


def sdtm(out: Path, domain: str) -> pd.DataFrame:
    return pd.read_parquet(out / "sdtm" / f"{domain}.parquet")


def first_ae_term(out: Path) -> str:
    ae = sdtm(out, "ae")
    return ae.loc[ae["USUBJID"].str.endswith("-002") & ae["AESPID"].eq("1"), "AETERM"].item()


def ae_term_mapped(value: str) -> Mapped:
    """AE row 1 (subject 002, AE 1) with AE_TERM = value: AETERM must be exactly the value."""
    def check(out: Path) -> None:
        assert first_ae_term(out) == value, (first_ae_term(out), value)
    return Mapped(check, f"AETERM = {value!r}")


def replace_bytes(folder: Path, file: str, old: bytes, new: bytes, count: int = 1) -> None:
    data = (folder / file).read_bytes()
    assert old in data, (file, old)
    (folder / file).write_bytes(data.replace(old, new, count))


# -------------------------------------------------------------------------------------- files and layout


@kind("file", "every form of the contract is present")
def missing_file(folder: Path) -> Rejected:
    (folder / "pga.csv").unlink()
    return Rejected([f"pga.csv: file not found in {folder}"])


@kind("file", "a file is not empty")
def zero_byte_file(folder: Path) -> Rejected:
    (folder / "bilag.csv").write_bytes(b"")
    return Rejected(["bilag.csv: file is empty (zero bytes; expected a header line naming the form's columns)"])


@kind("file", "the first line is the header")
def blank_first_line(folder: Path) -> Rejected:
    (folder / "pga.csv").write_bytes(b"\n" + (folder / "pga.csv").read_bytes())
    return Rejected(["pga.csv: no header line (the first line is blank)"])


@kind("file", "a form with a header and no rows maps nothing (no assessment collected)")
def header_only_file(folder: Path) -> Mapped:
    df = read(folder, "pga.csv")
    write(df.iloc[:0], folder, "pga.csv")

    def check(out: Path) -> None:
        qs = sdtm(out, "qs")
        assert not qs["QSTESTCD"].eq("SLEPGA").any() and qs["QSTESTCD"].eq("SLE2K25").sum() > 0
    return Mapped(check, "no PGA records in QS, SLEDAI-2K still mapped")


@kind("columns", "every column of the contract is present, spelt as the contract spells it")
def renamed_column(folder: Path) -> Rejected:
    df = read(folder, "adverse_events.csv").rename(columns={"AE_TERM": "AETERM"})
    write(df, folder, "adverse_events.csv")
    return Rejected(["adverse_events.csv, AE_TERM: column missing",
                     "adverse_events.csv, AETERM: column not in the form contract (sap/specs/raw/forms.yaml)"])


@kind("columns", "column names are case-sensitive")
def lowercase_column(folder: Path) -> Rejected:
    df = read(folder, "pga.csv").rename(columns={"PGA": "pga"})
    write(df, folder, "pga.csv")
    return Rejected(["pga.csv, PGA: column missing",
                     "pga.csv, pga: column not in the form contract (sap/specs/raw/forms.yaml)"])


@kind("columns", "a column outside the contract is an error, not ignored")
def extra_column(folder: Path) -> Rejected:
    df = read(folder, "adverse_events.csv").assign(AE_COMMENT="seen by GP")
    write(df, folder, "adverse_events.csv")
    return Rejected(["adverse_events.csv, AE_COMMENT: column not in the form contract (sap/specs/raw/forms.yaml)"])


@kind("columns", "a column appears once")
def duplicated_column(folder: Path) -> Rejected:
    text = (folder / "pga.csv").read_text().splitlines()
    rows = [line + "," + line.rsplit(",", 1)[1] for line in text]
    (folder / "pga.csv").write_text("\n".join(rows) + "\n")
    return Rejected(["pga.csv, PGA: column appears 2 times in the header"])


@kind("columns", "a missing column is named")
def missing_column(folder: Path) -> Rejected:
    write(read(folder, "pga.csv").drop(columns=["PGA"]), folder, "pga.csv")
    return Rejected(["pga.csv, PGA: column missing"])


@kind("columns", "columns are found by name, in any order")
def reordered_columns(folder: Path) -> Mapped:
    df = read(folder, "enrolment.csv")
    write(df[list(reversed(df.columns))], folder, "enrolment.csv")
    weight = float(cell(folder, "enrolment.csv", 1, "WEIGHT_KG"))

    def check(out: Path) -> None:
        vs = sdtm(out, "vs")
        assert vs.loc[vs["USUBJID"].str.endswith("-001") & vs["VSTESTCD"].eq("WEIGHT"), "VSSTRESN"].item() == weight
    return Mapped(check, f"subject 001 weight {weight}")


@kind("columns", "header names are trimmed")
def padded_header(folder: Path) -> Mapped:
    value = float(cell(folder, "pga.csv", 1, "PGA"))
    text = (folder / "pga.csv").read_text().replace('"PGA"', '" PGA "', 1)
    (folder / "pga.csv").write_text(text)

    def check(out: Path) -> None:
        qs = sdtm(out, "qs")
        first = qs.loc[qs["USUBJID"].str.endswith("-001") & qs["QSTESTCD"].eq("SLEPGA")].sort_values("VISITNUM")
        assert first["QSSTRESN"].iloc[0] == value
    return Mapped(check, f"PGA {value}")


# ------------------------------------------------------------------------------- delimiter and encoding


@kind("format", "comma-separated")
def semicolon_delimiter(folder: Path) -> Rejected:
    write(read(folder, "dosing.csv"), folder, "dosing.csv", sep=";")
    return Rejected(["dosing.csv, header: not comma-separated (the header is split by ';'); export the form as CSV with commas"])


@kind("format", "comma-separated")
def tab_delimiter(folder: Path) -> Rejected:
    write(read(folder, "dosing.csv"), folder, "dosing.csv", sep="\t")
    return Rejected(["dosing.csv, header: not comma-separated (the header is split by '\\t'); export the form as CSV with commas"])


@kind("format", "UTF-8 with an Excel byte order mark is read as UTF-8")
def utf8_bom(folder: Path) -> Mapped:
    (folder / "enrolment.csv").write_bytes(b"\xef\xbb\xbf" + (folder / "enrolment.csv").read_bytes())

    def check(out: Path) -> None:
        assert sdtm(out, "dm")["SUBJID"].tolist()[:2] == ["001", "002"]
    return Mapped(check, "SUBJID 001 (the BOM is not part of the first column)")


@kind("format", "UTF-8 only: another encoding's bytes are named at row and column")
def latin1_file(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 2, "AE_TERM", "fièvre")
    text = (folder / "adverse_events.csv").read_text(encoding="utf-8")
    (folder / "adverse_events.csv").write_bytes(text.encode("latin-1"))
    return Rejected(["adverse_events.csv, row 2, AE_TERM: not UTF-8 text (byte 0xe8; the file looks "
                     "Latin-1/Windows-1252): save the extract as UTF-8 (value 'fièvre')"])


@kind("format", "UTF-8 only")
def utf16_file(folder: Path) -> Rejected:
    text = (folder / "disposition.csv").read_text(encoding="utf-8")
    (folder / "disposition.csv").write_bytes(text.encode("utf-16"))
    return Rejected(["disposition.csv: file is UTF-16 (byte order mark); save the extract as UTF-8"])


@kind("format", "CRLF line ends are read as line ends")
def crlf_line_ends(folder: Path) -> Mapped:
    write(read(folder, "adverse_events.csv"), folder, "adverse_events.csv", lineterminator="\r\n")
    term = cell(folder, "adverse_events.csv", 1, "AE_TERM")
    return ae_term_mapped(term)


@kind("format", "a quoted field may hold a line break (free text keeps it)")
def quoted_newline_in_term(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "headache\nbehind the eyes")
    return ae_term_mapped("headache\nbehind the eyes")


@kind("format", "line breaks only inside free text")
def quoted_newline_in_key(folder: Path) -> Rejected:
    set_cell(folder, "dosing.csv", 1, "DOSE_UNIT", "MI\nU")
    return Rejected(["dosing.csv, row 1, DOSE_UNIT: control character in the value (line breaks and tabs are allowed "
                     "in free text only) (value 'MI\\nU')",
                     "dosing.csv, row 1, DOSE_UNIT: value not allowed (allowed: MIU) (value 'MI\\nU')"])


@kind("format", "quotes are balanced")
def unbalanced_quote(folder: Path) -> Rejected:
    data = (folder / "disposition.csv").read_bytes().rstrip(b"\n")
    assert data.endswith(b'",')  # the last record's date: its closing quote removed, the field runs to the end
    (folder / "disposition.csv").write_bytes(data[:-2] + b",\n")
    return Rejected([f"disposition.csv: not a well-formed CSV file: EOF inside string starting at row {TWIN_SUBJECTS} "
                     "(a field holding a comma must be quoted)"])


@kind("format", "a stray quote swallows the next field: the record is one field short")
def stray_quote(folder: Path) -> Rejected:
    data = (folder / "disposition.csv").read_bytes()
    width = len(data.split(b"\n", 1)[0].split(b","))
    (folder / "disposition.csv").write_bytes(data.replace(b'"Completed",', b'"Completed,', 1))
    return Rejected([f"disposition.csv, row 1, fields of the record: fewer fields than the header's {width} (the record "
                     f"is cut short; a line break inside a value must be quoted) (value '{width - 1} fields')"])


@kind("format", "no record has more fields than the header")
def unquoted_decimal_comma(folder: Path) -> Rejected:
    weight = cell(folder, "enrolment.csv", 3, "WEIGHT_KG")  # 48.4 -> 48,4 unquoted: one field too many
    last = cell(folder, "enrolment.csv", 3, "METHOTREXATE")  # the record's last field, now beyond the header
    lines = (folder / "enrolment.csv").read_text().split("\n")
    lines[3] = lines[3].replace(f'"{weight}"', weight.replace(".", ","), 1)
    (folder / "enrolment.csv").write_text("\n".join(lines))
    return Rejected([f"enrolment.csv, row 3, fields beyond the header: more fields than the header's 20 (a value "
                     f"holding a comma, such as a decimal comma, must be quoted) (value '{last}')"])


@kind("format", "no record has fewer fields than the header")
def short_record(folder: Path) -> Rejected:
    lines = (folder / "enrolment.csv").read_text().split("\n")
    width = len(lines[0].split(","))
    lines[3] = lines[3].rsplit(",", 1)[0]  # the last field (METHOTREXATE) cut off: the parser would fill a blank
    (folder / "enrolment.csv").write_text("\n".join(lines))
    return Rejected([f"enrolment.csv, row 3, fields of the record: fewer fields than the header's {width} (the record "
                     f"is cut short; a line break inside a value must be quoted) (value '{width - 1} fields')"])


@kind("format", "a line break inside a value is quoted")
def unquoted_newline_in_term(folder: Path) -> Rejected:
    lines = (folder / "adverse_events.csv").read_text().split("\n")
    header = lines[0].split(",")
    width, term = len(header), header.index('"AE_TERM"')
    fields = lines[1].split('","')  # the twin quotes every field and its terms hold no '","'
    fields[term] = 'headache"\nbehind the eyes"'  # an unquoted line break: one record becomes two
    lines[1] = '","'.join(fields)
    (folder / "adverse_events.csv").write_text("\n".join(lines))
    message = f"fewer fields than the header's {width} (the record is cut short; a line break inside a value must be quoted)"
    return Rejected([f"adverse_events.csv, row 1, fields of the record: {message} (value '{term + 1} fields')",
                     f"adverse_events.csv, row 2, fields of the record: {message} (value '{width - term} fields')"])


@kind("format", "blank lines at the end are not records")
def trailing_blank_lines(folder: Path) -> Mapped:
    (folder / "disposition.csv").write_bytes((folder / "disposition.csv").read_bytes() + b"\n\n\n")

    def check(out: Path) -> None:
        ds = sdtm(out, "ds")
        assert ds["DSCAT"].eq("DISPOSITION EVENT").sum() == TWIN_SUBJECTS
    return Mapped(check, "one disposition event per subject")


# ---------------------------------------------------------------------------------------------- dates


@kind("dates", "a date is a calendar date")
def impossible_date(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 2, "ENROL_DATE", "31-FEB-2014")
    return Rejected(["enrolment.csv, row 2, ENROL_DATE: not a complete date DD-MMM-YYYY (value '31-FEB-2014')"])


@kind("dates", "dates are DD-MMM-YYYY")
def iso_date_in_edc_column(folder: Path) -> Rejected:
    set_cell(folder, "dosing.csv", 2, "DOSE_DATE", "2013-10-11")
    return Rejected(["dosing.csv, row 2, DOSE_DATE: not a complete date DD-MMM-YYYY (value '2013-10-11')"])


@kind("dates", "dates are DD-MMM-YYYY")
def two_digit_year(folder: Path) -> Rejected:
    set_cell(folder, "dosing.csv", 2, "DOSE_DATE", "11-OCT-13")
    return Rejected(["dosing.csv, row 2, DOSE_DATE: not a complete date DD-MMM-YYYY (value '11-OCT-13')"])


@kind("dates", "a complete date may not be partial")
def partial_date_where_complete_required(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 1, "CONSENT_DATE", "UN-OCT-2013")
    return Rejected(["enrolment.csv, row 1, CONSENT_DATE: not a complete date DD-MMM-YYYY (value 'UN-OCT-2013')"])


@kind("dates", "a partial date with a known day has a known month")
def day_without_month(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 1, "START_DATE", "26-UNK-2014")
    return Rejected(["adverse_events.csv, row 1, START_DATE: not a date DD-MMM-YYYY (UN for an unknown day, UNK for "
                     "an unknown month) (value '26-UNK-2014')"])


@kind("dates", "month names in any case")
def lowercase_month(folder: Path) -> Mapped:
    set_cell(folder, "enrolment.csv", 1, "CONSENT_DATE", "04-oct-2013")

    def check(out: Path) -> None:
        assert sdtm(out, "dm").loc[0, "RFICDTC"] == "2013-10-04"
    return Mapped(check, "RFICDTC 2013-10-04")


@kind("dates", "years within raw_dates of sap/study.yaml")
def year_0013(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 1, "CONSENT_DATE", "04-OCT-0013")
    return Rejected(["enrolment.csv, row 1, CONSENT_DATE: year outside 1900-2015 (sap/study.yaml raw_dates) (value '04-OCT-0013')"])


@kind("dates", "years within raw_dates of sap/study.yaml")
def year_2105(folder: Path) -> Rejected:
    set_cell(folder, "dosing.csv", 3, "DOSE_DATE", "13-OCT-2105")
    return Rejected(["dosing.csv, row 3, DOSE_DATE: year outside 1900-2015 (sap/study.yaml raw_dates) (value '13-OCT-2105')"])


@kind("dates", "years within raw_dates of sap/study.yaml (partial dates too)")
def partial_year_1899(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 2, "SLE_DIAG_DATE", "UN-UNK-1899")
    return Rejected(["enrolment.csv, row 2, SLE_DIAG_DATE: year outside 1900-2015 (sap/study.yaml raw_dates) (value 'UN-UNK-1899')"])


@kind("order", "consent <= enrolment")
def enrolment_before_consent(folder: Path) -> Rejected:
    enrolled = cell(folder, "enrolment.csv", 1, "ENROL_DATE")  # 06-OCT-2013; consent 04-OCT-2013
    set_cell(folder, "enrolment.csv", 1, "CONSENT_DATE", "07-OCT-2013")
    return Rejected([f"enrolment.csv, row 1, ENROL_DATE: enrolment date before informed consent (CONSENT_DATE) (value '{enrolled}')"])


@kind("order", "consent <= every dose")
def first_dose_before_consent(folder: Path) -> Rejected:
    set_cell(folder, "dosing.csv", 1, "DOSE_DATE", "03-OCT-2013")  # consent 04-OCT-2013
    return Rejected(["dosing.csv, row 1, DOSE_DATE: dose before informed consent (enrolment.csv CONSENT_DATE) (value '03-OCT-2013')"])


@kind("order", "enrolment <= every dose")
def first_dose_before_enrolment(folder: Path) -> Rejected:
    set_cell(folder, "dosing.csv", 1, "DOSE_DATE", "05-OCT-2013")  # consent 04-OCT, enrolled 06-OCT-2013
    return Rejected(["dosing.csv, row 1, DOSE_DATE: dose before enrolment (enrolment.csv ENROL_DATE) (value '05-OCT-2013')"])


@kind("order", "SLE diagnosis <= consent (partial: on the parts both have)")
def diagnosis_after_consent(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 1, "SLE_DIAG_DATE", "UN-NOV-2013")  # consent 04-OCT-2013
    return Rejected(["enrolment.csv, row 1, SLE_DIAG_DATE: SLE diagnosis after informed consent (CONSENT_DATE) (value 'UN-NOV-2013')"])


@kind("order", "AE start <= AE end")
def ae_end_before_start(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 1, "END_DATE", "25-JAN-2014")  # start 26-JAN-2014
    return Rejected(["adverse_events.csv, row 1, END_DATE: end date before start date (partial dates compared on the "
                     "parts both have) (value '25-JAN-2014')"])


@kind("order", "AE start <= AE end, partial end month compared on year and month")
def ae_partial_end_before_start(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 1, "END_DATE", "UN-DEC-2013")  # start 26-JAN-2014
    return Rejected(["adverse_events.csv, row 1, END_DATE: end date before start date (partial dates compared on the "
                     "parts both have) (value 'UN-DEC-2013')"])


@kind("order", "a partial end date that may fall after the start is kept partial")
def ae_partial_end_same_month(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "END_DATE", "UN-JAN-2014")  # start 26-JAN-2014

    def check(out: Path) -> None:
        ae = sdtm(out, "ae")
        assert ae.loc[ae["USUBJID"].str.endswith("-002") & ae["AESPID"].eq("1"), "AEENDTC"].item() == "2014-01"
    return Mapped(check, "AEENDTC 2014-01")


@kind("order", "enrolment <= disposition")
def disposition_before_enrolment(folder: Path) -> Rejected:
    set_cell(folder, "disposition.csv", 1, "DISPOSITION_DATE", "05-OCT-2013")  # enrolled 06-OCT-2013
    return Rejected(["disposition.csv, row 1, DISPOSITION_DATE: disposition before enrolment (enrolment.csv ENROL_DATE) (value '05-OCT-2013')"])


@kind("order", "AE ongoing has no end date")
def ae_end_date_but_ongoing(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 1, "ONGOING", "Yes")
    end = cell(folder, "adverse_events.csv", 1, "END_DATE")
    return Rejected([f"adverse_events.csv, row 1, END_DATE: end date given but ONGOING is Yes (value '{end}')"])


@kind("order", "a record after the data cut-off is rejected with its reason (rejected_records.csv)")
def dose_after_cutoff(folder: Path) -> Mapped:
    row = add_ae_after_cutoff(folder, "002")

    def check(out: Path) -> None:
        rejected = pd.read_csv(out / "sdtm" / "rejected_records.csv", dtype=str)
        hit = rejected[rejected["FORM"].eq("adverse_events") & rejected["ROW"].eq(str(row))]
        assert len(hit) == 1 and "cut-off" in hit["REASON"].item(), rejected
    return Mapped(check, f"adverse_events row {row} rejected after the cut-off")


def add_ae_after_cutoff(folder: Path, subject: str) -> int:
    """A ninth AE of `subject` starting 02-NOV-2015 (two days after the cut-off); returns its row."""
    df = read(folder, "adverse_events.csv")
    extra = df.loc[df["SUBJECT"].eq(subject)].iloc[[0]].assign(AE_NO="9", START_DATE="02-NOV-2015", END_DATE="03-NOV-2015")
    write(pd.concat([df, extra], ignore_index=True), folder, "adverse_events.csv")
    return len(df) + 1


# ----------------------------------------------------------------------------------- visits and choices


@kind("choices", "visits are scheduled in study.yaml")
def unknown_visit(folder: Path) -> Rejected:
    set_cell(folder, "pga.csv", 2, "VISIT", "Week 3")
    return Rejected(["pga.csv, row 2, VISIT: visit not scheduled in study.yaml (visits: Week 0, Week 2, Week 4, Week 6, "
                     "Week 8, Week 10, Week 12) (value 'Week 3')"])


@kind("choices", "visit labels exactly as the plan writes them")
def visit_wrong_case(folder: Path) -> Rejected:
    set_cell(folder, "pga.csv", 2, "VISIT", "week 2")
    return Rejected(["pga.csv, row 2, VISIT: visit not scheduled in study.yaml (visits: Week 0, Week 2, Week 4, Week 6, "
                     "Week 8, Week 10, Week 12) (value 'week 2')"])


@kind("choices", "a choice is one of the contract's values")
def unknown_choice(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 3, "SEX", "F")
    return Rejected(["enrolment.csv, row 3, SEX: value not allowed (allowed: Female, Male) (value 'F')"])


@kind("choices", "surrounding spaces are trimmed")
def choice_with_spaces(folder: Path) -> Mapped:
    set_cell(folder, "enrolment.csv", 3, "SEX", "  Female ")

    def check(out: Path) -> None:
        assert sdtm(out, "dm").loc[2, "SEX"] == "F"
    return Mapped(check, "SEX F")


@kind("choices", "a lab unit is known for its test (lab_tests.yaml)")
def unknown_unit(folder: Path) -> Rejected:
    test = cell(folder, "laboratory.csv", 2, "TEST")
    set_cell(folder, "laboratory.csv", 2, "UNIT", "furlongs")
    assert test == "Albumin"
    return Rejected(["laboratory.csv, row 2, UNIT: unit not known for this test in lab_tests.yaml (value 'furlongs')"])


@kind("choices", "a lab test is in lab_tests.yaml")
def unknown_test(folder: Path) -> Rejected:
    set_cell(folder, "laboratory.csv", 2, "TEST", "Albumen")
    return Rejected(["laboratory.csv, row 2, TEST: lab test not in sap/specs/raw/lab_tests.yaml (value 'Albumen')"])


@kind("choices", "a flow population is in lab_tests.yaml")
def unknown_population(folder: Path) -> Rejected:
    set_cell(folder, "flow_cytometry.csv", 2, "POPULATION", "Tfh cells")
    return Rejected(["flow_cytometry.csv, row 2, POPULATION: population not in sap/specs/raw/lab_tests.yaml (value 'Tfh cells')"])


@kind("choices", "a result has a unit")
def unit_blank(folder: Path) -> Rejected:
    set_cell(folder, "laboratory.csv", 2, "UNIT", "")
    return Rejected(["laboratory.csv, row 2, UNIT: unit blank for a result"])


@kind("choices", "a required value is not blank")
def required_blank(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 1, "SEVERITY", "")
    return Rejected(["adverse_events.csv, row 1, SEVERITY: required value is blank"])


@kind("choices", "every subject of a form is enrolled")
def subject_not_enrolled(folder: Path) -> Rejected:
    set_cell(folder, "pga.csv", 1, "SUBJECT", "099")
    return Rejected(["pga.csv, row 1, SUBJECT: subject not in enrolment (value '099')"])


@kind("choices", "a record's keys are unique")
def duplicate_record(folder: Path) -> Rejected:
    df = read(folder, "dosing.csv")
    write(pd.concat([df, df.iloc[[1]]], ignore_index=True), folder, "dosing.csv")
    return Rejected([f"dosing.csv, row {len(df) + 1}, SUBJECT/CYCLE/INJECTION: duplicate record for keys "
                     "SUBJECT/CYCLE/INJECTION (first at row 2) (value '001/1/2')"])


@kind("choices", "a discontinued subject has a reason")
def discontinued_without_reason(folder: Path) -> Rejected:
    set_cell(folder, "disposition.csv", 2, "STATUS", "Discontinued")
    return Rejected(["disposition.csv, row 2, REASON: reason blank for a discontinued subject"])


# -------------------------------------------------------------------------------------------- numbers


@kind("numbers", "numbers use a decimal point")
def quoted_decimal_comma(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 3, "WEIGHT_KG", "48,4")
    return Rejected(["enrolment.csv, row 3, WEIGHT_KG: not a number (value '48,4')"])


@kind("numbers", "an exponent is a number")
def exponent_number(folder: Path) -> Mapped:
    set_cell(folder, "enrolment.csv", 3, "WEIGHT_KG", "4.84e1")

    def check(out: Path) -> None:
        vs = sdtm(out, "vs")
        assert vs.loc[vs["USUBJID"].str.endswith("-003") & vs["VSTESTCD"].eq("WEIGHT"), "VSSTRESN"].item() == 48.4
    return Mapped(check, "weight 48.4")


@kind("numbers", "infinity is not a number")
def infinite_number(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 3, "WEIGHT_KG", "inf")
    return Rejected(["enrolment.csv, row 3, WEIGHT_KG: not a number (value 'inf')"])


@kind("numbers", "NaN is not a number")
def nan_number(folder: Path) -> Rejected:
    set_cell(folder, "pga.csv", 1, "PGA", "NaN")
    return Rejected(["pga.csv, row 1, PGA: not a number (value 'NaN')"])


@kind("numbers", "NA is not a number (a blank is)")
def na_text_number(folder: Path) -> Rejected:
    set_cell(folder, "flow_cytometry.csv", 1, "PERCENT", "NA")
    return Rejected(["flow_cytometry.csv, row 1, PERCENT: not a number (value 'NA')"])


@kind("numbers", "a number has no unit")
def number_with_unit(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 3, "WEIGHT_KG", "48.4 kg")
    return Rejected(["enrolment.csv, row 3, WEIGHT_KG: not a number (value '48.4 kg')"])


@kind("numbers", "values within the contract's range")
def out_of_range(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 1, "AGE", "12")
    return Rejected(["enrolment.csv, row 1, AGE: value outside the range [18, 100] (value '12')"])


@kind("numbers", "an integer is whole")
def fractional_integer(folder: Path) -> Rejected:
    set_cell(folder, "enrolment.csv", 1, "AGE", "36.5")
    return Rejected(["enrolment.csv, row 1, AGE: not a whole number (value '36.5')"])


@kind("numbers", "values within the contract's range")
def negative_dose(folder: Path) -> Rejected:
    set_cell(folder, "dosing.csv", 1, "DOSE", "-1")
    return Rejected(["dosing.csv, row 1, DOSE: value outside the range [0, 10] (value '-1')"])


@kind("numbers", "a lab result is a number with an optional comparator")
def result_with_comparator(folder: Path) -> Mapped:
    set_cell(folder, "laboratory.csv", 2, "RESULT", "<20")  # albumin g/L

    def check(out: Path) -> None:
        lb = sdtm(out, "lb")
        first = lb.loc[lb["USUBJID"].str.endswith("-001") & lb["LBTESTCD"].eq("ALB")].sort_values("VISITNUM").iloc[0]
        assert first["LBORRES"] == "<20" and first["LBSTRESC"] == "<20" and pd.isna(first["LBSTRESN"])
    return Mapped(check, "LBSTRESC <20, no LBSTRESN")


@kind("numbers", "a lab result is a number with an optional comparator")
def result_with_words(folder: Path) -> Rejected:
    set_cell(folder, "laboratory.csv", 2, "RESULT", "40.8 high")
    return Rejected(["laboratory.csv, row 2, RESULT: not a lab result (a number, optionally with <, <=, > or >=) (value '40.8 high')"])


@kind("numbers", "a lab result has no exponent")
def result_with_exponent(folder: Path) -> Rejected:
    set_cell(folder, "laboratory.csv", 2, "RESULT", "4.08e1")
    return Rejected(["laboratory.csv, row 2, RESULT: not a lab result (a number, optionally with <, <=, > or >=) (value '4.08e1')"])


@kind("numbers", "a lab result has no thousands separator")
def result_thousands_separator(folder: Path) -> Rejected:
    set_cell(folder, "laboratory.csv", 2, "RESULT", "1,040")
    return Rejected(["laboratory.csv, row 2, RESULT: not a lab result (a number, optionally with <, <=, > or >=) (value '1,040')"])


@kind("numbers", "a reference range's low is not above its high")
def reference_low_above_high(folder: Path) -> Rejected:
    set_cell(folder, "laboratory.csv", 2, "REF_LOW", "60")  # high 55
    return Rejected(["laboratory.csv, row 2, REF_LOW: reference range low above its high (REF_HIGH) (value '60')"])


@kind("numbers", "a reference range may be open (no low): no normal-range indicator below")
def reference_low_blank(folder: Path) -> Mapped:
    set_cell(folder, "laboratory.csv", 2, "REF_LOW", "")

    def check(out: Path) -> None:
        lb = sdtm(out, "lb")
        first = lb.loc[lb["USUBJID"].str.endswith("-001") & lb["LBTESTCD"].eq("ALB")].sort_values("VISITNUM").iloc[0]
        assert pd.isna(first["LBSTNRLO"]) and first["LBSTNRHI"] == 55.0 and first["LBNRIND"] == "NORMAL"
    return Mapped(check, "LBSTNRLO missing, 40.8 <= 55 NORMAL")


@kind("numbers", "a result is blank only when not done")
def result_blank_but_done(folder: Path) -> Rejected:
    set_cell(folder, "laboratory.csv", 2, "RESULT", "")
    return Rejected(["laboratory.csv, row 2, RESULT: result blank but NOT_DONE is No"])


# ------------------------------------------------------------------------------------------- form rows


@kind("rows", "one disposition record per subject enrolled by the cut-off (forms.yaml cardinality)")
def missing_disposition_row(folder: Path) -> Rejected:
    df = read(folder, "disposition.csv")
    write(df.drop(index=3), folder, "disposition.csv")  # subject 004
    return Rejected(["disposition.csv, SUBJECT: no record for a subject enrolled on or before the cut-off (enrolment.csv "
                     "row 4; the form contract says one per subject) (value '004')"])


@kind("rows", "every subject with data is enrolled")
def missing_enrolment_row(folder: Path) -> Rejected:
    df = read(folder, "enrolment.csv")
    write(df.drop(index=0), folder, "enrolment.csv")  # subject 001: every other form names a subject not enrolled
    return Rejected(["dosing.csv, row 1, SUBJECT: subject not in enrolment (value '001')"], total=None,
                    every="subject not in enrolment")


@kind("rows", "two disposition records for one subject are a duplicate")
def two_disposition_rows(folder: Path) -> Rejected:
    df = read(folder, "disposition.csv")
    write(pd.concat([df, df.iloc[[0]]], ignore_index=True), folder, "disposition.csv")
    return Rejected([f"disposition.csv, row {len(df) + 1}, SUBJECT: duplicate record for keys SUBJECT (first at row 1) (value '001')"])


# --------------------------------------------------------------------------------------------- text


@kind("text", "no control characters (NUL and other C0/C1 codes)")
def nul_byte(folder: Path) -> Rejected:
    replace_bytes(folder, "adverse_events.csv", b'"headache"', b'"head\x00ache"')
    return Rejected(["adverse_events.csv, row 1, AE_TERM: control character in the value (value 'head\\x00ache')"])


@kind("text", "no control characters (NUL and other C0/C1 codes)")
def bell_character(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 3, "AE_TERM", "tired\x07ness")
    return Rejected(["adverse_events.csv, row 3, AE_TERM: control character in the value (value 'tired\\x07ness')"])


@kind("text", "a tab inside free text is data")
def tab_in_free_text(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "headache\tsevere")
    return ae_term_mapped("headache\tsevere")


@kind("text", "free text fits the SDTM variable it becomes (AETERM 200 bytes, sap/specs/sdtm/ae.yaml)")
def long_verbatim_term(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "headache " * 23)  # 207 characters
    shown = ("headache " * 23)[:57] + "..."
    return Rejected([f"adverse_events.csv, row 1, AE_TERM: text longer than 200 bytes (UTF-8), the length of AE.AETERM "
                     f"in sap/specs/sdtm (value '{shown}')"])


@kind("text", "lengths are counted in UTF-8 bytes, as XPT stores them")
def long_cjk_term(folder: Path) -> Rejected:
    term = "头痛" * 34  # 68 characters, 204 bytes
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", term)
    return Rejected([f"adverse_events.csv, row 1, AE_TERM: text longer than 200 bytes (UTF-8), the length of AE.AETERM "
                     f"in sap/specs/sdtm (value '{term[:57]}...')"])


@kind("text", "a subject id fits SUBJID (10)")
def long_subject_id(folder: Path) -> Rejected:
    for file in ("enrolment.csv", "disposition.csv"):
        set_cell(folder, file, 8, "SUBJECT", "SUBJECT-0008")
    for file in ("dosing.csv", "laboratory.csv", "flow_cytometry.csv", "sledai.csv", "bilag.csv", "pga.csv", "adverse_events.csv"):
        df = read(folder, file)
        df.loc[df["SUBJECT"].eq("008"), "SUBJECT"] = "SUBJECT-0008"
        write(df, folder, file)
    return Rejected(["enrolment.csv, row 8, SUBJECT: text longer than 10 bytes (UTF-8), the length of DM.SUBJID in "
                     "sap/specs/sdtm (value 'SUBJECT-0008')"])


@kind("text", "non-ASCII text is data (UTF-8)")
def cjk_term(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "头痛 (headache)")
    return ae_term_mapped("头痛 (headache)")


@kind("text", "non-ASCII text is data (UTF-8)")
def accented_term(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "céphalée légère")
    return ae_term_mapped("céphalée légère")


@kind("text", "non-ASCII text is data (UTF-8)")
def emoji_term(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "headache \U0001F915")
    return ae_term_mapped("headache \U0001F915")


@kind("text", "formula-like text is data (neutralised only in CSV output)")
def formula_term(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", '=HYPERLINK("http://example.com","x")')
    return ae_term_mapped('=HYPERLINK("http://example.com","x")')


@kind("text", "formula-like text is data (neutralised only in CSV output)")
def dde_term(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "+cmd|' /C calc'!A0")
    return ae_term_mapped("+cmd|' /C calc'!A0")


@kind("text", "markup-like text is data")
def markdown_link_term(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "[rash](http://example.com) *severe*")
    return ae_term_mapped("[rash](http://example.com) *severe*")


@kind("text", "markup-like text is data")
def html_script_term(folder: Path) -> Mapped:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "<script>alert(1)</script>")
    return ae_term_mapped("<script>alert(1)</script>")


@kind("text", "a formula-like subject id is neutralised in rejected_records.csv (OWASP)")
def formula_subject_id(folder: Path) -> Mapped:
    for file in ("enrolment.csv", "disposition.csv"):
        set_cell(folder, file, 2, "SUBJECT", "=1+2")
    for file in ("dosing.csv", "laboratory.csv", "flow_cytometry.csv", "sledai.csv", "bilag.csv", "pga.csv", "adverse_events.csv"):
        df = read(folder, file)
        df.loc[df["SUBJECT"].eq("002"), "SUBJECT"] = "=1+2"
        write(df, folder, file)
    add_ae_after_cutoff(folder, "=1+2")

    def check(out: Path) -> None:
        assert "=1+2" in sdtm(out, "dm")["SUBJID"].tolist()
        with (out / "sdtm" / "rejected_records.csv").open(newline="", encoding="utf-8") as handle:
            subjects = [row["SUBJECT"] for row in csv.DictReader(handle)]
        assert subjects == ["'=1+2"], subjects
    return Mapped(check, "SUBJID =1+2 in DM; '=1+2 in rejected_records.csv")


# ------------------------------------------------------------------------------------------ huge input


@kind("huge", "a huge file of repeated records: the first 20 duplicates and a count")
def huge_repeated_file(folder: Path) -> Rejected:
    df = read(folder, "laboratory.csv")
    write(pd.concat([df] * 40, ignore_index=True), folder, "laboratory.csv")
    n = len(df)
    first = df.iloc[0]
    key = f"{first['SUBJECT']}/{first['VISIT']}/{first['TEST']}"
    return Rejected([f"laboratory.csv, row {n + 1}, SUBJECT/VISIT/TEST: duplicate record for keys SUBJECT/VISIT/TEST "
                     f"(first at row 1) (value '{key}')"], total=21,
                    last=f"laboratory.csv, SUBJECT/VISIT/TEST: {39 * n - 20} more row(s): duplicate record for keys SUBJECT/VISIT/TEST")


@kind("huge", "a field of a megabyte is over-long text, shown shortened")
def huge_field(folder: Path) -> Rejected:
    set_cell(folder, "adverse_events.csv", 1, "AE_TERM", "x" * 1_000_000)
    return Rejected([f"adverse_events.csv, row 1, AE_TERM: text longer than 200 bytes (UTF-8), the length of AE.AETERM "
                     f"in sap/specs/sdtm (value '{'x' * 57}...')"])


def make_corpus(twin_raw: Path, out: Path) -> dict[str, tuple[Kind, Path, Rejected | Mapped]]:
    """Every kind applied to its own copy of `twin_raw` under `out/<kind>`."""
    corpus = {}
    for item in KINDS:
        folder = out / item.name
        shutil.copytree(twin_raw, folder)
        corpus[item.name] = (item, folder, item.mutate(folder))
    return corpus


if __name__ == "__main__":  # python -m tests.sdtm.corpus OUT: write the twin and every kind under OUT
    from sap import pipeline

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bad_input_corpus")
    ctx = pipeline.make_context(out=target / "twin", subjects=TWIN_SUBJECTS, log=lambda line: None)
    pipeline.run_stage(ctx, "simulate")
    for name, (item, folder, outcome) in make_corpus(target / "twin" / "raw", target).items():
        print(f"{name:<40} {type(outcome).__name__:<8} {item.rule}")
