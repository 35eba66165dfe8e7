"""The SAP document (`sap/sap.qmd`) quotes the plan through executed code: render it with a MODIFIED plan
and check that the rendered HTML carries the modified values, worked out by hand below, and none of the
packaged plan's values that they replace. One kernel run and one pandoc call (about 15 s)."""

from __future__ import annotations

import html
import re

import pytest
import yaml

from sap.study import DEFAULT_STUDY_FILE, load_study
from tlf.catalog import load_outputs
from tlf.render import book

SAP_PAGE = book.PROJECT_ROOT / "sap" / "sap.qmd"


def modified_plan() -> dict:
    """The packaged plan with every value the SAP must quote changed."""
    plan = yaml.safe_load(DEFAULT_STUDY_FILE.read_text(encoding="utf-8"))
    plan["endpoints"]["primary_visit_week"] = 12
    plan["endpoints"]["historical_response_rate"] = 0.25
    plan["dosing"]["cycles"] = 2
    plan["dosing"]["dose_days_in_cycle"] = [1, 4, 7, 10, 13]
    plan["safety"]["treatment_emergent_window_days"] = 45
    plan["data_cutoff"] = "2016-03-31"
    week12 = next(v for v in plan["visits"] if v["week"] == 12)
    week12["window"] = [78, 104]
    return plan


@pytest.fixture(scope="module")
def sap_text(tmp_path_factory) -> str:
    """The SAP rendered to HTML with the modified plan, as plain text (tags removed, entities decoded)."""
    folder = tmp_path_factory.mktemp("sap")
    plan_file = folder / "study.yaml"
    plan_file.write_text(yaml.safe_dump(modified_plan(), sort_keys=False), encoding="utf-8")
    load_study(plan_file)  # the modified plan is itself valid
    project = book.read_project()
    project = book.Project(project.root, project.title, project.subtitle, [SAP_PAGE], project.echo)
    chapters = book.execute_chapters(project, {"SAP_STUDY_FILE": str(plan_file)}, folder / "assets")
    [page] = book.render_html(chapters, folder / "html", project.title)
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", page.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text))


def test_primary_visit_comes_from_the_plan(sap_text):
    # primary_visit_week 12 -> visit WEEK 12, target day 85, window changed to 78..104
    assert "primary endpoint is SRI-4 response at Week 12 (study day 85, analysis window days 78 to 104)" in sap_text
    assert "SRI-4 response at Week 10" not in sap_text


def test_historical_rate_is_printed_as_a_percentage(sap_text):
    # 0.25 -> "25%"; the packaged 0.30 ("30%") must not survive anywhere
    assert "historical response rate of 25%" in sap_text
    assert "H0: p = 25%" in sap_text
    assert "30%" not in sap_text


def test_visit_windows_come_from_the_plan(sap_text):
    # schedule row of WEEK 12: week 12, target day 85, window 78 to 104 (the packaged 78 to 98 is gone)
    assert re.search(r"Week 12 12 85 78 to 104", sap_text)
    assert "78 to 98" not in sap_text
    # the baseline window is unchanged: -28 to 1 (printed with a minus sign or hyphen)
    assert re.search(r"Week 0 0 1 [-−]28 to 1", sap_text)


def test_planned_injections_are_computed_from_the_dosing_regimen(sap_text):
    # 5 dose days per cycle x 2 cycles = 10 injections; 10 x 1 (10^6 IU) = 10 x 10^6 IU cumulative
    # dose days: cycle 1 days 1, 4, 7, 10, 13; cycle 2 = 28 + those = 29, 32, 35, 38, 41
    assert "5 injections per cycle × 2 cycles = 10 injections" in sap_text
    assert "cumulative dose of 10 × 10⁶ IU" in sap_text
    assert "study days 1, 4, 7, 10, 13, 29, 32, 35, 38, 41" in sap_text
    # injections before Week 4 (day 29): days 1..13 of cycle 1 = 5; before Week 12 (day 85): all 10
    assert re.search(r"Week 4 4 29 22 to 35 5 ", sap_text)
    # no stale count from the packaged plan (7 x 3 = 21), including inside quoted spec texts
    assert "21 injections" not in sap_text and "= 21" not in sap_text


def test_teae_window_and_cutoff_come_from_the_plan(sap_text):
    assert "no later than 45 days after the last dose" in sap_text
    assert "2016-03-31" in sap_text and "2015-10-31" not in sap_text


def test_every_catalogued_output_is_listed_with_a_shell(sap_text):
    for output in load_outputs().outputs:
        assert f"{output.label} {output.title}" in sap_text, output.label
    assert "shell not described" not in sap_text


def test_the_document_says_the_data_are_synthetic_and_has_no_raw_markup(sap_text):
    assert "default run are synthetic." in sap_text
    assert "Traceback" not in sap_text
    assert "$" not in sap_text  # no LaTeX math (no MathJax offline)
    assert "{python}" not in sap_text and "#|" not in sap_text


def test_methods_rounding_and_precision_are_stated(sap_text):
    # the Wilcoxon variant, McNemar exact, nominal p-values, quantile definition and the rounding rule
    for phrase in ["changes of exactly zero are dropped", "no continuity correction", "tie-corrected variance",
                   "chi2_mcnemar", "nominal", "definition 7 of Hyndman and Fan", "half away from zero",
                   "0.125 → 0.13", "SD +2", "analysis results dataset"]:
        assert phrase in sap_text, phrase
