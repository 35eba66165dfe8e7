"""The synthetic twin: calibration figures recomputed FROM THE RAW CSVs with small independent derivations
(SLEDAI-2K weights from instruments.yaml, the SRI rule of domain.md section 3), the raw-form contract,
determinism, and the helpers' arithmetic worked by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sap.specs import SPECS_DIR
from sdtm import twin
from sdtm.raw import read_raw_extract

FORMS = yaml.safe_load((SPECS_DIR / "raw" / "forms.yaml").read_text())["forms"]
LABS = yaml.safe_load((SPECS_DIR / "raw" / "lab_tests.yaml").read_text())
INSTRUMENTS = yaml.safe_load((SPECS_DIR / "raw" / "instruments.yaml").read_text())
WEIGHTS = {item["column"]: item["weight"] for item in INSTRUMENTS["sledai_2k"]["items"]}
DOMAINS = [d["column"] for d in INSTRUMENTS["bilag_2004"]["domains"]]
SEED, N = 20130801, 40


def read_forms(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(folder / form["file"], dtype=str, keep_default_na=False, na_values=[""])
            for name, form in FORMS.items()}


def edc_to_date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%d-%b-%Y")


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory, study):
    folder = tmp_path_factory.mktemp("twin")
    twin.write_raw(twin.simulate(study, N, SEED), folder)
    return folder


@pytest.fixture(scope="module")
def forms(raw_dir):
    return read_forms(raw_dir)


def sledai_scores(sledai: pd.DataFrame) -> pd.Series:
    """SLEDAI-2K total = sum of the weights of the descriptors marked Present (Gladman 2002)."""
    done = sledai[sledai["NOT_DONE"].eq("No")]
    total = sum(done[column].eq("Present").astype(int) * weight for column, weight in WEIGHTS.items())
    return pd.Series(total.to_numpy(), index=pd.MultiIndex.from_frame(done[["SUBJECT", "VISIT"]]))


def sri4(forms: dict[str, pd.DataFrame], visit: str) -> pd.Series:
    """SRI-4 at `visit` for every enrolled subject, non-responder imputation for a missing assessment:
    SLEDAI-2K reduction >= 4, no new BILAG A (A now, B-E at baseline), <= 1 new B (B now, C-E at baseline),
    PGA increase < 0.3 (compared at 2 dp)."""
    subjects = forms["enrolment"]["SUBJECT"]
    score = sledai_scores(forms["sledai"]).unstack()
    bilag = forms["bilag"][forms["bilag"]["NOT_DONE"].eq("No")].set_index(["SUBJECT", "VISIT"])[DOMAINS]
    pga = forms["pga"][forms["pga"]["NOT_DONE"].eq("No")].set_index(["SUBJECT", "VISIT"])["PGA"].astype(float).unstack()
    base_grades = bilag.xs("Week 0", level="VISIT").reindex(subjects)
    grades = bilag.xs(visit, level="VISIT").reindex(subjects) if visit in bilag.index.get_level_values("VISIT") else base_grades * np.nan
    new_a = (grades.eq("A") & base_grades.isin(["B", "C", "D", "E"])).sum(axis=1)
    new_b = (grades.eq("B") & base_grades.isin(["C", "D", "E"])).sum(axis=1)
    reduction = score["Week 0"].reindex(subjects) - score.get(visit, pd.Series(dtype=float)).reindex(subjects)
    pga_rise = (pga.get(visit, pd.Series(dtype=float)).reindex(subjects).round(2) - pga["Week 0"].reindex(subjects).round(2)).round(2)
    responder = reduction.ge(4) & new_a.eq(0) & new_b.le(1) & pga_rise.lt(0.3) & grades.notna().all(axis=1)
    return responder.fillna(False).astype(bool)


def standard_values(laboratory: pd.DataFrame) -> pd.Series:
    """Lab results in the standard unit of lab_tests.yaml (collected x factor); "<10" counts as 10."""
    factor = {(t["edc_test"], unit): f for t in LABS["laboratory"] for unit, f in t["units"].items()}
    number = pd.to_numeric(laboratory["RESULT"].str.lstrip("<>"), errors="coerce")
    return number * [factor.get(key, np.nan) for key in zip(laboratory["TEST"], laboratory["UNIT"])]


# ---------------------------------------------------------------------------------------------------------
# Helpers, worked by hand
# ---------------------------------------------------------------------------------------------------------
def test_round_half_up_and_exact_flags():
    # 40 x 5/40 = 5; 4 x 5/40 = 0.5 -> 1 (half up, where Python's round gives 0); 44 x 0.9 = 39.6 -> 40
    assert [twin.round_half_up(x) for x in (40 * 5 / 40, 4 * 5 / 40, 44 * 0.9)] == [5, 1, 40]
    flags = twin.exact_flags(np.random.default_rng(1), 10, 3)
    assert flags.sum() == 3 and flags.size == 10


def test_anchored_sample_pins_min_median_max():
    knots = [(0, 18), (0.5, 31), (1, 60)]
    for n in (1, 2, 5, 40, 41):
        values = twin.anchored_sample(np.random.default_rng(n), n, knots, step=1)
        assert np.median(values) == 31
        if n >= 3:
            assert values.min() == 18 and values.max() == 60
    # n = 5: sorted ranks 0..4 are Q((i+u)/5); rank 0 -> 18, rank 4 -> 60, rank 2 -> 31; rank 1 lies in
    # Q([0.2, 0.4)) = [18 + 0.4 x 13, 18 + 0.8 x 13) = [23.2, 28.4), rounded 23..28
    values = np.sort(twin.anchored_sample(np.random.default_rng(3), 5, knots, step=1))
    assert values[0] == 18 and values[2] == 31 and values[4] == 60 and 23 <= values[1] <= 28


def test_edc_text_formats():
    days = np.array(["2013-08-05", "2014-12-31"], dtype="datetime64[D]")
    assert twin.edc_dates(days).to_pylist() == ["05-AUG-2013", "31-DEC-2014"]
    assert twin.edc_dates(days, blank=np.array([False, True])).to_pylist() == ["05-AUG-2013", None]
    partial = twin.partial_edc_dates(days, np.array([True, False]), np.array([False, True]))
    assert partial.to_pylist() == ["UN-AUG-2013", "UN-UNK-2014"]
    # 0.504 -> 0.5 at 2 dp; 5.0 at 1 dp -> "5"; 62.5 at 0 dp -> 62 (numpy rounds half to even); -0.001 -> "0"
    assert twin.format_numbers(np.array([0.504, 5.0]), 2).to_pylist() == ["0.5", "5"]
    assert twin.format_numbers(np.array([62.5, -0.001]), 0).to_pylist() == ["62", "0"]


# ---------------------------------------------------------------------------------------------------------
# The raw-form contract
# ---------------------------------------------------------------------------------------------------------
def test_columns_exactly_as_forms_yaml(raw_dir, forms):
    for name, form in FORMS.items():
        header = (raw_dir / form["file"]).read_text().splitlines()[0]
        assert header.replace('"', "").split(",") == list(form["columns"]), name
        assert len(forms[name]) > 0, name


def test_values_follow_the_contract(forms, study):
    date = r"^\d{2}-(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)-\d{4}$"
    pdate = r"^(\d{2}|UN)-(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|UNK)-\d{4}$"
    labels = {v.edc_label for v in study.visits}
    for name, form in FORMS.items():
        df = forms[name]
        not_done = df[form["not_done"]].eq("Yes") if "not_done" in form else pd.Series(False, index=df.index)
        for column, rule in form["columns"].items():
            values = df[column]
            if rule.get("required"):
                assert values.notna().all(), (name, column)
            elif rule["type"] == "choice" and "not_done" in form and column not in ("NOT_DONE",):
                # assessment items are blank exactly when the form was not done
                assert values.isna().eq(not_done).all(), (name, column)
            present = values.dropna()
            if rule["type"] == "choice":
                assert present.isin([str(v) for v in rule["values"]]).all(), (name, column, set(present) - set(map(str, rule["values"])))
            elif rule["type"] == "date":
                assert present.str.fullmatch(date).all(), (name, column)
            elif rule["type"] == "pdate":
                assert present.str.fullmatch(pdate).all(), (name, column)
            elif rule["type"] in ("integer", "number"):
                number = pd.to_numeric(present)
                if "range" in rule:
                    assert number.between(*rule["range"]).all(), (name, column)
            elif rule["type"] == "result":
                assert present.str.fullmatch(r"^[<>]?\d+(\.\d+)?$").all(), (name, column)
            if rule.get("visit"):
                assert present.isin(labels).all(), (name, column)
        assert not df.duplicated(form["keys"]).any(), name
    lab = forms["laboratory"]
    units = {t["edc_test"]: set(t["units"]) for t in LABS["laboratory"]}
    assert set(lab["TEST"]) == set(units)
    done = lab["NOT_DONE"].eq("No")
    assert all(unit in units[test] for test, unit in zip(lab.loc[done, "TEST"], lab.loc[done, "UNIT"]))
    assert lab.loc[~done, "RESULT"].isna().all() and lab.loc[done, "RESULT"].notna().all()
    assert set(forms["flow_cytometry"]["POPULATION"]) == {p["edc_population"] for p in LABS["flow_cytometry"]}
    assert set(forms["enrolment"]["SUBJECT"]) >= set().union(*(set(df["SUBJECT"]) for df in forms.values()))


def test_extract_passes_the_sdtm_readers_checks(raw_dir, study):
    extract = read_raw_extract(raw_dir, study)  # raises InputError listing every problem
    assert len(extract["enrolment"]) == N


# ---------------------------------------------------------------------------------------------------------
# Calibration (Table S1, abstract AB0525), computed from the CSVs
# ---------------------------------------------------------------------------------------------------------
def test_baseline_characteristics(forms):
    e = forms["enrolment"]
    assert e["SEX"].eq("Female").sum() == 37
    age = e["AGE"].astype(int)
    assert (age.median(), age.min(), age.max()) == (31, 18, 60)
    weight, height, pred = (e[c].astype(float) for c in ("WEIGHT_KG", "HEIGHT_CM", "PREDNISONE_MGD"))
    assert (weight.median(), weight.min(), weight.max()) == (54, 42, 80)
    assert (height.median(), height.min(), height.max()) == (160, 150, 175)
    assert (pred.median(), pred.min(), pred.max()) == (30, 0, 60)
    counts = {c: int(e[c].eq("Yes").sum()) for c in twin.BACKGROUND_DRUGS}
    assert counts == {"HYDROXYCHLOROQUINE": 37, "MYCOPHENOLATE": 14, "CYCLOPHOSPHAMIDE": 6, "AZATHIOPRINE": 2,
                      "LEFLUNOMIDE": 1, "THALIDOMIDE": 1, "CICLOSPORIN": 0, "METHOTREXATE": 0}
    assert e["RACE"].eq("Asian").all() and e["ETHNICITY"].eq("Not Hispanic or Latino").all() and e["SITE"].eq("01").all()
    enrol, consent = edc_to_date(e["ENROL_DATE"]), edc_to_date(e["CONSENT_DATE"])
    assert enrol.min() >= pd.Timestamp("2013-08-01") and enrol.max() <= pd.Timestamp("2015-04-30")
    assert (enrol - consent).dt.days.between(1, 14).all()
    # SLE duration from the diagnosis date (unknown day -> the 15th): median near 5 years, within 0.5-20 (+ 1 month)
    diag = pd.to_datetime(e["SLE_DIAG_DATE"].str.replace(r"^UN-", "15-", regex=True), format="%d-%b-%Y")
    years = (enrol - diag).dt.days / 365.25
    assert years.between(0.4, 20.1).all() and 4.5 <= years.median() <= 5.5


def test_baseline_sledai_at_least_8(forms):
    base = sledai_scores(forms["sledai"]).xs("Week 0", level="VISIT")
    assert len(base) == N and base.min() >= 8 and 10 <= base.median() <= 13


def test_sri4_is_36_of_40_at_week_6(forms):
    assert sri4(forms, "Week 6").sum() == 36


def test_sri4_course(forms):
    rates = {week: sri4(forms, f"Week {week}").mean() for week in (2, 4, 6, 8, 10, 12)}
    assert rates[2] < rates[4] < rates[6] == 0.9  # builds over weeks 2-6
    assert all(0.75 <= rates[week] <= 0.95 for week in (8, 10, 12))


def test_better_response_with_skin_haematologic_or_fever_involvement(study):
    # at 2,000 subjects: SRI-4 at week 12 higher with baseline thrombocytopenia, leukopenia or fever
    big = twin.simulate(study, 2000, 7)
    response = sri4(big, "Week 12")
    base = big["sledai"][big["sledai"]["VISIT"].eq("Week 0")].set_index("SUBJECT")
    good = base[["THROMBOCYTOPENIA", "LEUKOPENIA", "FEVER"]].eq("Present").any(axis=1).reindex(response.index)
    assert response[good].mean() > response[~good].mean()


def test_adverse_events(forms):
    ae = forms["adverse_events"]
    isr = ae[ae["AE_PT"].eq("Injection site reaction")]
    assert isr["SUBJECT"].nunique() == 5 and isr["SEVERITY"].eq("Mild").all()
    assert isr["AE_SOC"].eq("General disorders and administration site conditions").all()
    assert not ae["SEVERITY"].eq("Severe").any() and ae["SERIOUS"].eq("No").all()
    assert ae["ACTION"].eq("Dose not changed").mean() > 0.5
    assert ae["START_DATE"].str.startswith("UN-UNK-").sum() == 1
    assert ae["START_DATE"].str.fullmatch(r"UN-[A-Z]{3}-\d{4}").sum() >= 1
    # one history-like AE: complete start and end dates before the first dose
    first_dose = edc_to_date(forms["dosing"]["DOSE_DATE"]).groupby(forms["dosing"]["SUBJECT"]).min()
    full = ae[~ae["START_DATE"].str.startswith("UN")]
    start = edc_to_date(full["START_DATE"])
    before = start.to_numpy() < first_dose.reindex(full["SUBJECT"]).to_numpy()
    assert before.sum() == 1
    assert edc_to_date(full.loc[before, "END_DATE"]).iloc[0] < first_dose[full.loc[before, "SUBJECT"].iloc[0]]


def test_labs_and_flow_move_as_published(forms):
    lab = forms["laboratory"].assign(value=lambda d: standard_values(d))
    median = lab.groupby(["TEST", "VISIT"])["value"].median()
    assert median["Anti-dsDNA", "Week 12"] < median["Anti-dsDNA", "Week 0"]
    assert median["24h urine protein", "Week 12"] < median["24h urine protein", "Week 0"]
    assert median["C3", "Week 12"] > median["C3", "Week 0"]
    assert median["C4", "Week 12"] > median["C4", "Week 0"]
    flow = forms["flow_cytometry"].assign(value=lambda d: d["PERCENT"].astype(float))
    fmed = flow.groupby(["POPULATION", "VISIT"])["value"].median()
    assert fmed["Treg", "Week 12"] > 1.5 * fmed["Treg", "Week 0"]
    assert fmed["Effector CD4", "Week 12"] < fmed["Effector CD4", "Week 0"]
    # the mess: unit variants, not-done rows, "<10"
    assert {"mg/24h", "mg/dL", "g/dL"} <= set(lab["UNIT"].dropna())
    assert lab["NOT_DONE"].eq("Yes").any() and lab["RESULT"].str.startswith("<").any()


def test_labs_agree_with_sledai_at_baseline(forms):
    lab = forms["laboratory"]
    lab = lab[lab["VISIT"].eq("Week 0") & lab["NOT_DONE"].eq("No")].assign(value=lambda d: standard_values(d))
    base = forms["sledai"][forms["sledai"]["VISIT"].eq("Week 0")].set_index("SUBJECT")
    c3 = lab[lab["TEST"].eq("C3")].set_index("SUBJECT")
    below_lln = c3["RESULT"].astype(float) < c3["REF_LOW"].astype(float)
    assert below_lln.eq(base["LOW_COMPLEMENT"].reindex(below_lln.index).eq("Present")).all()
    protein = lab[lab["TEST"].eq("24h urine protein")].set_index("SUBJECT")["value"]
    assert protein.gt(0.5).eq(base["PROTEINURIA"].reindex(protein.index).eq("Present")).all()


def test_disposition_missed_visit_and_dates(forms, study):
    disp = forms["disposition"]
    stopped = disp[disp["STATUS"].eq("Discontinued")]
    assert 1 <= len(stopped) <= 2 and stopped["REASON"].notna().all()
    assert disp.loc[disp["STATUS"].eq("Completed"), "REASON"].isna().all()
    end = edc_to_date(disp.set_index("SUBJECT")["DISPOSITION_DATE"])
    # forms stop at the disposition date
    for name, column in (("sledai", "ASSESSMENT_DATE"), ("laboratory", "COLLECTION_DATE"), ("dosing", "DOSE_DATE")):
        df = forms[name].dropna(subset=[column])
        assert (edc_to_date(df[column]).to_numpy() <= end.reindex(df["SUBJECT"]).to_numpy()).all(), name
    # exactly one missed visit: not-done rows with blank items on all three instruments, and no labs that day
    missed = forms["sledai"][forms["sledai"]["NOT_DONE"].eq("Yes")]
    assert len(missed) == 1 and missed["ASSESSMENT_DATE"].isna().all()
    key = tuple(missed[["SUBJECT", "VISIT"]].iloc[0])
    for name in ("bilag", "pga"):
        row = forms[name].set_index(["SUBJECT", "VISIT"]).loc[key]
        assert row["NOT_DONE"] == "Yes"
    assert not forms["laboratory"].set_index(["SUBJECT", "VISIT"]).index.isin([key]).any()
    # visit dates inside the plan's windows (study day from the first dose, no day 0) and before the cut-off
    first_dose = edc_to_date(forms["dosing"]["DOSE_DATE"]).groupby(forms["dosing"]["SUBJECT"]).min()
    done = forms["sledai"].dropna(subset=["ASSESSMENT_DATE"])
    delta = (edc_to_date(done["ASSESSMENT_DATE"]).to_numpy() - first_dose.reindex(done["SUBJECT"]).to_numpy()).astype("timedelta64[D]").astype(int)
    day = np.where(delta >= 0, delta + 1, delta)
    windows = {v.edc_label: v.window for v in study.visits}
    low = done["VISIT"].map(lambda v: windows[v][0]).to_numpy()
    high = done["VISIT"].map(lambda v: windows[v][1]).to_numpy()
    assert ((day >= low) & (day <= high)).all()
    cutoff = pd.Timestamp(study.data_cutoff)
    for name, form in FORMS.items():
        for column, rule in form["columns"].items():
            if rule["type"] == "date":
                assert (edc_to_date(forms[name][column].dropna()) <= cutoff).all(), (name, column)


def test_dosing(forms, study):
    dosing = forms["dosing"]
    per_subject = dosing.groupby("SUBJECT").size()
    assert per_subject.max() == 21 and len(per_subject) == N
    assert per_subject.sum() < 21 * N  # missed injections and discontinuations
    first = edc_to_date(dosing["DOSE_DATE"]).groupby(dosing["SUBJECT"]).transform("min")
    day = (edc_to_date(dosing["DOSE_DATE"]) - first).dt.days + 1
    # injection k of cycle c is on day 28(c-1) + 2k - 1
    planned = 28 * (dosing["CYCLE"].astype(int) - 1) + 2 * dosing["INJECTION"].astype(int) - 1
    assert day.eq(planned).all()
    assert dosing["DOSE"].eq("1").all() and dosing["DOSE_UNIT"].eq("MIU").all()


# ---------------------------------------------------------------------------------------------------------
# Determinism and the stage
# ---------------------------------------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_differs(raw_dir, tmp_path, study):
    again, other = tmp_path / "again", tmp_path / "other"
    again.mkdir(), other.mkdir()
    twin.write_raw(twin.simulate(study, N, SEED), again)
    twin.write_raw(twin.simulate(study, N, SEED + 1), other)
    for form in FORMS.values():
        assert (again / form["file"]).read_bytes() == (raw_dir / form["file"]).read_bytes(), form["file"]
    assert any((other / f["file"]).read_bytes() != (raw_dir / f["file"]).read_bytes() for f in FORMS.values())
    # rows are sorted by the keys, visits in plan order, whatever order the frames come in
    shuffled = {name: df.sample(frac=1, random_state=0) for name, df in twin.simulate(study, N, SEED).items()}
    third = tmp_path / "third"
    third.mkdir()
    twin.write_raw(shuffled, third)
    assert all((third / f["file"]).read_bytes() == (raw_dir / f["file"]).read_bytes() for f in FORMS.values())


def test_run_stage_writes_raw_folder(tmp_path):
    from sap import pipeline

    ctx = pipeline.make_context(out=tmp_path, subjects=12, seed=5, log=lambda line: None)
    counts = twin.run_stage(ctx)
    files = sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert files == sorted(f["file"] for f in FORMS.values())
    rows = sum(len(pd.read_csv(tmp_path / "raw" / f, dtype=str)) for f in files)
    assert counts == {"subjects": 12, "records": rows}


def test_bad_subject_count_is_a_user_error(study):
    from sap.errors import SapError

    with pytest.raises(SapError, match="at least one subject"):
        twin.simulate(study, 0, SEED)


@pytest.mark.slow
def test_100000_subjects(study):
    n = 100_000
    forms = twin.simulate(study, n, SEED)
    assert len(forms["enrolment"]) == n and forms["enrolment"]["SUBJECT"].is_unique
    assert forms["enrolment"]["SEX"].eq("Female").sum() == 92_500  # 100,000 x 37/40
    assert forms["enrolment"]["AGE"].astype(int).median() == 31
    assert forms["disposition"]["STATUS"].eq("Discontinued").sum() == 5_000  # 100,000 x 2/40
    isr = forms["adverse_events"][forms["adverse_events"]["AE_PT"].eq("Injection site reaction")]
    assert isr["SUBJECT"].nunique() == 12_500  # 100,000 x 5/40
    assert sri4(forms, "Week 6").sum() == 90_000  # 100,000 x 0.9
    assert 0.8 <= sri4(forms, "Week 10").mean() <= 0.95
    visits = len(study.visits)
    assert len(forms["sledai"]) <= n * visits and len(forms["laboratory"]) <= n * visits * len(LABS["laboratory"])
