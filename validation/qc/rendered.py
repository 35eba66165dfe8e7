"""Rendered-output QC: the numbers a reader sees in the HTML book, the DOCX book and each output's RTF file are the
numbers of the output's analysis results data (ARD), read back from the files `sap render` wrote, without
importing the renderers or the builders (`tlf/`).

The check is coordinate-free (it does not depend on where a renderer puts a cell or how it paginates):

- **tables** (an ARD with statistics): every number shown in a body cell outside the first (label) column
  (tokens such as "35", "87.5", "-0.95", "<0.001", "NE") must be the displayed text (FORMATTED) of one of the
  output's ARD statistics, and every displayed statistic of the ARD (all but the denominators N, which show
  in headers) must appear among those numbers;
- **listings** (an ARD of cell texts, STAT "text"): the rendered body cells, as a multiset of texts, equal
  the ARD's texts.

The ARD's FORMATTED texts are themselves checked against an independent rounding of the independently
recomputed values by the table QC (validation/qc/tables.py), so together the two checks tie each rendered
number to the ADaM data.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
from lxml import html as lxml_html

# a number as displayed; a minus sign right after a digit is a range dash ("20-60"), not a sign
NUMBER = re.compile(r"NE|[<>]?(?:(?<![0-9.])-)?\d+(?:\.\d+)?")
UNDISPLAYED_STATS = {"N"}  # denominators: shown in the column header "(N=40)", not in the body


def html_tables(folder: Path) -> dict[str, list[list[str]]]:
    """Body rows (lists of cell texts) of every output section of the HTML book (`<section id="<stem>">`);
    a line break (`<br>`) in a cell is a line break of its text."""
    found: dict[str, list[list[str]]] = {}
    for page in sorted(folder.glob("*.html")):
        tree = lxml_html.fromstring(page.read_bytes())
        for br in tree.iter("br"):
            br.tail = "\n" + (br.tail or "")
        for section in tree.xpath("//section[@id]"):
            rows = [[cell.text_content() for cell in row.xpath("./th|./td")] for row in section.xpath(".//table//tbody/tr")]
            if rows:
                found.setdefault(section.get("id"), []).extend(rows)
    return found


_RTF_CONTROL = re.compile(r"\\([a-z]+)(-?\d+)? ?|\\([{}\\_~-])|\\'([0-9a-f]{2})|[{}]|\r|\n", re.IGNORECASE)
_RTF_SYMBOLS = {"_": "-", "~": " ", "-": ""}  # non-breaking hyphen (a minus sign), non-breaking space, optional hyphen


def _rtf_text(fragment: str) -> str:
    """Plain text of an RTF fragment: control words dropped, \\uN unicode and \\'hh escapes decoded, escaped
    braces and backslashes kept; \\line as a line break."""
    def replace(match: re.Match) -> str:
        word, number, escaped, hexa = match.groups()
        if escaped:
            return _RTF_SYMBOLS.get(escaped, escaped)
        if hexa:
            return bytes.fromhex(hexa).decode("cp1252")
        if word in ("line", "par"):
            return "\n"
        if word == "tab":
            return "\t"
        return ""
    # \uN is followed by its one-character fallback for readers without Unicode: drop the fallback
    fragment = re.sub(r"\\u(-?\d+) ?(?:\\'[0-9a-f]{2}|[^\\{}])?", lambda m: chr(int(m.group(1)) % 65536), fragment)
    return _RTF_CONTROL.sub(replace, fragment)


def rtf_rows(path: Path) -> list[list[str]]:
    """Every table row of an RTF file (cells end with \\cell, rows with \\row), as cell texts."""
    source = path.read_text(encoding="utf-8")
    rows = []
    for chunk in re.split(r"\\row(?![a-z])", source)[:-1]:
        start = chunk.rfind("\\trowd")
        cells = re.split(r"\\cell(?![a-z])", chunk[start if start >= 0 else 0:])[:-1]
        rows.append([_rtf_text(cell.split("\\intbl", 1)[-1] if "\\intbl" in cell else cell).strip() for cell in cells])
    return rows


KIND_LETTER = {"Table": "t", "Listing": "l", "Figure": "f"}


def _docx_cell_text(cell) -> str:
    """A DOCX table cell's text: w:t runs, w:br as a line break, w:tab as a tab, w:noBreakHyphen as the minus
    sign it stands for; paragraphs joined by line breaks."""
    from docx.oxml.ns import qn

    symbols = {qn("w:br"): "\n", qn("w:tab"): "\t", qn("w:noBreakHyphen"): "-", qn("w:softHyphen"): ""}
    paragraphs = []
    for paragraph in cell.iter(qn("w:p")):
        parts = [node.text or "" if node.tag == qn("w:t") else symbols[node.tag]
                 for node in paragraph.iter(qn("w:t"), *symbols)]
        paragraphs.append("".join(parts))
    return "\n".join(paragraphs)


def docx_tables(path: Path) -> dict[str, list[list[str]]]:
    """Body rows of every output of the DOCX book (python-docx): the book has one section per output, its
    footer naming the output ("Table 14.2.1"); the rows of the section's tables, repeated header rows
    (w:tblHeader) left out."""
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(str(path))
    buckets, current = [], []
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:tbl"):
            current.append(child)
        elif child.tag == qn("w:p") and child.find(qn("w:pPr")) is not None and child.find(qn("w:pPr")).find(qn("w:sectPr")) is not None:
            buckets.append(current)
            current = []
    buckets.append(current)
    found: dict[str, list[list[str]]] = {}
    for section, tables in zip(document.sections, buckets):
        label = " ".join(p.text for p in section.footer.paragraphs).strip()
        match = re.fullmatch(r"(Table|Listing|Figure) (1[46](?:\.\d+)+)", label)
        if not match:
            continue
        stem = f"{KIND_LETTER[match.group(1)]}-{match.group(2).replace('.', '-')}"
        for table in tables:
            for row in table.iter(qn("w:tr")):
                properties = row.find(qn("w:trPr"))
                if properties is not None and properties.find(qn("w:tblHeader")) is not None:
                    continue
                found.setdefault(stem, []).append([_docx_cell_text(cell) for cell in row.iter(qn("w:tc"))])
    return found


def numbers_of(rows: list[list[str]]) -> Counter:
    """The number tokens of the rows' cells outside the first column."""
    return Counter(token for row in rows for cell in row[1:] for token in NUMBER.findall(cell))


