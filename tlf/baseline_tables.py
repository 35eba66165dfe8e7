"""Demographic, disposition and baseline tables (ICH E3 14.1): ADaM in, `tlf.output.Output` out.

Every count is of subjects of the output's population (ADSL flag = "Y"); percentages use that population's
N unless a row says otherwise; categories of a codelist are all shown, with 0 when nobody falls in them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from sap.specs import load_codelists
from sap.study import Study
from tlf.catalog import OutputSpec
from tlf.inputs import dataset, population
from tlf.ard import Ard
from tlf.output import Output
from tlf.stats import describe, n_percent
from tlf.numbers import collected_decimals, fmt
from tlf.summaries import INDENT, data_decimals

# Baseline medications of Nature Medicine 2016 Table S1, in the paper's order (ADSL baseline CM flags).
TABLE_S1_MEDICATIONS = [("HCQBLFL", "Hydroxychloroquine"), ("MMFBLFL", "Mycophenolate mofetil"),
                        ("CYCBLFL", "Cyclophosphamide"), ("AZABLFL", "Azathioprine"), ("LEFBLFL", "Leflunomide"),
                        ("THALBLFL", "Thalidomide"), ("CSABLFL", "Ciclosporin"), ("MTXBLFL", "Methotrexate")]
# Continuous rows of Table S1: ADSL variable, label, decimals of min/max (median one more); None = the
# decimals the data are recorded with; derived values (BSA, duration) get a fixed precision.
TABLE_S1_CONTINUOUS = [("AGE", "Age, years", None), ("WEIGHTBL", "Weight, kg", None), ("HEIGHTBL", "Height, cm", None),
                       ("BSABL", "Body surface area, m2", 2), ("SLEDURY", "SLE duration, years", 1),
                       ("BPREDDOS", "Prednisone, mg/day", None)]
# Baseline organ involvement flags of ADSL with the SLEDAI-2K organ group of sap/specs/raw/instruments.yaml
# they summarise (ADSL spec: "As BSKINFL for organ group ...") and the row label.
ORGAN_GROUPS = [("BSKINFL", "SKIN", "Mucocutaneous"), ("BMSKFL", "MUSCULOSKELETAL", "Musculoskeletal"),
                ("BHAEMFL", "HAEMATOLOGIC", "Haematological"), ("BRENALFL", "RENAL", "Renal"),
                ("BSEROFL", "SEROSAL", "Serosal"), ("BFEVERFL", "FEVER", "Fever"),
                ("BNEUROFL", "NEUROLOGIC", "Neuropsychiatric"),
                ("BIMMUNFL", "IMMUNOLOGIC", "Serological (low complement, anti-dsDNA)")]
ORGAN_FLAGS = [(flag, label) for flag, _, label in ORGAN_GROUPS]
# SLEDAI-2K activity bands (domain reference section 2): 0 remission, 1-4 low, 5-10 moderate, > 10 high.
SLEDAI_BANDS = [(0, 0, "0 (remission)"), (1, 4, "1-4 (low)"), (5, 10, "5-10 (moderate)"), (11, 105, ">10 (high)")]


def _subjects(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, variables: list[str]) -> pd.DataFrame:
    adsl = dataset(adam, "ADSL", ["USUBJID", spec.population, *variables])
    ids = population(adsl, spec.population)
    return adsl[adsl["USUBJID"].isin(ids["USUBJID"])].drop_duplicates("USUBJID")


def _table(spec: OutputSpec, rows: list[tuple[str, str]], n: int, first_header: str, study: Study,
           widths: list[float] | None = None) -> Output:
    body = pd.DataFrame(rows, columns=["label", "value"])
    return (Output.from_spec(spec).with_n(n)
            .with_body(body, headers=[first_header, f"{study.arm.arm} (N={n})"], col_widths=widths or [3, 2],
                       align=["l", "c"]))


def median_range(values: pd.Series, decimals: int | None) -> str:
    """"median (min-max)" as in Table S1: median one decimal more than the data, min and max as the data
    (`decimals`; None = read from the values);
    "[n=k]" appended when k < N values are present."""
    x = pd.Series(values, dtype="float64")
    present = x.dropna()
    decimals = data_decimals(present) if decimals is None else decimals
    if present.empty:
        return "NE"
    text = f"{fmt(present.median(), decimals + 1)} ({fmt(present.min(), decimals)}-{fmt(present.max(), decimals)})"
    return text if len(present) == len(x) else f"{text} [n={len(present)}]"


def disposition_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.1.1: analysis populations, end-of-study status (EOSSTT codelist) and reasons for
    discontinuation (DCSREAS codelist, every term shown), as n (%) of enrolled subjects (ICH E3 10.1)."""
    adsl = _subjects(adam, spec, ["SAFFL", "FASFL", "COMPLFL", "EOSSTT", "DCSREAS"])
    n = len(adsl)
    codelists = load_codelists()
    ard = Ard(spec.number)
    rows = [("Enrolled", ard.count(n, variable="ENRLFL", level="Y"))]
    for flag, label in (("SAFFL", "Safety population (>= 1 dose)"), ("FASFL", "Full analysis set"),
                        ("COMPLFL", "Completers population")):
        rows.append((label, ard.n_pct(int(adsl[flag].eq("Y").sum()), n, variable=flag, level="Y")))
    rows.append(("End of study status", ""))
    statuses = codelists["EOSSTT"].values + sorted(set(adsl["EOSSTT"].dropna()) - set(codelists["EOSSTT"].values))
    for status in statuses:
        rows.append((INDENT + status.title(), ard.n_pct(int(adsl["EOSSTT"].eq(status).sum()), n, variable="EOSSTT", level=status)))
        if status == "DISCONTINUED":
            discontinued = adsl[adsl["EOSSTT"].eq("DISCONTINUED")]
            reasons = codelists["DCSREAS"].values
            extra = sorted(set(discontinued["DCSREAS"].dropna()) - set(reasons))
            for reason in reasons + extra:
                rows.append((INDENT * 2 + reason.capitalize(),
                             ard.n_pct(int(discontinued["DCSREAS"].eq(reason).sum()), n, variable="DCSREAS", level=reason)))
            missing = int(discontinued["DCSREAS"].isna().sum())
            if missing:
                rows.append((INDENT * 2 + "Reason not recorded", ard.n_pct(missing, n, variable="DCSREAS", level="")))
    return _table(spec, rows, n, "Category", study).with_ard(ard)


