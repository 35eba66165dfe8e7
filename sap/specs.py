"""Dataset metadata (`sap/specs/`), mirroring Define-XML, and its application to data frames.

Layout:
- `sap/specs/sdtm/<domain>.yaml`, `sap/specs/adam/<dataset>.yaml`: one ItemGroup (dataset) each, with its
  ItemDefs (variables) and MethodDefs (derivation text).
- `sap/specs/codelists/*.yaml`: CodeLists (CDISC controlled terminology and sponsor-defined terms).
- `sap/specs/raw/forms.yaml`: the raw EDC forms (columns, types, allowed values), read by the SDTM stage.

Variable types: `text`, `integer`, `float`, `iso8601` (SDTM --DTC text; partial values allowed when
`partial: true`) and `date` (ADaM numeric date, written to XPT as a SAS date with format DATE9.).
Text lengths are in bytes of UTF-8, as XPT stores them.
"""

from __future__ import annotations

import copy
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sap.errors import Problem, SpecError

# The plan's metadata folder; SAP_SPECS_DIR points the whole package at a copy (a study's own plan, or a test
# that plants a defect in one file).
SPECS_DIR = Path(os.environ.get("SAP_SPECS_DIR") or Path(__file__).resolve().parent / "specs").resolve()
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: specs load ~10x faster

VariableType = Literal["text", "integer", "float", "iso8601", "date"]
# The shape of an ISO 8601 date/time as SDTM stores it (SDTMIG 4.4.2): complete (date, optionally with hh:mm or
# hh:mm:ss) or, where the spec allows, partial from the right (year, year-month, ...). The shape alone is not
# enough: `iso8601_invalid` also checks the calendar (month 01-12, a day that exists in that month and year,
# hours < 24, minutes and seconds < 60).
ISO8601_FULL = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$")
ISO8601_PARTIAL = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2}))?)?)?)?)?$"
)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def iso8601_invalid(values: pd.Series, partial: bool) -> pd.Series:
    """True where a present value is not a calendar-valid ISO 8601 date/time (SDTMIG 4.4.2): the wrong shape
    (or a partial value where `partial` is False), month outside 01-12, a day the month does not have (Feb 29
    only in leap years), hour > 23, minute or second > 59. Missing values are not invalid. Vectorised with
    Arrow's RE2 (`extract_regex`), so it scales to millions of records."""
    present = values.notna().to_numpy()
    try:
        text = pa.array(values.array, type=pa.large_string())  # Arrow-backed `str`: no Python loop
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = pa.array([None if pd.isna(v) else str(v) for v in values], type=pa.large_string())
    pattern = (ISO8601_PARTIAL if partial else ISO8601_FULL).pattern
    parts = pc.extract_regex(text, pattern)  # null where the shape does not match
    shaped = parts.is_valid().to_numpy(zero_copy_only=False) & present

    def number(field: str) -> np.ndarray:
        column = pc.struct_field(parts, field)
        column = pc.if_else(pc.equal(column, ""), None, column)  # an optional part that is absent
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)  # NaN where absent or unmatched

    year, month, day, hour, minute, second = (number(f) for f in ("y", "m", "d", "H", "M", "S"))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = np.isnan(month) | ((month >= 1) & (month <= 12))
    safe_month = np.where(month_ok & ~np.isnan(month), month, 1).astype(int)
    last_day = _DAYS_IN_MONTH[safe_month] + ((safe_month == 2) & leap)
    day_ok = np.isnan(day) | ((day >= 1) & (day <= last_day))
    time_ok = ((np.isnan(hour) | (hour <= 23)) & (np.isnan(minute) | (minute <= 59))
               & (np.isnan(second) | (second <= 59)))
    valid = shaped & month_ok & day_ok & time_ok
    return pd.Series(present & ~valid, index=values.index)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Term(_Strict):
    value: str
    decode: str | None = None
    c_code: str | None = Field(default=None, pattern=r"^C\d+$")  # NCI code of a CDISC CT term
    extended: bool = False  # a sponsor term added to an extensible CDISC codelist (define.xml ExtendedValue)


