"""The measured paginator (tlf.render.layout) and the RTF written from it (tlf.render.rtf).

Widths are checked against Arial's published advance widths (the Helvetica/Arial AFM values in 1/1000 em:
space 278, a 556, i 222, W 944, 0-9 556), which Liberation Sans shares by design; the page checks parse the
RTF that was written (page breaks, rows, cell edges, font sizes) and measure every word against its cell.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from striprtf.striprtf import rtf_to_text

from tlf.catalog import load_outputs
from tlf.output import Output
from tlf.render import layout as lay
from tlf.render.rtf import rtf_document


def test_text_width_is_arial_metrics():
    # "Wai" at 10 pt: (944 + 556 + 222) / 1000 em * 10 pt = 17.22 pt
    assert lay.text_width("Wai", 10) == pytest.approx(17.22, abs=0.02)
    # "10 20" at 9 pt: (4 * 556 + 278) / 1000 * 9 = 22.52 pt
    assert lay.text_width("10 20", 9) == pytest.approx(22.52, abs=0.02)
    # a CJK glyph the font lacks counts one em
    assert lay.text_width("红", 9) == pytest.approx(9.0)


def test_wrap_breaks_at_spaces_and_keeps_line_breaks():
    one_a = lay.text_width("aaaa")  # 4 * 556 / 1000 * 9 = 20.0 pt
    assert lay.wrap("aaaa aaaa aaaa", 2 * one_a + 3) == ["aaaa aaaa", "aaaa"]  # two words and a space fit
    assert lay.wrap("aaaa aaaa", one_a + 1) == ["aaaa", "aaaa"]
    assert lay.wrap("rash on\ntwo lines", 500) == ["rash on", "two lines"]
    assert lay.wrap("", 100) == [""]
    assert lay.line_count("aaaaaaaa", one_a + 0.5) == 2  # an over-long word is cut, as a word processor would


def test_split_indent():
    assert lay.split_indent("    Week 2") == (2, "Week 2")
    assert lay.split_indent("  Female") == (1, "Female")
    assert lay.split_indent("Sex, n (%)") == (0, "Sex, n (%)")


def _table(rows: list[list[str]], headers: list[str], landscape: bool = False, kind: str = "table") -> Output:
    body = pd.DataFrame(rows, columns=[f"x{i}" for i in range(len(headers))])
    out = Output(number="14.9.9", title="Test Table", kind=kind, population="Full analysis set", big_n=40,
                 landscape=landscape, footnotes=("A footnote.",), source="Source: test")
    return out.with_body(body, headers=headers)


def test_column_widths_fit_the_longest_word_and_fill_the_page():
    out = _table([["Anti-dsDNA IgG Antibody (IU/mL)", "(-139.46, -29.12); HL -34.15 (-92.60, -12.40)"]] * 3,
                 ["Parameter / Visit", "Change 95% CI of mean; HL shift (95% CI)"])
    widths = lay.column_widths(out, 468.0)
    assert sum(widths) == pytest.approx(468.0)
    for i, cell in enumerate(out.body.iloc[0]):
        assert lay.longest_word(cell) + 2 * lay.CELL_PAD_X <= widths[i]


def _groups_table(n_groups: int, rows_per_group: int) -> Output:
    rows = []
    for g in range(n_groups):
        rows.append([f"Parameter {g}", ""])
        rows += [[f"  Week {k}", f"{g}.{k}"] for k in range(rows_per_group)]
    return _table(rows, ["Parameter / Visit", "Value"])


def test_groups_are_not_split_when_they_fit_on_a_page():
    # 10 groups of 1 + 8 rows (13 pt each): 9 * 13 = 117 pt per group; a portrait page holds 4 of them
    layout = lay.plan(_groups_table(10, 8))
    assert lay.fits(layout)
    for rows in layout.pages:
        labels = [r.cells[0] for r in rows]
        assert labels[0].startswith("Parameter")  # every page opens with a group's head row
        assert sum(1 for r in rows if r.indent == 0) * 9 == len(rows)  # whole groups only
    assert sum(len(rows) for rows in layout.pages) == 90
    capacity = layout.geometry.body_height - lay.SAFETY_PT - layout.page_height([])
    assert layout.page_count == -(-10 // int(capacity // (9 * 13)))


def test_a_group_taller_than_a_page_continues_with_its_label():
    layout = lay.plan(_groups_table(1, 120))
    assert layout.page_count >= 3 and lay.fits(layout)
    for rows in layout.pages[1:]:
        assert rows[0].continued and rows[0].cells[0] == "Parameter 0 (continued)"
    rows = [r for page in layout.pages for r in page if not r.continued]
    assert [r.cells[1] for r in rows[1:]] == [f"0.{k}" for k in range(120)]  # every row once, in order


def test_listing_rows_of_one_subject_name_the_subject_so_no_continued_row():
    rows = [[f"IL2-{s:03d}", f"Week {k}"] for s in range(3) for k in range(60)]
    layout = lay.plan(_table(rows, ["Subject", "Visit"], landscape=True, kind="listing"))
    assert lay.fits(layout) and not any(r.continued for page in layout.pages for r in page)
    assert sum(len(p) for p in layout.pages) == 180


# ------------------------------------------------------------------------------------ RTF pages

_ROW = re.compile(r"\\trowd(.*?)\\row", re.S)
_CELLX = re.compile(r"\\cellx(\d+)")


def _rtf_pages(text: str) -> list[str]:
    return text.split("\\pagebb")


def _cells(row: str) -> list[str]:
    """The text of each cell of an RTF row (through striprtf, so escapes are decoded)."""
    parts = row.split("\\cell")
    texts = []
    for part in parts[:-1]:
        if "\\intbl" not in part:
            continue
        raw = part.split("\\slmult0 ", 1)[1]
        texts.append(rtf_to_text("{\\rtf1 " + raw + "}").replace("\u2011", "-"))
    return texts


def check_rtf_pages(out: Output, text: str) -> int:
    """Every page of the RTF: the title, the header row, cells no wider than their column (each word
    measured), fonts >= 9 pt; returns the number of pages."""
    pages = _rtf_pages(text)
    sizes = [int(s) for s in re.findall(r"\\fs(\d+)", text) if int(s) > 2]  # \fs2: the 6-pt gap paragraphs
    assert min(sizes) >= 18, "font below 9 pt"
    for page in pages:
        assert rtf_to_text("{\\rtf1 " + page + "}").count(out.heading) >= 1
        rows = _ROW.findall(page)
        if out.body is None:
            continue
        assert _cells(rows[0]) == list(out.headers)  # the header row opens the page's table
        for row in rows:
            edges = [int(x) / 20 for x in _CELLX.findall(row)]
            pad_x = int(re.search(r"\\trpaddl(\d+)", row).group(1)) / 20
            widths = [b - a for a, b in zip([0.0] + edges, edges)]
            indent = int(m.group(1)) / 20 if (m := re.search(r"\\li(\d+)", row)) else 0.0
            for i, cell in enumerate(_cells(row)):
                room = widths[i] - 2 * pad_x - (indent if i == 0 else 0)
                for word in lay.words(cell):
                    assert lay.text_width(word) <= room, (out.label, word, room)
    return len(pages)


def test_rtf_page_x_of_y_keeps_its_spaces():
    out = _groups_table(10, 8).with_study("IL2SLE01", "SYNTHETIC DATA")
    text = rtf_document(out)
    pages = lay.plan(out).page_count
    assert f"Page {{\\field{{\\*\\fldinst PAGE }}{{\\fldrslt 1}}}} of {{\\field{{\\*\\fldinst NUMPAGES }}{{\\fldrslt {pages}}}}}" in text
    header = rtf_to_text("{\\rtf1 " + re.search(r"\{\\header(.*?\\par)\}", text).group(1) + "}")
    assert header.strip() == f"IL2SLE01 | SYNTHETIC DATA\tPage 1 of {pages}"


def test_rtf_pages_are_the_plan(adam, study):
    """The outputs the hand-made ADaM can build: one RTF page per planned page, each complete."""
    from tlf.page import RunInfo, build_output

    run = RunInfo(adam_dir=None, figure_dir=None, run_id="abc", study=study)
    for label in ("14.2.1", "14.2.2", "16.2.7"):
        out = build_output(load_outputs().get(label), adam, run)
        layout = lay.plan(out)
        assert lay.fits(layout)
        text = rtf_document(out)
        assert check_rtf_pages(out, text) == layout.page_count, label
        notes = rtf_to_text(text)
        assert notes.count(out.footnotes[0]) == layout.page_count  # footnotes on every page
        assert notes.count(out.source) == layout.page_count


def test_html_indentation_is_a_class_not_leading_spaces():
    from tlf.render.blocks import html_block

    html = html_block(_groups_table(1, 2))
    assert '<th scope="row" class="align-left">Parameter 0</th>' in html
    assert '<th scope="row" class="align-left indent-1">Week 0</th>' in html
    assert "> Week" not in html and "&nbsp;" not in html
    assert '<th scope="col" class="align-left">Parameter / Visit</th>' in html


# ------------------------------------------------------------------------------------ DOCX pages


def docx_output_sections(path):
    """Each output section of a DOCX book (python-docx): (section, its body elements), outputs only
    (a section whose header has the PAGE and SECTIONPAGES fields)."""
    import docx

    document = docx.Document(str(path))
    body = document.element.body
    sections, current = [], []
    for element in body.iterchildren():
        if element.tag.endswith("}sectPr"):
            break
        current.append(element)
        sect = element.find(f"{W}pPr/{W}sectPr") if element.tag == f"{W}p" else None
        if sect is not None:
            sections.append(current)
            current = []
    sections.append(current)
    result = []
    for section, elements in zip(document.sections, sections):
        fields = [f.get(f"{W}instr") for f in section.header._element.iter(f"{W}fldSimple")]
        if fields == [" PAGE ", " SECTIONPAGES "]:
            result.append((section, elements))
    return result


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _text(element) -> str:
    return "".join(("\n" if n.tag == f"{W}br" else "-" if n.tag == f"{W}noBreakHyphen" else n.text or "")
                   for n in element.iter(f"{W}t", f"{W}br", f"{W}noBreakHyphen"))


def check_docx_section(out: Output, section, elements) -> int:
    """One output's section: orientation and size, header and footer, and per page the title, the header
    row, every word narrower than its cell, fonts >= 9 pt; returns the number of pages."""
    from docx.enum.section import WD_ORIENT

    geo = lay.geometry(out)
    assert section.orientation == (WD_ORIENT.LANDSCAPE if out.landscape else WD_ORIENT.PORTRAIT)
    assert (section.page_width.pt, section.page_height.pt) == pytest.approx((geo.width, geo.height), abs=0.1)
    header = _text(section.header._element)
    assert header.startswith(out.page_header) and "Page 1 of" in header
    assert _text(section.footer._element) == out.label
    pages = [[]]
    for element in elements:
        if element.find(f"{W}pPr/{W}pageBreakBefore") is not None:
            pages.append([])
        pages[-1].append(element)
    for page in pages:
        texts = [_text(e) for e in page if e.tag == f"{W}p"]
        assert out.heading in texts
        tables = [e for e in page if e.tag == f"{W}tbl"]
        if out.body is None:
            continue
        assert len(tables) == 1
        rows = tables[0].findall(f"{W}tr")
        pad_x = int(tables[0].find(f"{W}tblPr/{W}tblCellMar/{W}left").get(f"{W}w")) / 20
        assert [_text(c) for c in rows[0].findall(f"{W}tc")] == list(out.headers)
        assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None
        for row in rows:
            for cell in row.findall(f"{W}tc"):
                width = int(cell.find(f"{W}tcPr/{W}tcW").get(f"{W}w")) / 20
                ind = cell.find(f".//{W}ind")
                indent = int(ind.get(f"{W}left")) / 20 if ind is not None else 0.0
                for word in lay.words(_text(cell)):
                    assert lay.text_width(word) <= width - 2 * pad_x - indent, (out.label, word)
    sizes = [int(s.get(f"{W}val")) for e in elements for r in e.iter(f"{W}r") if r.find(f"{W}t") is not None
             for s in r.iter(f"{W}sz")]
    assert min(sizes) >= 18
    return len(pages)


def test_docx_book_pages_are_the_plan(tmp_path, adam, study):
    """The DOCX book of three outputs: each in its own section, one planned page per page break."""
    import datetime as dt

    from tlf.page import RunInfo, build_output
    from tlf.render import book
    from tlf.render.blocks import markdown_block
    from tlf.render.docx import chapter_height

    run = RunInfo(adam_dir=None, figure_dir=None, run_id="abc", study=study)
    outs = [build_output(load_outputs().get(label), adam, run) for label in ("14.2.1", "14.2.2", "16.2.7")]
    chapters = [book.Chapter(tmp_path / "a.qmd", "a", "Prose", "Some prose.\n"),
                book.Chapter(tmp_path / "b.qmd", "b", "14.2 Efficacy", "\n".join(markdown_block(o) for o in outs[:2])),
                book.Chapter(tmp_path / "c.qmd", "c", "16.2 Listings", markdown_block(outs[2]))]
    path = book.render_docx(chapters, tmp_path / "book.docx", "Book", dt.date(2015, 10, 31),
                            {o.file_stem: (o, None) for o in outs}, "IL2SLE01 | SYNTHETIC DATA", "Run id abc")
    sections = docx_output_sections(path)
    assert len(sections) == 3
    for out, (section, elements), first in zip(outs, sections, (True, False, True)):
        # the first output of a chapter carries the chapter heading on its first page
        lead = chapter_height("14.2 Efficacy" if out.number.startswith("14") else "16.2 Listings",
                              lay.geometry(out).body_width) if first else 0.0
        assert check_docx_section(out, section, elements) == lay.plan(out, lead).page_count, out.label
    assert lay.plan(outs[2]).page_count >= 5
    import zipfile

    with zipfile.ZipFile(path) as package:
        assert {info.date_time for info in package.infolist()} == {(2015, 10, 31, 0, 0, 0)}


def test_many_narrow_columns_get_tight_padding_before_any_word_breaks():
    """17 columns whose longest words (plus 3 pt padding) overflow a landscape page fit with 1.5 pt padding."""
    headers = [f"Co{k:04d}" for k in range(17)]  # "Co0000": (722 + 556 + 4 * 556) / 1000 * 9 = 31.5 pt
    out = _table([["x" for _ in headers]] * 4, headers, landscape=True, kind="listing")
    total = lay.geometry(out).body_width
    word = lay.longest_word("Co0000")
    assert word == pytest.approx(31.52, abs=0.02)
    assert 17 * (word + 2 * lay.CELL_PAD_X + 1) > total > 17 * (word + 2 * lay.TIGHT_PAD_X + 1)
    layout = lay.plan(out)
    assert layout.pad_x == lay.TIGHT_PAD_X and lay.fits(layout)
    assert all(w >= word + 2 * lay.TIGHT_PAD_X for w in layout.widths)
    assert check_rtf_pages(out, rtf_document(out)) == layout.page_count
