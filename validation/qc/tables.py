"""Table QC: a second, independent computation of the tables' analysis results (ARD), from production ADaM
and the plan only (no import of `tlf/`), compared value by value with the ARD production builds.

Written from the SAP (sap/sap.qmd: populations, non-responder imputation, methods, rounding), the display
rules of sap/specs/display.yaml and the ARD key vocabulary of the SAP section "Analysis results data". The
arithmetic deliberately differs from production's: decimals through `decimal.Decimal` with ROUND_HALF_UP
(half away from zero) instead of exact fractions, `statistics` quantiles, scipy's Wilcoxon directly instead of
pingouin, Clopper-Pearson from beta quantiles, the binomial test summed from the binomial pmf.

A QC ARD row has the production ARD key (OUTPUT, GROUP1, GROUP1_LEVEL, GROUP2, GROUP2_LEVEL, VARIABLE,
VARIABLE_LEVEL, STAT), VALUE (float) and FORMATTED (display text). Tables double-programmed: `QC_TABLES`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from sap.specs import SPECS_DIR, load_codelists
from sap.study import Study

KEYS = ["OUTPUT", "GROUP1", "GROUP1_LEVEL", "GROUP2", "GROUP2_LEVEL", "VARIABLE", "VARIABLE_LEVEL", "STAT"]
PRECISION_DIGITS = 60  # working precision of the decimal arithmetic


def display_rules() -> dict:
    with open(SPECS_DIR / "display.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def to_decimal(value) -> Decimal:
    """A float as the decimal it was recorded as (its shortest repr); ints as is."""
    if isinstance(value, (int, np.integer)):
        return Decimal(int(value))
    return Decimal(repr(float(value)))


def rounded(value: Decimal, places: int) -> str:
    """Half away from zero (decimal ROUND_HALF_UP) to `places`; no minus sign on a zero result."""
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)
    return f"{q:.{places}f}"


class QcArd:
    """QC ARD rows of one table."""

    def __init__(self, output: str, rules: dict):
        self.output, self.rules, self.rows = output, rules, []

    def places(self, stat: str, collected: int = 0) -> int:
        rule = str(self.rules["precision"][stat])
        return collected + int(rule[1:]) if rule.startswith("+") else int(rule)

    def put(self, stat, value, text, groups=(), variable="", level=""):
        pairs = list(groups) + [("", "")] * (2 - len(groups))
        self.rows.append({"OUTPUT": self.output, "GROUP1": pairs[0][0], "GROUP1_LEVEL": str(pairs[0][1]),
                          "GROUP2": pairs[1][0], "GROUP2_LEVEL": str(pairs[1][1]), "VARIABLE": variable,
                          "VARIABLE_LEVEL": str(level), "STAT": stat,
                          "VALUE": np.nan if value is None else float(value), "FORMATTED": text})

    def percent(self, x: int, n: int) -> tuple[Decimal, str]:
        with localcontext() as ctx:
            ctx.prec = PRECISION_DIGITS
            value = Decimal(100 * x) / Decimal(n)
        return value, rounded(value, self.places("percent"))

    def n_pct(self, x, n, **where):
        self.put("n", x, str(x), **where)
        self.put("N", n, str(n), **where)
        if n:
            value, text = self.percent(x, n)
            self.put("pct", value, text, **where)

    def rate(self, x, n, confidence, **where):
        self.n_pct(x, n, **where)
        if n:
            alpha = 1 - confidence
            low = stats.beta.ppf(alpha / 2, x, n - x + 1) if x > 0 else 0.0
            high = stats.beta.ppf(1 - alpha / 2, x + 1, n - x) if x < n else 1.0
            for stat, bound in (("lcl", low), ("ucl", high)):
                value = to_decimal(bound) * 100
                self.put(stat, value, rounded(value, self.places("percent")), **where)

    def p_value(self, p, stat, **where):
        if p is None or np.isnan(p):
            self.put(stat, None, "NE", **where)
            return
        places = self.places("p_value")
        floor = Decimal(1).scaleb(-places)
        d = to_decimal(p)
        text = f"<{floor}" if d < floor else f">{1 - floor}" if d > 1 - floor else rounded(d, places)
        self.put(stat, p, text, **where)

    def summary(self, values: pd.Series, collected: int, only: tuple | None = None, **where):
        """n, mean, SD, median, Q1, Q3, min, max (`only`: those the table shows)."""
        data = sorted(to_decimal(v) for v in pd.Series(values, dtype="float64").dropna())
        n = len(data)
        rows = [("n", n, str(n))]
        if n:
            with localcontext() as ctx:
                ctx.prec = PRECISION_DIGITS
                mean = sum(data, Decimal(0)) / n
                rows.append(("mean", mean, rounded(mean, self.places("mean", collected))))
                if n > 1:
                    sd = (sum(((v - mean) ** 2 for v in data), Decimal(0)) / (n - 1)).sqrt()
                    rows.append(("sd", sd, rounded(sd, self.places("sd", collected))))
                median = statistics.median(data)
                q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive") if n > 1 else (data[0], None, data[0])
            rows += [("median", median, rounded(median, self.places("median", collected))),
                     ("q1", q1, rounded(q1, self.places("quartile", collected))),
                     ("q3", q3, rounded(q3, self.places("quartile", collected))),
                     ("min", data[0], rounded(data[0], self.places("minmax", collected))),
                     ("max", data[-1], rounded(data[-1], self.places("minmax", collected)))]
        for stat, value, text in rows:
            if only is None or stat in only:
                self.put(stat, value, text, **where)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=[*KEYS, "VALUE", "FORMATTED"])


# ------------------------------------------------------------------------------------------------ methods

def binomial_two_sided(x: int, n: int, p: float) -> float:
    """Exact two-sided binomial p: the sum of the probabilities of the outcomes no more likely than x
    (with the relative tolerance 1e-7 of R's binom.test)."""
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    return float(min(1.0, pmf[pmf <= pmf[x] * (1 + 1e-7)].sum()))


def wilcoxon_p(changes: pd.Series) -> float:
    """SAP Wilcoxon signed-rank: zeros dropped, exact when <= 50 non-zero differences without ties, else
    normal approximation with tie correction and no continuity correction; two-sided."""
    d = pd.Series(changes, dtype="float64").dropna().to_numpy()
    d = d[d != 0]
    if d.size == 0:
        return float("nan")
    ties = len(set(np.abs(d).tolist())) < d.size
    method = "exact" if d.size <= 50 and not ties else "asymptotic"
    return float(stats.wilcoxon(d, zero_method="wilcox", correction=False, method=method).pvalue)


def signrank_lower_index(n: int, alpha: float) -> int:
    """1-based index k of the lower Hodges-Lehmann limit under the exact signed-rank distribution: the
    smallest t with P(T+ <= t) >= alpha/2 (R qsignrank), at least 1; the distribution is the product of the
    polynomials (1 + x^r), r = 1..n (numpy convolution of integer counts)."""
    counts = np.array([1], dtype=np.int64)
    for r in range(1, n + 1):
        factor = np.zeros(r + 1, dtype=np.int64)
        factor[0] = factor[r] = 1
        counts = np.convolve(counts, factor)
    cdf = np.cumsum(counts) / float(2**n)
    return max(int(np.nonzero(cdf >= alpha / 2 - 1e-12)[0][0]), 1)


def change_estimates(q: "QcArd", changes: pd.Series, places: int, confidence: float, where: dict) -> None:
    """Mean change t-interval and Hodges-Lehmann shift with its CI (SAP 6.3), recorded as mean_lcl,
    mean_ucl, hl, hl_lcl, hl_ucl."""
    data = [to_decimal(v) for v in pd.Series(changes, dtype="float64").dropna()]
    n = len(data)
    alpha = 1 - confidence
    with localcontext() as ctx:
        ctx.prec = PRECISION_DIGITS
        if n >= 2:
            mean = sum(data, Decimal(0)) / n
            sd = (sum(((v - mean) ** 2 for v in data), Decimal(0)) / (n - 1)).sqrt()
            half = to_decimal(stats.t.ppf(1 - alpha / 2, n - 1)) * sd / Decimal(n).sqrt()
            d = q.places("ci_mean", places)
            q.put("mean_lcl", mean - half, rounded(mean - half, d), variable="CHG", **where)
            q.put("mean_ucl", mean + half, rounded(mean + half, d), variable="CHG", **where)
        nonzero = [v for v in data if v != 0]
        m = len(nonzero)
        if m == 0:
            return
        walsh = sorted((a + b) / 2 for i, a in enumerate(nonzero) for b in nonzero[i:])
        ties = len(set(abs(v) for v in nonzero)) < m
        if m <= 50 and not ties:
            k = signrank_lower_index(m, alpha)
        else:
            k = max(int(np.floor(len(walsh) / 2 - stats.norm.ppf(1 - alpha / 2) * np.sqrt(m * (m + 1) * (2 * m + 1) / 24))), 1)
        d = q.places("hodges_lehmann", places)
        estimate = statistics.median(walsh)
        for stat, value in (("hl", estimate), ("hl_lcl", walsh[k - 1]), ("hl_ucl", walsh[len(walsh) - k])):
            q.put(stat, value, rounded(value, d), variable="CHG", **where)


def collected(rules: dict, variable: str, values: pd.Series) -> int:
    listed = rules.get("collected_decimals", {})
    if variable in listed:
        return int(listed[variable])
    places = 0
    for v in pd.Series(values, dtype="float64").dropna():
        exponent = to_decimal(v).normalize().as_tuple().exponent
        places = max(places, min(-exponent if exponent < 0 else 0, int(rules["most_decimals"])))
    return places


# ------------------------------------------------------------------------------------------------ tables

def _population(adam, flag: str) -> set:
    adsl = adam["ADSL"]
    return set(adsl.loc[adsl[flag].eq("Y"), "USUBJID"])


def qc_disposition(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.1.1: enrolled n; SAFFL/FASFL/COMPLFL, every EOSSTT and (among discontinued) DCSREAS term n (%) of
    the enrolled."""
    q = QcArd("14.1.1", rules)
    adsl = adam["ADSL"]
    adsl = adsl[adsl["ENRLFL"].eq("Y")]
    n = len(adsl)
    q.put("n", n, str(n), variable="ENRLFL", level="Y")
    for flag in ("SAFFL", "FASFL", "COMPLFL"):
        q.n_pct(int((adsl[flag] == "Y").sum()), n, variable=flag, level="Y")
    codelists = load_codelists()
    statuses = list(codelists["EOSSTT"].values) + sorted(set(adsl["EOSSTT"].dropna()) - set(codelists["EOSSTT"].values))
    for status in statuses:
        q.n_pct(int((adsl["EOSSTT"] == status).sum()), n, variable="EOSSTT", level=status)
    stopped = adsl[adsl["EOSSTT"] == "DISCONTINUED"]
    if "DISCONTINUED" in statuses:
        reasons = list(codelists["DCSREAS"].values)
        for reason in reasons + sorted(set(stopped["DCSREAS"].dropna()) - set(reasons)):
            q.n_pct(int((stopped["DCSREAS"] == reason).sum()), n, variable="DCSREAS", level=reason)
        if stopped["DCSREAS"].isna().any():
            q.n_pct(int(stopped["DCSREAS"].isna().sum()), n, variable="DCSREAS", level="")
    return q.frame()


def qc_demographics(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.1.2 (sponsor layout): safety population; AGE, WEIGHTBL, HEIGHTBL, BSABL, SLEDURY, BPREDDOS
    descriptive statistics; SEX, AGEGR1, RACE, ETHNIC every codelist term (plus other values, and missing)
    n (%); baseline medication flags n (%)."""
    q = QcArd("14.1.2", rules)
    adsl = adam["ADSL"]
    adsl = adsl[adsl["SAFFL"] == "Y"]
    n = len(adsl)
    for variable in ("AGE", "WEIGHTBL", "HEIGHTBL", "BSABL", "SLEDURY", "BPREDDOS"):
        q.summary(adsl[variable], collected(rules, variable, adsl[variable]), variable=variable)
    codelists = load_codelists()
    for variable in ("SEX", "AGEGR1", "RACE", "ETHNIC"):
        terms = [t.value for t in codelists[variable].terms]
        for value in terms + sorted(set(adsl[variable].dropna()) - set(terms)):
            q.n_pct(int((adsl[variable] == value).sum()), n, variable=variable, level=value)
        if adsl[variable].isna().any():
            q.n_pct(int(adsl[variable].isna().sum()), n, variable=variable, level="")
    for flag in ("HCQBLFL", "MMFBLFL", "CYCBLFL", "AZABLFL", "LEFBLFL", "THALBLFL", "CSABLFL", "MTXBLFL"):
        q.n_pct(int((adsl[flag] == "Y").sum()), n, variable=flag, level="Y")
    return q.frame()


def _fas_adrs(adam, study: Study):
    fas = _population(adam, "FASFL")
    adrs = adam["ADRS"]
    return fas, adrs[adrs["USUBJID"].isin(fas)]


def qc_primary(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.2.1: SRI-4 at the primary visit, N = FAS; responders with Clopper-Pearson CI; non-responders;
    imputed (FAS subjects without an observed record: N minus records with DTYPE missing); exact binomial
    test against the historical rate."""
    q = QcArd("14.2.1", rules)
    fas, adrs = _fas_adrs(adam, study)
    visit = study.primary_visit
    at = adrs[(adrs["PARAMCD"] == "SRI4") & (adrs["AVISITN"] == visit.visitnum)]
    n = len(fas)
    x = int((at["AVALC"] == "Y").sum())
    where = {"groups": (("PARAMCD", "SRI4"), ("AVISIT", visit.visit))}
    q.rate(x, n, 1 - study.endpoints.alpha, variable="AVALC", level="Y", **where)
    q.put("n", n - x, str(n - x), variable="AVALC", level="N", **where)
    observed = int(at["DTYPE"].isna().sum())
    q.put("n", n - observed, str(n - observed), variable="DTYPE", level="NRI", **where)
    q.p_value(binomial_two_sided(x, n, study.endpoints.historical_response_rate), "p_binomial", variable="AVALC",
              level="Y", **where)
    return q.frame()


def qc_sri_by_visit(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.2.2: SRI-k responders per post-baseline visit, N = FAS, Clopper-Pearson CI."""
    q = QcArd("14.2.2", rules)
    fas, adrs = _fas_adrs(adam, study)
    for k in study.endpoints.sri_thresholds:
        for visit in study.post_baseline_visits:
            at = adrs[(adrs["PARAMCD"] == f"SRI{k}") & (adrs["AVISITN"] == visit.visitnum)]
            q.rate(int((at["AVALC"] == "Y").sum()), len(fas), 1 - study.endpoints.alpha, variable="AVALC", level="Y",
                   groups=(("PARAMCD", f"SRI{k}"), ("AVISIT", visit.visit)))
    return q.frame()


def qc_components(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.2.3: SLEDR4, BILNW, PGANW and SRI4 responders n (%) of the FAS per post-baseline visit."""
    q = QcArd("14.2.3", rules)
    fas, adrs = _fas_adrs(adam, study)
    for paramcd in ("SLEDR4", "BILNW", "PGANW", "SRI4"):
        for visit in study.post_baseline_visits:
            at = adrs[(adrs["PARAMCD"] == paramcd) & (adrs["AVISITN"] == visit.visitnum)]
            q.n_pct(int((at["AVALC"] == "Y").sum()), len(fas), variable="AVALC", level="Y",
                    groups=(("PARAMCD", paramcd), ("AVISIT", visit.visit)))
    return q.frame()


def _qc_change(number: str, dataset: str, paramcds: list[str]):
    def compute(adam, study: Study, rules: dict) -> pd.DataFrame:
        """Observed value (every visit) and change from baseline (post-baseline visits): n, mean, SD, median,
        Q1, Q3, min, max and the Wilcoxon p, on the FAS analysis records (ANL01FL = Y)."""
        q = QcArd(number, rules)
        fas = _population(adam, "FASFL")
        data = adam[dataset]
        data = data[(data["ANL01FL"] == "Y") & data["USUBJID"].isin(fas)]
        for paramcd in paramcds:
            _change_by_visit(q, data[data["PARAMCD"] == paramcd], paramcd, "AVAL", "CHG", rules, study)
        return q.frame()
    return compute


def _change_by_visit(q: QcArd, part: pd.DataFrame, paramcd: str, value: str, change: str, rules: dict,
                     study: Study) -> None:
    """One parameter's rows of a change table: the observed value's n, mean and SD at every visit, and at
    post-baseline visits the change's summary, estimates and Wilcoxon p (ARD variables AVAL and CHG)."""
    places = collected(rules, paramcd, part[value])
    for i, visit in enumerate(study.visits):
        at = part[part["AVISITN"] == visit.visitnum]
        where = {"groups": (("PARAMCD", paramcd), ("AVISIT", visit.visit))}
        q.summary(at[value], places, only=("n", "mean", "sd"), variable="AVAL", **where)
        if i > 0:
            q.summary(at[change], places, variable="CHG", **where)
            change_estimates(q, at[change], places, 1 - study.endpoints.alpha, where)
            q.p_value(wilcoxon_p(at[change]), "p_wilcoxon", variable="CHG", **where)


def lab_value(text: object, factor: Decimal) -> Decimal | None:
    """The analysis value of a standard character result (ADLB LBSTRESC, SAP 8.3): the number as reported,
    and for "<x" (below the lower limit of quantitation) `factor` x x; None when missing."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    text = str(text).strip()
    if text.startswith("<"):
        return Decimal(text.lstrip("<=").strip()) * factor
    return Decimal(text)


def _qc_lab_change(number: str, paramcds: list[str], factor_of: str, only_below_limit: bool = False):
    def compute(adam, study: Study, rules: dict) -> pd.DataFrame:
        """As the other change tables, but the values re-derived from the reported results (LBSTRESC, with
        the plan's factor for results below the lower limit of quantitation: `factor_of` of sap/study.yaml
        laboratory), the baseline from the ABLFL record and the change on records dated after the first dose."""
        q = QcArd(number, rules)
        factor = to_decimal(getattr(study.laboratory, factor_of))
        fas = _population(adam, "FASFL")
        adlb = adam["ADLB"]
        adlb = adlb[adlb["USUBJID"].isin(fas) & adlb["PARAMCD"].isin(paramcds)]
        values = pd.Series([lab_value(t, factor) for t in adlb["LBSTRESC"]], index=adlb.index, dtype="object")
        baseline = {(u, p): v for u, p, v, flag in zip(adlb["USUBJID"], adlb["PARAMCD"], values, adlb["ABLFL"]) if flag == "Y"}
        after = pd.to_datetime(adlb["ADT"]) > pd.to_datetime(adlb["TRTSDT"])
        changes = [v - baseline[(u, p)] if later and v is not None and baseline.get((u, p)) is not None else None
                   for u, p, v, later in zip(adlb["USUBJID"], adlb["PARAMCD"], values, after)]
        data = adlb.assign(value=[np.nan if v is None else float(v) for v in values],
                           change=[np.nan if c is None else float(c) for c in changes])
        data = data[data["ANL01FL"] == "Y"]
        shown = [p for p in paramcds
                 if not only_below_limit or data.loc[data["PARAMCD"] == p, "LBSTRESC"].astype("str").str.startswith("<").any()]
        for paramcd in shown:
            _change_by_visit(q, data[data["PARAMCD"] == paramcd], paramcd, "value", "change", rules, study)
        return q.frame()
    return compute


def qc_sensitivity(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.2.8: SRI-4 at the primary visit: NRI (N = FAS), observed cases (ANL02FL = Y records), completers
    (COMPLFL = Y, NRI); SRI-5..8 and SLEDR4 with NRI."""
    q = QcArd("14.2.8", rules)
    fas, adrs = _fas_adrs(adam, study)
    at = adrs[adrs["AVISITN"] == study.primary_visit.visitnum]
    adsl = adam["ADSL"]
    completers = set(adsl.loc[adsl["COMPLFL"].eq("Y"), "USUBJID"]) & fas
    confidence = 1 - study.endpoints.alpha

    def yes(rows):
        return int((rows["AVALC"] == "Y").sum())

    sri4 = at[at["PARAMCD"] == "SRI4"]
    observed = sri4[sri4["ANL02FL"] == "Y"]
    analyses = [("PRIMARY", "SRI4", yes(sri4), len(fas)), ("OBSERVED", "SRI4", yes(observed), len(observed)),
                ("COMPLETERS", "SRI4", yes(sri4[sri4["USUBJID"].isin(completers)]), len(completers))]
    analyses += [("NRI", f"SRI{k}", yes(at[at["PARAMCD"] == f"SRI{k}"]), len(fas))
                 for k in study.endpoints.sri_thresholds if k != 4]
    analyses.append(("NRI", "SLEDR4", yes(at[at["PARAMCD"] == "SLEDR4"]), len(fas)))
    for key, paramcd, x, n in analyses:
        q.rate(x, n, confidence, variable="AVALC", level="Y", groups=(("ANALYSIS", key), ("PARAMCD", paramcd)))
    return q.frame()


def qc_organ(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.2.5: per SLEDAI-2K organ group: FAS subjects involved at baseline (ADSL organ flag), involved at the
    last visit among those with SLEDAI-2K descriptors there, McNemar exact on those subjects (NE without a
    discordant pair), SRI-4 at the primary visit within the baseline-involved subgroup."""
    from validation.qc.derive import load_instruments

    q = QcArd("14.2.5", rules)
    fas, adrs = _fas_adrs(adam, study)
    adsl = adam["ADSL"]
    adsl = adsl[adsl["USUBJID"].isin(fas)].set_index("USUBJID")
    organ_of = {item["testcd"]: item["organ"] for item in load_instruments()["sledai_2k"]["items"]}
    adqs = adam["ADQS"]
    last, first = study.visits[-1], study.visits[0]
    items = adqs[(adqs["ANL01FL"] == "Y") & (adqs["AVISITN"] == last.visitnum) & adqs["PARAMCD"].isin(list(organ_of))
                 & adqs["USUBJID"].isin(fas) & adqs["AVALC"].notna()]
    assessed = sorted(set(items["USUBJID"]))
    present = items[items["AVALC"] == "PRESENT"]
    sri4 = adrs[(adrs["PARAMCD"] == "SRI4") & (adrs["AVISITN"] == study.primary_visit.visitnum) & (adrs["AVALC"] == "Y")]
    responders = set(sri4["USUBJID"])
    for group in organ_groups():
        organ, flag = group["organ"], group["flag"]
        involved = set(adsl.index[adsl[flag] == "Y"])
        later = set(present.loc[present["PARAMCD"].map(organ_of) == organ, "USUBJID"])
        q.n_pct(len(involved), len(adsl), groups=(("ORGAN", organ), ("AVISIT", first.visit)), variable="INVOLVED", level="Y")
        q.n_pct(len(later & set(assessed)), len(assessed), groups=(("ORGAN", organ), ("AVISIT", last.visit)),
                variable="INVOLVED", level="Y")
        b = len([s for s in assessed if s in involved and s not in later])
        c = len([s for s in assessed if s not in involved and s in later])
        p = stats.binomtest(b, b + c, 0.5).pvalue if b + c else float("nan")
        q.p_value(p, "p_mcnemar", groups=(("ORGAN", organ),), variable="INVOLVED")
        q.rate(len(involved & responders), len(involved), 1 - study.endpoints.alpha, variable="SRI4", level="Y",
               groups=(("ORGAN", organ), ("AVISIT", study.primary_visit.visit)))
    return q.frame()


def _teae(adam) -> tuple[int, pd.DataFrame]:
    safety = _population(adam, "SAFFL")
    adae = adam["ADAE"]
    events = adae[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(safety)].copy()
    events["AEBODSYS"] = events["AEBODSYS"].fillna("Uncoded")
    events["AEDECOD"] = events["AEDECOD"].fillna("Uncoded")
    events["severity"] = pd.to_numeric(events["ASEVN"], errors="coerce").fillna(3)  # missing counts as severe
    return len(safety), events


def qc_teae_overview(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.3.1.1: subjects (n (%) of the safety population) and events per kind of TEAE."""
    q = QcArd("14.3.1.1", rules)
    n, events = _teae(adam)
    kinds = {"ANY": events.index == events.index, "RELATED": events["ARELFL"] == "Y", "SEVERE": events["severity"] == 3,
             "SERIOUS": events["AESER"] == "Y", "WITHDRAWN": events["AEACN"] == "DRUG WITHDRAWN",
             "FATAL": events["AEOUT"] == "FATAL", "CQ01": events["CQ01NAM"].notna()}
    adsl = adam["ADSL"]
    days = pd.to_numeric(adsl.loc[adsl["SAFFL"] == "Y", "TRTDURD"], errors="coerce").sum()
    with localcontext() as ctx:
        ctx.prec = PRECISION_DIGITS
        years = to_decimal(days) / Decimal("365.25")
    for key, mask in kinds.items():
        chosen = events[np.asarray(mask, dtype=bool)]
        where = {"groups": (("CATEGORY", key),), "variable": "USUBJID"}
        x = chosen["USUBJID"].nunique()
        q.rate(x, n, 1 - study.endpoints.alpha, **where)
        if years:
            with localcontext() as ctx:
                ctx.prec = PRECISION_DIGITS
                rate = Decimal(100 * x) / years
            q.put("eair", rate, rounded(rate, q.places("rate_per_100py")), **where)
        q.put("events", len(chosen), str(len(chosen)), **where)
    return q.frame()


def _qc_soc_pt(number: str, related_only: bool):
    def compute(adam, study: Study, rules: dict) -> pd.DataFrame:
        """Subjects n (%) and events: any TEAE, per SOC and per SOC/PT (related ones only for 14.3.1.4)."""
        q = QcArd(number, rules)
        n, events = _teae(adam)
        if related_only:
            events = events[events["ARELFL"] == "Y"]
        groups = [(("AEBODSYS", ""), ("AEDECOD", "")), events]
        cells = [groups]
        for soc, part in events.groupby("AEBODSYS"):
            cells.append([(("AEBODSYS", soc), ("AEDECOD", "")), part])
            for pt, rows in part.groupby("AEDECOD"):
                cells.append([(("AEBODSYS", soc), ("AEDECOD", pt)), rows])
        for key, rows in cells:
            q.n_pct(rows["USUBJID"].nunique(), n, groups=key, variable="USUBJID")
            q.put("events", len(rows), str(len(rows)), groups=key, variable="USUBJID")
        return q.frame()
    return compute


def organ_groups() -> list[dict]:
    """The SLEDAI-2K organ groups (organ, ADSL flag, printed name) of sap/specs/raw/instruments.yaml."""
    from validation.qc.derive import load_instruments

    return load_instruments()["sledai_2k"]["organ_groups"]


def _safety(adam) -> pd.DataFrame:
    adsl = adam["ADSL"]
    return adsl[adsl["SAFFL"] == "Y"]


def qc_table_s1(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.1.2.1 (Table S1 layout), safety population: n, median, min and max of AGE, WEIGHTBL, HEIGHTBL,
    BSABL, SLEDURY, BPREDDOS; female and male counts; baseline medication flags, every AGEGR1 term and the
    races present (missing as NOT REPORTED) n (%)."""
    q = QcArd("14.1.2.1", rules)
    adsl = _safety(adam)
    n = len(adsl)
    for variable in ("AGE", "WEIGHTBL", "HEIGHTBL", "BSABL", "SLEDURY", "BPREDDOS"):
        data = sorted(to_decimal(v) for v in pd.Series(adsl[variable], dtype="float64").dropna())
        q.put("n", len(data), str(len(data)), variable=variable)
        if data:
            places = collected(rules, variable, adsl[variable])
            median = statistics.median(data)
            q.put("median", median, rounded(median, q.places("median", places)), variable=variable)
            q.put("min", data[0], rounded(data[0], q.places("minmax", places)), variable=variable)
            q.put("max", data[-1], rounded(data[-1], q.places("minmax", places)), variable=variable)
    for sex in ("F", "M"):
        count = int((adsl["SEX"] == sex).sum())
        q.put("n", count, str(count), variable="SEX", level=sex)
    for flag in ("HCQBLFL", "MMFBLFL", "CYCBLFL", "AZABLFL", "LEFBLFL", "THALBLFL", "CSABLFL", "MTXBLFL"):
        q.n_pct(int((adsl[flag] == "Y").sum()), n, variable=flag, level="Y")
    for group in load_codelists()["AGEGR1"].values:
        q.n_pct(int((adsl["AGEGR1"] == group).sum()), n, variable="AGEGR1", level=group)
    races = adsl["RACE"].fillna("NOT REPORTED")
    for race in sorted(set(races)):
        q.n_pct(int((races == race).sum()), n, variable="RACE", level=race)
    return q.frame()


# SLEDAI-2K activity bands (domain reference: 0 remission, 1-4 low, 5-10 moderate, > 10 high; 105 the
# largest possible total) as the ARD level "low-high"
SLEDAI_BANDS = [(0, 0), (1, 4), (5, 10), (11, 105)]


def qc_baseline_disease(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.1.3, full analysis set: BSLEDAI, BBILAG, BPGA descriptive statistics; SLEDAI-2K bands, BBLGABFL and
    every organ flag n (%); per BILAG-2004 domain (ADQS BLG*), subjects graded A or B on the baseline record."""
    q = QcArd("14.1.3", rules)
    adsl = adam["ADSL"]
    adsl = adsl[adsl["FASFL"] == "Y"]
    n = len(adsl)
    for variable in ("BSLEDAI", "BBILAG", "BPGA"):
        q.summary(adsl[variable], collected(rules, variable, adsl[variable]), variable=variable)
        if variable == "BSLEDAI":
            score = pd.to_numeric(adsl["BSLEDAI"], errors="coerce")
            for low, high in SLEDAI_BANDS:
                q.n_pct(int(((score >= low) & (score <= high)).sum()), n, variable="BSLEDAI", level=f"{low}-{high}")
        if variable == "BBILAG":
            q.n_pct(int((adsl["BBLGABFL"] == "Y").sum()), n, variable="BBLGABFL", level="Y")
    for group in organ_groups():
        q.n_pct(int((adsl[group["flag"]] == "Y").sum()), n, variable=group["flag"], level="Y")
    adqs = adam["ADQS"]
    domains = adqs[adqs["PARAMCD"].astype("str").str.match(r"^BLG")]
    graded = domains[(domains["ABLFL"] == "Y") & domains["USUBJID"].isin(set(adsl["USUBJID"]))
                     & domains["AVALC"].isin(["A", "B"])]
    for paramcd in sorted(set(domains["PARAMCD"])):
        q.n_pct(graded.loc[graded["PARAMCD"] == paramcd, "USUBJID"].nunique(), n, groups=(("PARAMCD", paramcd),),
                variable="AVALC", level="A/B")
    return q.frame()


def qc_exposure(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.1.4, safety population: TRTDURD, INJNUM, CUMDOSE, COMPLPCT descriptive statistics; compliance below
    80%, 80% to below 100%, 100% or more, n (%)."""
    q = QcArd("14.1.4", rules)
    adsl = _safety(adam)
    n = len(adsl)
    for variable in ("TRTDURD", "INJNUM", "CUMDOSE", "COMPLPCT"):
        q.summary(adsl[variable], collected(rules, variable, adsl[variable]), variable=variable)
    compliance = [to_decimal(v) for v in pd.Series(adsl["COMPLPCT"], dtype="float64").dropna()]
    for level, inside in (("<80", lambda c: c < 80), ("80-<100", lambda c: 80 <= c < 100), (">=100", lambda c: c >= 100)):
        q.n_pct(sum(1 for c in compliance if inside(c)), n, variable="COMPLPCT", level=level)
    return q.frame()


def qc_time_to_response(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.2.9: time to first SRI-k response (k the smallest threshold; ADTTE TTSRIk, FAS) by statsmodels'
    Kaplan-Meier (SurvfuncRight, a different implementation from production's): subjects, events and
    censored n (%); median with the Brookmeyer-Crowley interval (z-test inversion on the log-log scale,
    statsmodels quantile_ci "cloglog", SAS PROC LIFETEST); 1 - S(t) in percent with log-log limits at each
    post-baseline visit's target day."""
    from statsmodels.duration.survfunc import SurvfuncRight

    q = QcArd("14.2.9", rules)
    paramcd = f"TTSRI{min(study.endpoints.sri_thresholds)}"
    fas = _population(adam, "FASFL")
    adtte = adam["ADTTE"]
    records = adtte[(adtte["PARAMCD"] == paramcd) & adtte["USUBJID"].isin(fas)]
    time = records["AVAL"].astype("float64").to_numpy()
    event = 1 - records["CNSR"].astype("int64").to_numpy()
    n, events = len(records), int(event.sum())
    where = {"groups": (("PARAMCD", paramcd),), "variable": "AVAL"}
    q.put("N", n, str(n), **where)
    q.n_pct(events, n, groups=where["groups"], variable="CNSR", level="0")
    q.n_pct(n - events, n, groups=where["groups"], variable="CNSR", level="1")
    km = SurvfuncRight(time, event)
    alpha = 1 - (1 - study.endpoints.alpha)
    # the SAP's median (SAS LIFETEST, R survfit): the first time S <= 0.5, or where S is 0.5 exactly up to
    # the next event (or to the last follow-up) the midpoint of that step; compared with a tolerance because
    # S is a product of fractions (6/8 * 5/6 * 4/5 is 0.5000000000000001)
    half = np.isclose(km.surv_prob, 0.5, rtol=0, atol=1e-9)
    reached = km.surv_times[(km.surv_prob < 0.5) | half]
    days = q.places("minmax", 0)
    if len(reached):
        median = float(reached[0])
        if half[km.surv_times == reached[0]].any():
            step_end = km.surv_times[km.surv_times > reached[0]]
            median = (median + float(step_end[0] if len(step_end) else time.max())) / 2
        q.put("median", median, rounded(to_decimal(median), days), **where)
    low, high = km.quantile_ci(0.5, alpha=alpha, method="cloglog")
    for stat, bound in (("median_lcl", low), ("median_ucl", high)):
        if bound is not None and np.isfinite(bound):
            q.put(stat, bound, rounded(to_decimal(bound), days), **where)
    z = stats.norm.ppf(1 - alpha / 2)
    for visit in study.post_baseline_visits:
        at = {"groups": (("PARAMCD", paramcd), ("ADY", visit.target_day)), "variable": "AVAL"}
        upto = km.surv_times <= visit.target_day
        if not upto.any():
            s, lower, upper = 1.0, 1.0, 1.0
        else:
            s, se = float(km.surv_prob[upto][-1]), float(km.surv_prob_se[upto][-1])
            if s >= 1:
                lower = upper = 1.0
            elif s <= 0:
                lower = upper = float("nan")
            else:
                # log-log limits: S ** exp(+-z * se(log(-log S))), se(log(-log S)) = se(S) / |S log S|
                w = z * se / abs(s * np.log(s))
                lower, upper = s ** np.exp(w), s ** np.exp(-w)
        for stat, value in (("cum_pct", s), ("cum_lcl", upper), ("cum_ucl", lower)):
            if not np.isnan(value):
                pct = (1 - to_decimal(value)) * 100
                q.put(stat, pct, rounded(pct, q.places("percent")), **at)
    return q.frame()


SEVERITY_NAMES = {1: "MILD", 2: "MODERATE", 3: "SEVERE"}  # ASEVN -> ASEV (ADAE spec codelist ASEVN)


def qc_max_severity(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.3.1.3: subjects at their maximum severity (a missing severity counts as severe), overall, per SOC
    and per SOC/PT, n (%) of the safety population, every severity shown."""
    q = QcArd("14.3.1.3", rules)
    n, events = _teae(adam)
    cells = [(("", ""), events)]
    for soc, part in events.groupby("AEBODSYS"):
        cells.append(((soc, ""), part))
        for pt, rows in part.groupby("AEDECOD"):
            cells.append(((soc, pt), rows))
    for (soc, pt), rows in cells:
        worst = rows.groupby("USUBJID")["severity"].max()
        for level, name in SEVERITY_NAMES.items():
            q.n_pct(int((worst == level).sum()), n, groups=(("AEBODSYS", soc), ("AEDECOD", pt)), variable="ASEV", level=name)
    return q.frame()


def qc_injection_site(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.3.1.5: treatment-emergent injection-site reactions (CQ01NAM present): subjects n (%) and events
    overall, per PT, per maximum severity (subjects at their worst; events of that severity), serious,
    related and leading to withdrawal of study treatment."""
    q = QcArd("14.3.1.5", rules)
    n, events = _teae(adam)
    isr = events[events["CQ01NAM"].notna()]

    def cell(groups, subjects: int, records: int) -> None:
        q.n_pct(subjects, n, groups=groups, variable="USUBJID")
        q.put("events", records, str(records), groups=groups, variable="USUBJID")

    cell((("CATEGORY", "ANY"),), isr["USUBJID"].nunique(), len(isr))
    for pt, rows in isr.groupby("AEDECOD"):
        cell((("CATEGORY", "PT"), ("AEDECOD", pt)), rows["USUBJID"].nunique(), len(rows))
    worst = isr.groupby("USUBJID")["severity"].max()
    for level, name in SEVERITY_NAMES.items():
        cell((("CATEGORY", "MAXSEV"), ("ASEV", name)), int((worst == level).sum()), int((isr["severity"] == level).sum()))
    for key, mask in (("SERIOUS", isr["AESER"] == "Y"), ("RELATED", isr["ARELFL"] == "Y"),
                      ("WITHDRAWN", isr["AEACN"] == "DRUG WITHDRAWN")):
        cell((("CATEGORY", key),), isr.loc[mask, "USUBJID"].nunique(), int(mask.sum()))
    return q.frame()


def qc_lab_shift(adam, study: Study, rules: dict) -> pd.DataFrame:
    """14.3.4: per laboratory parameter with an on-treatment reference-range indicator, safety subjects by
    baseline category (BNRIND, "Missing" without one) and worst on-treatment category (LOW, HIGH, "LOW and
    HIGH", NORMAL) over ONTRTFL = Y records with ANRIND; every cell and the row totals."""
    q = QcArd("14.3.4", rules)
    safety = _population(adam, "SAFFL")
    adlb = adam["ADLB"]
    adlb = adlb[adlb["USUBJID"].isin(safety)]
    post = adlb[(adlb["ONTRTFL"] == "Y") & adlb["ANRIND"].notna()]
    baseline = {(r.PARAMCD, r.USUBJID): r.BNRIND for r in adlb.dropna(subset=["BNRIND"]).itertuples()}
    worst: dict[tuple, str] = {}
    for (paramcd, subject), rows in post.groupby(["PARAMCD", "USUBJID"]):
        low, high = (rows["ANRIND"] == "LOW").any(), (rows["ANRIND"] == "HIGH").any()
        worst[(paramcd, subject)] = "LOW and HIGH" if low and high else "LOW" if low else "HIGH" if high else "NORMAL"
    columns = ["LOW", "NORMAL", "HIGH", "LOW and HIGH"]
    for paramcd in sorted({p for p, _ in worst}):
        for category in ("LOW", "NORMAL", "HIGH", "Missing"):
            subjects = [s for (p, s) in worst if p == paramcd and baseline.get((p, s), "Missing") == category]
            where = {"groups": (("PARAMCD", paramcd), ("BNRIND", category)), "variable": "WORST"}
            for column in columns:
                count = sum(1 for s in subjects if worst[(paramcd, s)] == column)
                q.put("n", count, str(count), level=column, **where)
            q.put("n", len(subjects), str(len(subjects)), level="TOTAL", **where)
    return q.frame()


QC_TABLES = {
    "14.1.1": qc_disposition,
    "14.1.2": qc_demographics,
    "14.1.2.1": qc_table_s1,
    "14.1.3": qc_baseline_disease,
    "14.1.4": qc_exposure,
    "14.2.1": qc_primary,
    "14.2.2": qc_sri_by_visit,
    "14.2.3": qc_components,
    "14.2.4": _qc_change("14.2.4", "ADQS", ["SLEDAI", "SLEPGA", "BILAG"]),
    "14.2.5": qc_organ,
    "14.2.6": _qc_lab_change("14.2.6", ["DDNAIGAB", "C3", "C4", "PROTEXR"], "below_lloq_factor"),
    "14.2.6.1": _qc_lab_change("14.2.6.1", ["DDNAIGAB", "C3", "C4", "PROTEXR"], "sensitivity_lloq_factor",
                               only_below_limit=True),
    "14.2.7": _qc_change("14.2.7", "ADLB", ["TREG", "TH17", "TFH", "TEFF"]),
    "14.2.8": qc_sensitivity,
    "14.2.9": qc_time_to_response,
    "14.3.1.1": qc_teae_overview,
    "14.3.1.2": _qc_soc_pt("14.3.1.2", related_only=False),
    "14.3.1.3": qc_max_severity,
    "14.3.1.4": _qc_soc_pt("14.3.1.4", related_only=True),
    "14.3.1.5": qc_injection_site,
    "14.3.4": qc_lab_shift,
}


def qc_tables(adam: Mapping[str, pd.DataFrame], study: Study) -> dict[str, pd.DataFrame]:
    """The QC ARD of every double-programmed table (`QC_TABLES`), by output number."""
    rules = display_rules()
    return {number: compute(adam, study, rules) for number, compute in QC_TABLES.items()}


def compare_ard(production: pd.DataFrame, qc: pd.DataFrame, tolerance: float = 1e-9) -> dict:
    """Value-by-value comparison on the ARD key: rows only on one side, VALUE differing by more than
    `tolerance` (both missing is equal), FORMATTED differing at all. Returns counts and examples."""
    prod = production[[*KEYS, "VALUE", "FORMATTED"]].astype({k: "str" for k in KEYS})
    mine = qc[[*KEYS, "VALUE", "FORMATTED"]].astype({k: "str" for k in KEYS})
    merged = prod.merge(mine, on=KEYS, how="outer", suffixes=("_prod", "_qc"), indicator=True)
    key_text = merged[KEYS[1:]].agg("/".join, axis=1).str.replace(r"/+", "/", regex=True).str.strip("/")
    only_prod = key_text[merged["_merge"].eq("left_only")].tolist()
    only_qc = key_text[merged["_merge"].eq("right_only")].tolist()
    both = merged[merged["_merge"].eq("both")]
    a, b = both["VALUE_prod"].astype("float64"), both["VALUE_qc"].astype("float64")
    value_differs = ~((a.isna() & b.isna()) | (np.abs(a - b) <= tolerance))
    text_differs = both["FORMATTED_prod"].astype("str").ne(both["FORMATTED_qc"].astype("str"))
    differs = both[value_differs | text_differs]
    examples = [{"key": key_text[i], "production": f"{differs.at[i, 'VALUE_prod']} '{differs.at[i, 'FORMATTED_prod']}'",
                 "qc": f"{differs.at[i, 'VALUE_qc']} '{differs.at[i, 'FORMATTED_qc']}'"} for i in differs.index[:3]]
    return {"rows_production": len(prod), "rows_qc": len(mine), "rows_matched": len(both),
            "only_in_production": only_prod, "only_in_qc": only_qc, "values_differ": int(len(differs)),
            "examples": examples,
            "status": "PASS" if not (only_prod or only_qc or len(differs)) else "FAIL"}