class Codelist(_Strict):
    """A Define-XML CodeList: CDISC controlled terminology (with C-codes) or sponsor-defined terms."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name: str
    source: str  # e.g. "CDISC SDTM CT 2025-03-28" or "Sponsor"
    c_code: str | None = None
    extensible: bool = False
    data_type: Literal["text", "integer", "float"] = "text"
    terms: list[Term] = Field(min_length=1)

    @property
    def values(self) -> list[str]:
        return [t.value for t in self.terms]

    def decode(self, value: str) -> str | None:
        for term in self.terms:
            if term.value == value:
                return term.decode
        return None


class Variable(_Strict):
    """A Define-XML ItemDef with its ItemRef attributes (core, order) and MethodDef text."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,7}$")
    label: str = Field(max_length=40)
    type: VariableType
    length: int | None = Field(default=None, gt=0, le=200)
    codelist: str | None = None
    origin: Literal["Collected", "Derived", "Assigned", "Protocol", "Predecessor"]
    source: str | None = None  # raw form and column, or predecessor dataset.variable
    core: Literal["Req", "Exp", "Perm", "Cond"]
    derivation: str | None = None
    partial: bool = False  # iso8601 only: partial dates allowed
    range: tuple[float, float] | None = None  # inclusive value range, checked by validation
    format: str | None = None  # SAS display format for XPT (e.g. DATE9.)

    @model_validator(mode="after")
    def _type_rules(self) -> "Variable":
        if self.type in ("text", "iso8601") and self.length is None:
            raise ValueError(f"{self.name}: text variables need a length")
        if self.partial and self.type != "iso8601":
            raise ValueError(f"{self.name}: partial applies to iso8601 variables only")
        if self.origin == "Derived" and not self.derivation:
            raise ValueError(f"{self.name}: a derived variable needs its derivation text")
        return self


class DatasetSpec(_Strict):
    """A Define-XML ItemGroupDef."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,7}$")
    label: str = Field(max_length=40)
    standard: Literal["SDTM", "ADaM"]
    dataset_class: str = Field(alias="class")
    structure: str
    keys: list[str] = Field(min_length=1)
    variables: list[Variable] = Field(min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _keys_are_variables(self) -> "DatasetSpec":
        names = [v.name for v in self.variables]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"variables listed twice: {dupes}")
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise ValueError(f"keys {missing} are not variables of {self.name}")
        return self

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def variable(self, name: str) -> Variable:
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(f"{self.name}.{name}")

    @property
    def labels(self) -> dict[str, str]:
        return {v.name: v.label for v in self.variables}


def read_yaml(path: Path, missing: str = "file not found") -> object:
    """A YAML file of the plan; a missing or malformed file is a one-line SpecError naming it."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except FileNotFoundError:
        raise SpecError(Problem(str(path), missing)) from None
    except yaml.YAMLError as exc:
        raise SpecError(Problem(str(path), f"not valid YAML: {exc}".replace("\n", " "))) from None


# --------------------------------------------------------------------------------------------------------
# The plan's other YAML files, each read through a typed model: a misspelt or unknown key is an error naming
# the file and the key, never a KeyError deep in a builder.


class SledaiItem(_Strict):
    column: str  # raw SLEDAI-2K form column
    testcd: str  # QSTESTCD
    weight: int = Field(gt=0)  # Gladman 2002
    organ: str  # organ group of the ADSL baseline involvement flags


class OrganGroup(_Strict):
    organ: str  # the `organ` of the SLEDAI-2K items
    flag: str  # ADSL baseline involvement flag
    label: str  # the name printed in tables, figures and the SAP


class Sledai(_Strict):
    qscat: str
    total_testcd: str
    items: list[SledaiItem] = Field(min_length=1)
    organ_groups: list[OrganGroup] = Field(min_length=1)

    @model_validator(mode="after")
    def _every_organ_named(self) -> "Sledai":
        named = [g.organ for g in self.organ_groups]
        unnamed = sorted({item.organ for item in self.items} - set(named))
        if unnamed:
            raise ValueError(f"organ group(s) of items without an entry in organ_groups: {unnamed}")
        if len(set(named)) != len(named):
            raise ValueError("an organ group is listed twice in organ_groups")
        return self


