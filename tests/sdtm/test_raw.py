"""sdtm.raw: reading and checking the raw extract. Each bad-input case must give one line naming file, row,
column and value, both from read_raw_extract and from `sap sdtm --raw BADDIR` (non-zero exit, no traceback)."""

import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from sap.cli import main
from sap.errors import InputError
from sdtm.raw import MAX_ROWS_PER_CHECK, read_raw_extract
from tests.sdtm.raw_extract import extract_rows, write_extract


def test_good_extract_reads_typed(tmp_path, study):
    raw = read_raw_extract(write_extract(tmp_path), study)
    enrolment = raw["enrolment"]
    assert enrolment["ROW"].tolist() == [1, 2, 3]  # 1-based data rows, header excluded
    assert enrolment["AGE"].dtype == "float64" and enrolment["AGE"].tolist() == [31.0, 45.0, 28.0]
    assert enrolment["WEIGHT_KG"].tolist() == [54.0, 70.5, 50.0]
    assert enrolment["SUBJECT"].tolist() == ["001", "002", "003"]  # text keeps its leading zeros
    assert raw["laboratory"]["RESULT"].tolist() == ["5.2", "<10"]  # results stay text
    # a blank optional cell is missing, not ""
    assert raw["adverse_events"]["END_DATE"].isna().tolist() == [False, True, False, True]
    assert raw["disposition"]["REASON"].isna().tolist() == [True, False]


def _set(rows, form, index, column, value):
    rows[form][index][column] = value
    return rows


