"""Compare production with the QC twin: one `sap.compare.compare_datasets` (datacompy) run per target on its
keys and variables, mismatch examples, the Markdown report and the JSON results.

A target is a production dataset (restricted to the records the QC twin re-derives) and the variables the QC
twin double-programs. Any difference is a failure: a row only on one side, or an unequal value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sap.compare import compare_datasets
from sap.errors import Problem
from sap.study import Study
from sap.text import markdown_text
from validation.qc.derive import BILAG_PARAM, SLEDAI_PARAM

EXAMPLES = 3  # mismatch examples shown per variable
# How the QC twin reads spec texts that allow more than one reading (production agrees on the twin and on
# hand-planted edge cases); shown in the report so a reviewer sees what was double-programmed.
READINGS = [
    "ADSL BSLEDAI/BPGA/BBILAG and organ flags, \"or the baseline-visit record when its date is missing\": the QS "
    "record's date; a dated record on or before TRTSDT wins, and a subject never dosed takes the baseline-visit record.",
    "ADSL organ flags, \"N if the baseline descriptors were assessed\": per organ group (missing when every "
    "descriptor of the group is blank at baseline).",
    "ADSL BSLEDAI and FASFL use the collected total QS SLE2K25, ADQS SLEDAI (BASE, CHG, hence the SRI) the total "
    "recomputed from the 24 descriptors: the two agree only while SLE2K25 equals the sum of its descriptors.",
    "ADRS: a subject who discontinued before a visit window is a non-responder there even when the visit was "
    "assessed (DISCONTINUED BEFORE VISIT wins over observed data).",
]
ABS_TOL = 1e-9
QS_PARAMS = [SLEDAI_PARAM, BILAG_PARAM, "SLEPGA"]


def _all(df: pd.DataFrame) -> pd.DataFrame:
    return df


def _adqs_analysis(df: pd.DataFrame) -> pd.DataFrame:
    """ADQS analysis records (ANL01FL = Y) of the SLEDAI-2K total, the BILAG-2004 score and the PGA."""
    return df[df["ANL01FL"].eq("Y") & df["PARAMCD"].isin(QS_PARAMS)]


@dataclass(frozen=True)
class Target:
    """One production-vs-QC comparison."""

    name: str  # production dataset (ADSL, ...) or result name
    qc_name: str  # key of the QC dataset in `derive_qc` output
    keys: list[str]
    variables: list[str]
    rows: Callable[[pd.DataFrame], pd.DataFrame] = _all  # which records of both sides are compared
    description: str = ""


TARGETS = [
    Target("ADSL", "ADSL", ["USUBJID"],
           ["SAFFL", "FASFL", "COMPLFL", "TRTSDT", "TRTEDT", "TRTDURD", "INJNUM", "CUMDOSE", "COMPLPCT", "EOSSTT",
            "EOSDT", "BSLEDAI", "BPGA", "BBILAG", "BBLGABFL", "BSKINFL", "BMSKFL", "BRENALFL", "BHAEMFL", "BSEROFL",
            "BFEVERFL", "BNEUROFL", "BIMMUNFL"],
           description="every subject"),
    Target("ADQS", "ADQS", ["USUBJID", "PARAMCD", "AVISITN"], ["ADT", "AVAL", "BASE", "CHG"], _adqs_analysis,
           description="analysis records (ANL01FL = Y) of SLEDAI, BILAG and SLEPGA"),
    Target("ADRS", "ADRS", ["USUBJID", "PARAMCD", "AVISITN"], ["AVAL", "AVALC", "DTYPE", "NRIREAS", "ANL01FL"],
           description="every record"),
    Target("ADAE", "ADAE", ["USUBJID", "AESEQ"], ["ASTDT", "ASTDTF", "AENDT", "AENDTF", "TRTEMFL"],
           description="every record"),
    Target("SRIRATES", "SRIRATES", ["PARAMCD", "AVISITN"], ["x", "n", "rate", "lower", "upper"],
           description="SRI-k responders x/N (N = FAS, NRI), rate and Clopper-Pearson 95% CI by post-baseline visit; "
                       "production = the TLF computation (tlf.efficacy.sri_rates_by_visit) on production ADaM"),
]


@dataclass
class TargetResult:
    """The outcome of one comparison, ready for the report and the JSON."""

    name: str
    keys: list[str]
    variables: list[str]
    description: str
    rows_production: int = 0
    rows_qc: int = 0
    rows_matched: int = 0
    only_in_production: list[str] = field(default_factory=list)  # key texts
    only_in_qc: list[str] = field(default_factory=list)
    missing_variables: list[str] = field(default_factory=list)  # absent from production
    mismatches: dict[str, dict] = field(default_factory=dict)  # variable -> {"count": n, "examples": [...]}

    @property
    def passed(self) -> bool:
        return not (self.only_in_production or self.only_in_qc or self.missing_variables or self.mismatches)

    def as_json(self) -> dict:
        return {"keys": self.keys, "variables": self.variables, "records": self.description,
                "rows_production": self.rows_production, "rows_qc": self.rows_qc, "rows_matched": self.rows_matched,
                "rows_only_in_production": len(self.only_in_production), "rows_only_in_qc": len(self.only_in_qc),
                "examples_only_in_production": self.only_in_production[:EXAMPLES],
                "examples_only_in_qc": self.only_in_qc[:EXAMPLES],
                "variables_missing_in_production": self.missing_variables,
                "mismatches": self.mismatches, "status": "PASS" if self.passed else "FAIL"}

    def problems(self) -> list[Problem]:
        """One Problem per mismatching variable (and per kind of unmatched row), naming an example key."""
        where = f"QC {self.name}"
        out = [Problem(where, "variable missing in production", variable=v) for v in self.missing_variables]
        for side, keys in (("production", self.only_in_production), ("QC", self.only_in_qc)):
            if keys:
                out.append(Problem(where, f"{len(keys)} record(s) only in {side}", row=keys[0], variable="+".join(self.keys)))
        for variable, found in self.mismatches.items():
            first = found["examples"][0]
            out.append(Problem(where, f"{found['count']} of {self.rows_matched} value(s) differ between production and QC "
                                      f"(production {first['production']!r}, QC {first['qc']!r})",
                               row=first["key"], variable=variable))
        return out


def _key_text(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    text = frame[keys[0]].astype("str")
    for key in keys[1:]:
        text = text + "/" + frame[key].astype("str")
    return text


def _shown(value: object) -> object:
    """A JSON-friendly value for the report: None for missing, ISO text for dates, plain numbers."""
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value) if not isinstance(value, (int, float)) else value


def _unequal(a: pd.Series, b: pd.Series) -> pd.Series:
    """Element-wise difference as datacompy judges it: both missing is equal, numbers within ABS_TOL."""
    both_missing = a.isna() & b.isna()
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        same = np.isclose(a.astype("float64"), b.astype("float64"), rtol=0, atol=ABS_TOL)
        return ~(both_missing | pd.Series(same, index=a.index))
    if pd.api.types.is_datetime64_any_dtype(a) or pd.api.types.is_datetime64_any_dtype(b):
        same = pd.to_datetime(a).astype("datetime64[ms]").eq(pd.to_datetime(b).astype("datetime64[ms]"))
        return ~(both_missing | same)
    return ~(both_missing | a.astype("str").eq(b.astype("str")))


def compare_target(target: Target, production: pd.DataFrame, qc: pd.DataFrame) -> TargetResult:
    """Compare the target's variables on its keys (datacompy through `sap.compare.compare_datasets`), then
    collect up to EXAMPLES differing keys per variable with both values."""
    result = TargetResult(target.name, target.keys, target.variables, target.description)
    result.missing_variables = [v for v in target.keys + target.variables if v not in production.columns]
    if result.missing_variables:
        return result
    prod = target.rows(production)[target.keys + target.variables].reset_index(drop=True)
    mine = target.rows(qc)[target.keys + target.variables].reset_index(drop=True)
    result.rows_production, result.rows_qc = len(prod), len(mine)
    outcome = compare_datasets(prod, mine, target.keys, base_name=f"production {target.name}",
                               compare_name=f"QC {target.name}", abs_tol=ABS_TOL)
    merged = prod.merge(mine, on=target.keys, how="outer", suffixes=("_prod", "_qc"), indicator=True)
    merged = merged.sort_values(target.keys).reset_index(drop=True)
    keys_text = _key_text(merged, target.keys)
    result.only_in_production = keys_text[merged["_merge"].eq("left_only")].tolist()
    result.only_in_qc = keys_text[merged["_merge"].eq("right_only")].tolist()
    both = merged[merged["_merge"].eq("both")]
    result.rows_matched = len(both)
    for variable in target.variables:
        unequal = _unequal(both[f"{variable}_prod"], both[f"{variable}_qc"])
        count = int(unequal.sum())
        if variable in outcome.columns_with_mismatches or count:
            rows = both[unequal].head(EXAMPLES)
            result.mismatches[variable] = {
                "count": max(count, outcome.columns_with_mismatches.get(variable, 0)),
                "examples": [{"key": keys_text[i], "production": _shown(rows.at[i, f"{variable}_prod"]),
                              "qc": _shown(rows.at[i, f"{variable}_qc"])} for i in rows.index],
            }
    return result


def merge_results(parts: list[TargetResult]) -> TargetResult:
    """The results of one target compared partition by partition (disjoint subjects, in USUBJID order) as one
    result: counts added, unmatched keys and mismatch examples in partition order (the first EXAMPLES, as a
    whole comparison sorted by keys that start with USUBJID shows them)."""
    first = parts[0]
    out = TargetResult(first.name, first.keys, first.variables, first.description)
    for part in parts:
        out.rows_production += part.rows_production
        out.rows_qc += part.rows_qc
        out.rows_matched += part.rows_matched
        out.only_in_production += part.only_in_production
        out.only_in_qc += part.only_in_qc
        out.missing_variables += [v for v in part.missing_variables if v not in out.missing_variables]
        for variable, found in part.mismatches.items():
            merged = out.mismatches.setdefault(variable, {"count": 0, "examples": []})
            merged["count"] += found["count"]
            merged["examples"] = (merged["examples"] + found["examples"])[:EXAMPLES]
    # a variable's mismatches are listed in the order of TARGETS' variables, as compare_target does
    out.mismatches = {v: out.mismatches[v] for v in first.variables if v in out.mismatches}
    return out


def production_rates(adam: Mapping[str, pd.DataFrame], study: Study) -> pd.DataFrame:
    """The production SRI-k rates by visit as the TLFs compute them (Tables 14.2.1/14.2.2; FAS)."""
    from tlf.efficacy import sri_rates_by_visit  # the production side of the result, not a QC input

    return sri_rates_by_visit(adam, "FASFL", study)


def compare_all(qc: Mapping[str, pd.DataFrame], adam: Mapping[str, pd.DataFrame], study: Study) -> list[TargetResult]:
    """Every target compared; a production dataset that is missing is reported as such, not skipped."""
    production = dict(adam)
    if "ADSL" in adam and "ADRS" in adam:
        production["SRIRATES"] = production_rates(adam, study)
    return [compare_one(target, production, qc) for target in TARGETS]


def compare_one(target: Target, production: Mapping[str, pd.DataFrame], qc: Mapping[str, pd.DataFrame]) -> TargetResult:
    """One target compared; a production dataset that is missing is reported as such, not skipped."""
    if target.name not in production:
        result = TargetResult(target.name, target.keys, target.variables, target.description)
        result.missing_variables = ["(dataset not found in production)"]
        return result
    return compare_target(target, production[target.name], qc[target.qc_name])


def _cell(value: object) -> str:
    """A value from the data as a Markdown table cell that reads back as typed (`sap.text.markdown_text`)."""
    return "(missing)" if value is None else markdown_text(str(value))


def report_markdown(results: list[TargetResult], rates: pd.DataFrame, study: Study) -> str:
    """`qc_report.md`: the QC verdict, then per target the variables compared, rows matched, mismatches with
    examples; and the QC primary result."""
    passed = all(r.passed for r in results)
    lines = ["# QC: independent double programming", "",
             "The QC twin (`validation/qc/`) re-derives the key ADaM variables and the primary result from SDTM and the "
             "plan with its own code (no production derivation is imported) and compares them with production "
             "(datacompy, numbers within 1e-9).", "",
             f"**Verdict: {'PASS - production and QC agree' if passed else 'FAIL - production and QC differ'}.**", "",
             "| Dataset | Keys | Variables | Rows production | Rows QC | Rows matched | Mismatching variables | Status |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.name} | {', '.join(r.keys)} | {len(r.variables)} | {r.rows_production} | {r.rows_qc} | "
                     f"{r.rows_matched} | {len(r.mismatches)} | {'PASS' if r.passed else 'FAIL'} |")
    for r in results:
        lines += ["", f"## {r.name}", "", f"Records compared: {r.description}. Keys: {', '.join(r.keys)}.", "",
                  f"Variables compared: {', '.join(r.variables)}.", "",
                  f"Rows: production {r.rows_production}, QC {r.rows_qc}, matched {r.rows_matched}, "
                  f"only in production {len(r.only_in_production)}, only in QC {len(r.only_in_qc)}."]
        if r.missing_variables:
            lines += ["", f"Missing in production: {', '.join(r.missing_variables)}."]
        for side, keys in (("production", r.only_in_production), ("QC", r.only_in_qc)):
            if keys:
                lines += ["", f"Examples only in {side}: {', '.join(keys[:EXAMPLES])}."]
        if r.mismatches:
            lines += ["", "| Variable | Unequal values | Key | Production | QC |", "|---|---|---|---|---|"]
            for variable, found in r.mismatches.items():
                for i, example in enumerate(found["examples"]):
                    lead = f"{variable} | {found['count']}" if i == 0 else " | "
                    lines.append(f"| {lead} | {_cell(example['key'])} | {_cell(example['production'])} | {_cell(example['qc'])} |")
        elif r.passed:
            lines += ["", "No mismatches."]
    lines += ["", "## Readings of ambiguous spec texts", ""] + [f"- {reading}" for reading in READINGS]
    primary = rates[rates["PRIMARY"].eq("Y")]
    if len(primary):
        row = primary.iloc[0]
        confidence = 1 - study.endpoints.alpha
        lines += ["", "## QC primary result", "",
                  f"SRI-4 at {study.primary_visit.visit.title()} (FAS, non-responder imputation): {row['x']}/{row['n']} = "
                  f"{row['rate'] * 100:.1f}%, Clopper-Pearson {confidence:.0%} CI {row['lower'] * 100:.2f}-{row['upper'] * 100:.2f}% "
                  "(beta quantiles, scipy.stats.beta)."]
    return "\n".join(lines) + "\n"