class BilagDomain(_Strict):
    column: str
    testcd: str


class Bilag(_Strict):
    qscat: str
    grade_scores: dict[Literal["A", "B", "C", "D", "E"], int]
    domains: list[BilagDomain] = Field(min_length=1)


class Pga(_Strict):
    qscat: str
    testcd: str
    range: list[int | float] = Field(min_length=2, max_length=2)


class Instruments(_Strict):
    """`specs/raw/instruments.yaml`: SLEDAI-2K items, weights and organ groups; BILAG-2004 domains and grade
    scores; PGA."""

    sledai_2k: Sledai
    bilag_2004: Bilag
    pga: Pga


class _LabEntry(_Strict):
    lbtestcd: str
    lbtest: str
    lbcat: str
    lbspec: str
    paramcd: str
    std_unit: str
    units: dict[str, int | float] = Field(min_length=1)  # collected unit -> factor to the standard unit
    sponsor: bool = False  # a sponsor-defined code (not CDISC CT)
    definition: str | None = None


class LabTest(_LabEntry):
    edc_test: str


class FlowPopulation(_LabEntry):
    edc_population: str


class LabTests(_Strict):
    """`specs/raw/lab_tests.yaml`: collected test or population -> LB codes, units and factors, ADLB PARAMCD."""

    laboratory: list[LabTest] = Field(min_length=1)
    flow_cytometry: list[FlowPopulation]


class CustomisedQuery(_Strict):
    id: str = Field(pattern=r"^CQ\d{2}$")
    name: str
    preferred_terms: list[str] = Field(min_length=1)


class Queries(_Strict):
    """`specs/queries.yaml`: the customised MedDRA queries of ADAE (CQxxNAM)."""

    customised_queries: list[CustomisedQuery]


class ArmCondition(_Strict):
    dataset: str
    variable: str
    comparator: Literal["EQ", "NE", "LT", "LE", "GT", "GE", "IN", "NOTIN"]
    value: str


class ArmDisplay(_Strict):
    reason: str  # ARM AnalysisReason (SPECIFIED IN SAP, ...)
    purpose: str  # ARM AnalysisPurpose (PRIMARY OUTCOME MEASURE, ...)
    documentation: str = Field(min_length=1)
    conditions: list[ArmCondition] = []  # shared by every result of the display, implicit in the ARS


class Arm(_Strict):
    """`specs/arm.yaml`: what the Analysis Results Metadata of the ADaM define.xml needs beyond the ARS
    ReportingEvent: each display's SAP reference, reason and purpose; the records of a non-variable grouping."""

    displays: dict[str, ArmDisplay] = Field(min_length=1)
    groupings: dict[str, dict[str, list[ArmCondition]]]
    programming_context: str


class MeddraTerm(_Strict):
    name: str
    code: int = Field(ge=10_000_000, le=99_999_999)  # MedDRA codes have 8 digits
    soc: str | None = None   # HLGT: its SOC
    hlgt: str | None = None  # HLT: its HLGT
    hlt: str | None = None   # PT: its primary HLT
    pt: str | None = None    # LLT: its PT


class Meddra(_Strict):
    """`specs/meddra.yaml`: the MedDRA hierarchy of the twin's AE terms (a synthetic dictionary: see the file)."""

    version: str = Field(pattern=r"^\d{1,2}\.\d$")
    synthetic_prefix: str
    soc: list[MeddraTerm]
    hlgt: list[MeddraTerm]
    hlt: list[MeddraTerm]
    pt: list[MeddraTerm]
    llt: list[MeddraTerm]

    @model_validator(mode="after")
    def _hierarchy_resolves(self) -> "Meddra":
        """Every parent named exists at the level above; an LLT that is its PT has the PT's code."""
        for level, parent, above in (("hlgt", "soc", self.soc), ("hlt", "hlgt", self.hlgt), ("pt", "hlt", self.hlt), ("llt", "pt", self.pt)):
            names = {t.name for t in above}
            for term in getattr(self, level):
                if getattr(term, parent) not in names:
                    raise ValueError(f"{level} {term.name!r}: {parent} {getattr(term, parent)!r} is not a {parent} of the file")
        pt_codes = {t.name: t.code for t in self.pt}
        for term in self.llt:
            if term.name == term.pt and term.code != pt_codes[term.pt]:
                raise ValueError(f"llt {term.name!r} is its PT: its code must be the PT's ({pt_codes[term.pt]})")
        return self


