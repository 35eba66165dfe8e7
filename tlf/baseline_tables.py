"""Demographic, disposition and baseline tables (ICH E3 14.1): ADaM in, `tlf.output.Output` out.

Every count is of subjects of the output's population (ADSL flag = "Y"); percentages use that population's
N unless a row says otherwise; categories of a codelist are all shown, with 0 when nobody falls in them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from sap.specs import load_codelists, load_instruments
from sap.study import Study
from tlf.catalog import OutputSpec
from tlf.inputs import dataset, population
from tlf.ard import Ard
from tlf.output import Output
from tlf import numbers
from tlf.numbers import collected_decimals, fmt
from tlf.summaries import INDENT

# Baseline medications of Nature Medicine 2016 Table S1, in the paper's order (ADSL baseline CM flags).
TABLE_S1_MEDICATIONS = [("HCQBLFL", "Hydroxychloroquine"), ("MMFBLFL", "Mycophenolate mofetil"),
                        ("CYCBLFL", "Cyclophosphamide"), ("AZABLFL", "Azathioprine"), ("LEFBLFL", "Leflunomide"),
                        ("THALBLFL", "Thalidomide"), ("CSABLFL", "Ciclosporin"), ("MTXBLFL", "Methotrexate")]
# Continuous rows of Table S1: ADSL variable and label; decimals from sap/specs/display.yaml.
TABLE_S1_CONTINUOUS = [("AGE", "Age, years"), ("WEIGHTBL", "Weight, kg"), ("HEIGHTBL", "Height, cm"),
                       ("BSABL", "Body surface area, m2"), ("SLEDURY", "SLE duration, years"),
                       ("BPREDDOS", "Prednisone, mg/day")]


def organ_groups() -> list[tuple[str, str, str]]:
    """(ADSL flag, SLEDAI-2K organ group, printed name) of every organ group, in display order: the
    `organ_groups` of sap/specs/raw/instruments.yaml (the one place the names are written)."""
    return [(g["flag"], g["organ"], g["label"]) for g in load_instruments()["sledai_2k"]["organ_groups"]]


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


def median_range(ard: Ard, values: pd.Series, variable: str, n_population: int) -> str:
    """"median (min-max)" as in Table S1 on the exact values (tlf.numbers.summarise): median one decimal
    more than collected, min and max as collected (the precision rule of sap/specs/display.yaml from the
    variable's collected decimals); "[n=k]" appended when k < N values are present. Recorded in `ard` as n,
    median, min, max of `variable`."""
    s = numbers.summarise(values)
    ard.count(s.n, variable=variable)
    if s.n == 0:
        return "NE"
    collected = collected_decimals(variable, values)
    median = ard.add("median", s.median, fmt(s.median, numbers.decimals_for("median", collected)), variable=variable)
    low = ard.add("min", s.min, fmt(s.min, numbers.decimals_for("minmax", collected)), variable=variable)
    high = ard.add("max", s.max, fmt(s.max, numbers.decimals_for("minmax", collected)), variable=variable)
    text = f"{median} ({low}-{high})"
    return text if s.n == n_population else f"{text} [n={s.n}]"


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
    age group (every AGEGR1 term) and race (the races present), n (%)."""
    variables = [v for v, _ in TABLE_S1_CONTINUOUS] + [v for v, _ in TABLE_S1_MEDICATIONS] + ["SEX", "AGEGR1", "RACE"]
    adsl = _subjects(adam, spec, variables)
    n = len(adsl)
    ard = Ard(spec.number)
    rows = []
    for variable, label in TABLE_S1_CONTINUOUS[:1]:
        rows.append((label + ", median (range)", median_range(ard, adsl[variable], variable, n)))
    female = ard.count(int(adsl["SEX"].eq("F").sum()), variable="SEX", level="F")
    male = ard.count(int(adsl["SEX"].eq("M").sum()), variable="SEX", level="M")
    rows.append(("Female/male, n", f"{female}/{male}"))
    for variable, label in TABLE_S1_CONTINUOUS[1:]:
        rows.append((label + ", median (range)", median_range(ard, adsl[variable], variable, n)))
    rows.append(("Baseline medication, n (%)", ""))
    for flag, label in TABLE_S1_MEDICATIONS:
        rows.append((INDENT + label, ard.n_pct(int(adsl[flag].eq("Y").sum()), n, variable=flag, level="Y")))
    rows.append(("Age group, n (%)", ""))
    for group in load_codelists()["AGEGR1"].values:
        rows.append((INDENT + group + " years", ard.n_pct(int(adsl["AGEGR1"].eq(group).sum()), n, variable="AGEGR1", level=group)))
    rows.append(("Race, n (%)", ""))
    for race, count in adsl["RACE"].fillna("NOT REPORTED").value_counts().sort_index().items():
        rows.append((INDENT + race.title(), ard.n_pct(int(count), n, variable="RACE", level=race)))
    return _table(spec, rows, n, "Characteristic", study).with_ard(ard)


# SLEDAI-2K activity band keys of the ARD (VARIABLE_LEVEL of BSLEDAI)
def _band_key(low: int, high: int) -> str:
    return f"{low}-{high}"


def baseline_disease_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.1.3: baseline SLEDAI-2K (descriptive statistics and activity bands: 0, 1-4, 5-10, > 10),
    BILAG-2004 numeric global score and >= 1 A or >= 2 B domains, PGA, organ involvement from the baseline
    SLEDAI-2K descriptors (ADSL B*FL flags) and BILAG-2004 domains graded A or B at baseline (ADQS ABLFL
    records of BLG0401-BLG0409). Continuous rows by the precision rule from the collected decimals."""
    groups = organ_groups()
    adsl = _subjects(adam, spec, ["BSLEDAI", "BBILAG", "BBLGABFL", "BPGA", *[f for f, _, _ in groups]])
    n = len(adsl)
    adqs = dataset(adam, "ADQS", ["USUBJID", "PARAMCD", "PARAM", "AVALC", "ABLFL"])
    ard = Ard(spec.number)
    rows: list[tuple[str, str]] = []

    def continuous(label: str, variable: str) -> None:
        stats = ard.summary(adsl[variable], collected_decimals(variable, adsl[variable]), variable=variable)
        rows.append((label, ""))
        rows.extend((INDENT + key, value) for key, value in stats.items())

    continuous("SLEDAI-2K total score", "BSLEDAI")
    rows.append(("SLEDAI-2K activity, n (%)", ""))
    for low, high, label in SLEDAI_BANDS:
        rows.append((INDENT + label, ard.n_pct(int(adsl["BSLEDAI"].between(low, high).sum()), n, variable="BSLEDAI",
                                               level=_band_key(low, high))))
    continuous("BILAG-2004 numeric global score", "BBILAG")
    rows.append(("BILAG-2004 >= 1 A or >= 2 B domains, n (%)",
                 ard.n_pct(int(adsl["BBLGABFL"].eq("Y").sum()), n, variable="BBLGABFL", level="Y")))
    continuous("Physician global assessment (0-3)", "BPGA")
    rows.append(("Organ involvement (SLEDAI-2K descriptors), n (%)", ""))
    for flag, _, label in groups:
        rows.append((INDENT + label, ard.n_pct(int(adsl[flag].eq("Y").sum()), n, variable=flag, level="Y")))
    rows.append(("BILAG-2004 domain graded A or B, n (%)", ""))
    domains = adqs[adqs["PARAMCD"].str.startswith("BLG", na=False)]
    baseline = domains[domains["ABLFL"].eq("Y") & domains["USUBJID"].isin(adsl["USUBJID"])]
    names = domains.drop_duplicates("PARAMCD").sort_values("PARAMCD")
    active = baseline[baseline["AVALC"].isin(["A", "B"])].groupby("PARAMCD")["USUBJID"].nunique()
    for paramcd, param in zip(names["PARAMCD"], names["PARAM"]):
        label = param.removeprefix("BILAG-2004 ").removesuffix(" (Grade)")
        rows.append((INDENT + label, ard.n_pct(int(active.get(paramcd, 0)), n, groups=(("PARAMCD", paramcd),),
                                               variable="AVALC", level="A/B")))
    return _table(spec, rows, n, "Characteristic", study).with_ard(ard)


# Compliance categories of 14.1.4: ARD key (VARIABLE_LEVEL of COMPLPCT), label, lower bound (inclusive),
# upper bound (exclusive; None = no bound)
COMPLIANCE_CATEGORIES = [("<80", "< 80%", None, 80), ("80-<100", "80% to < 100%", 80, 100), (">=100", "100%", 100, None)]


def exposure_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.1.4: treatment duration (TRTDURD), injections received (INJNUM), cumulative dose (CUMDOSE)
    and compliance (COMPLPCT = INJNUM / planned injections x 100, planned from sap/study.yaml dosing),
    descriptive statistics by the precision rule from the collected decimals, and compliance categories
    (< 80%, 80% to < 100%, 100%)."""
    adsl = _subjects(adam, spec, ["TRTDURD", "INJNUM", "CUMDOSE", "COMPLPCT"])
    n = len(adsl)
    ard = Ard(spec.number)
    rows: list[tuple[str, str]] = []
    dosing = study.dosing
    for variable, label in (("TRTDURD", "Treatment duration, days"),
                            ("INJNUM", f"Injections received (planned {dosing.planned_injections})"),
                            ("CUMDOSE", f"Cumulative dose, {dosing.dose_unit}"), ("COMPLPCT", "Compliance, %")):
        rows.append((label, ""))
        stats = ard.summary(adsl[variable], collected_decimals(variable, adsl[variable]), variable=variable)
        rows.extend((INDENT + key, value) for key, value in stats.items())
    compliance = pd.to_numeric(adsl["COMPLPCT"], errors="coerce")
    rows.append(("Compliance category, n (%)", ""))
    for key, label, low, high in COMPLIANCE_CATEGORIES:
        inside = pd.Series(True, index=compliance.index)
        if low is not None:
            inside &= compliance.ge(low)
        if high is not None:
            inside &= compliance.lt(high)
        rows.append((INDENT + label, ard.n_pct(int(inside.sum()), n, variable="COMPLPCT", level=key)))
    return _table(spec, rows, n, "Parameter", study).with_ard(ard)
