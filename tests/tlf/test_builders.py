"""Catalogue, Output object and the example builders on the hand-made ADaM of conftest.py."""

import pandas as pd
import pytest

from sap.errors import InputError, SpecError
from tlf.catalog import load_outputs
from tlf.efficacy import sri_primary_table, sri_rates_by_visit
from tlf.inputs import DatasetUnavailable
from tlf.listings import adverse_event_listing
from tlf.render.blocks import typst_string


def test_catalogue_holds_the_ich_e3_outputs():
    catalogue = load_outputs()
    numbers = {o.label for o in catalogue.outputs}
    for label in ["Table 14.1.1", "Table 14.2.1", "Table 14.3.1.2", "Table 14.3.4", "Listing 16.2.7", "Figure 14.2.2.1", "Figure 14.2.5.1"]:
        assert label in numbers
    assert catalogue.get("14.2.1").file_stem == "t-14-2-1"
    assert any("Clopper-Pearson" in f for f in catalogue.get("14.2.1").footnotes)


def test_misspelt_key_is_a_one_line_error(tmp_path):
    path = tmp_path / "outputs.yaml"
    path.write_text('outputs:\n  - {number: "14.2.1", kind: table, group: g, population: FASFL, title: T, footnote: [x]}\n')
    with pytest.raises(SpecError) as err:
        load_outputs(path)
    assert err.value.lines() == [f"{path}, key 14.2.1, footnote: unknown key (misspelt?)"]


def test_primary_table_by_hand(adam, study):
    # conftest: 36 FAS responders at week 10, N = 40 FAS (the 2 non-FAS responders are excluded),
    # 1 FAS subject without a record -> non-responders 40 - 36 = 4, of which 1 imputed.
    out = sri_primary_table(adam, load_outputs().get("14.2.1"), study)
    values = dict(zip(out.body["c0"], out.body["c1"]))
    assert values["Responders, n/N"] == "36/40"
    assert values["Response rate, %"] == "90.0"
    assert values["95% CI, %"] == "76.3, 97.2"
    assert values["Non-responders, n"] == "4"
    assert values["  without an assessment (imputed non-responder)"] == "1"
    # P(X >= 36 | n = 40, p = 0.3) is about 1e-15, so the two-sided p is printed as <0.001
    assert values["p-value vs historical rate of 30%"] == "<0.001"
    assert out.population_line == "Full analysis set (N=40)"
    assert out.headers[1].endswith("(N=40)")


def test_builders_do_not_mutate_their_input(adam, study):
    before = {k: v.copy() for k, v in adam.items()}
    sri_primary_table(adam, load_outputs().get("14.2.1"), study)
    adverse_event_listing(adam, load_outputs().get("16.2.7"), study)
    for name, frame in adam.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_rates_by_visit_keep_every_visit_and_threshold(adam, study):
    rates = sri_rates_by_visit(adam, "FASFL", study)
    assert len(rates) == 5 * 6  # SRI4..SRI8 x weeks 2..12
    week10 = rates[rates["week"].eq(10)].set_index("PARAMCD")["x"].to_dict()
    assert week10 == {"SRI4": 36, "SRI5": 32, "SRI6": 28, "SRI7": 24, "SRI8": 20}  # 36 - 4 (k - 4)
    # visits other than the primary one carry no ANL01FL, and still count: week 6 has 18 SRI-4 responders
    assert rates[rates["week"].eq(6) & rates["PARAMCD"].eq("SRI4")]["x"].item() == 18
    # week 2, SRI8: max(6 - 16, 0) = 0 responders -> the row is kept with 0, lower bound 0
    row = rates[rates["week"].eq(2) & rates["PARAMCD"].eq("SRI8")].iloc[0]
    assert row["x"] == 0 and row["lower"] == 0.0


def test_duplicate_analysis_records_are_refused(adam, study):
    adrs = adam["ADRS"]
    primary = adrs[adrs["ANL01FL"].eq("Y")]
    adam = {**adam, "ADRS": pd.concat([adrs, primary.iloc[[0]]], ignore_index=True)}
    with pytest.raises(InputError, match="key IL2-001"):
        sri_primary_table(adam, load_outputs().get("14.2.1"), study)