def plan_problems(path: Path, exc: ValidationError) -> list[Problem]:
    """One line per problem of a plan file, naming the file and the key path (`sledai_2k.items.3.weight`). A
    misspelt key is one line ("unknown key 'wieght' (misspelt? expected: weight)"), not an unknown key plus
    a missing one."""
    errors = exc.errors()
    extra_parents = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    missing = {}
    for e in errors:
        if e["type"] == "missing" and tuple(e["loc"][:-1]) in extra_parents:
            missing.setdefault(tuple(e["loc"][:-1]), []).append(str(e["loc"][-1]))
    problems = []
    for e in errors:
        parent = tuple(e["loc"][:-1])
        if e["type"] == "missing" and parent in extra_parents:
            continue  # said with the unknown key beside it
        key = ".".join(map(str, e["loc"])) or "(file)"
        if e["type"] == "extra_forbidden":
            expected = missing.get(parent)
            hint = f" (misspelt? expected: {', '.join(expected)})" if expected else " (not a key of this entry)"
            problems.append(Problem(str(path), f"unknown key {e['loc'][-1]!r}{hint}", variable=key))
        else:
            value = None if e["type"] == "missing" else e.get("input")
            problems.append(Problem(str(path), e["msg"].removeprefix("Value error, "), variable=key,
                                    value=value if isinstance(value, (str, int, float)) else None))
    return problems


def read_plan_file(path: Path, model: type[BaseModel]) -> BaseModel:
    """A YAML file of the plan validated by its typed model; any problem is a SpecError naming file and key."""
    try:
        return model.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise SpecError(plan_problems(path, exc)) from None


@lru_cache(maxsize=8)
def _plan_data(relative: str, model: type[BaseModel]) -> dict:
    # exclude_unset: callers get exactly the keys the file has (the validated data, not the model defaults)
    return read_plan_file(SPECS_DIR / relative, model).model_dump(exclude_unset=True)


def load_instruments() -> dict:
    """`specs/raw/instruments.yaml` (SLEDAI-2K items, weights and organ groups; BILAG-2004 domains and grade
    scores; PGA), validated by `Instruments`: parsed once per process, returned as a fresh copy so no caller
    can alter another's."""
    return copy.deepcopy(_plan_data("raw/instruments.yaml", Instruments))


def load_lab_tests() -> dict:
    """`specs/raw/lab_tests.yaml` (collected test -> LB codes, units and factors, ADLB PARAMCD), validated by
    `LabTests`, as a copy."""
    return copy.deepcopy(_plan_data("raw/lab_tests.yaml", LabTests))


def load_queries() -> list[dict]:
    """The customised MedDRA queries of `specs/queries.yaml`, validated by `Queries`, as a copy."""
    return copy.deepcopy(_plan_data("queries.yaml", Queries))["customised_queries"]


def load_arm() -> dict:
    """`specs/arm.yaml` (Analysis Results Metadata beyond the ARS JSON), validated by `Arm`, as a copy."""
    return copy.deepcopy(_plan_data("arm.yaml", Arm))


def load_meddra() -> dict:
    """`specs/meddra.yaml` validated by `Meddra`, as a copy."""
    return copy.deepcopy(_plan_data("meddra.yaml", Meddra))


MEDDRA_CODING_COLUMNS = ("LLT", "LLT_CODE", "PT", "PT_CODE", "HLT", "HLT_CODE", "HLGT", "HLGT_CODE", "SOC", "SOC_CODE")