# (form, 0-based record, column, bad value, expected line: file, row = record + 1, column, message, value)
BAD_CELLS = [
    ("enrolment", 0, "CONSENT_DATE", "", "enrolment.csv, row 1, CONSENT_DATE: required value is blank"),
    ("enrolment", 1, "ENROL_DATE", "31-FEB-2013", "enrolment.csv, row 2, ENROL_DATE: not a complete date DD-MMM-YYYY (value '31-FEB-2013')"),
    ("enrolment", 1, "ENROL_DATE", "2013-08-12", "enrolment.csv, row 2, ENROL_DATE: not a complete date DD-MMM-YYYY (value '2013-08-12')"),
    ("enrolment", 1, "ENROL_DATE", "UN-AUG-2013", "enrolment.csv, row 2, ENROL_DATE: not a complete date DD-MMM-YYYY (value 'UN-AUG-2013')"),
    ("enrolment", 0, "SLE_DIAG_DATE", "05-UNK-2008", "enrolment.csv, row 1, SLE_DIAG_DATE: not a date DD-MMM-YYYY (UN for an unknown day, UNK for an unknown month) (value '05-UNK-2008')"),
    ("enrolment", 0, "SLE_DIAG_DATE", "UN-XYZ-2008", "enrolment.csv, row 1, SLE_DIAG_DATE: not a date"),
    ("enrolment", 2, "SEX", "F", "enrolment.csv, row 3, SEX: value not allowed (allowed: Female, Male) (value 'F')"),
    ("enrolment", 0, "AGE", "31.5", "enrolment.csv, row 1, AGE: not a whole number (value '31.5')"),
    ("enrolment", 0, "AGE", "12", "enrolment.csv, row 1, AGE: value outside the range [18, 100] (value '12')"),
    ("enrolment", 1, "WEIGHT_KG", "70,5", "enrolment.csv, row 2, WEIGHT_KG: not a number (value '70,5')"),
    ("laboratory", 0, "RESULT", "5.2 high", "laboratory.csv, row 1, RESULT: not a lab result (a number, optionally with <, <=, > or >=) (value '5.2 high')"),
    ("laboratory", 1, "VISIT", "Week 3", "laboratory.csv, row 2, VISIT: visit not scheduled in study.yaml"),
    ("laboratory", 0, "TEST", "Leukocytes", "laboratory.csv, row 1, TEST: lab test not in sap/specs/raw/lab_tests.yaml (value 'Leukocytes')"),
    ("laboratory", 0, "UNIT", "g/L", "laboratory.csv, row 1, UNIT: unit not known for this test in lab_tests.yaml (value 'g/L')"),
    ("flow_cytometry", 0, "POPULATION", "Tregs", "flow_cytometry.csv, row 1, POPULATION: population not in sap/specs/raw/lab_tests.yaml (value 'Tregs')"),
    ("flow_cytometry", 0, "PERCENT", "101", "flow_cytometry.csv, row 1, PERCENT: value outside the range [0, 100] (value '101')"),
    ("pga", 0, "SUBJECT", "009", "pga.csv, row 1, SUBJECT: subject not in enrolment (value '009')"),
    ("disposition", 1, "REASON", "", "disposition.csv, row 2, REASON: reason blank for a discontinued subject"),
    ("adverse_events", 1, "END_DATE", "10-AUG-2013", "adverse_events.csv, row 2, END_DATE: end date given but ONGOING is Yes (value '10-AUG-2013')"),
    ("enrolment", 0, "CONSENT_DATE", "01-AUG-0013", "enrolment.csv, row 1, CONSENT_DATE: year outside 1900-2015 (sap/study.yaml raw_dates) (value '01-AUG-0013')"),
    ("enrolment", 0, "SLE_DIAG_DATE", "UN-UNK-1899", "enrolment.csv, row 1, SLE_DIAG_DATE: year outside 1900-2015"),
    ("enrolment", 0, "CONSENT_DATE", "04-AUG-2013", "enrolment.csv, row 1, ENROL_DATE: enrolment date before informed consent (CONSENT_DATE) (value '03-AUG-2013')"),
    ("enrolment", 0, "SLE_DIAG_DATE", "UN-SEP-2013", "enrolment.csv, row 1, SLE_DIAG_DATE: SLE diagnosis after informed consent (CONSENT_DATE) (value 'UN-SEP-2013')"),
    ("dosing", 0, "DOSE_DATE", "02-AUG-2013", "dosing.csv, row 1, DOSE_DATE: dose before enrolment (enrolment.csv ENROL_DATE) (value '02-AUG-2013')"),
    ("dosing", 3, "DOSE_DATE", "09-AUG-2013", "dosing.csv, row 4, DOSE_DATE: dose before informed consent (enrolment.csv CONSENT_DATE) (value '09-AUG-2013')"),
    ("disposition", 0, "DISPOSITION_DATE", "02-AUG-2013", "disposition.csv, row 1, DISPOSITION_DATE: disposition before enrolment (enrolment.csv ENROL_DATE)"),
    ("adverse_events", 0, "END_DATE", "UN-JUL-2013", "adverse_events.csv, row 1, END_DATE: end date before start date (partial dates compared on the parts both have) (value 'UN-JUL-2013')"),
    ("laboratory", 0, "REF_LOW", "10", "laboratory.csv, row 1, REF_LOW: reference range low above its high (REF_HIGH) (value '10')"),
    ("adverse_events", 0, "AE_TERM", "x" * 201, "adverse_events.csv, row 1, AE_TERM: text longer than 200 bytes (UTF-8), the length of AE.AETERM in sap/specs/sdtm"),
    ("adverse_events", 0, "AE_TERM", "red\x01ness", "adverse_events.csv, row 1, AE_TERM: control character in the value (value 'red\\x01ness')"),
    ("adverse_events", 0, "AE_PT_CODE", "1002206", "adverse_events.csv, row 1, AE_PT_CODE: value outside the range [10000000, 99999999] (value '1002206')"),
    ("adverse_events", 0, "AE_SOC_CODE", "", "adverse_events.csv, row 1, AE_SOC_CODE: required value is blank"),
    ("adverse_events", 0, "END_DATE", "01-AUG-2013", "adverse_events.csv, row 1, END_DATE: end date before start date (partial dates compared on the parts both have) (value '01-AUG-2013')"),
]


