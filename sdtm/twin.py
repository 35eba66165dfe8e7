"""The synthetic twin of NCT02084238: a raw EDC extract (one CSV per form of `sap/specs/raw/forms.yaml`)
calibrated to the published trial, and the default raw source of `sap run`.

What it reproduces (default seed 20130801, 40 subjects, exactly; at other sizes the same distributions):
- Baseline (Nature Medicine 2016, Table S1): age 31 (18-60), 37/40 women, weight 54 (42-80) kg, height
  160 (150-175) cm, SLE duration 5 (0.5-20) years, prednisone 30 (0-60) mg/day, the background drug counts.
  Medians and ranges are exact through anchored stratified sampling (`anchored_sample`); counts through exact
  allocation (`exact_flags`, round half up of N x published fraction).
- Disease activity (EULAR 2015 abstract AB0525): SLEDAI-2K >= 8 for everyone at week 0; round(0.9 N) SRI-4
  responders at the abstract's week 6 under non-responder imputation. Response is never written: it follows
  from SLEDAI descriptors resolving, BILAG grades improving (never a new A, at most one new B) and the PGA
  falling (never rising by 0.3 or more). Skin, haematologic and fever descriptors resolve more often.
- Safety: round(N x 5/40) subjects with a mild injection-site reaction, other mild/moderate AEs, no severe or
  serious AE; labs and flow cytometry moving as the abstract says (anti-dsDNA and proteinuria fall, C3/C4
  and Treg rise).
- Mess: round(N x 2/40) discontinuations, round(N/40) missed visits, missed injections, unit variants, labs
  not done, "<10" results, partial AE and diagnosis dates.

Everything is vectorised over subjects (numpy arrays of shape subjects x visits x items); the only Python loops
run over the fixed, small lists of visits, items, tests and forms. Each part draws from its own child of
`np.random.SeedSequence(seed)`, so the same seed gives byte-identical CSVs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sap.errors import Problem, SapError, SpecError
from sap.specs import MEDDRA_CODING_COLUMNS, SPECS_DIR, Instruments, LabTests, meddra_coding, read_plan_file
from sap.study import Study
from sdtm.raw import RawForms

RAW_SPECS = SPECS_DIR / "raw"

# ---------------------------------------------------------------------------------------------------------
# Calibration targets (published figures; see the module docstring). Fractions are of the enrolled subjects.
# ---------------------------------------------------------------------------------------------------------
FEMALE_FRACTION = 37 / 40
BACKGROUND_DRUGS = {  # enrolment column -> fraction of subjects on it at baseline (Table S1)
    "HYDROXYCHLOROQUINE": 37 / 40, "MYCOPHENOLATE": 14 / 40, "CYCLOPHOSPHAMIDE": 6 / 40, "AZATHIOPRINE": 2 / 40,
    "LEFLUNOMIDE": 1 / 40, "THALIDOMIDE": 1 / 40, "CICLOSPORIN": 0 / 40, "METHOTREXATE": 0 / 40,
}
# (quantile, value) knots of a piecewise-linear quantile function; 0, 0.5 and 1 are Table S1's min/median/max
AGE_KNOTS = [(0, 18), (0.25, 25), (0.5, 31), (0.75, 40), (1, 60)]
WEIGHT_KNOTS = [(0, 42), (0.25, 49), (0.5, 54), (0.75, 60), (1, 80)]
HEIGHT_KNOTS = [(0, 150), (0.25, 156), (0.5, 160), (0.75, 164), (1, 175)]
SLE_YEARS_KNOTS = [(0, 0.5), (0.25, 2), (0.5, 5), (0.75, 9), (1, 20)]
PREDNISONE_KNOTS = [(0, 0), (0.25, 20), (0.5, 30), (0.75, 40), (1, 60)]
ENROLMENT_PERIOD = (dt.date(2013, 8, 1), dt.date(2015, 4, 30))
RESPONDER_FRACTION = 36 / 40          # SRI-4 at the abstract visit (week 6), NRI
DISCONTINUED_FRACTION = 2 / 40
MISSED_VISIT_FRACTION = 1 / 40        # subjects with one missed post-baseline visit
INJECTION_SITE_FRACTION = 5 / 40
PRE_DOSE_AE_FRACTION = 1 / 40         # history-like AE that ends before the first dose
UNKNOWN_MONTH_AE_FRACTION = 1 / 40    # AEs with start date UN-UNK-YYYY
MIN_BASELINE_SLEDAI = 8               # inclusion criterion

# SLEDAI-2K descriptor prevalence at baseline (a realistic active-SLE mix; renal items follow a latent renal
# involvement so that proteinuria, haematuria and casts occur together).
RENAL_INVOLVEMENT = 0.40
DESCRIPTOR_PREVALENCE = {
    "SEIZURE": 0.005, "PSYCHOSIS": 0.005, "ORGANIC_BRAIN_SYNDROME": 0.0, "VISUAL_DISTURBANCE": 0.005,
    "CRANIAL_NERVE_DISORDER": 0.005, "LUPUS_HEADACHE": 0.01, "CVA": 0.0, "VASCULITIS": 0.08,
    "ARTHRITIS": 0.35, "MYOSITIS": 0.04, "RASH": 0.50, "ALOPECIA": 0.25, "MUCOSAL_ULCERS": 0.28,
    "PLEURISY": 0.06, "PERICARDITIS": 0.02, "LOW_COMPLEMENT": 0.60, "INCREASED_DNA_BINDING": 0.55,
    "FEVER": 0.28, "THROMBOCYTOPENIA": 0.22, "LEUKOPENIA": 0.28,
}
RENAL_PREVALENCE_IF_INVOLVED = {"PROTEINURIA": 0.85, "HEMATURIA": 0.50, "URINARY_CASTS": 0.25, "PYURIA": 0.15}
# inclusion: at least one of these manifestations (registry record)
INCLUSION_DESCRIPTORS = ["THROMBOCYTOPENIA", "RASH", "MUCOSAL_ULCERS", "FEVER", "VASCULITIS", "PROTEINURIA"]
# chance per post-baseline visit that a present descriptor resolves, by the organ of instruments.yaml:
# skin, haematologic and fever respond best (abstract AB0525)
RESOLUTION_HAZARD = {
    "SKIN": 0.40, "HAEMATOLOGIC": 0.45, "FEVER": 0.55, "MUSCULOSKELETAL": 0.30, "SEROSAL": 0.35,
    "IMMUNOLOGIC": 0.12, "RENAL": 0.15, "NEUROLOGIC": 0.25,
}
RELAPSE_FRACTION = 0.30               # subjects in whom one resolved descriptor returns after the abstract visit
NEW_BILAG_B_FRACTION = 0.10           # subjects with one new BILAG B at one visit (allowed by the SRI)

# BILAG-2004 domain <- SLEDAI descriptors that make it active, and the chance an active domain is graded A
BILAG_FROM_SLEDAI = {
    "CONSTITUTIONAL": (["FEVER"], 0.0),
    "MUCOCUTANEOUS": (["RASH", "ALOPECIA", "MUCOSAL_ULCERS", "VASCULITIS"], 0.15),
    "NEUROPSYCHIATRIC": (["SEIZURE", "PSYCHOSIS", "ORGANIC_BRAIN_SYNDROME", "CRANIAL_NERVE_DISORDER",
                          "LUPUS_HEADACHE", "CVA"], 0.5),
    "MUSCULOSKELETAL": (["ARTHRITIS", "MYOSITIS"], 0.10),
    "CARDIORESPIRATORY": (["PLEURISY", "PERICARDITIS"], 0.10),
    "GASTROINTESTINAL": ([], 0.0),
    "OPHTHALMIC": (["VISUAL_DISTURBANCE"], 0.3),
    "RENAL": (["PROTEINURIA", "HEMATURIA", "URINARY_CASTS", "PYURIA"], 0.40),
    "HAEMATOLOGICAL": (["THROMBOCYTOPENIA", "LEUKOPENIA"], 0.10),
}

# Laboratory model in the standard unit of lab_tests.yaml, keyed by ADLB paramcd. A test `linked` to a SLEDAI
# descriptor takes its value from the `abnormal` band while the descriptor is present and from the `normal`
# band otherwise, so the forms agree (low complement <-> C3 below LLN, proteinuria <-> > 0.5 g/day, ...).
# Position in a band = subject effect + trend x visit index + noise, clipped to the band.
# ref = local reference range (standard unit); decimals = as reported in the standard unit.
LAB_MODEL = {
    "WBC": dict(linked="LEUKOPENIA", abnormal=(1.8, 2.9), normal=(3.2, 9.5), log=True, trend=0.02, ref=(3.5, 9.5), decimals=2),
    "LYM": dict(normal=(0.5, 2.8), log=True, trend=0.02, ref=(1.1, 3.2), decimals=2),
    "PLAT": dict(linked="THROMBOCYTOPENIA", abnormal=(35, 95), normal=(105, 330), log=True, trend=0.02, ref=(125, 350), decimals=0),
    "HGB": dict(normal=(90, 145), trend=0.02, ref=(115, 150), decimals=0),
    "ESR": dict(normal=(4, 80), log=True, trend=-0.04, ref=(0, 20), decimals=0),
    "C3": dict(linked="LOW_COMPLEMENT", abnormal=(0.30, 0.85), normal=(0.92, 1.50), trend=0.05, ref=(0.9, 1.8), decimals=2),
    "C4": dict(linked="LOW_COMPLEMENT", abnormal=(0.02, 0.12), normal=(0.08, 0.35), trend=0.05, ref=(0.1, 0.4), decimals=3),
    "DDNAIGAB": dict(linked="INCREASED_DNA_BINDING", abnormal=(120, 800), normal=(6, 95), log=True, trend=-0.04, ref=(0, 100), decimals=1, detection_limit=10),
    "IGG": dict(normal=(9, 30), log=True, trend=-0.02, ref=(7, 16), decimals=1),
    "CREAT": dict(normal=(40, 110), log=True, trend=0.0, ref=(45, 84), decimals=0),
    "ALB": dict(normal=(24, 46), trend=0.03, ref=(35, 55), decimals=1),
    "PROTEXR": dict(linked="PROTEINURIA", abnormal=(0.6, 4.5), normal=(0.04, 0.45), log=True, trend=-0.05, ref=(0, 0.15), decimals=2),
    "URBC": dict(linked="HEMATURIA", abnormal=(6, 60), normal=(0, 4), log=False, trend=-0.02, ref=(0, 3), decimals=0),
    "UWBC": dict(linked="PYURIA", abnormal=(6, 40), normal=(0, 5), log=False, trend=-0.02, ref=(0, 5), decimals=0),
}
LAB_SUBJECT_SPREAD = 0.25   # SD of the subject effect on the band position (position 0..1)
LAB_NOISE = 0.08            # SD of the visit-to-visit noise on the band position
LAB_ALTERNATE_UNIT = 0.10   # chance a result is reported in the test's second collected unit
LAB_NOT_DONE = 0.01         # chance a scheduled lab result is not done

# Flow cytometry, % of CD4+: baseline median, relative change reached by week 12, lognormal spreads
FLOW_MODEL = {
    "TREG": dict(baseline=4.0, change=1.0, subject_sd=0.30),   # Treg ~4% -> ~8% (Nature Medicine Fig. 1)
    "TEFF": dict(baseline=32.0, change=-0.30, subject_sd=0.20),
    "TH17": dict(baseline=1.6, change=-0.20, subject_sd=0.35),
    "TFH": dict(baseline=3.5, change=-0.20, subject_sd=0.30),
}
FLOW_TIME_CONSTANT_WEEKS = 4.0
FLOW_NOISE = 0.12

MISSED_INJECTION = 0.01
INJECTION_SITES = (["Abdomen", "Thigh", "Upper arm"], [0.6, 0.25, 0.15])

# AE catalogue: verbatim term and its MedDRA lowest level term; the rest of the coding (PT, HLT, HLGT, SOC
# and every code) is read from sap/specs/meddra.yaml
INJECTION_SITE_AE = ("redness at injection site", "Injection site reaction")
INJECTION_SITE_VERBATIMS = ["redness at injection site", "injection site redness and itching",
                            "swelling at injection site", "pain and redness at injection site"]
OTHER_AES = [
    # verbatim, LLT, relationship choices, P(moderate), weight in the catalogue
    ("upper respiratory infection", "Upper respiratory infection", ["Not related", "Unlikely related"], 0.2, 5),
    ("common cold", "Common cold", ["Not related", "Unlikely related"], 0.1, 3),
    ("fever", "Fever", ["Possibly related", "Probably related"], 0.2, 3),
    ("flu-like symptoms", "Flu-like symptoms", ["Possibly related", "Probably related"], 0.1, 2),
    ("headache", "Headache", ["Unlikely related", "Possibly related"], 0.1, 2),
    ("tiredness", "Tiredness", ["Unlikely related", "Possibly related"], 0.0, 2),
    ("urinary tract infection", "Urinary tract infection", ["Not related", "Unlikely related"], 0.3, 1),
    ("cough", "Cough", ["Not related", "Unlikely related"], 0.0, 1),
    ("nausea", "Nausea", ["Unlikely related", "Possibly related"], 0.0, 1),
    ("diarrhoea", "Diarrhoea", ["Not related", "Unlikely related"], 0.0, 1),
    ("muscle pain", "Muscle pain", ["Unlikely related", "Possibly related"], 0.0, 1),
    ("shingles", "Shingles", ["Unlikely related", "Possibly related"], 0.5, 0.5),
]
OTHER_AES_PER_SUBJECT = 0.9           # Poisson mean of on-study AEs other than injection-site reactions
UNKNOWN_DAY_AE = 0.06                 # chance an on-study AE start date has an unknown day
ONGOING_AT_END = 0.05
PRE_DOSE_AE = ("headache", "Headache")
DISCONTINUATION_REASONS = ["Withdrawal by subject", "Lost to follow-up", "Lack of efficacy", "Physician decision"]

MONTH_ABBREVIATIONS = np.array(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
_PARTS = ["subjects", "course", "dosing", "adverse_events", "laboratory", "flow_cytometry", "assessments", "disposition"]


# ---------------------------------------------------------------------------------------------------------
# The raw-form contract (read from the specs; nothing here retypes a form, column, test or unit)
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RawContract:
    forms: dict            # forms.yaml `forms`
    laboratory: list       # lab_tests.yaml `laboratory`
    flow_cytometry: list   # lab_tests.yaml `flow_cytometry`
    sledai_items: list     # instruments.yaml sledai_2k.items
    bilag_domains: list    # instruments.yaml bilag_2004.domains

    def columns(self, form: str) -> list[str]:
        return list(self.forms[form]["columns"])


@lru_cache(maxsize=1)
def load_raw_contract(folder: Path = RAW_SPECS) -> RawContract:
    """Read forms.yaml, lab_tests.yaml and instruments.yaml and check that the twin's model covers them."""
    # each file through its typed model (a misspelt key is a one-line SpecError naming file and key)
    forms = read_plan_file(folder / "forms.yaml", RawForms).model_dump(exclude_unset=True)["forms"]
    labs = read_plan_file(folder / "lab_tests.yaml", LabTests).model_dump(exclude_unset=True)
    instruments = read_plan_file(folder / "instruments.yaml", Instruments).model_dump(exclude_unset=True)
    contract = RawContract(forms=forms, laboratory=labs["laboratory"], flow_cytometry=labs["flow_cytometry"],
                           sledai_items=instruments["sledai_2k"]["items"], bilag_domains=instruments["bilag_2004"]["domains"])
    problems = []
    for test in contract.laboratory:
        if test["paramcd"] not in LAB_MODEL:
            problems.append(Problem("lab_tests.yaml", "the synthetic twin has no model for this test", variable="paramcd", value=test["paramcd"]))
    for population in contract.flow_cytometry:
        if population["paramcd"] not in FLOW_MODEL:
            problems.append(Problem("lab_tests.yaml", "the synthetic twin has no model for this population", variable="paramcd", value=population["paramcd"]))
    sledai_columns = {item["column"] for item in contract.sledai_items}
    for item in contract.sledai_items:
        if item["organ"] not in RESOLUTION_HAZARD:
            problems.append(Problem("instruments.yaml", "the synthetic twin has no resolution rate for this organ", variable="organ", value=item["organ"]))
    modelled = set(DESCRIPTOR_PREVALENCE) | set(RENAL_PREVALENCE_IF_INVOLVED)
    for column in sorted(sledai_columns ^ modelled):
        problems.append(Problem("instruments.yaml", "SLEDAI item and the synthetic twin's prevalence table disagree", variable="column", value=column))
    for domain in contract.bilag_domains:
        if domain["column"] not in BILAG_FROM_SLEDAI:
            problems.append(Problem("instruments.yaml", "the synthetic twin has no model for this BILAG domain", variable="column", value=domain["column"]))
    if problems:
        raise SpecError(problems)
    return contract