def meddra_coding(llts: pd.Series) -> pd.DataFrame:
    """The MedDRA coding of each lowest level term (`specs/meddra.yaml`): LLT, PT, primary HLT, HLGT and
    primary SOC with their codes (integers), one row per input value in input order; an LLT the dictionary
    lacks is a SpecError naming it."""
    meddra = load_meddra()
    by = {level: {t["name"]: t for t in meddra[level]} for level in ("soc", "hlgt", "hlt", "pt", "llt")}
    unknown = sorted(set(llts.dropna()) - set(by["llt"]))
    if unknown:
        raise SpecError([Problem(str(SPECS_DIR / "meddra.yaml"), "lowest level term not in the dictionary", variable="llt", value=v) for v in unknown])
    rows = {}
    for name in set(llts.dropna()):
        llt = by["llt"][name]
        pt = by["pt"][llt["pt"]]
        hlt = by["hlt"][pt["hlt"]]
        hlgt = by["hlgt"][hlt["hlgt"]]
        soc = by["soc"][hlgt["soc"]]
        rows[name] = (llt["name"], llt["code"], pt["name"], pt["code"], hlt["name"], hlt["code"], hlgt["name"], hlgt["code"],
                      soc["name"], soc["code"])
    return pd.DataFrame([rows[v] for v in llts], columns=list(MEDDRA_CODING_COLUMNS), index=llts.index)


def _validation_problems(path: Path, exc: ValidationError) -> list[Problem]:
    return [
        Problem(str(path), err["msg"].removeprefix("Value error, "), variable=".".join(map(str, err["loc"])))
        for err in exc.errors()
    ]


@lru_cache(maxsize=4)
def load_codelists(specs_dir: Path = SPECS_DIR) -> dict[str, Codelist]:
    """All codelists under `specs/codelists/`, by id. An id defined twice is an error."""
    codelists: dict[str, Codelist] = {}
    problems: list[Problem] = []
    for path in sorted((specs_dir / "codelists").glob("*.yaml")):
        for i, raw in enumerate(read_yaml(path) or []):
            try:
                cl = Codelist.model_validate(raw)
            except ValidationError as exc:
                problems += _validation_problems(path, exc)
                continue
            if cl.id in codelists:
                problems.append(Problem(str(path), "codelist defined twice", row=i + 1, variable=cl.id))
            codelists[cl.id] = cl
    if problems:
        raise SpecError(problems)
    return codelists


@lru_cache(maxsize=64)
def load_spec(name: str, specs_dir: Path = SPECS_DIR) -> DatasetSpec:
    """The spec of one dataset (`dm`, `adsl`, ...), searched under `specs/sdtm` and `specs/adam`."""
    stem = name.lower()
    candidates = [specs_dir / "sdtm" / f"{stem}.yaml", specs_dir / "adam" / f"{stem}.yaml"]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        raise SpecError(Problem(str(specs_dir), f"no spec for dataset {name.upper()}"))
    try:
        spec = DatasetSpec.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise SpecError(_validation_problems(path, exc)) from None
    codelists = load_codelists(specs_dir)
    unknown = [
        Problem(str(path), "codelist not defined under specs/codelists", variable=v.name, value=v.codelist)
        for v in spec.variables
        if v.codelist and v.codelist not in codelists
    ]
    if unknown:
        raise SpecError(unknown)
    return spec


def list_specs(standard: Literal["sdtm", "adam"], specs_dir: Path = SPECS_DIR) -> list[str]:
    """Dataset names (upper case) that have a spec for the standard, in file order."""
    return [p.stem.upper() for p in sorted((specs_dir / standard).glob("*.yaml"))]


# --------------------------------------------------------------------------------------------------------
# Applying a spec


def byte_lengths(series: pd.Series) -> pd.Series:
    """UTF-8 byte length of each non-missing value, computed by Arrow on the whole column."""
    if _is_text(series):  # already Arrow text: measured in place, without a copy of the column
        lengths = pc.fill_null(pc.binary_length(pc.cast(pa.array(series, from_pandas=True), pa.large_binary())), 0)
        present = series.notna().to_numpy()
        return pd.Series(np.asarray(lengths)[present], index=series.index[present])
    present = series.dropna().astype(str)
    lengths = pc.binary_length(pa.array(present, type=pa.large_string()).cast(pa.large_binary()))
    return pd.Series(lengths.to_numpy(zero_copy_only=False), index=present.index)


