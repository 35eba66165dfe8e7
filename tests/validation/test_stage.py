"""The stage around the engine: folders in, results.json and report.md out, ValidationFailed or a note,
the `sap validate` command, and the real DM spec on a hand-made frame."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sap.cli import main
from sap.datasets import write_dataset
from sap.errors import ValidationFailed
from sap.specs import apply_spec
from tests.validation.conftest import SPECS, make_datasets
from validation.stage import validate_datasets, validate_folder

STAMP = dt.date(2015, 10, 31)


def write_layout(root, datasets):
    for name, df in datasets.items():
        folder = root / ("sdtm" if name in {"DM", "AE", "QS"} else "adam")
        if name == "RECONCILIATION":
            (root / "sdtm").mkdir(parents=True, exist_ok=True)
            df.to_csv(root / "sdtm" / "reconciliation.csv", index=False)
        else:
            write_dataset(df, folder, STAMP)


def test_folder_results_and_report_are_written_and_reproducible(tmp_path, gx_runner):
    write_layout(tmp_path / "data", make_datasets())
    counts = validate_folder(tmp_path / "data", tmp_path / "a", specs_dir=SPECS, runner=gx_runner)
    validate_folder(tmp_path / "data", tmp_path / "b", specs_dir=SPECS, runner=gx_runner)
    assert counts["datasets"] == 8 and counts["failed"] == 0 and counts["expectations"] > 100
    for name in ("results.json", "report.md"):
        assert (tmp_path / "a" / "validation" / name).read_bytes() == (tmp_path / "b" / "validation" / name).read_bytes()
    results = json.loads((tmp_path / "a" / "validation" / "results.json").read_text())
    assert len(results) == counts["expectations"]
    assert set(results[0]) >= {"dataset", "expectation", "column", "success", "unexpected_count", "unexpected"}
    report = (tmp_path / "a" / "validation" / "report.md").read_text()
    assert "| DM |" in report and "None: every expectation passed." in report


def test_failure_raises_one_line_per_failure_and_still_writes_results(tmp_path, gx_runner):
    datasets = make_datasets()
    datasets["DM"].loc[2, "SEX"] = "X"
    write_layout(tmp_path / "data", datasets)
    with pytest.raises(ValidationFailed) as caught:
        validate_folder(tmp_path / "data", tmp_path / "out", specs_dir=SPECS, runner=gx_runner)
    assert caught.value.lines() == [
        "DM, key STUDYID=IL2SLE01, USUBJID=IL2SLE01-01-003, SEX: codelist failed (SEX values are terms of "
        "codelist SEX): 1 unexpected (value 'X')"]
    results = json.loads((tmp_path / "out" / "validation" / "results.json").read_text())
    [failed] = [r for r in results if not r["success"]]
    assert (failed["dataset"], failed["column"], failed["unexpected_count"]) == ("DM", "SEX", 1)
    assert "| DM | SEX | codelist" in (tmp_path / "out" / "validation" / "report.md").read_text()


def test_allow_invalid_adds_a_note_instead_of_raising(tmp_path, gx_runner):
    datasets = make_datasets()
    datasets["DM"].loc[0, "AGE"] = 130
    write_layout(tmp_path / "data", datasets)
    notes: list[str] = []
    counts = validate_folder(tmp_path / "data", tmp_path / "out", allow_invalid=True, notes=notes, specs_dir=SPECS, runner=gx_runner)
    assert counts["failed"] == 1
    assert notes == ["validation failed: 1 expectations; outputs rendered with --allow-invalid"]


def test_a_folder_of_some_xpt_files_validates_those(tmp_path, gx_runner):
    datasets = make_datasets()
    for name in ("DM", "AE"):
        write_dataset(datasets[name], tmp_path, STAMP)
        (tmp_path / f"{name.lower()}.parquet").unlink()  # XPT only
    counts = validate_folder(tmp_path, tmp_path / "out", specs_dir=SPECS, runner=gx_runner)
    assert counts["datasets"] == 2 and counts["failed"] == 0


def test_cli_exits_2_with_one_line_per_failure(tmp_path):
    frame = pd.DataFrame({"USUBJID": ["A"], "XVAL": [1.0]})
    frame.attrs = {"name": "XX", "label": "A dataset without a spec", "labels": {}}
    write_dataset(frame, tmp_path / "data", STAMP)
    result = CliRunner().invoke(main, ["validate", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "XX: spec_exists failed" in result.output
    report = (tmp_path / "out" / "validation" / "report.md").read_text(encoding="utf-8")
    assert "XX" in report and "spec_exists" in report


def test_real_dm_spec_on_a_hand_made_frame(gx_runner):
    """The study's own DM spec (sap/specs/sdtm/dm.yaml): a conforming two-subject DM passes; AGE 17 fails
    the spec range [18, 100], and leaving out the Exp variable RFICDTC fails variable_exists."""
    dm = pd.DataFrame({
        "STUDYID": ["IL2SLE01"] * 2, "DOMAIN": ["DM"] * 2, "USUBJID": ["IL2SLE01-01-001", "IL2SLE01-01-002"],
        "SUBJID": ["001", "002"], "RFSTDTC": ["2013-08-05", np.nan], "RFENDTC": ["2013-11-01", "2013-08-20"],
        "RFXSTDTC": ["2013-08-05", np.nan], "RFXENDTC": ["2013-10-08", np.nan], "RFICDTC": ["2013-08-01", "2013-08-02"],
        "RFPENDTC": ["2013-11-01", "2013-08-20"],
        "DTHDTC": [np.nan, np.nan], "DTHFL": [np.nan, np.nan], "SITEID": ["01", "01"], "AGE": [31, 18],
        "AGEU": ["YEARS", "YEARS"], "SEX": ["F", "M"], "RACE": ["ASIAN", "ASIAN"], "ARMCD": ["IL2LD"] * 2,
        "ARM": ["Low-dose IL-2 1 MIU SC QOD"] * 2, "ACTARMCD": ["IL2LD", np.nan],
        "ACTARM": ["Low-dose IL-2 1 MIU SC QOD", np.nan], "ARMNRS": [np.nan, "ASSIGNED, NOT TREATED"],
        "ACTARMUD": [np.nan, np.nan], "COUNTRY": ["CHN", "CHN"],
    })
    dm = apply_spec(dm, "dm")
    outcomes = validate_datasets({"DM": dm}, {"DM"}, runner=gx_runner)
    assert [o for o in outcomes if not o.success] == []
    dm.loc[1, "AGE"] = 17
    attrs = dm.attrs
    dm = dm.drop(columns="RFICDTC")
    dm.attrs = attrs
    outcomes = validate_datasets({"DM": dm}, {"DM"}, runner=gx_runner)
    assert {(o.column, o.rule) for o in outcomes if not o.success} == {("AGE", "range"), ("RFICDTC", "variable_exists")}


def test_column_groups_give_the_same_outcomes_as_whole_datasets(tmp_path, gx_runner):
    """Large datasets are validated a few columns at a time; on the fixture (forced with large_rows=0)
    every expectation must come out the same, including a planted failure."""
    from validation.stage import find_folder, validate_paths

    datasets = make_datasets()
    datasets["DM"].loc[2, "SEX"] = "X"
    write_layout(tmp_path, datasets)
    paths, sdtm_names = find_folder(tmp_path, SPECS)

    def as_set(outcomes):
        return sorted((o.dataset, str(o.column), o.rule, o.success, o.unexpected_count) for o in outcomes)

    whole = validate_paths(paths, sdtm_names, runner=gx_runner, specs_dir=SPECS)
    grouped = validate_paths(paths, sdtm_names, runner=gx_runner, specs_dir=SPECS, large_rows=0)
    assert as_set(grouped) == as_set(whole)
    assert ("DM", "SEX", "codelist", False, 1) in as_set(grouped)