# ---------------------------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------------------------
def round_half_up(value: float) -> int:
    """Exact allocation count: round half up (Python's round() rounds half to even)."""
    return int(math.floor(value + 0.5))


def exact_flags(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """A boolean array with exactly `count` True values at random positions."""
    flags = np.zeros(n, dtype=bool)
    flags[rng.permutation(n)[: min(count, n)]] = True
    return flags


def anchored_sample(rng: np.random.Generator, n: int, knots: list[tuple[float, float]], step: float | None = None) -> np.ndarray:
    """Draw n values whose minimum, median and maximum are exactly the knots at quantiles 0, 0.5 and 1.

    Stratified sampling through a piecewise-linear quantile function: the i-th smallest value is Q((i+u)/n),
    u uniform, so the sample follows Q at any n. The extreme ranks are then pinned to Q(0) and Q(1) and the
    middle rank(s) to Q(0.5) (both middle ranks for even n, so the median is exact). Values are rounded to
    `step` first (a monotone map, so ranks are kept). The values are returned in random subject order."""
    probs, values = (np.array(v, dtype=float) for v in zip(*knots))
    ranked = np.interp((np.arange(n) + rng.random(n)) / n, probs, values)
    if step:
        ranked = np.round(ranked / step) * step
    ranked[0], ranked[-1] = values[0], values[-1]
    ranked[(n - 1) // 2], ranked[n // 2] = np.interp(0.5, probs, values), np.interp(0.5, probs, values)
    return ranked[rng.permutation(n)]


def _arrow_text(values: object) -> pa.Array:
    """A column as arrow text: arrow arrays pass through; numpy/list values with None for blank."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def coded(labels: list[str], codes: np.ndarray) -> pa.Array:
    """labels[codes] as arrow text (a negative code is a blank): cheap for repeated values at any size."""
    codes = np.asarray(codes, dtype=np.int64)
    return pc.take(pa.array(list(labels), type=pa.string()), pa.array(codes, mask=codes < 0))


def constant(value: str, n: int) -> pa.Array:
    return coded([value], np.zeros(n, dtype=np.int64))


def yes_no(flags: np.ndarray) -> pa.Array:
    return coded(["No", "Yes"], np.asarray(flags, dtype=np.int64))


def _through_uniques(values: np.ndarray, to_text, blank: np.ndarray | None) -> pa.Array:
    """Format each distinct value once and index into the results: lab values and visit dates repeat a lot."""
    unique, inverse = np.unique(values, return_inverse=True)
    codes = inverse.reshape(-1)
    if blank is not None:
        codes = np.where(np.asarray(blank, dtype=bool), -1, codes)
    return coded(to_text(unique).to_pylist(), codes)


def edc_dates(days: np.ndarray, blank: np.ndarray | None = None) -> pa.Array:
    """datetime64[D] -> EDC text DD-MMM-YYYY with upper-case English month (C locale, whatever the machine's)."""
    def to_text(unique: np.ndarray) -> pa.Array:
        return pc.utf8_upper(pc.strftime(pa.array(unique), format="%d-%b-%Y", locale="C"))
    return _through_uniques(np.asarray(days, dtype="datetime64[D]"), to_text, blank)


def partial_edc_dates(days: np.ndarray, unknown_day: np.ndarray, unknown_month: np.ndarray) -> pa.Array:
    """EDC dates with UN for an unknown day (UN-AUG-2013) and UN-UNK for an unknown day and month (UN-UNK-2013)."""
    text = edc_dates(days)
    no_day = pc.binary_join_element_wise("UN", pc.utf8_slice_codeunits(text, 2), "")
    no_month = pc.binary_join_element_wise("UN-UNK", pc.utf8_slice_codeunits(text, 6), "")
    return pc.if_else(pa.array(np.asarray(unknown_month, dtype=bool)), no_month,
                      pc.if_else(pa.array(np.asarray(unknown_day, dtype=bool)), no_day, text))


def format_numbers(values: np.ndarray, decimals: int, blank: np.ndarray | None = None) -> pa.Array:
    """Numbers as the EDC exports them: rounded to `decimals` places, shortest text (5.0 -> "5", 0.50 -> "0.5").
    Arrow's float-to-text cast is the shortest round-trip form, so a rounded value never shows binary noise."""
    rounded = np.round(np.asarray(values, dtype=float), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    if decimals <= 0:
        rounded = rounded.astype(np.int64)
    return _through_uniques(rounded, lambda unique: pc.cast(pa.array(unique), pa.string()), blank)


def _to_days(date: dt.date) -> np.datetime64:
    return np.datetime64(date.isoformat(), "D")


# ---------------------------------------------------------------------------------------------------------
# Subjects: baseline characteristics and the fate of each subject (dates, discontinuation)
# ---------------------------------------------------------------------------------------------------------
def _simulate_subjects(study: Study, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Enrolment characteristics per Table S1 (exact min/median/max and counts), consent 1-14 days before
    enrolment, first dose (study day 1) 0-3 days after enrolment (the baseline visit)."""
    width = max(3, len(str(n)))
    start = _to_days(ENROLMENT_PERIOD[0])
    # enrolment ends early enough that 12 weeks of follow-up fit before the data cut-off
    last_visit_offset = study.visits[-1].target_day + 3 + 14
    end = min(_to_days(ENROLMENT_PERIOD[1]), _to_days(study.data_cutoff) - np.timedelta64(last_visit_offset, "D"))
    span = int((end - start).astype(int)) + 1
    # stratified over the period and numbered in enrolment order, as a site numbers its subjects
    enrol = start + np.floor((np.arange(n) + rng.random(n)) / n * span).astype("int64").astype("timedelta64[D]")
    women = exact_flags(rng, n, round_half_up(n * FEMALE_FRACTION))
    frame = pd.DataFrame({
        "SUBJECT": np.char.zfill(np.arange(1, n + 1).astype(str), width).astype(object),
        "enrol": enrol,
        "consent": enrol - rng.integers(1, 15, n).astype("timedelta64[D]"),
        "first_dose": enrol + rng.integers(0, 4, n).astype("timedelta64[D]"),
        "female": women,
        "age": anchored_sample(rng, n, AGE_KNOTS, step=1),
        "weight": anchored_sample(rng, n, WEIGHT_KNOTS, step=0.1),
        "height": anchored_sample(rng, n, HEIGHT_KNOTS, step=1),
        "sle_years": anchored_sample(rng, n, SLE_YEARS_KNOTS, step=0.1),
        "prednisone": anchored_sample(rng, n, PREDNISONE_KNOTS, step=5),
    })
    for drug, fraction in BACKGROUND_DRUGS.items():
        frame[drug] = exact_flags(rng, n, round_half_up(n * fraction))
    frame["sle_diag"] = frame["enrol"] - np.round(frame["sle_years"].to_numpy() * 365.25).astype("int64").astype("timedelta64[D]")
    frame["sle_diag_unknown_day"] = rng.random(n) < 0.25
    return frame


# ---------------------------------------------------------------------------------------------------------
# Disease course: SLEDAI descriptors, BILAG grades, PGA at every visit; who responds, drops out, misses a visit
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Course:
    present: np.ndarray        # bool (subjects, visits, items): descriptor present
    bilag: np.ndarray          # str (subjects, visits, domains): grade A-E
    pga: np.ndarray            # float (subjects, visits)
    visit_dates: np.ndarray    # datetime64[D] (subjects, visits)
    attended: np.ndarray       # bool (subjects, visits): assessments done (forms written, labs drawn)
    on_study: np.ndarray       # bool (subjects, visits): visit before or at the last one (rows written)
    end_date: np.ndarray       # datetime64[D] (subjects,): disposition date
    discontinued: np.ndarray   # bool (subjects,)
    reason: np.ndarray         # object (subjects,)


def _baseline_descriptors(rng: np.random.Generator, n: int, columns: list[str], weights: np.ndarray) -> np.ndarray:
    """Descriptors present at week 0, redrawn (whole subjects at once) until SLEDAI-2K >= 8 and at least one
    inclusion manifestation is present, as the registry's inclusion criteria require."""
    present = np.zeros((n, len(columns)), dtype=bool)
    todo = np.arange(n)
    inclusion = np.isin(columns, INCLUSION_DESCRIPTORS)
    while todo.size:
        draw = np.zeros((todo.size, len(columns)), dtype=bool)
        renal = rng.random(todo.size) < RENAL_INVOLVEMENT
        for j, column in enumerate(columns):
            if column in RENAL_PREVALENCE_IF_INVOLVED:
                draw[:, j] = renal & (rng.random(todo.size) < RENAL_PREVALENCE_IF_INVOLVED[column])
            else:
                draw[:, j] = rng.random(todo.size) < DESCRIPTOR_PREVALENCE[column]
        eligible = (draw @ weights >= MIN_BASELINE_SLEDAI) & draw[:, inclusion].any(axis=1)
        present[todo[eligible]] = draw[eligible]
        todo = todo[~eligible]
    return present


def _visit_dates(study: Study, subjects: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Week 0 = the enrolment date (study day -3..1); later visits at the target day +-3, kept in the window."""
    n = len(subjects)
    dates = np.empty((n, len(study.visits)), dtype="datetime64[D]")
    first_dose = subjects["first_dose"].to_numpy(dtype="datetime64[D]")
    dates[:, 0] = subjects["enrol"].to_numpy(dtype="datetime64[D]")
    for v, visit in enumerate(study.visits[1:], start=1):
        day = np.clip(visit.target_day + rng.integers(-3, 4, n), max(visit.window[0], 1), visit.window[1])
        dates[:, v] = first_dose + (day - 1).astype("timedelta64[D]")
    return dates


def _simulate_course(study: Study, subjects: pd.DataFrame, contract: RawContract, rng: np.random.Generator) -> Course:
    """SRI by construction from the instruments (Furie 2009 rule; domain.md section 3):
    - every descriptor present at week 0 resolves at a visit drawn from its organ's per-visit hazard;
    - the round(0.9 N) planned responders have a SLEDAI-2K reduction >= 4 at the abstract visit (extra
      descriptors resolve there if the draw fell short); the others have a reduction <= 3 there (descriptors
      that resolved too early return) or have discontinued before it;
    - BILAG grades only improve with the descriptors (no new A) except one new B in NEW_BILAG_B_FRACTION of
      subjects; the PGA falls with the SLEDAI and never rises by more than 0.2;
    - after the abstract visit RELAPSE_FRACTION of subjects see one resolved descriptor return.
    Non-responders are drawn with lower odds when skin, haematologic or fever descriptors are present."""
    n, n_visits = len(subjects), len(study.visits)
    columns = [item["column"] for item in contract.sledai_items]
    weights = np.array([item["weight"] for item in contract.sledai_items], dtype=int)
    organs = [item["organ"] for item in contract.sledai_items]
    abstract = [v.week for v in study.visits].index(study.endpoints.abstract_visit_week)
    never = n_visits  # a resolution "visit" index after the last visit

    base = _baseline_descriptors(rng, n, columns, weights)
    hazards = np.array([RESOLUTION_HAZARD[o] for o in organs])
    resolve_at = np.minimum(rng.geometric(hazards, size=(n, len(columns))), never)

    # who responds at the abstract visit: fewer non-responders among good-prognosis involvement
    good = base[:, np.isin(organs, ["SKIN", "HAEMATOLOGIC", "FEVER"])].sum(axis=1)
    odds = 1.0 / (1.0 + good)
    n_non = n - round_half_up(n * RESPONDER_FRACTION)
    non_responder = np.zeros(n, dtype=bool)
    if n_non:
        non_responder[rng.choice(n, size=n_non, replace=False, p=odds / odds.sum())] = True

    def reduction_at(visit: int) -> np.ndarray:
        return (base & (resolve_at <= visit)) @ weights

    # responders: resolve more descriptors at the abstract visit until the reduction reaches 4, most
    # responsive organs first (weights break ties, so a single heavy item is not the default)
    order = sorted(range(len(columns)), key=lambda j: (-hazards[j], weights[j], j))
    for j in order:
        short = ~non_responder & (reduction_at(abstract) < 4) & base[:, j] & (resolve_at[:, j] > abstract)
        resolve_at[short, j] = abstract
    # non-responders: the heaviest early-resolved descriptors persist past the abstract visit until <= 3
    for j in sorted(range(len(columns)), key=lambda j: (-weights[j], j)):
        over = non_responder & (reduction_at(abstract) >= 4) & base[:, j] & (resolve_at[:, j] <= abstract)
        resolve_at[over, j] = rng.integers(abstract + 1, never + 1, over.sum())

    visit_index = np.arange(n_visits)[None, :, None]
    relapse_from = np.full((n, len(columns)), never + 1)
    if abstract + 1 < n_visits:
        relapsing = np.flatnonzero(rng.random(n) < RELAPSE_FRACTION)
        relapse_visit = rng.integers(abstract + 1, n_visits, relapsing.size)
        resolved_by = base[relapsing] & (resolve_at[relapsing] <= relapse_visit[:, None])
        score = np.where(resolved_by, weights + rng.random(resolved_by.shape), -1.0)
        has_item = resolved_by.any(axis=1)
        item = score.argmax(axis=1)
        relapse_from[relapsing[has_item], item[has_item]] = relapse_visit[has_item]
    present = base[:, None, :] & ((visit_index < resolve_at[:, None, :]) | (visit_index >= relapse_from[:, None, :]))

    # discontinuations (among non-responders, before the abstract visit) and missed visits (responders, never
    # at the abstract visit)
    visit_dates = _visit_dates(study, subjects, rng)
    n_disc = min(round_half_up(n * DISCONTINUED_FRACTION), n_non)
    discontinued = np.zeros(n, dtype=bool)
    discontinued[rng.permutation(np.flatnonzero(non_responder))[:n_disc]] = True
    last_visit = np.full(n, n_visits - 1)
    last_visit[discontinued] = rng.integers(1, max(abstract, 2), n_disc)
    on_study = np.arange(n_visits)[None, :] <= last_visit[:, None]
    attended = on_study.copy()
    n_missed = min(round_half_up(n * MISSED_VISIT_FRACTION), int((~non_responder).sum()))
    missed_subjects = rng.permutation(np.flatnonzero(~non_responder))[:n_missed]
    candidates = np.array([v for v in range(1, n_visits) if v != abstract])
    if candidates.size:
        attended[missed_subjects, rng.choice(candidates, n_missed)] = False
    end_date = visit_dates[np.arange(n), last_visit] + np.where(discontinued, rng.integers(1, 11, n), 0).astype("timedelta64[D]")
    reason = np.where(discontinued, rng.choice(DISCONTINUATION_REASONS, n), None).astype(object)

    bilag = _bilag_grades(rng, present, columns, contract)
    pga = _pga(rng, present, weights)
    return Course(present=present, bilag=bilag, pga=pga, visit_dates=visit_dates, attended=attended,
                  on_study=on_study, end_date=end_date, discontinued=discontinued, reason=reason)


BILAG_GRADES = ["A", "B", "C", "D", "E"]  # codes 0-4 in the arrays below


def _bilag_grades(rng: np.random.Generator, present: np.ndarray, columns: list[str], contract: RawContract) -> np.ndarray:
    """BILAG-2004 grades (codes 0-4 for A-E) that follow the SLEDAI descriptors of the same organ: an active
    domain is A or B at week 0, stays there while all its descriptors persist, A becomes B while some persist,
    and the domain is C at the visit its last descriptor resolves and D afterwards. Inactive domains are D or E
    (constitutional may be C). One new B (from C, D or E) at one visit in NEW_BILAG_B_FRACTION of subjects:
    the SRI allows one."""
    A, B, C, D, E = range(5)
    n, n_visits, _ = present.shape
    domains = [d["column"] for d in contract.bilag_domains]
    grades = np.empty((n, n_visits, len(domains)), dtype=np.int8)
    for k, domain in enumerate(domains):
        items, share_a = BILAG_FROM_SLEDAI[domain]
        idx = [columns.index(c) for c in items]
        active = present[:, :, idx].sum(axis=2) if idx else np.zeros((n, n_visits), dtype=int)
        at_base = active[:, :1]
        inactive_grade = np.where(rng.random(n) < 0.3, D, E)
        if domain == "CONSTITUTIONAL":
            inactive_grade = np.where(rng.random(n) < 0.2, C, inactive_grade)
        base_grade = np.where(active[:, 0] > 0, np.where(rng.random(n) < share_a, A, B), inactive_grade)
        previous = np.concatenate([at_base, active[:, :-1]], axis=1)
        grade = np.broadcast_to(base_grade[:, None], (n, n_visits)).copy()
        partly = (at_base > 0) & (active > 0) & (active < at_base)
        grade[partly & (grade == A)] = B
        resolved = (at_base > 0) & (active == 0)
        grade[resolved] = np.where(previous[resolved] > 0, C, D)
        grades[:, :, k] = grade
    new_b = np.flatnonzero(rng.random(n) < NEW_BILAG_B_FRACTION)
    domain_k = rng.choice([domains.index("CONSTITUTIONAL"), domains.index("MUSCULOSKELETAL")], new_b.size)
    visit = rng.integers(1, n_visits, new_b.size)
    allowed = grades[new_b, 0, domain_k] >= C
    grades[new_b[allowed], visit[allowed], domain_k[allowed]] = B
    return grades


def _pga(rng: np.random.Generator, present: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """PGA (0-3 VAS): baseline around 2.2; falls about 0.085 per SLEDAI-2K point resolved; capped at
    baseline + 0.2 so that it never worsens by 0.3 (the SRI criterion) and at 0-3."""
    n, n_visits, _ = present.shape
    sledai = present @ weights
    baseline = np.clip(np.round(rng.normal(2.2, 0.35, n), 2), 1.0, 3.0)
    value = baseline[:, None] - 0.085 * (sledai[:, :1] - sledai) + rng.normal(0, 0.12, (n, n_visits))
    value[:, 0] = baseline
    return np.round(np.clip(value, 0, np.minimum(3.0, baseline[:, None] + 0.2)), 2)


# ---------------------------------------------------------------------------------------------------------
# Forms (built as arrow text columns: millions of rows without Python objects)
# ---------------------------------------------------------------------------------------------------------
def _text_frame(columns: dict[str, object], order: list[str]) -> pd.DataFrame:
    """Every column as text (dtype str, NaN for blank), in the form's column order."""
    return pa.table({name: _arrow_text(columns[name]) for name in order}).to_pandas()


def _enrolment_form(study: Study, subjects: pd.DataFrame, contract: RawContract) -> pd.DataFrame:
    n = len(subjects)
    columns = {
        "SUBJECT": subjects["SUBJECT"].to_numpy(),
        "SITE": constant(study.study.site, n),
        "CONSENT_DATE": edc_dates(subjects["consent"].to_numpy()),
        "ENROL_DATE": edc_dates(subjects["enrol"].to_numpy()),
        "AGE": format_numbers(subjects["age"].to_numpy(), 0),
        "SEX": coded(["Male", "Female"], subjects["female"].to_numpy()),
        "RACE": constant("Asian", n),
        "ETHNICITY": constant("Not Hispanic or Latino", n),
        "WEIGHT_KG": format_numbers(subjects["weight"].to_numpy(), 1),
        "HEIGHT_CM": format_numbers(subjects["height"].to_numpy(), 0),
        "SLE_DIAG_DATE": partial_edc_dates(subjects["sle_diag"].to_numpy(), subjects["sle_diag_unknown_day"].to_numpy(), np.zeros(n, dtype=bool)),
        "PREDNISONE_MGD": format_numbers(subjects["prednisone"].to_numpy(), 1),
    }
    for drug in BACKGROUND_DRUGS:
        columns[drug] = yes_no(subjects[drug].to_numpy())
    return _text_frame(columns, contract.columns("enrolment"))


def _dosing_form(study: Study, subjects: pd.DataFrame, course: Course, contract: RawContract,
                 rng: np.random.Generator) -> pd.DataFrame:
    """One row per injection given: 3 cycles x 7 injections on the plan's dose days; day 1 is never missed;
    a discontinued subject's injections stop before the disposition date."""
    dosing = study.dosing
    days = np.array(dosing.planned_dose_days())
    n, per_subject = len(subjects), days.size
    first = subjects["first_dose"].to_numpy(dtype="datetime64[D]")
    dates = first[:, None] + (days - 1)[None, :].astype("timedelta64[D]")
    given = (rng.random((n, per_subject)) >= MISSED_INJECTION) & (dates < course.end_date[:, None])
    given[:, 0] = True
    subject_index, planned_index = np.nonzero(given)
    cycle = np.repeat(np.arange(1, dosing.cycles + 1), dosing.doses_per_cycle)
    injection = np.tile(np.arange(1, dosing.doses_per_cycle + 1), dosing.cycles)
    sites, site_p = INJECTION_SITES
    total = subject_index.size
    columns = {
        "SUBJECT": coded(subjects["SUBJECT"].tolist(), subject_index),
        "CYCLE": format_numbers(cycle[planned_index], 0),
        "INJECTION": format_numbers(injection[planned_index], 0),
        "DOSE_DATE": edc_dates(dates[subject_index, planned_index]),
        "DOSE": format_numbers(np.full(total, dosing.dose), 2),
        "DOSE_UNIT": constant("MIU", total),
        "INJECTION_SITE": coded(sites, rng.choice(len(sites), total, p=site_p)),
    }
    return _text_frame(columns, contract.columns("dosing"))


def _adverse_events_form(study: Study, subjects: pd.DataFrame, course: Course, contract: RawContract,
                         rng: np.random.Generator) -> pd.DataFrame:
    """Injection-site reactions (exactly round(N x 5/40) subjects, Mild, in the first two cycles), other
    mild or moderate AEs at random times on study (Poisson), and round(N/40) history-like AEs that start and
    end before the first dose. No Severe and no serious AE. An end date after the data cut-off makes the AE
    ongoing. ACTION is "Not applicable" for AEs starting before the first or after the last dose."""
    n = len(subjects)
    first = subjects["first_dose"].to_numpy(dtype="datetime64[D]")
    on_study_days = (course.end_date - first).astype(int) + 1
    cutoff = _to_days(study.data_cutoff)
    dose_days = np.array(study.dosing.planned_dose_days())

    # injection-site reactions, at an injection of the first two cycles
    isr = np.flatnonzero(exact_flags(rng, n, round_half_up(n * INJECTION_SITE_FRACTION)))
    early = dose_days[: 2 * study.dosing.doses_per_cycle]
    isr_day = np.minimum(early[rng.integers(0, early.size, isr.size)], on_study_days[isr])
    _, llt = INJECTION_SITE_AE
    isr_frame = pd.DataFrame({
        "subject": isr, "start": first[isr] + (isr_day - 1).astype("timedelta64[D]"),
        "duration": rng.integers(1, 4, isr.size), "AE_TERM": rng.choice(INJECTION_SITE_VERBATIMS, isr.size),
        "AE_LLT": llt, "SEVERITY": "Mild",
        "RELATIONSHIP": rng.choice(["Probably related", "Definitely related"], isr.size), "kind": "isr",
    })

    # other AEs on study
    who = np.repeat(np.arange(n), rng.poisson(OTHER_AES_PER_SUBJECT, n))
    catalogue = pd.DataFrame(OTHER_AES, columns=["AE_TERM", "AE_LLT", "relationships", "moderate", "weight"])
    share = catalogue["weight"].to_numpy(dtype=float)
    entry = rng.choice(len(catalogue), who.size, p=share / share.sum())
    chosen = catalogue.iloc[entry].reset_index(drop=True)
    related_first = np.array([r[0] for r in catalogue["relationships"]], dtype=object)
    related_second = np.array([r[1] for r in catalogue["relationships"]], dtype=object)
    other_frame = pd.DataFrame({
        "subject": who,
        "start": first[who] + np.floor(rng.random(who.size) * on_study_days[who]).astype("int64").astype("timedelta64[D]"),
        "duration": rng.integers(1, 15, who.size),
        "AE_TERM": chosen["AE_TERM"], "AE_LLT": chosen["AE_LLT"],
        "SEVERITY": np.where(rng.random(who.size) < chosen["moderate"].to_numpy(dtype=float), "Moderate", "Mild"),
        "RELATIONSHIP": np.where(rng.random(who.size) < 0.5, related_first[entry], related_second[entry]),
        "kind": "other",
    })

    # history-like AEs ending before the first dose
    pre = np.flatnonzero(exact_flags(rng, n, round_half_up(n * PRE_DOSE_AE_FRACTION)))
    verbatim, llt = PRE_DOSE_AE
    pre_start = first[pre] - rng.integers(10, 31, pre.size).astype("timedelta64[D]")
    pre_frame = pd.DataFrame({
        "subject": pre, "start": pre_start,
        "duration": np.minimum(rng.integers(2, 8, pre.size), (first[pre] - pre_start).astype(int) - 1),
        "AE_TERM": verbatim, "AE_LLT": llt, "SEVERITY": "Mild",
        "RELATIONSHIP": "Not related", "kind": "pre",
    })

    events = pd.concat([isr_frame, other_frame, pre_frame], ignore_index=True)
    m = len(events)
    subject = events["subject"].to_numpy(dtype=np.int64)
    start = events["start"].to_numpy(dtype="datetime64[D]")
    end = start + (events["duration"].to_numpy(dtype=np.int64) - 1).astype("timedelta64[D]")
    is_other = events["kind"].eq("other").to_numpy()
    ongoing = (end > cutoff) | (is_other & (rng.random(m) < ONGOING_AT_END))
    start_day = (start - first[subject]).astype(int) + 1
    off_treatment = (start_day < 1) | (start_day > dose_days[-1]) | (start >= course.end_date[subject])
    outcome = np.where(ongoing, np.where(rng.random(m) < 0.5, 1, 2), 0)

    # partial start dates on other on-study AEs only: a few unknown days, round(N/40) unknown months
    unknown_day = is_other & (rng.random(m) < UNKNOWN_DAY_AE)
    unknown_month = np.zeros(m, dtype=bool)
    n_unknown_month = min(round_half_up(n * UNKNOWN_MONTH_AE_FRACTION), int(is_other.sum()))
    unknown_month[rng.permutation(np.flatnonzero(is_other))[:n_unknown_month]] = True

    # rows by subject and start date (ties: the order the events were generated); AE_NO counts within subject
    order = np.lexsort((np.arange(m), start, subject))
    sorted_subject = subject[order]
    first_of_subject = np.r_[0, np.flatnonzero(sorted_subject[1:] != sorted_subject[:-1]) + 1] if m else np.array([], dtype=int)
    ae_no = np.arange(m) - np.repeat(first_of_subject, np.diff(np.r_[first_of_subject, m])) + 1
    text = {c: events[c].to_numpy(dtype=object)[order] for c in ["AE_TERM", "AE_LLT", "SEVERITY", "RELATIONSHIP"]}
    coding = meddra_coding(pd.Series(text["AE_LLT"], dtype=object))  # the coding tool's export, from the dictionary
    columns = {
        "SUBJECT": coded(subjects["SUBJECT"].tolist(), sorted_subject),
        "AE_NO": format_numbers(ae_no, 0),
        "AE_TERM": text["AE_TERM"],
        **{f"AE_{c}": (coding[c].astype("str") if c.endswith("_CODE") else coding[c]).to_numpy(dtype=object) for c in MEDDRA_CODING_COLUMNS},
        "START_DATE": partial_edc_dates(start[order], unknown_day[order], unknown_month[order]),
        "END_DATE": edc_dates(end[order], blank=ongoing[order]),
        "ONGOING": yes_no(ongoing[order]),
        "SEVERITY": text["SEVERITY"],
        "SERIOUS": constant("No", m),
        "RELATIONSHIP": text["RELATIONSHIP"],
        "ACTION": coded(["Dose not changed", "Not applicable"], off_treatment[order]),
        "OUTCOME": coded(["Recovered/resolved", "Recovering/resolving", "Not recovered/not resolved"], outcome[order]),
    }
    return _text_frame(columns, contract.columns("adverse_events"))


@dataclass
class _Cells:
    """The (subject, visit) cells a form has rows for, in subject then visit order."""
    subject_index: np.ndarray
    visit_index: np.ndarray
    subject: pa.Array
    visit: pa.Array
    date: pa.Array

    @property
    def size(self) -> int:
        return self.subject_index.size

    def repeated(self, times: int) -> dict[str, pa.Array]:
        """SUBJECT, VISIT and date for `times` rows per cell (cell-major order)."""
        take = pa.array(np.repeat(np.arange(self.size), times))
        return {"SUBJECT": self.subject.take(take), "VISIT": self.visit.take(take), "date": self.date.take(take)}


def _visit_cells(study: Study, subjects: pd.DataFrame, course: Course, rows: np.ndarray, dated: np.ndarray | None = None) -> _Cells:
    subject_index, visit_index = np.nonzero(rows)
    blank = None if dated is None else ~dated[subject_index, visit_index]
    return _Cells(
        subject_index=subject_index, visit_index=visit_index,
        subject=coded(subjects["SUBJECT"].tolist(), subject_index),
        visit=coded([v.edc_label for v in study.visits], visit_index),
        date=edc_dates(course.visit_dates[subject_index, visit_index], blank=blank),
    )


def _interleave(per_item: list[pa.Array], cells: int) -> pa.Array:
    """Arrays of one item each (item-major) to cell-major order: cell 1 items 1..k, cell 2 items 1..k, ..."""
    order = (np.arange(cells)[:, None] + cells * np.arange(len(per_item))[None, :]).ravel()
    return pa.concat_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in per_item]).take(pa.array(order))


def _lab_values(model: dict, abnormal: np.ndarray, subject_effect: np.ndarray, visit_index: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """A value in the standard unit: position in the abnormal band (descriptor present) or the normal band,
    position = 0.5 + subject effect + trend x visit index + noise, clipped to the band."""
    position = np.clip(0.5 + subject_effect + model["trend"] * visit_index + rng.normal(0, LAB_NOISE, visit_index.size), 0, 1)
    normal = model["normal"]
    band = model.get("abnormal", normal)
    low = np.where(abnormal, band[0], normal[0])
    high = np.where(abnormal, band[1], normal[1])
    if model.get("log"):
        return np.exp(np.log(low) + position * (np.log(high) - np.log(low)))
    return low + position * (high - low)


def _laboratory_form(study: Study, subjects: pd.DataFrame, course: Course, contract: RawContract,
                     rng: np.random.Generator) -> pd.DataFrame:
    """Every test of lab_tests.yaml at every attended visit, in its first collected unit or (LAB_ALTERNATE_UNIT
    of rows) its second, with local reference ranges in the same unit (decimals follow the unit: g/L 2 dp is
    mg/dL 0 dp); LAB_NOT_DONE of results not done (blank result, unit and range); anti-dsDNA below its
    detection limit reported as "<10"."""
    cells = _visit_cells(study, subjects, course, course.attended)
    sledai_columns = [item["column"] for item in contract.sledai_items]
    columns: dict[str, list[pa.Array]] = {"TEST": [], "RESULT": [], "UNIT": [], "REF_LOW": [], "REF_HIGH": [], "NOT_DONE": []}
    tests = sorted(contract.laboratory, key=lambda t: t["edc_test"])  # rows already in the CSV order
    for test in tests:
        model = LAB_MODEL[test["paramcd"]]
        abnormal = np.zeros(cells.size, dtype=bool)
        if "linked" in model:
            abnormal = course.present[cells.subject_index, cells.visit_index, sledai_columns.index(model["linked"])]
        subject_effect = rng.normal(0, LAB_SUBJECT_SPREAD, len(subjects))[cells.subject_index]
        value = _lab_values(model, abnormal, subject_effect, cells.visit_index, rng)
        units = list(test["units"])[:2]
        unit_code = (rng.random(cells.size) < LAB_ALTERNATE_UNIT).astype(np.int64) if len(units) > 1 else np.zeros(cells.size, dtype=np.int64)
        not_done = rng.random(cells.size) < LAB_NOT_DONE
        # results formatted per collected unit, then put back in row order
        texts, rows, ref_low, ref_high = [], [], [], []
        for k, unit in enumerate(units):
            factor = float(test["units"][unit])  # standard = collected x factor
            decimals = max(0, model["decimals"] + round(math.log10(factor)))
            in_unit = np.flatnonzero(unit_code == k)
            collected = value[in_unit] / factor
            text = format_numbers(collected, decimals)
            if "detection_limit" in model:
                limit = model["detection_limit"] / factor
                below = pa.array(collected < limit)
                text = pc.if_else(below, pa.scalar("<" + format_numbers(np.array([limit]), decimals)[0].as_py()), text)
            texts.append(text)
            rows.append(in_unit)
            ref_low.append(format_numbers(np.array([model["ref"][0] / factor]), decimals)[0].as_py())
            ref_high.append(format_numbers(np.array([model["ref"][1] / factor]), decimals)[0].as_py())
        back = np.argsort(np.concatenate(rows), kind="stable")
        result = pa.concat_arrays(texts).take(pa.array(back))
        shown = np.where(not_done, -1, unit_code)
        columns["TEST"].append(constant(test["edc_test"], cells.size))
        columns["RESULT"].append(pc.if_else(pa.array(not_done), pa.scalar(None, pa.string()), result))
        columns["UNIT"].append(coded(units, shown))
        columns["REF_LOW"].append(coded(ref_low, shown))
        columns["REF_HIGH"].append(coded(ref_high, shown))
        columns["NOT_DONE"].append(yes_no(not_done))
    per_cell = len(tests)
    common = cells.repeated(per_cell)
    frame = {"SUBJECT": common["SUBJECT"], "VISIT": common["VISIT"], "COLLECTION_DATE": common["date"]}
    frame.update({name: _interleave(arrays, cells.size) for name, arrays in columns.items()})
    return _text_frame(frame, contract.columns("laboratory"))


def _flow_form(study: Study, subjects: pd.DataFrame, course: Course, contract: RawContract,
               rng: np.random.Generator) -> pd.DataFrame:
    """Each population of lab_tests.yaml at every attended visit: baseline x (1 + change x (1 - exp(-week/4)))
    with subject and visit lognormal noise (Treg ~4% -> ~8% of CD4; effector CD4, Th17, Tfh fall)."""
    cells = _visit_cells(study, subjects, course, course.attended)
    weeks = np.array([v.week for v in study.visits], dtype=float)[cells.visit_index]
    names, percents = [], []
    for population in sorted(contract.flow_cytometry, key=lambda p: p["edc_population"]):
        model = FLOW_MODEL[population["paramcd"]]
        subject_level = model["baseline"] * np.exp(rng.normal(0, model["subject_sd"], len(subjects)))
        trend = 1 + model["change"] * (1 - np.exp(-weeks / FLOW_TIME_CONSTANT_WEEKS))
        percent = subject_level[cells.subject_index] * trend * np.exp(rng.normal(0, FLOW_NOISE, cells.size))
        names.append(constant(population["edc_population"], cells.size))
        percents.append(format_numbers(np.clip(percent, 0.01, 99.0), 2))
    common = cells.repeated(len(names))
    frame = {"SUBJECT": common["SUBJECT"], "VISIT": common["VISIT"], "COLLECTION_DATE": common["date"],
             "POPULATION": _interleave(names, cells.size), "PERCENT": _interleave(percents, cells.size)}
    return _text_frame(frame, contract.columns("flow_cytometry"))


def _assessment_forms(study: Study, subjects: pd.DataFrame, course: Course, contract: RawContract) -> dict[str, pd.DataFrame]:
    """SLEDAI-2K, BILAG-2004 and PGA rows for every visit up to the subject's last; a missed visit has
    NOT_DONE=Yes with blank date and items."""
    cells = _visit_cells(study, subjects, course, course.on_study, dated=course.attended)
    s, v = cells.subject_index, cells.visit_index
    done = course.attended[s, v]
    common = {"SUBJECT": cells.subject, "VISIT": cells.visit, "ASSESSMENT_DATE": cells.date, "NOT_DONE": yes_no(~done)}
    sledai = dict(common)
    for j, item in enumerate(contract.sledai_items):
        sledai[item["column"]] = coded(["Absent", "Present"], np.where(done, course.present[s, v, j], -1))
    bilag = dict(common)
    for k, domain in enumerate(contract.bilag_domains):
        bilag[domain["column"]] = coded(BILAG_GRADES, np.where(done, course.bilag[s, v, k], -1))
    pga = dict(common)
    pga["PGA"] = format_numbers(course.pga[s, v], 2, blank=~done)
    return {
        "sledai": _text_frame(sledai, contract.columns("sledai")),
        "bilag": _text_frame(bilag, contract.columns("bilag")),
        "pga": _text_frame(pga, contract.columns("pga")),
    }


def _disposition_form(subjects: pd.DataFrame, course: Course, contract: RawContract) -> pd.DataFrame:
    columns = {
        "SUBJECT": subjects["SUBJECT"].to_numpy(),
        "STATUS": coded(["Completed", "Discontinued"], course.discontinued),
        "DISPOSITION_DATE": edc_dates(course.end_date),
        "REASON": course.reason,
    }
    return _text_frame(columns, contract.columns("disposition"))


def simulate(study: Study, subjects: int, seed: int) -> dict[str, pd.DataFrame]:
    """The raw EDC extract of a synthetic trial of `subjects` subjects: one text frame per form of
    forms.yaml, with exactly its columns, values as the EDC exports them (blank = NaN)."""
    if subjects < 1:
        raise SapError(Problem("simulate", "the synthetic twin needs at least one subject", variable="subjects", value=subjects))
    contract = load_raw_contract()
    streams = dict(zip(_PARTS, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(_PARTS)))))
    people = _simulate_subjects(study, subjects, streams["subjects"])
    course = _simulate_course(study, people, contract, streams["course"])
    forms = {
        "enrolment": _enrolment_form(study, people, contract),
        "dosing": _dosing_form(study, people, course, contract, streams["dosing"]),
        "adverse_events": _adverse_events_form(study, people, course, contract, streams["adverse_events"]),
        "laboratory": _laboratory_form(study, people, course, contract, streams["laboratory"]),
        "flow_cytometry": _flow_form(study, people, course, contract, streams["flow_cytometry"]),
        **_assessment_forms(study, people, course, contract),
        "disposition": _disposition_form(people, course, contract),
    }
    return {name: forms[name] for name in contract.forms}


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------
def _key_ranks(column: pd.Series) -> tuple[np.ndarray, int]:
    """Sort ranks of one key column and their count: labels ending in a number (visit labels, AE numbers)
    by that number, so Week 2 comes before Week 10; other text alphabetically."""
    codes, uniques = pd.factorize(column, sort=True)
    labels = pd.Series(uniques, dtype="str")
    numbers = pd.to_numeric(labels.str.extract(r"^\D*(\d+)$")[0], errors="coerce")
    if column.name != "SUBJECT" and len(labels) and numbers.notna().all():
        by_number = np.argsort(numbers.to_numpy(), kind="stable")
        rank = np.empty(len(labels), dtype=np.int64)
        rank[by_number] = np.arange(len(labels))
        codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    return codes.astype(np.int64) + 1, len(labels) + 1  # blank (-1) sorts first


def _row_order(frame: pd.DataFrame, keys: list[str]) -> np.ndarray | None:
    """Positions that sort the rows by the form's keys, or None when they are in order already."""
    combined = np.zeros(len(frame), dtype=np.int64)
    for key in keys:
        ranks, radix = _key_ranks(frame[key])
        combined = combined * radix + ranks
    if np.all(combined[1:] >= combined[:-1]):
        return None
    return np.argsort(combined, kind="stable")


def write_raw(forms: dict[str, pd.DataFrame], folder: str | Path) -> dict[str, int]:
    """One CSV per form (file names from forms.yaml): the form's columns in order, rows sorted by its keys,
    no index, UTF-8, '\\n' line ends, text quoted (RFC 4180), blank as an empty field. Written by arrow's
    CSV writer (fast at 100,000 subjects; numbers, if any, in shortest round-trip form). Returns rows per form."""
    contract = load_raw_contract()
    folder = Path(folder)
    counts = {}
    for name, form in contract.forms.items():
        frame = forms[name]
        columns = list(form["columns"])
        if list(frame.columns) != columns:
            raise SapError(Problem(form["file"], f"columns differ from forms.yaml: expected {columns}", value=list(frame.columns)))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        order = _row_order(frame, form["keys"])
        if order is not None:
            table = table.take(pa.array(order))
        pacsv.write_csv(table, folder / form["file"], write_options=pacsv.WriteOptions(quoting_style="needed"))
        counts[name] = table.num_rows
    return counts


def run_stage(ctx) -> dict[str, int]:
    """`sap simulate`: write the twin's raw extract into OUT/raw atomically."""
    forms = simulate(ctx.study, ctx.subjects, ctx.seed)
    with ctx.staging("raw") as folder:
        counts = write_raw(forms, folder)
    return {"subjects": len(forms["enrolment"]), "records": sum(counts.values())}