def check_table(ard: pd.DataFrame, rows: list[list[str]]) -> dict:
    """Numbers shown vs the ARD's displayed statistics (see the module docstring)."""
    formatted = set(ard["FORMATTED"].astype("str"))
    shown = numbers_of(rows)
    unexplained = sorted(t for t in shown if t not in formatted)
    # a percentage of a zero count is recorded but not shown (house style: "0" alone)
    zero_pct = ard["STAT"].eq("pct") & ard["VALUE"].eq(0)
    displayed = ard[~ard["STAT"].isin(UNDISPLAYED_STATS) & ~zero_pct & ard["FORMATTED"].astype("str").ne("")]
    missing = sorted({t for t in displayed["FORMATTED"].astype("str") if t not in shown})
    return {"numbers shown": sum(shown.values()), "not in the ARD": unexplained, "ARD not shown": missing,
            "status": "PASS" if not unexplained and not missing and rows else "FAIL"}


def check_listing(ard: pd.DataFrame, rows: list[list[str]]) -> dict:
    """Cell texts shown vs the ARD's texts (multisets)."""
    shown = Counter(cell for row in rows for cell in row)
    expected = Counter(ard["FORMATTED"].astype("str"))
    extra, missing = shown - expected, expected - shown
    return {"cells shown": sum(shown.values()), "not in the ARD": sorted(extra)[:5], "ARD not shown": sorted(missing)[:5],
            "status": "PASS" if not extra and not missing else "FAIL"}


def check_rendered(tlf: Path, headers: dict[str, list[str]] | None = None) -> dict[str, dict[str, dict]]:
    """Per output (ARD file stem under tlf/ard/) and format ("html", "docx", "rtf"): the check result. Outputs
    without rows in the ARD (figures) are skipped. `headers` (stem -> header texts) lets the RTF check drop
    the repeated header rows; without it a row is a header row when its cells are all in the first row."""
    html = html_tables(tlf / "html") if (tlf / "html").is_dir() else None  # Quarto writes its own book layout
    docx_rows = docx_tables(tlf / "book.docx") if (tlf / "book.docx").exists() else None
    results: dict[str, dict[str, dict]] = {}
    for path in sorted((tlf / "ard").glob("*.parquet")):
        ard = pd.read_parquet(path)
        stem = path.stem
        if ard.empty or stem.startswith("f-"):  # a figure's numbers are drawn, not printed
            continue
        listing = set(ard["STAT"]) == {"text"}
        check = check_listing if listing else check_table
        per_format = {"html": check(ard, html.get(stem, []))} if html is not None else {}
        if docx_rows is not None:
            per_format["docx"] = check(ard, docx_rows.get(stem, []))
        rtf = tlf / "rtf" / f"{stem}.rtf"
        if rtf.exists():
            rows = rtf_rows(rtf)
            head = rows[0] if rows else []
            body = [r for r in rows if r != head and len(r) == len(head)]
            per_format["rtf"] = check(ard, body)
        results[stem] = per_format
    return results


def rendered_problems(results: dict[str, dict[str, dict]]) -> list:
    """One Problem per output and format that fails, naming the first unexplained or missing number."""
    from sap.errors import Problem

    problems = []
    for stem, formats in results.items():
        for fmt, result in formats.items():
            if result["status"] == "PASS":
                continue
            detail = "; ".join(f"{key}: {', '.join(map(repr, result[key][:3]))}" for key in ("not in the ARD", "ARD not shown")
                               if result[key]) or "no table rows found"
            problems.append(Problem(f"rendered {fmt} {stem}", f"cells differ from the ARD ({detail})"))
    return problems


def summary(results: dict[str, dict[str, dict]]) -> dict[str, int]:
    """Counts for the progress line: outputs and format files checked, numbers and cells compared, failures."""
    checked = [r for formats in results.values() for r in formats.values()]
    return {"outputs checked": len(results), "files checked": len(checked),
            "numbers and cells checked": sum(r.get("numbers shown", r.get("cells shown", 0)) for r in checked),
            "rendering mismatches": sum(r["status"] != "PASS" for r in checked)}
