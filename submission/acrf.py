"""The annotated CRF (acrf.pdf) from the forms contract (`sap/specs/raw/forms.yaml`) and the SDTM specs:
one page per form, in contract order (`submission.pages.form_pages`, which define.xml origins cite), each
field with its type and choices and the SDTM variables it is submitted as ("NOT SUBMITTED" when none).

A field is annotated with DOMAIN.VARIABLE when a spec variable's `source` names it (or its form's `*`), or its
derivation text names "form.COLUMN". Rendered with Typst (PyPI `typst`, its embedded fonts only); the text is
passed as JSON data, never as markup, so a label from the specs cannot be read as Typst code.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from sap.specs import list_specs, load_spec
from sdtm.raw import load_forms, range_bound
from submission.pages import form_pages, source_columns

NOT_SUBMITTED = "NOT SUBMITTED"

TEMPLATE = r"""
#let data = json(bytes(sys.inputs.data))
#set document(title: data.title, date: none)
#set page(paper: "a4", margin: (x: 1.6cm, y: 1.8cm),
  header: align(right, text(8pt)[#data.title]),
  footer: context align(center, text(8pt)[Page #counter(page).display() of #counter(page).final().first()]))
#set text(size: 8.5pt)
#for (i, form) in data.forms.enumerate() {
  if i > 0 { pagebreak() }
  context { let p = here().page(); [#metadata((form: form.name, page: p)) <acrf-form>] }
  text(13pt, weight: "bold")[#form.description]
  linebreak()
  text(9pt)[Form #raw(form.name) (file #raw(form.file)); one record per #form.keys]
  v(4pt)
  for d in form.domains {
    box(stroke: 0.8pt + blue, inset: 3pt, text(fill: blue, weight: "bold")[#d])
    h(4pt)
  }
  v(6pt)
  table(columns: (auto, auto, 1fr, auto), inset: 3pt, stroke: 0.4pt + gray,
    table.header([*Field*], [*Type*], [*Choices (submitted term)*], [*SDTM*]),
    ..form.fields.map(f => (raw(f.name), f.type, f.choices,
      text(fill: if f.sdtm == "NOT SUBMITTED" { gray } else { blue })[#f.sdtm])).flatten())
}
"""


def _item_columns(form) -> list[str]:
    """The answer columns a "form.*" source means: not the keys, the visit, the dates or the not-done flag."""
    return [c for c, spec in form.columns.items()
            if c not in form.keys and not spec.visit and spec.type not in ("date", "pdate") and c != form.not_done]


def annotations() -> dict[tuple[str, str], list[str]]:
    """(form, column) -> the SDTM variables submitted from it, DOMAIN.VARIABLE, in spec order."""
    found: dict[tuple[str, str], list[str]] = {}
    forms = load_forms()
    for name in list_specs("sdtm"):
        spec = load_spec(name)
        for var in spec.variables:
            targets = set()
            for form, column in source_columns(var.source):
                if form in forms:
                    columns = _item_columns(forms[form]) if column == "*" else [column]
                    targets |= {(form, c) for c in columns}
            for form, column in re.findall(r"\b([a-z_]+)\.([A-Z][A-Z0-9_]*)\b", var.derivation or ""):
                if form in forms and column in forms[form].columns:
                    targets.add((form, column))
            for target in sorted(targets):
                found.setdefault(target, []).append(f"{spec.name}.{var.name}")
    return found


def acrf_data(title: str) -> dict:
    """The content of every page, as plain data."""
    notes = annotations()
    pages = form_pages()
    forms = []
    for name, form in sorted(load_forms().items(), key=lambda item: pages[item[0]]):
        fields = []
        for column, spec in form.columns.items():
            choices = ""
            if spec.values:
                mapped = spec.sdtm or {}
                choices = "; ".join(f"{v} ({mapped[v]})" if v in mapped else v for v in spec.values)
            elif spec.range:
                choices = f"{range_bound(spec.range[0])} to {range_bound(spec.range[1])}"
            submitted = notes.get((name, column)) or ([f"DM.USUBJID (with SITE)"] if column == "SUBJECT" else [])
            fields.append({"name": column, "type": spec.type + (" (required)" if spec.required else ""),
                           "choices": choices, "sdtm": ", ".join(submitted) or NOT_SUBMITTED})
        domains = sorted({a.split(".")[0] for c in form.columns for a in notes.get((name, c), [])})
        forms.append({"name": name, "file": form.file, "description": form.description, "keys": ", ".join(form.keys),
                      "domains": domains, "fields": fields})
    return {"title": title, "forms": forms}


def write_acrf(path: Path, studyid: str, stamp: dt.date) -> Path:
    """acrf.pdf: one page per form (an error if a form does not fit its page: define.xml cites page numbers)."""
    import typst

    data = json.dumps(acrf_data(f"{studyid} annotated CRF"), ensure_ascii=False)
    source = path.with_suffix(".typ")
    source.write_text(TEMPLATE, encoding="utf-8")
    try:
        typst.compile(str(source), output=str(path), ignore_system_fonts=True, sys_inputs={"data": data},
                      timestamp=int(dt.datetime(stamp.year, stamp.month, stamp.day, tzinfo=dt.timezone.utc).timestamp()))
        placed = json.loads(typst.query(str(source), "<acrf-form>", field="value", ignore_system_fonts=True, sys_inputs={"data": data}))
    finally:
        source.unlink(missing_ok=True)
    expected = form_pages()
    got = {p["form"]: p["page"] for p in placed}
    if got != expected:
        raise AssertionError(f"acrf pages {got} differ from the define.xml page numbers {expected}")
    return path


def placed_pages(studyid: str = "TEST") -> dict[str, int]:
    """The page on which Typst places each form (for tests)."""
    import tempfile

    import typst

    data = json.dumps(acrf_data(f"{studyid} annotated CRF"), ensure_ascii=False)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "acrf.typ"
        source.write_text(TEMPLATE, encoding="utf-8")
        placed = json.loads(typst.query(str(source), "<acrf-form>", field="value", ignore_system_fonts=True, sys_inputs={"data": data}))
    return {p["form"]: p["page"] for p in placed}