@pytest.mark.parametrize("form, index, column, value, expected", BAD_CELLS, ids=[f"{c[0]}-{c[2]}-{c[3] or 'blank'}" for c in BAD_CELLS])
def test_bad_cell_is_one_line(tmp_path, study, form, index, column, value, expected):
    folder = write_extract(tmp_path / "raw", _set(extract_rows(), form, index, column, value))
    with pytest.raises(InputError) as err:
        read_raw_extract(folder, study)
    lines = err.value.lines()
    assert any(line.startswith(expected) for line in lines), lines
    assert len(lines) == 1, lines  # exactly the one problem planted


def test_partial_dates_in_order_on_what_they_share(tmp_path, study):
    """AE start 06-AUG-2013: an end of UN-AUG-2013 may be on or after it (accepted), UN-UNK-2013 too; an end in
    July cannot be (rejected above, in BAD_CELLS)."""
    for end in ("UN-AUG-2013", "UN-UNK-2013", "06-AUG-2013"):
        read_raw_extract(write_extract(tmp_path / end, _set(extract_rows(), "adverse_events", 0, "END_DATE", end)), study)


def test_enrolled_subject_without_disposition_is_named(tmp_path, study):
    rows = extract_rows()
    del rows["disposition"][1]  # subject 002 (enrolled 12-AUG-2013, before the cut-off)
    with pytest.raises(InputError) as err:
        read_raw_extract(write_extract(tmp_path, rows), study)
    assert err.value.lines() == [
        "disposition.csv, SUBJECT: no record for a subject enrolled on or before the cut-off (enrolment.csv row 2; "
        "the form contract says one per subject) (value '002')"
    ]


def test_nul_byte_and_latin1_named_at_row_and_column(tmp_path, study):
    folder = write_extract(tmp_path, extract_rows())
    ae = folder / "adverse_events.csv"
    ae.write_bytes(ae.read_bytes().replace(b"fever", b"fe\x00ver").replace(b"headache", "c\u00e9phal\u00e9e".encode("latin-1")))
    with pytest.raises(InputError) as err:
        read_raw_extract(folder, study)
    assert err.value.lines() == [
        "adverse_events.csv, row 3, AE_TERM: not UTF-8 text (byte 0xe9; the file looks Latin-1/Windows-1252): "
        "save the extract as UTF-8 (value 'c\u00e9phal\u00e9e')",
        "adverse_events.csv, row 2, AE_TERM: control character in the value (value 'fe\\x00ver')",
    ]


def test_duplicate_record_names_both_rows(tmp_path, study):
    rows = extract_rows()
    rows["dosing"].append(dict(rows["dosing"][1]))  # a 5th row repeating row 2 (001, cycle 1, injection 2)
    with pytest.raises(InputError) as err:
        read_raw_extract(write_extract(tmp_path, rows), study)
    assert err.value.lines() == [
        "dosing.csv, row 5, SUBJECT/CYCLE/INJECTION: duplicate record for keys SUBJECT/CYCLE/INJECTION "
        "(first at row 2) (value '001/1/2')"
    ]


def test_missing_file_and_column_and_all_problems_collected(tmp_path, study):
    rows = extract_rows()
    rows["dosing"][3]["DOSE_UNIT"] = "IU"
    folder = write_extract(tmp_path, rows)
    (folder / "bilag.csv").unlink()
    pga = pd.read_csv(folder / "pga.csv", dtype=str)
    pga.drop(columns=["PGA"]).to_csv(folder / "pga.csv", index=False)
    with pytest.raises(InputError) as err:
        read_raw_extract(folder, study)
    lines = err.value.lines()
    assert "dosing.csv, row 4, DOSE_UNIT: value not allowed (allowed: MIU) (value 'IU')" in lines
    assert f"bilag.csv: file not found in {folder}" in lines
    assert "pga.csv, PGA: column missing" in lines
    assert len(lines) == 3


