"""Suites generated from the dataset specs (`sap/specs/`): the spec is the only variable list.

For any `DatasetSpec` and the frame to validate, `spec_expectations` plans:
- `variable_exists`: every Req and Exp variable is present (GX expect_column_to_exist);
- `variable_in_spec`: no variable outside the spec (Define-XML lists every variable);
- `key_unique`: the spec keys are unique together (GX expect_compound_columns_to_be_unique);
- `required_not_null`: Req variables have no missing value (SDTMIG 4.1.1.5 / ADaMIG 3.1 core "Req");
- `codelist`: values of a non-extensible codelist are terms of it (GX expect_column_values_to_be_in_set);
- `test_name_matches_code`: value level, --TEST (or PARAM) is the decode of its --TESTCD (PARAMCD) term;
- `type`: the column's storage type matches the spec type (integer values are whole numbers);
- `iso8601`: --DTC values are ISO 8601 dates the calendar has (no month 13, no 30 February), partial only
  where the spec says `partial: true`;
- `range`: numeric values inside the spec `range` (GX expect_column_values_to_be_between);
- `spec_length`: text values fit the spec length in UTF-8 bytes;
and, for every column of the data (spec or not), the SAS transport v5 limits (FDA Study Data Technical
Conformance Guide): `xpt_name_length` (<= 8), `xpt_label_length` (<= 40), `xpt_value_bytes` (<= 200 bytes
of UTF-8 per character value), and per dataset `xpt_dataset_label_length` (<= 40).

`restrict_to_data=True` validates a dataset nobody here made against our spec of the same domain: only the
variables both have are checked, and existence / extra-variable checks are skipped.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sap.specs import Codelist, DatasetSpec, Variable, iso8601_invalid
from validation.engine import Planned

XPT_NAME_MAX = 8
XPT_LABEL_MAX = 40
XPT_VALUE_BYTES_MAX = 200


def is_text(series: pd.Series) -> bool:
    """Text storage: pandas `str` dtype, or object holding only strings (XPT reads, hand-made frames)."""
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        return True
    if series.dtype == object:
        return bool(series.dropna().map(lambda v: isinstance(v, str)).all())
    return False


def utf8_bytes(series: pd.Series) -> pd.Series:
    """UTF-8 byte length of each value (NaN where missing), computed by Arrow without a Python loop."""
    try:
        array = pa.array(series.array) if is_text(series) else None  # Arrow-backed str: no copy
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None
    if array is None or not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        text = series.astype(object).where(series.notna(), None).map(lambda v: v if v is None else str(v))
        array = pa.array(text.to_numpy(dtype=object), type=pa.string())
    lengths = pc.binary_length(array).to_numpy(zero_copy_only=False)
    return pd.Series(lengths, index=series.index, dtype="float64")


# --------------------------------------------------------------------------------------------------------
# Plain checks (closures over the variable)


def _too_long(column: str, limit: int):
    def check(df: pd.DataFrame) -> pd.DataFrame:
        return df.loc[utf8_bytes(df[column]).to_numpy() > limit]  # NaN (missing) compares False
    return check


def _iso8601_check(var: Variable):
    """ISO 8601 shape and calendar (a plain check: GX's regex expectation cannot tell 2014-02-30 from a date)."""
    def check(df: pd.DataFrame) -> pd.DataFrame:
        return df.loc[iso8601_invalid(df[var.name], var.partial).to_numpy()]
    return check


def _type_check(var: Variable):
    column = var.name

    def check(df: pd.DataFrame) -> pd.DataFrame:
        col = df[column]
        present = col.notna()
        if var.type in ("text", "iso8601"):
            ok = is_text(col)
        elif var.type == "date":
            ok = pd.api.types.is_datetime64_any_dtype(col) or bool(
                col.dropna().map(lambda v: hasattr(v, "isoformat") and not isinstance(v, str)).all())
        else:
            ok = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if not ok:
            return df.loc[present]
        if var.type == "integer":
            values = col.astype("float64")
            return df.loc[present & (values != np.round(values))]
        return df.iloc[0:0]
    return check


def _name_too_long(column: str):
    def check(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"VALUE": [column]}) if len(column) > XPT_NAME_MAX else pd.DataFrame({"VALUE": []})
    return check


def _label_too_long(column: str):
    def check(df: pd.DataFrame) -> pd.DataFrame:
        label = str(df.attrs.get("labels", {}).get(column, ""))
        return pd.DataFrame({"VALUE": [label]}) if len(label) > XPT_LABEL_MAX else pd.DataFrame({"VALUE": []})
    return check


def _dataset_label_too_long(df: pd.DataFrame) -> pd.DataFrame:
    label = str(df.attrs.get("label", ""))
    return pd.DataFrame({"VALUE": [label]}) if len(label) > XPT_LABEL_MAX else pd.DataFrame({"VALUE": []})


def _not_in_spec(column: str):
    def check(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"VALUE": [column]})
    return check



# --------------------------------------------------------------------------------------------------------
# The suite of one dataset


def _codelist_values(cl: Codelist) -> list:
    if cl.data_type == "text":
        return list(cl.values)
    return [float(v) for v in cl.values]