# Continuous rows of the sponsor layout of 14.1.2 (ADSL variable, label); decimals from sap/specs/display.yaml.
DEMOGRAPHICS_CONTINUOUS = [("AGE", "Age, years"), ("WEIGHTBL", "Weight, kg"), ("HEIGHTBL", "Height, cm"),
                           ("BSABL", "Body surface area, m2"), ("SLEDURY", "SLE duration, years"),
                           ("BPREDDOS", "Prednisone, mg/day")]
# Categorical rows: ADSL variable, label, codelist whose every term is shown (0 kept).
DEMOGRAPHICS_CATEGORICAL = [("SEX", "Sex", "SEX"), ("AGEGR1", "Age group", "AGEGR1"), ("RACE", "Race", "RACE"),
                            ("ETHNIC", "Ethnicity", "ETHNIC")]


def _category_rows(ard: Ard, adsl: pd.DataFrame, variable: str, label: str, codelist, n: int) -> list[tuple[str, str]]:
    """A heading and one n (%) row per codelist term (decode when the codelist has one), then any value
    outside the codelist and "Missing" when some subject has none."""
    rows = [(label + ", n (%)", "")]
    values = adsl[variable]
    terms = [(t.value, t.decode or t.value) for t in codelist.terms]
    terms += [(v, v) for v in sorted(set(values.dropna()) - {t for t, _ in terms})]
    for value, shown in terms:
        rows.append((INDENT + (shown if shown != value else value.title() if value.isupper() else value),
                     ard.n_pct(int(values.eq(value).sum()), n, variable=variable, level=value)))
    if values.isna().any():
        rows.append((INDENT + "Missing", ard.n_pct(int(values.isna().sum()), n, variable=variable, level="")))
    return rows


