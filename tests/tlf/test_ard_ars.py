"""ARD files (parquet, Dataset-JSON 1.1) and the ARS 1.0 ReportingEvent, on the twin's production ADaM."""

import json

import pandas as pd
import pytest

from tlf.ard import ARD_COLUMNS
from tlf.ard_files import write_ard
from tlf.ars import ARS_OUTPUTS, check_ars, reporting_event, results_frame
from tlf.catalog import load_outputs


@pytest.fixture(scope="module")
def primary_outputs(twin_adam, study):
    catalogue = load_outputs()
    return [catalogue.get(n).builder_function()(twin_adam, catalogue.get(n), study) for n in ARS_OUTPUTS]


def test_ard_written_as_parquet_and_dataset_json(primary_outputs, study, tmp_path):
    out = primary_outputs[0]
    parquet, path = write_ard(out.analysis_results(), tmp_path, out.file_stem, f"ARD of {out.label}", study)
    back = pd.read_parquet(parquet)
    assert back.columns.tolist() == ARD_COLUMNS and len(back) == 8
    doc = json.loads(path.read_text(encoding="utf-8"))
    # Dataset-JSON 1.1 top level and columns
    for member in ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name", "label",
                   "columns", "rows"):
        assert member in doc
    assert doc["datasetJSONVersion"] == "1.1.0" and doc["records"] == len(doc["rows"]) == 8
    assert [c["name"] for c in doc["columns"]] == ARD_COLUMNS
    # SRI-4 at week 10 on the twin: 35/40 responders (README), 87.5% exactly
    pct = [row for row in doc["rows"] if row[7] == "pct"][0]
    assert pct[8] == 87.5 and pct[9] == "87.5" and pct[10] == "87.5"


def test_ars_reporting_event_is_structurally_valid(primary_outputs, study):
    event = reporting_event(primary_outputs, study)
    assert check_ars(event) == []
    assert [o["id"] for o in event["outputs"]] == ["Out14-2-1", "Out14-2-2", "Out14-2-8"]
    results = results_frame(event)
    ards = pd.concat([o.analysis_results() for o in primary_outputs])
    assert len(results) == len(ards)  # every statistic of the three ARDs is a result
    assert sorted(results["formatted"]) == sorted(ards["FORMATTED"])


def test_ars_check_finds_a_broken_reference(primary_outputs, study):
    event = reporting_event(primary_outputs, study)
    event["analyses"][0]["methodId"] = "MTH_UNKNOWN"
    event["analyses"][1]["results"][0]["operationId"] = "OP_X"
    problems = check_ars(event)
    assert any("methodId MTH_UNKNOWN not defined" in p for p in problems)
    assert any("operationId OP_X not in its method" in p for p in problems)


def test_figure_ard_holds_the_plotted_rates(adam, study):
    from tlf.efficacy import sri_by_visit_figure

    out = sri_by_visit_figure(adam, load_outputs().get("14.2.2.1"), study)
    ard = out.analysis_results()
    shown = {(g1, g2, stat): text for g1, g2, stat, text in
             zip(ard["GROUP1_LEVEL"], ard["GROUP2_LEVEL"], ard["STAT"], ard["FORMATTED"])}
    # conftest ADRS: SRI4 week 10 36 of N = 40 -> 90.0%; SRI8 week 10 36 - 16 = 20 of 40 -> 50.0%; SRI4 week 2: 6 -> 15.0%
    assert shown[("SRI4", "WEEK 10", "pct")] == "90.0" and shown[("SRI8", "WEEK 10", "pct")] == "50.0"
    assert shown[("SRI4", "WEEK 2", "n")] == "6" and shown[("SRI4", "WEEK 2", "pct")] == "15.0"
    # 5 thresholds x 6 post-baseline visits, each with n, N, pct, lcl, ucl
    assert len(ard) == 5 * 6 * 5


def test_every_figure_has_an_ard_on_the_twin(twin_adam, study):
    for spec in load_outputs().outputs:
        if spec.kind == "figure":
            ard = spec.builder_function()(twin_adam, spec, study).analysis_results()
            assert len(ard) > 0 and "text" not in set(ard["STAT"]), spec.number
