"""Each dataset's GX expectations are exported as a GX suite (`validation/suites/<DATASET>.json`) that GX
alone loads and runs, with the outcomes `sap validate` reported; the files are the same run after run."""

import json

from sap.datasets import read_dataset
from tests.validation.conftest import SPECS, make_datasets
from tests.validation.test_stage import write_layout
from validation.stage import validate_folder


def test_suites_are_exported_reproducibly_and_run_in_gx_alone(tmp_path, gx_runner):
    import great_expectations as gx

    write_layout(tmp_path / "data", make_datasets())
    validate_folder(tmp_path / "data", tmp_path / "a", specs_dir=SPECS, runner=gx_runner)
    validate_folder(tmp_path / "data", tmp_path / "b", specs_dir=SPECS, runner=gx_runner)
    suites = sorted((tmp_path / "a" / "validation" / "suites").glob("*.json"))
    # one suite per dataset with GX expectations (the reconciliation CSV has plain checks only)
    assert {p.stem for p in suites} == set(make_datasets()) - {"RECONCILIATION"}
    for path in suites:
        assert path.read_bytes() == (tmp_path / "b" / "validation" / "suites" / path.name).read_bytes(), path.name
    results = json.loads((tmp_path / "a" / "validation" / "results.json").read_text())
    dm_gx = [r for r in results if r["dataset"] == "DM" and not r["expectation"].startswith("plain:")]
    dm_plain = [r for r in results if r["dataset"] == "DM" and r["expectation"].startswith("plain:")]
    exported = json.loads((tmp_path / "a" / "validation" / "suites" / "DM.json").read_text())
    assert len(exported["expectations"]) == len(dm_gx) > 10
    assert exported["meta"]["plain_checks_not_in_suite"] == len(dm_plain)
    assert [e["type"] for e in exported["expectations"]] == [r["expectation"] for r in dm_gx]
    assert all("id" not in e for e in exported["expectations"])

    # GX alone: a fresh context, the suite loaded from the file, DM from parquet, a planted defect
    context = gx.get_context(mode="ephemeral")
    suite = context.suites.add(gx.ExpectationSuite(**exported))
    dm = read_dataset(tmp_path / "data" / "sdtm" / "dm.parquet")
    bad = dm.copy()
    bad.loc[0, "SEX"] = "X"
    batch = context.data_sources.add_pandas("dm").add_dataframe_asset("dm").add_batch_definition_whole_dataframe("dm")
    for frame, failures in ((dm, 0), (bad, 1)):
        result = batch.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
        failed = [r.expectation_config for r in result.results if not r.success]
        assert len(result.results) == len(dm_gx) and len(failed) == failures
    assert failed[0].kwargs["column"] == "SEX" and failed[0].type == "expect_column_values_to_be_in_set"