def demographics_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.1.2: demographics and baseline characteristics in the sponsor layout: continuous rows n,
    mean (SD), median, Q1, Q3, min, max (precision rule of sap/specs/display.yaml from each variable's
    collected decimals); sex, age group, race and ethnicity n (%) with every codelist term; baseline SLE
    medications n (%). The Nature Medicine 2016 Table S1 view is Table 14.1.2.1."""
    variables = [v for v, _ in DEMOGRAPHICS_CONTINUOUS] + [v for v, _, _ in DEMOGRAPHICS_CATEGORICAL] + \
        [v for v, _ in TABLE_S1_MEDICATIONS]
    adsl = _subjects(adam, spec, variables)
    n = len(adsl)
    ard = Ard(spec.number)
    codelists = load_codelists()
    rows: list[tuple[str, str]] = []
    for variable, label in DEMOGRAPHICS_CONTINUOUS:
        stats = ard.summary(adsl[variable], collected_decimals(variable, adsl[variable]), variable=variable)
        rows.append((label, ""))
        rows.extend((INDENT + key, value) for key, value in stats.items())
    for variable, label, codelist in DEMOGRAPHICS_CATEGORICAL:
        rows.extend(_category_rows(ard, adsl, variable, label, codelists[codelist], n))
    rows.append(("Baseline SLE medication, n (%)", ""))
    for flag, label in TABLE_S1_MEDICATIONS:
        rows.append((INDENT + label, ard.n_pct(int(adsl[flag].eq("Y").sum()), n, variable=flag, level="Y")))
    return _table(spec, rows, n, "Characteristic", study).with_ard(ard)


def table_s1_view(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.1.2.1: demographics and baseline characteristics in the layout of Nature Medicine 2016
    Table S1 (continuous: median (min-max); female/male counts; baseline medications: n (%)), followed by
    age group and race, n (%)."""
    variables = [v for v, _, _ in TABLE_S1_CONTINUOUS] + [v for v, _ in TABLE_S1_MEDICATIONS] + ["SEX", "AGEGR1", "RACE"]
    adsl = _subjects(adam, spec, variables)
    n = len(adsl)
    rows = []
    for variable, label, decimals in TABLE_S1_CONTINUOUS[:1]:
        rows.append((label + ", median (range)", median_range(adsl[variable], decimals)))
    rows.append(("Female/male, n", f"{int(adsl['SEX'].eq('F').sum())}/{int(adsl['SEX'].eq('M').sum())}"))
    for variable, label, decimals in TABLE_S1_CONTINUOUS[1:]:
        rows.append((label + ", median (range)", median_range(adsl[variable], decimals)))
    rows.append(("Baseline medication, n (%)", ""))
    for flag, label in TABLE_S1_MEDICATIONS:
        rows.append((INDENT + label, n_percent(int(adsl[flag].eq("Y").sum()), n)))
    rows.append(("Age group, n (%)", ""))
    for group in load_codelists()["AGEGR1"].values:
        rows.append((INDENT + group + " years", n_percent(int(adsl["AGEGR1"].eq(group).sum()), n)))
    rows.append(("Race, n (%)", ""))
    for race, count in adsl["RACE"].fillna("NOT REPORTED").value_counts().sort_index().items():
        rows.append((INDENT + race.title(), n_percent(int(count), n)))
    return _table(spec, rows, n, "Characteristic", study)