def test_missing_variable_and_dataset_are_named(adam, study):
    with pytest.raises(InputError, match="ADRS, ANL01FL: variable needed"):
        sri_primary_table({**adam, "ADRS": adam["ADRS"].drop(columns="ANL01FL")}, load_outputs().get("14.2.1"), study)
    with pytest.raises(DatasetUnavailable, match="ADAE"):
        adverse_event_listing({"ADSL": adam["ADSL"]}, load_outputs().get("16.2.7"), study)


def test_ae_listing_rows_and_order(adam, study):
    out = adverse_event_listing(adam, load_outputs().get("16.2.7"), study)
    # conftest: 130 events spread over 42 subjects (e % 42 + 1); subjects 41 and 42 are outside the
    # safety population and have events e = 40, 41, 82, 83, 124, 125 -> 6 events dropped, 124 listed
    assert len(out.body) == 124
    assert out.body["c0"].tolist()[:4] == ["IL2-001"] * 4
    # study days 3 + 2 * (e // 42) from 2014-01-01 = day 1; the first start date was collected as "2014-01" and
    # imputed (flag D): shown with its flag and the collected date
    assert out.body["c3"].tolist()[:4] == ["2014-01-03 [D; collected 2014-01] (day 3)", "2014-01-05 (day 5)",
                                           "2014-01-07 (day 7)", "2014-01-09 (day 9)"]
    assert out.population_line == "Safety population (N=40)"


def test_typst_strings_are_escaped():
    assert typst_string('a "b" \\ #c') == '"a \\"b\\" \\\\ #c"'


def test_rtf_text_escapes_control_characters_and_unicode():
    from tlf.render.rtf import rtf_text

    # braces and backslash are RTF syntax; ">=" sign U+2265 = 8805; U+1F600 is the UTF-16 pair D83D DE00,
    # i.e. 55357 - 65536 = -10179 and 56832 - 65536 = -8704
    assert rtf_text("a{b}\\c \u2265 \U0001F600") == "a\\{b\\}\\\\c \\u8805? \\u-10179?\\u-8704?"


def test_footnotes_quote_the_plan_not_retyped_numbers(study):
    from sap.study import Study
    from tlf.output import Output
    from tlf.page import plan_values

    spec = load_outputs().get("14.1.4")
    assert "{planned_injections}" in " ".join(spec.footnotes)
    plan = study.model_dump()
    plan["dosing"]["cycles"] = 2  # 2 cycles x 7 dose days = 14 planned injections
    two_cycles = Study.model_validate(plan)
    text = " ".join(Output.from_spec(spec).with_plan_values(plan_values(two_cycles)).footnotes)
    assert "/ 14 planned injections" in text


def test_pga_limit_in_footnotes_follows_the_plan(study):
    from sap.study import Study
    from tlf.output import Output
    from tlf.page import plan_values

    plan = study.model_dump()
    plan["endpoints"]["pga_worsening_limit"] = 0.5  # no "0.3" may survive in the primary table's footnotes
    changed = Study.model_validate(plan)
    notes = " ".join(Output.from_spec(load_outputs().get("14.2.1")).with_plan_values(plan_values(changed)).footnotes)
    assert "PGA worsening < 0.5." in notes and "0.3" not in notes


def test_primary_table_on_the_twin_counts_imputed_records(twin_adam, twin_sdtm, study):
    # Production-shaped ADRS: every FAS subject has a week-10 SRI-4 record, imputed ones with DTYPE NRI.
    # Expected, from SDTM alone: FAS subjects without a SLEDAI-2K total (QS SLE2K25) at the primary visit are
    # the imputed non-responders; the twin has 2 (the two discontinuations before week 6, issue 9).
    adsl = twin_adam["ADSL"]
    fas = set(adsl.loc[adsl["FASFL"].eq("Y"), "USUBJID"])
    qs = twin_sdtm["QS"]
    assessed = set(qs.loc[qs["QSTESTCD"].eq("SLE2K25") & qs["VISITNUM"].eq(study.primary_visit.visitnum)
                          & qs["QSSTRESN"].notna(), "USUBJID"]) & fas
    expected_imputed = len(fas) - len(assessed)
    assert expected_imputed == 2
    out = sri_primary_table(twin_adam, load_outputs().get("14.2.1"), study)
    values = dict(zip(out.body["c0"], out.body["c1"]))
    assert values["  without an assessment (imputed non-responder)"] == str(expected_imputed)
    assert values["Responders, n/N"] == "35/40"  # README: 35/40 SRI-4 responders at week 10
