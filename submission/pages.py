"""CRF page numbers: one page of the annotated CRF (acrf.pdf) per form of the forms contract
(`sap/specs/raw/forms.yaml`), in contract order. define.xml origins and the acrf both read this."""

from __future__ import annotations

import re

from sap.errors import Problem, SpecError
from sdtm.raw import FORMS_FILE, load_forms


SOURCE_PART = re.compile(r"^([a-z_]+)\.([A-Z][A-Z0-9_]*|\*)(?:\s*\(.*\))?$")


def source_columns(source: str | None) -> list[tuple[str, str]]:
    """(form, column) of each part of a spec `source` ("form.COLUMN", "form.*", an optional note in
    parentheses, parts separated by commas); parts that do not name a form column (DM.USUBJID) are skipped."""
    found = []
    for part in (source or "").split(","):
        match = SOURCE_PART.match(part.strip())
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def form_pages() -> dict[str, int]:
    """Physical page of each form in acrf.pdf: page 1 is the first form of the contract."""
    return {name: page for page, name in enumerate(load_forms(), start=1)}


def source_pages(dataset: str, variable: str, source: str | None) -> list[int]:
    """The acrf pages of a collected variable's `source` ("form.COLUMN", several separated by commas;
    "form.*" for the item columns of a form, e.g. the 24 SLEDAI-2K descriptors); a
    missing source or a form or column the contract lacks is an error naming the variable."""
    where = f"{dataset}.{variable}"
    if not source:
        raise SpecError(Problem(f"sap/specs/sdtm/{dataset.lower()}.yaml", "collected variable without a source form (no CRF page for define.xml)", variable=where))
    forms = load_forms()
    pages = form_pages()
    found = []
    parts = [p.strip() for p in source.split(",")]
    for part in parts:
        match = SOURCE_PART.match(part)
        form, column = (match.group(1), match.group(2)) if match else ("", "")
        if form not in forms or (column != "*" and column not in forms[form].columns):
            raise SpecError(Problem(f"sap/specs/sdtm/{dataset.lower()}.yaml", f"source is not a column of {FORMS_FILE.name}", variable=where, value=part))
        found.append(pages[form])
    return sorted(set(found))