def test_column_outside_the_contract_is_an_error_not_ignored(tmp_path, study):
    folder = write_extract(tmp_path, extract_rows())
    ae = pd.read_csv(folder / "adverse_events.csv", dtype=str, keep_default_na=False)
    ae["AE_COMMENT"] = "seen by GP"
    ae.to_csv(folder / "adverse_events.csv", index=False)
    with pytest.raises(InputError) as err:
        read_raw_extract(folder, study)
    assert err.value.lines() == [
        "adverse_events.csv, AE_COMMENT: column not in the form contract (sap/specs/raw/forms.yaml)"
    ]


def test_many_bad_rows_are_capped_with_a_count(tmp_path, study):
    rows = extract_rows()
    template = rows["dosing"][0]
    # 30 extra injections with a bad site on distinct keys (subject 001, cycle 3, injections 1-7 ... )
    rows["dosing"] = [dict(template, CYCLE="3", INJECTION=str(i % 7 + 1), SUBJECT=["001", "002", "003", "001", "002"][i // 7],
                           INJECTION_SITE="Buttock") for i in range(30)]
    # keys must stay unique: (subject, 3, injection) repeats after 3 rounds, so use cycles 1-3 by round
    for i, record in enumerate(rows["dosing"]):
        record["CYCLE"] = str(i // 7 % 3 + 1)
        record["SUBJECT"] = ["001", "002"][i // 21]
        record["DOSE_DATE"] = ["05-AUG-2013", "14-AUG-2013"][i // 21]  # not before the subject's consent
    with pytest.raises(InputError) as err:
        read_raw_extract(write_extract(tmp_path, rows), study)
    lines = err.value.lines()
    # 30 failing rows: the first MAX_ROWS_PER_CHECK (20) listed, then one line counting the other 10
    assert len(lines) == MAX_ROWS_PER_CHECK + 1
    assert lines[-1] == "dosing.csv, INJECTION_SITE: 10 more row(s): value not allowed (allowed: Abdomen, Thigh, Upper arm)"


@pytest.mark.parametrize("form, index, column, value, expected", BAD_CELLS[:3] + BAD_CELLS[10:13])
def test_cli_reports_bad_input_without_traceback(tmp_path, form, index, column, value, expected):
    folder = write_extract(tmp_path / "raw", _set(extract_rows(), form, index, column, value))
    result = CliRunner().invoke(main, ["sdtm", "--raw", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"error: {expected}" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "out" / "sdtm").exists()  # nothing written on bad input


def test_cli_subprocess_exit_code(tmp_path):
    folder = write_extract(tmp_path / "raw", _set(extract_rows(), "enrolment", 2, "SEX", "F"))
    proc = subprocess.run([sys.executable, "-m", "sap.cli", "sdtm", "--raw", str(folder), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: enrolment.csv, row 3, SEX: value not allowed (allowed: Female, Male) (value 'F')"


def test_missing_raw_folder_is_one_line(tmp_path, study):
    with pytest.raises(InputError) as err:
        read_raw_extract(tmp_path / "nowhere", study)
    assert err.value.lines() == [f"{tmp_path / 'nowhere'}: raw extract folder not found (run `sap simulate` or give --raw DIR)"]


def test_forms_contract_maps_every_choice_it_maps():
    from pydantic import ValidationError

    from sdtm.raw import RawColumn, load_forms

    # the annotated-CRF mapping lives in the contract: Definitely related -> RELATED (sponsor AEREL term)
    assert load_forms()["adverse_events"].columns["RELATIONSHIP"].sdtm["Definitely related"] == "RELATED"
    with pytest.raises(ValidationError, match="differ from the choices"):
        RawColumn(type="choice", values=["Yes", "No"], sdtm={"Yes": "Y"})
