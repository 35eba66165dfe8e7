"""The sdtm stage end to end on the hand-made extract: files written, reconciliation balances (counts worked
by hand), XPT reads back to the same values and labels, bytes reproducible; an unbalanced builder is an error."""

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from sap.datasets import read_dataset
from sap.pipeline import make_context
from sap.specs import load_spec
from sdtm.raw import DomainResult, read_raw_extract
from sdtm.reconcile import ReconciliationError, reconcile
from sdtm import twin
from sdtm.stage import build_sdtm, run_stage
from tests.sdtm.raw_extract import write_extract

DOMAINS = ["dm", "ds", "ex", "ae", "mh", "cm", "vs", "lb", "qs"]


@pytest.fixture(scope="module")
def sdtm_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    ctx = make_context(out=out, raw=write_extract(out / "raw"), log=lambda line: None)
    counts = run_stage(ctx)
    return out / "sdtm", counts


def test_counts_and_files(sdtm_dir):
    folder, counts = sdtm_dir
    # DM 2 subjects; DS 2 consents + 2 dispositions; EX 3 injections; AE 3; MH 2; CM 2 x 9; VS 2 x 2;
    # rejected: enrolment row 3 by DM, DS, MH, CM, VS (5) + dosing row 3 + AE row 4 = 7
    for name, expected in {"dm": 2, "ds": 4, "ex": 3, "ae": 3, "mh": 2, "cm": 18, "vs": 4, "rejected": 7}.items():
        assert counts[name] == expected, name
    for name in DOMAINS:
        parquet, xpt = read_dataset(folder / f"{name}.parquet"), read_dataset(folder / f"{name}.xpt")
        assert len(parquet) == len(xpt) and list(parquet.columns) == list(xpt.columns), name
        if name in counts:
            assert len(parquet) == counts[name], name


def test_reconciliation_balances(sdtm_dir):
    folder, _ = sdtm_dir
    recon = pd.read_csv(folder / "reconciliation.csv", dtype={"FORM": str, "DOMAIN": str})
    assert recon["BALANCED"].eq("Y").all()
    assert (recon["RECORDS_IN"] == recon["RECORDS_MAPPED"] + recon["RECORDS_REJECTED"]).all()
    by_pair = recon.set_index(["FORM", "DOMAIN"])
    # enrolment: 3 rows, one per enrolment-fed domain: 2 mapped + 1 rejected (003 after the cut-off)
    for domain in ["CM", "DM", "DS", "MH", "VS"]:
        assert by_pair.loc[("enrolment", domain), ["RECORDS_IN", "RECORDS_MAPPED", "RECORDS_REJECTED"]].tolist() == [3, 2, 1]
    assert by_pair.loc[("dosing", "EX"), ["RECORDS_IN", "RECORDS_MAPPED", "RECORDS_REJECTED"]].tolist() == [4, 3, 1]
    assert by_pair.loc[("disposition", "DS"), "RECORDS_MAPPED"] == 2
    # every form of the extract is read by at least one domain
    assert set(recon["FORM"]) == {"enrolment", "dosing", "adverse_events", "laboratory", "flow_cytometry",
                                  "sledai", "bilag", "pga", "disposition"}
    rejected = pd.read_csv(folder / "rejected_records.csv", dtype=str)
    assert list(rejected.columns) == ["DOMAIN", "FORM", "ROW", "SUBJECT", "REASON"]
    assert rejected[["FORM", "ROW", "SUBJECT"]].drop_duplicates().values.tolist() == [
        ["adverse_events", "4", "002"], ["dosing", "3", "001"], ["enrolment", "3", "003"]]
    assert set(rejected["REASON"]) == {"after data cut-off"}


@pytest.mark.parametrize("name", ["dm", "ae", "ex", "cm", "vs"])
def test_xpt_reads_back_to_the_same_values_and_labels(sdtm_dir, name):
    folder, _ = sdtm_dir
    parquet = pd.read_parquet(folder / f"{name}.parquet")
    xpt = pd.read_sas(folder / f"{name}.xpt", format="xport", encoding="utf-8")
    assert list(xpt.columns) == list(parquet.columns)
    for column in parquet.columns:
        if pd.api.types.is_numeric_dtype(parquet[column]):
            np.testing.assert_allclose(xpt[column].to_numpy(float), parquet[column].to_numpy(float), equal_nan=True)
        else:  # XPT stores missing text as blank
            assert xpt[column].fillna("").tolist() == parquet[column].fillna("").tolist(), column
    _, meta = pyreadstat.read_xport(str(folder / f"{name}.xpt"), metadataonly=True)
    spec = load_spec(name)
    assert dict(zip(meta.column_names, meta.column_labels)) == {c: spec.variable(c).label for c in parquet.columns}
    assert meta.file_label == spec.label


def test_unbalanced_builder_is_an_error(tmp_path, study):
    raw = read_raw_extract(write_extract(tmp_path), study)
    results = build_sdtm(raw, study)
    ex = results["EX"]
    # a builder that "forgot" its rejection: 4 dosing rows in, 3 mapped, 0 rejected
    results["EX"] = DomainResult(domain=ex.domain, mapped=ex.mapped)
    with pytest.raises(ReconciliationError, match=r"dosing -> EX: 4 in but 3 mapped \+ 0 rejected"):
        reconcile(raw, results)
    # a form read by no domain
    del results["EX"]
    with pytest.raises(ReconciliationError, match="dosing: 4 rows read by no domain"):
        reconcile(raw, results)


def test_twin_end_to_end_balances(tmp_path):
    ctx = make_context(out=tmp_path, subjects=40, log=lambda line: None)
    twin.run_stage(ctx)
    counts = run_stage(ctx)
    assert counts["dm"] == 40
    recon = pd.read_csv(tmp_path / "sdtm" / "reconciliation.csv")
    assert recon["BALANCED"].eq("Y").all()
    assert (recon["RECORDS_IN"] == recon["RECORDS_MAPPED"] + recon["RECORDS_REJECTED"]).all()
