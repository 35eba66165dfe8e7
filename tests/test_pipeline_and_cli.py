"""Pipeline mechanics (atomic stage folders, manifest) and the CLI's error contract."""

import pandas as pd
import pytest
from click.testing import CliRunner

from sap.cli import main
from sap.compare import compare_datasets
from sap.pipeline import make_context, write_manifest


def test_staging_swaps_in_only_on_success(tmp_path):
    ctx = make_context(out=tmp_path, log=lambda _: None)
    with ctx.staging("sdtm") as folder:
        (folder / "dm.csv").write_text("old")
    with pytest.raises(RuntimeError, match="builder failed"):
        with ctx.staging("sdtm") as folder:
            (folder / "dm.csv").write_text("new")
            raise RuntimeError("builder failed")
    assert (tmp_path / "sdtm" / "dm.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sdtm"]


def test_manifest_hashes_files_and_is_deterministic(tmp_path):
    ctx = make_context(out=tmp_path, log=lambda _: None)
    (tmp_path / "sdtm").mkdir()
    (tmp_path / "sdtm" / "dm.csv").write_text("abc")
    first = write_manifest(ctx)
    # sha256("abc") is the FIPS 180-2 test vector
    assert first["files"]["sdtm/dm.csv"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    text = (tmp_path / "manifest.json").read_text()
    write_manifest(ctx)
    assert (tmp_path / "manifest.json").read_text() == text
    assert make_context(out=tmp_path, seed=1, log=lambda _: None) and first["run_id"] != write_manifest(make_context(out=tmp_path, seed=1, log=lambda _: None))["run_id"]


def test_bad_plan_is_one_line_error_and_exit_1(tmp_path):
    plan = tmp_path / "study.yaml"
    plan.write_text("study: {studyid: X}\n")
    result = CliRunner().invoke(main, ["simulate", "--study", str(plan), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert any(line.startswith("error: ") and "study.yaml" in line for line in result.output.splitlines())


def test_compare_counts_differences():
    base = pd.DataFrame({"USUBJID": ["A", "B", "C"], "AVAL": [1.0, 2.0, 3.0], "AVALC": ["Y", "N", None]})
    other = pd.DataFrame({"USUBJID": ["A", "B", "D"], "AVAL": [1.0, 2.5, 3.0], "AVALC": ["Y", "N", None]})
    result = compare_datasets(base, other, ["USUBJID"])
    assert not result.matches
    assert (result.rows_only_in_base, result.rows_only_in_compare) == (1, 1)  # C and D
    assert result.columns_with_mismatches == {"AVAL": 1}  # B: 2.0 vs 2.5


def test_compare_cli_exit_codes(tmp_path):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("USUBJID,AVAL\nA,1\nB,2\n")
    b.write_text("USUBJID,AVAL\nA,1\nB,2\n")
    runner = CliRunner()
    assert runner.invoke(main, ["compare", str(a), str(b), "--keys", "USUBJID"]).exit_code == 0
    b.write_text("USUBJID,AVAL\nA,1\nB,3\n")
    result = runner.invoke(main, ["compare", str(a), str(b), "--keys", "USUBJID"])
    assert result.exit_code == 1 and "AVAL: 1 unequal value(s)" in result.output
    result = runner.invoke(main, ["compare", str(a), str(b), "--keys", "SUBJ"])
    assert result.exit_code == 1 and "key variable missing" in result.output
    result = runner.invoke(main, ["compare", str(a), str(b), "--keys", ","])  # no key at all: a user error, not exit 3
    assert result.exit_code == 1 and "no key variable given" in result.output


def test_bench_refuses_an_unknown_stage(tmp_path):
    result = CliRunner().invoke(main, ["bench", "--stage", "foo", "--subjects", "5", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "error: --stage: unknown stage (stages: simulate, sdtm, adam, validate, qc, conform, render, submit) (value 'foo')" in result.output
    assert not (tmp_path / "bench").exists()  # nothing was run or written
