"""Table QC (validation/qc/tables.py): the independent ARD agrees with production on the twin, and catches
the 14.2.1 defect of issue 9 planted into a copy of the production builder."""

import inspect
from decimal import Decimal

import pytest

import tlf.efficacy
from tlf.catalog import load_outputs
from validation.qc import tables
from validation.qc.stage import production_ards, run_table_qc, table_problems

FIXED = 'observed = int(at_visit["DTYPE"].isna().sum())'
DEFECT = "observed = len(at_visit)"  # the defect issue 9 found: imputed (DTYPE NRI) records counted as observed


@pytest.fixture(scope="module")
def production(twin_adam, study):
    return production_ards(twin_adam, study, list(tables.QC_TABLES))


def test_every_double_programmed_table_agrees_on_the_twin(twin_adam, study, production):
    results = run_table_qc(twin_adam, study, production)
    assert set(results) == set(tables.QC_TABLES)
    failing = {number: r for number, r in results.items() if r["status"] != "PASS"}
    assert failing == {}
    assert all(r["rows_matched"] == r["rows_production"] == r["rows_qc"] > 0 for r in results.values())


def test_qc_primary_counts_the_imputed_records(twin_adam, study):
    qc = tables.qc_primary(twin_adam, study, tables.display_rules())
    imputed = qc[(qc["VARIABLE"] == "DTYPE") & (qc["VARIABLE_LEVEL"] == "NRI")]
    assert imputed["FORMATTED"].tolist() == ["2"]  # the twin's two discontinuations before week 6


def planted_primary_builder():
    """A copy of the production 14.2.1 builder (its source, executed in its module's namespace) with the
    defect planted."""
    source = inspect.getsource(tlf.efficacy.sri_primary_table)
    assert FIXED in source, "the production builder changed: update the planted defect"
    namespace = dict(vars(tlf.efficacy))
    exec(compile(source.replace(FIXED, DEFECT), "planted_14_2_1", "exec"), namespace)
    return namespace["sri_primary_table"]


def test_table_qc_catches_the_planted_14_2_1_defect(twin_adam, study, production):
    spec = load_outputs().get("14.2.1")
    defective = planted_primary_builder()(twin_adam, spec, study).analysis_results()
    results = run_table_qc(twin_adam, study, {**production, "14.2.1": defective})
    assert results["14.2.1"]["status"] == "FAIL"
    assert results["14.2.1"]["values_differ"] == 1
    example = results["14.2.1"]["examples"][0]
    assert example["key"] == "PARAMCD/SRI4/AVISIT/WEEK 10/DTYPE/NRI/n"
    assert example["production"].endswith("'0'") and example["qc"].endswith("'2'")
    assert all(r["status"] == "PASS" for number, r in results.items() if number != "14.2.1")
    lines = [str(p) for p in table_problems(results)]
    assert len(lines) == 1 and "QC table 14.2.1" in lines[0]


def test_qc_rounding_is_half_away_from_zero():
    assert tables.rounded(Decimal("0.125"), 2) == "0.13" and tables.rounded(Decimal("-0.125"), 2) == "-0.13"
    assert tables.rounded(Decimal("-0.04"), 1) == "0.0"
    # exact binomial two-sided p: x = 3 of n = 3, p = 0.5 -> P(0) + P(3) = 0.25
    assert tables.binomial_two_sided(3, 3, 0.5) == pytest.approx(0.25)


def test_display_text_comes_from_the_ard(twin_adam, study):
    spec = load_outputs().get("14.2.2")
    out = spec.builder_function()(twin_adam, spec, study)
    ard = out.analysis_results()
    cells = set(out.body.to_numpy().ravel().tolist())
    rates = ard[ard["STAT"].eq("pct")]
    assert len(rates) == 30 and set(rates["FORMATTED"]) <= cells
    bounds = ard.pivot_table(index=["GROUP1_LEVEL", "GROUP2_LEVEL"], columns="STAT", values="FORMATTED", aggfunc="first")
    assert set(bounds["lcl"] + ", " + bounds["ucl"]) <= cells


SHIFT_FIXED = 'post = adlb[adlb["ONTRTFL"].eq("Y") & adlb["ANRIND"].notna()]'
SHIFT_DEFECT = 'post = adlb[adlb["ANRIND"].notna()]'  # the worst category taken over pre-treatment samples too


def planted_shift_builder():
    """Table 14.3.4's builder with a defect planted in a copy of its helper: the worst on-treatment category
    read from every record, baseline and screening samples included."""
    import tlf.safety_tables

    source = inspect.getsource(tlf.safety_tables.worst_shift_counts)
    assert SHIFT_FIXED in source, "the production helper changed: update the planted defect"
    namespace = dict(vars(tlf.safety_tables))
    exec(compile(source.replace(SHIFT_FIXED, SHIFT_DEFECT), "planted_14_3_4", "exec"), namespace)
    exec(compile(inspect.getsource(tlf.safety_tables.lab_shift_table), "planted_14_3_4_table", "exec"), namespace)
    return namespace["lab_shift_table"]


def test_table_qc_catches_a_planted_14_3_4_defect(twin_adam, study, production):
    spec = load_outputs().get("14.3.4")
    defective = planted_shift_builder()(twin_adam, spec, study).analysis_results()
    results = run_table_qc(twin_adam, study, {**production, "14.3.4": defective})
    assert results["14.3.4"]["status"] == "FAIL" and results["14.3.4"]["values_differ"] > 0
    assert all(r["status"] == "PASS" for number, r in results.items() if number != "14.3.4")
    assert {p.where for p in table_problems(results)} == {"QC table 14.3.4"}


def test_every_catalogue_table_is_double_programmed():
    tables_in_catalogue = {o.number for o in load_outputs().outputs if o.kind == "table" and o.builder}
    assert tables_in_catalogue == set(tables.QC_TABLES)


def test_new_tables_record_statistics_not_text(production):
    for number in ("14.1.2.1", "14.1.3", "14.1.4", "14.2.9", "14.3.1.3", "14.3.1.5", "14.3.4"):
        ard = production[number]
        assert len(ard) > 0 and "text" not in set(ard["STAT"]), number