def _is_text(series: pd.Series) -> bool:
    """The pandas 3 `str` dtype (missing = NaN): what `_cast` makes of a text variable."""
    return isinstance(series.dtype, pd.StringDtype) and series.dtype.na_value is np.nan


def _cast(series: pd.Series, var: Variable) -> pd.Series:
    """Cast one column to the pandas type of its spec type."""
    if var.type in ("text", "iso8601"):
        if _is_text(series):  # already the target type: astype + where would copy the column twice
            return series
        out = series.astype("str")
        return out.where(series.notna(), np.nan)
    if var.type == "integer":
        numeric = pd.to_numeric(series, errors="raise")
        if numeric.notna().all() and (numeric == numeric.round()).all():
            return numeric.astype("int64")
        return numeric.astype("float64")  # integers with missing values stay float (SAS numeric)
    if var.type == "float":
        return pd.to_numeric(series, errors="raise").astype("float64")
    if var.type == "date":
        return pd.to_datetime(series, errors="raise").astype("datetime64[s]")
    raise AssertionError(var.type)


def conformance_problems(df: pd.DataFrame, spec: DatasetSpec, codelists: dict[str, Codelist] | None = None) -> list[Problem]:
    """What keeps `df` from conforming to `spec`: missing or extra variables, text longer than its length,
    values outside a non-extensible codelist, malformed ISO 8601 dates."""
    codelists = load_codelists() if codelists is None else codelists
    problems: list[Problem] = []
    where = spec.name
    for var in spec.variables:
        if var.name not in df.columns:
            if var.core in ("Req", "Exp"):
                problems.append(Problem(where, f"{var.core} variable missing", variable=var.name))
            continue
        col = df[var.name]
        if var.type in ("text", "iso8601") and var.length:
            lengths = byte_lengths(col)
            too_long = lengths[lengths > var.length]
            if len(too_long):
                i = too_long.index[0]
                problems.append(Problem(where, f"{len(too_long)} value(s) longer than {var.length} bytes", row=_row(df, i), variable=var.name, value=col[i]))
        if var.codelist:
            cl = codelists[var.codelist]
            if not cl.extensible:
                allowed = set(cl.values)
                present = col.dropna().astype(str) if cl.data_type == "text" else col.dropna().map(_number_text)
                bad = present[~present.isin(allowed)]
                if len(bad):
                    i = bad.index[0]
                    problems.append(Problem(where, f"{len(bad)} value(s) outside codelist {cl.id}", row=_row(df, i), variable=var.name, value=col[i]))
        if var.type == "iso8601":
            bad = col[iso8601_invalid(col, var.partial).to_numpy()]
            if len(bad):
                i = bad.index[0]
                kind = "ISO 8601 (partial allowed)" if var.partial else "complete ISO 8601"
                problems.append(Problem(where, f"{len(bad)} value(s) not {kind}", row=_row(df, i), variable=var.name, value=col[i]))
    extra = [c for c in df.columns if c not in spec.names]
    for name in extra:
        problems.append(Problem(where, "variable not in the spec", variable=name))
    return problems


def _number_text(value: object) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


def _row(df: pd.DataFrame, index: object) -> int:
    return int(df.index.get_loc(index)) + 1


def apply_spec(df: pd.DataFrame, spec: DatasetSpec | str) -> pd.DataFrame:
    """Conform a frame to its spec: check it, order the columns as the spec lists them, cast each to its
    type, and attach the dataset and variable labels (`df.attrs`). Permissible variables absent from the
    frame are left out; any other problem raises SpecError with one line per problem."""
    spec = load_spec(spec) if isinstance(spec, str) else spec
    problems = conformance_problems(df, spec)
    if problems:
        raise SpecError(problems)
    columns = [v for v in spec.variables if v.name in df.columns]
    out = pd.DataFrame({v.name: _cast(df[v.name], v) for v in columns}).reset_index(drop=True)
    out.attrs = {
        "name": spec.name,
        "label": spec.label,
        "labels": {v.name: v.label for v in columns},
    }
    return out
