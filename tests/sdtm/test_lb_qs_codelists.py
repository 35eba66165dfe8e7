"""Every code the LB and QS builders take from specs/raw/lab_tests.yaml and specs/raw/instruments.yaml is a term
of the codelist its SDTM variable names in the spec (read here straight from the YAML, not through the builders)."""

import pytest
import yaml

from sap.specs import SPECS_DIR, load_codelists, load_spec

LAB_TESTS = yaml.safe_load((SPECS_DIR / "raw" / "lab_tests.yaml").read_text())
INSTRUMENTS = yaml.safe_load((SPECS_DIR / "raw" / "instruments.yaml").read_text())
LAB_ENTRIES = LAB_TESTS["laboratory"] + LAB_TESTS["flow_cytometry"]


def terms_of(dataset, variable):
    codelist = load_codelists()[load_spec(dataset).variable(variable).codelist]
    return codelist


@pytest.mark.parametrize("variable, key", [
    ("LBTESTCD", "lbtestcd"), ("LBTEST", "lbtest"), ("LBCAT", "lbcat"), ("LBSPEC", "lbspec"), ("LBSTRESU", "std_unit"),
])
def test_every_lab_code_is_in_its_codelist(variable, key):
    allowed = set(terms_of("lb", variable).values)
    missing = sorted({str(entry[key]) for entry in LAB_ENTRIES} - allowed)
    assert missing == [], f"{variable}: {missing}"


def test_every_collected_lab_unit_is_in_the_unit_codelist():
    allowed = set(terms_of("lb", "LBORRESU").values)
    assert sorted({str(u) for entry in LAB_ENTRIES for u in entry["units"]} - allowed) == []


def test_lbtest_is_the_decode_of_lbtestcd():
    codelist = terms_of("lb", "LBTESTCD")
    assert {(e["lbtestcd"], codelist.decode(e["lbtestcd"])) for e in LAB_ENTRIES} == {(e["lbtestcd"], e["lbtest"]) for e in LAB_ENTRIES}


def test_every_instrument_code_and_category_is_in_the_qs_codelists():
    codes = [item["testcd"] for item in INSTRUMENTS["sledai_2k"]["items"]]
    codes += [INSTRUMENTS["sledai_2k"]["total_testcd"], INSTRUMENTS["pga"]["testcd"]]
    codes += [domain["testcd"] for domain in INSTRUMENTS["bilag_2004"]["domains"]]
    testcd = terms_of("qs", "QSTESTCD")
    assert sorted(set(codes) - set(testcd.values)) == []
    # QSTEST (the decode) fits the 40-character SDTM limit
    assert all(testcd.decode(code) and len(testcd.decode(code)) <= 40 for code in codes)
    categories = {INSTRUMENTS[name]["qscat"] for name in ("sledai_2k", "bilag_2004", "pga")}
    assert categories <= set(terms_of("qs", "QSCAT").values)


def test_fixed_values_the_builders_assign_are_codelist_terms():
    assert "NOT DONE" in terms_of("lb", "LBSTAT").values and "NOT DONE" in terms_of("qs", "QSSTAT").values
    assert set(terms_of("lb", "LBNRIND").values) == {"LOW", "NORMAL", "HIGH"}
    assert "QSEVAL" not in load_spec("qs").names  # not a QS variable in SDTMIG 3.4 (CORE-000031)