def _decode_pairs(code_var: Variable, name_column: str, df: pd.DataFrame, codelists: dict[str, Codelist]) -> Planned | None:
    """Value-level: --TEST (PARAM) must be the decode of its --TESTCD (PARAMCD) term, when every term of the
    codelist has a decode. A plain check: GX's expect_column_pair_values_to_be_in_set loops over rows in
    Python (iterrows), far too slow for millions of records."""
    cl = codelists.get(code_var.codelist or "")
    if cl is None or name_column not in df.columns or any(t.decode is None for t in cl.terms):
        return None
    decodes = {t.value: t.decode for t in cl.terms}
    code_column = code_var.name

    def check(frame: pd.DataFrame) -> pd.DataFrame:
        both = frame[code_column].notna() & frame[name_column].notna()
        expected = frame[code_column].map(decodes)
        bad = both & ~frame[name_column].eq(expected).fillna(False).astype(bool)
        return frame.loc[bad]

    return Planned(dataset="", rule="test_name_matches_code", column=name_column,
                   description=f"{name_column} is the decode of {code_column} in codelist {cl.id}", check=check)


def spec_expectations(spec: DatasetSpec, df: pd.DataFrame, codelists: dict[str, Codelist],
                      restrict_to_data: bool = False) -> list[Planned]:
    """The expectations the spec implies for `df` (see the module docstring); generic for any spec."""
    name = spec.name
    planned: list[Planned] = []

    def add(rule: str, column: str | None, description: str, gx=None, check=None) -> None:
        planned.append(Planned(name, rule, column, description, gx=gx, check=check))

    variables = [v for v in spec.variables if v.name in df.columns] if restrict_to_data else list(spec.variables)

    # structure
    if not restrict_to_data:
        for var in variables:
            if var.core in ("Req", "Exp"):
                add("variable_exists", var.name, f"{var.core} variable {var.name} exists",
                    gx=("ExpectColumnToExist", {"column": var.name}))
        for column in df.columns:
            if column not in spec.names:
                add("variable_in_spec", column, f"{column} is a variable of the {name} spec", check=_not_in_spec(column))
    if all(k in df.columns for k in spec.keys):
        keys = list(spec.keys)
        gx = (("ExpectCompoundColumnsToBeUnique", {"column_list": keys}) if len(keys) > 1
              else ("ExpectColumnValuesToBeUnique", {"column": keys[0]}))
        add("key_unique", ",".join(keys), f"keys {', '.join(keys)} identify one record", gx=gx)

    for var in variables:
        if var.name not in df.columns:
            continue  # reported by variable_exists (Req/Exp) or allowed (Perm/Cond)
        col = df[var.name]
        if var.core == "Req":
            add("required_not_null", var.name, f"Req variable {var.name} has no missing value",
                gx=("ExpectColumnValuesToNotBeNull", {"column": var.name}))
        add("type", var.name, f"{var.name} is stored as {var.type}", check=_type_check(var))
        text_ok = is_text(col)
        if var.codelist and not codelists[var.codelist].extensible:
            cl = codelists[var.codelist]
            if (cl.data_type == "text") == text_ok or col.isna().all():
                add("codelist", var.name, f"{var.name} values are terms of codelist {cl.id}",
                    gx=("ExpectColumnValuesToBeInSet", {"column": var.name, "value_set": _codelist_values(cl)}))
        if var.codelist and (var.name.endswith("TESTCD") or var.name == "PARAMCD"):
            name_column = var.name[:-2] if var.name.endswith("TESTCD") else "PARAM"
            pair = _decode_pairs(var, name_column, df, codelists)
            if pair is not None:
                planned.append(Planned(name, pair.rule, pair.column, pair.description, check=pair.check))
        if var.type == "iso8601" and text_ok and not col.isna().all():
            kind = "ISO 8601, partial allowed" if var.partial else "complete ISO 8601 (no partial dates)"
            add("iso8601", var.name, f"{var.name} is {kind}, a date the calendar has", check=_iso8601_check(var))
        if var.range is not None and pd.api.types.is_numeric_dtype(col):
            low, high = var.range
            add("range", var.name, f"{var.name} within [{low:g}, {high:g}]",
                gx=("ExpectColumnValuesToBeBetween", {"column": var.name, "min_value": low, "max_value": high}))
        if var.type in ("text", "iso8601") and var.length and text_ok:
            add("spec_length", var.name, f"{var.name} fits its spec length of {var.length} bytes",
                check=_too_long(var.name, var.length))
    planned += xpt_expectations(name, df)
    return planned


def xpt_expectations(name: str, df: pd.DataFrame) -> list[Planned]:
    """SAS transport v5 limits for every column of the data, and the dataset label."""
    planned = [Planned(name, "xpt_dataset_label_length", None, f"dataset label <= {XPT_LABEL_MAX} characters",
                       check=_dataset_label_too_long)]
    for column in df.columns:
        planned.append(Planned(name, "xpt_name_length", column, f"variable name <= {XPT_NAME_MAX} characters",
                               check=_name_too_long(column)))
        planned.append(Planned(name, "xpt_label_length", column, f"variable label <= {XPT_LABEL_MAX} characters",
                               check=_label_too_long(column)))
        if is_text(df[column]):
            planned.append(Planned(name, "xpt_value_bytes", column, f"character values <= {XPT_VALUE_BYTES_MAX} bytes (UTF-8)",
                                   check=_too_long(column, XPT_VALUE_BYTES_MAX)))
    return planned