def baseline_disease_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.1.3: baseline SLEDAI-2K (descriptive statistics and activity bands: 0, 1-4, 5-10, > 10),
    BILAG-2004 numeric global score and >= 1 A or >= 2 B domains, PGA, organ involvement from the baseline
    SLEDAI-2K descriptors (ADSL B*FL flags) and BILAG-2004 domains graded A or B at baseline (ADQS ABLFL
    records of BLG0401-BLG0409)."""
    adsl = _subjects(adam, spec, ["BSLEDAI", "BBILAG", "BBLGABFL", "BPGA", *[f for f, _ in ORGAN_FLAGS]])
    n = len(adsl)
    adqs = dataset(adam, "ADQS", ["USUBJID", "PARAMCD", "PARAM", "AVALC", "ABLFL"])
    rows: list[tuple[str, str]] = []

    def continuous(label: str, values: pd.Series) -> None:
        stats = describe(values, data_decimals(values))
        rows.append((label, ""))
        rows.extend((INDENT + key, value) for key, value in stats.items())

    continuous("SLEDAI-2K total score", adsl["BSLEDAI"])
    rows.append(("SLEDAI-2K activity, n (%)", ""))
    for low, high, label in SLEDAI_BANDS:
        rows.append((INDENT + label, n_percent(int(adsl["BSLEDAI"].between(low, high).sum()), n)))
    continuous("BILAG-2004 numeric global score", adsl["BBILAG"])
    rows.append(("BILAG-2004 >= 1 A or >= 2 B domains, n (%)", n_percent(int(adsl["BBLGABFL"].eq("Y").sum()), n)))
    continuous("Physician global assessment (0-3)", adsl["BPGA"])
    rows.append(("Organ involvement (SLEDAI-2K descriptors), n (%)", ""))
    for flag, label in ORGAN_FLAGS:
        rows.append((INDENT + label, n_percent(int(adsl[flag].eq("Y").sum()), n)))
    rows.append(("BILAG-2004 domain graded A or B, n (%)", ""))
    domains = adqs[adqs["PARAMCD"].str.startswith("BLG", na=False)]
    baseline = domains[domains["ABLFL"].eq("Y") & domains["USUBJID"].isin(adsl["USUBJID"])]
    names = domains.drop_duplicates("PARAMCD").sort_values("PARAMCD")
    active = baseline[baseline["AVALC"].isin(["A", "B"])].groupby("PARAMCD")["USUBJID"].nunique()
    for paramcd, param in zip(names["PARAMCD"], names["PARAM"]):
        label = param.removeprefix("BILAG-2004 ").removesuffix(" (Grade)")
        rows.append((INDENT + label, n_percent(int(active.get(paramcd, 0)), n)))
    return _table(spec, rows, n, "Characteristic", study)


def exposure_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.1.4: treatment duration (TRTDURD), injections received (INJNUM), cumulative dose (CUMDOSE)
    and compliance (COMPLPCT = INJNUM / planned injections x 100, planned from sap/study.yaml dosing),
    descriptive statistics and compliance categories (< 80%, 80% to < 100%, 100%)."""
    adsl = _subjects(adam, spec, ["TRTDURD", "INJNUM", "CUMDOSE", "COMPLPCT"])
    n = len(adsl)
    rows: list[tuple[str, str]] = []
    dosing = study.dosing
    for variable, label, decimals in (("TRTDURD", "Treatment duration, days", 0),
                                      ("INJNUM", f"Injections received (planned {dosing.planned_injections})", 0),
                                      ("CUMDOSE", f"Cumulative dose, {dosing.dose_unit}", data_decimals(adsl["CUMDOSE"])),
                                      ("COMPLPCT", "Compliance, %", 1)):
        rows.append((label, ""))
        rows.extend((INDENT + key, value) for key, value in describe(adsl[variable], decimals).items())
    compliance = pd.to_numeric(adsl["COMPLPCT"], errors="coerce")
    rows.append(("Compliance category, n (%)", ""))
    rows.append((INDENT + "< 80%", n_percent(int(compliance.lt(80).sum()), n)))
    rows.append((INDENT + "80% to < 100%", n_percent(int((compliance.ge(80) & compliance.lt(100)).sum()), n)))
    rows.append((INDENT + "100%", n_percent(int(compliance.ge(100).sum()), n)))
    return _table(spec, rows, n, "Parameter", study)
