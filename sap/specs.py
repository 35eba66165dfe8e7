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

SPECS_DIR = Path(__file__).resolve().parent / "specs"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: specs load ~10x faster

VariableType = Literal["text", "integer", "float", "iso8601", "date"]
ISO8601_FULL = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$")
ISO8601_PARTIAL = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2})?)?)?)?)?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Term(_Strict):
    value: str
    decode: str | None = None
    c_code: str | None = None


class Codelist(_Strict):
    """A Define-XML CodeList: CDISC controlled terminology (with C-codes) or sponsor-defined terms."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name: str
    source: str  # e.g. "CDISC SDTM CT 2025-03-25" or "Sponsor"
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


@lru_cache(maxsize=8)
def _raw_spec(name: str) -> object:
    return read_yaml(SPECS_DIR / "raw" / name)


def load_instruments() -> dict:
    """`specs/raw/instruments.yaml` (SLEDAI-2K items, weights and organ groups; BILAG-2004 domains and grade
    scores; PGA): parsed once per process, returned as a fresh copy so no caller can alter another's."""
    return copy.deepcopy(_raw_spec("instruments.yaml"))


def load_lab_tests() -> dict:
    """`specs/raw/lab_tests.yaml` (collected test -> LB codes, units and factors, ADLB PARAMCD), as a copy."""
    return copy.deepcopy(_raw_spec("lab_tests.yaml"))


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


def _byte_lengths(series: pd.Series) -> pd.Series:
    """UTF-8 byte length of each non-missing value, computed by Arrow on the whole column."""
    present = series.dropna().astype(str)
    lengths = pc.binary_length(pa.array(present, type=pa.large_string()).cast(pa.large_binary()))
    return pd.Series(lengths.to_numpy(zero_copy_only=False), index=present.index)


def _cast(series: pd.Series, var: Variable) -> pd.Series:
    """Cast one column to the pandas type of its spec type."""
    if var.type in ("text", "iso8601"):
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
            lengths = _byte_lengths(col)
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
            pattern = ISO8601_PARTIAL if var.partial else ISO8601_FULL
            text = col.dropna().astype(str)
            bad = text[~text.str.match(pattern)]
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
