"""The outputs in the DOCX book, written with python-docx from the page plan of `tlf.render.layout`.

Pandoc writes the book's prose (SAP, validation report) to DOCX with one placeholder paragraph per output
(`PLACEHOLDER` + file stem; the Lua filter puts it there in the fallback); `fill_outputs` replaces each
placeholder with the output, in a section of its own:
- the section has the output's orientation and US Letter page size with 1-inch margins, its page numbers
  restart at 1, and its header says "<study id> | SYNTHETIC DATA" and "Page x of y" (PAGE and SECTIONPAGES
  fields), its footer the output number;
- each planned page is written as planned: the titles (the first a level-2 outline entry, so the table
  of contents and the PDF bookmarks of a converted file list it), a table with the column header row
  (marked as a repeated header row) and the page's rows, footnotes and source, the next page opening with
  a page break; fonts and sizes are the PDF's (Arial = Liberation Sans, 9 pt body on exact 11-pt lines,
  10-pt titles), a row's indentation is a paragraph indent;
- text from the data is XML character data (`sap.text.xml_text`): never a field, link or markup.
The prose sections get US Letter portrait pages and the book's header and footer.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import zipfile
from pathlib import Path

from sap.text import lines, xml_text
from tlf.output import Output
from tlf.render import layout as lay
from tlf.render.layout import MINUS, Layout, PlannedRow, twips

PLACEHOLDER = "TLF-OUTPUT-"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f'xmlns:w="{W_NS}"'
_JC = {"l": "left", "c": "center", "r": "right"}


def _run_props(size: float, bold: bool = False) -> str:
    font = lay.FONT_NAME
    return (f'<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:cs="{font}" w:eastAsia="{font}"/>'
            + ("<w:b/>" if bold else "") + f'<w:sz w:val="{int(size * 2)}"/><w:szCs w:val="{int(size * 2)}"/></w:rPr>')


def _line(text: str, statistic: bool) -> str:
    if not statistic:
        return f'<w:t xml:space="preserve">{xml_text(text)}</w:t>'
    # a minus sign opening a number: a non-breaking hyphen, as in the RTF (no break after "(-")
    pieces = MINUS.split(text)
    return "<w:noBreakHyphen/>".join(f'<w:t xml:space="preserve">{xml_text(p)}</w:t>' for p in pieces)


def _runs(text: str, size: float, bold: bool = False, statistic: bool = False) -> str:
    """The text as runs, each line break a `w:br`; characters XML cannot hold are replaced (xml_text)."""
    props = _run_props(size, bold)
    return f"<w:r>{props}" + "<w:br/>".join(_line(line, statistic) for line in lines(text)) + "</w:r>"


def _paragraph(text: str, align: str = "l", size: float = lay.BODY_PT, line: float = lay.LINE_PT, bold: bool = False,
               indent: float = 0.0, page_break: bool = False, outline: int | None = None, keep_next: bool = False,
               statistic: bool = False) -> str:
    props = ("<w:keepNext/>" if keep_next else "") + ("<w:pageBreakBefore/>" if page_break else "")
    props += f'<w:spacing w:before="0" w:after="0" w:line="{twips(line)}" w:lineRule="exact"/>'
    props += f'<w:ind w:left="{twips(indent)}" w:right="0" w:firstLine="0"/>' + f'<w:jc w:val="{_JC[align]}"/>'
    if outline is not None:
        props += f'<w:outlineLvl w:val="{outline}"/>'
    return f"<w:p><w:pPr>{props}</w:pPr>{_runs(text, size, bold, statistic) if text else ''}</w:p>"


def _gap() -> str:
    return (f'<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="{twips(lay.GAP_PT)}" w:lineRule="exact"/></w:pPr>'
            f'<w:r><w:rPr><w:sz w:val="2"/></w:rPr></w:r></w:p>')


def _cell(text: str, width: float, align: str, indent: int = 0, top: bool = False, bottom: bool = False, header: bool = False,
          statistic: bool = False) -> str:
    borders = ""
    if top or bottom:
        borders = ("<w:tcBorders>" + ('<w:top w:val="single" w:sz="6" w:space="0" w:color="000000"/>' if top else "")
                   + ('<w:bottom w:val="single" w:sz="4" w:space="0" w:color="000000"/>' if bottom else "") + "</w:tcBorders>")
    valign = '<w:vAlign w:val="bottom"/>' if header else ""
    return (f'<w:tc><w:tcPr><w:tcW w:w="{twips(width)}" w:type="dxa"/>{borders}{valign}</w:tcPr>'
            + _paragraph(text, align, indent=indent * lay.INDENT_PT, statistic=statistic) + "</w:tc>")


def _table(layout: Layout, rows: list[PlannedRow]) -> str:
    out = layout.out
    aligns = out.alignments()
    grid = "".join(f'<w:gridCol w:w="{twips(w)}"/>' for w in layout.widths)
    pad_x, pad_y = twips(layout.pad_x), twips(lay.CELL_PAD_Y)
    props = (f'<w:tblPr><w:tblW w:w="{twips(sum(layout.widths))}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
             f'<w:tblCellMar><w:top w:w="{pad_y}" w:type="dxa"/><w:left w:w="{pad_x}" w:type="dxa"/>'
             f'<w:bottom w:w="{pad_y}" w:type="dxa"/><w:right w:w="{pad_x}" w:type="dxa"/></w:tblCellMar>'
             '<w:tblLook w:val="0000"/></w:tblPr>')
    header = "".join(_cell(h, w, "l" if i == 0 else "c", top=True, bottom=True, header=True)
                     for i, (h, w) in enumerate(zip(out.headers, layout.widths)))
    parts = [f"<w:tbl {_W}>{props}<w:tblGrid>{grid}</w:tblGrid>",
             f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{header}</w:tr>"]
    for k, row in enumerate(rows):
        last = k == len(rows) - 1
        cells = "".join(_cell(text, w, aligns[i], row.indent if i == 0 else 0, bottom=last, statistic=out.kind == "table")
                        for i, (text, w) in enumerate(zip(row.cells, layout.widths)))
        parts.append(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{cells}</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


def output_elements(layout: Layout) -> list[str]:
    """The OOXML body elements (paragraphs and tables) of one output, page by page as planned; a figure's
    picture paragraph is marked `<figure/>` for `fill_outputs` to add with python-docx."""
    elements = []
    for n, rows in enumerate(layout.pages):
        for k, title in enumerate(layout.titles):
            elements.append(_paragraph(title, "c", lay.TITLE_PT, lay.TITLE_LINE_PT, bold=k == 0, keep_next=True,
                                       page_break=n > 0 and k == 0, outline=1 if n == 0 and k == 0 else None))
        elements.append(_gap())
        if layout.widths:
            elements.append(_table(layout, rows))
            elements.append(_gap())
        else:
            elements.append("<figure/>")
        elements += [_paragraph(note) for note in layout.notes]
    return elements


CHAPTER_PT, CHAPTER_LINE_PT = 14.0, 18.0


def chapter_height(title: str, width: float) -> float:
    """The height a chapter heading and its gap take above the first output of the chapter."""
    return lay.line_count(title, width, CHAPTER_PT, bold=True) * CHAPTER_LINE_PT + lay.GAP_PT


_MARKS = {f"{{{W_NS}}}bookmarkStart", f"{{{W_NS}}}bookmarkEnd"}


def _previous_block(element):
    """The paragraph or table before `element`, past pandoc's body-level bookmark marks."""
    previous = element.getprevious()
    while previous is not None and previous.tag in _MARKS:
        previous = previous.getprevious()
    return previous


def _chapter_heading(element) -> object | None:
    """The element if it is pandoc's level-1 heading paragraph (style Heading1), else None."""
    if element is None or element.tag != f"{{{W_NS}}}p":
        return None
    style = element.find(f"{{{W_NS}}}pPr/{{{W_NS}}}pStyle")
    return element if style is not None and style.get(f"{{{W_NS}}}val") == "Heading1" else None


def _header_paragraph(left: str, pages: int | None, width: float) -> str:
    """"left<tab>Page {PAGE} of {SECTIONPAGES}" (or "left" alone when `pages` is None), 9 pt, a right tab at
    the body width; SECTIONPAGES's stored result is the planned page count (what a reader that does not
    update fields, such as LibreOffice, shows)."""
    props = (f'<w:pPr><w:tabs><w:tab w:val="right" w:pos="{twips(width)}"/></w:tabs>'
             f'<w:spacing w:before="0" w:after="0" w:line="{twips(lay.LINE_PT)}" w:lineRule="exact"/></w:pPr>')
    body = _runs(left, lay.BODY_PT)
    if pages is not None:
        rpr = _run_props(lay.BODY_PT)
        body += (f"<w:r>{rpr}<w:tab/><w:t xml:space=\"preserve\">Page </w:t></w:r>"
                 f'<w:fldSimple w:instr=" PAGE "><w:r>{rpr}<w:t>1</w:t></w:r></w:fldSimple>'
                 f'<w:r>{rpr}<w:t xml:space="preserve"> of </w:t></w:r>'
                 f'<w:fldSimple w:instr=" SECTIONPAGES "><w:r>{rpr}<w:t>{pages}</w:t></w:r></w:fldSimple>')
    return f"<w:p {_W}>{props}{body}</w:p>"


def _set_page(section, geo: lay.Geometry, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Twips

    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Twips(twips(geo.width)), Twips(twips(geo.height))
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Twips(twips(geo.margin)))
    section.header_distance = section.footer_distance = Twips(twips(geo.margin / 2))


def _set_header_footer(section, header: str, footer: str, pages: int | None, width: float) -> None:
    from docx.oxml import parse_xml

    section.header.is_linked_to_previous = False
    section.footer.is_linked_to_previous = False
    for part, text, fields in ((section.header, header, pages), (section.footer, footer, None)):
        container = part._element
        for old in list(container):
            container.remove(old)
        container.append(parse_xml(_header_paragraph(text, fields, width)))


def _restart_numbering(sect_pr) -> None:
    from docx.oxml import parse_xml

    for old in sect_pr.findall(f"{{{W_NS}}}pgNumType"):
        sect_pr.remove(old)
    sect_pr.append(parse_xml(f'<w:pgNumType {_W} w:start="1"/>'))


def fill_outputs(path: Path, outputs: dict[str, tuple[Output, Path | None]], book_header: str, book_footer: str,
                 stamp: dt.date) -> int:
    """Replace every placeholder paragraph of the DOCX at `path` by its output (see the module docstring);
    returns the number of outputs written. The zip entries are dated `stamp` (reproducible bytes)."""
    import docx
    from docx.oxml import parse_xml
    from docx.shared import Pt

    document = docx.Document(str(path))
    body = document.element.body
    base = body.sectPr  # pandoc's only section: the prose
    w_p, w_tbl = f"{{{W_NS}}}p", f"{{{W_NS}}}tbl"
    # lxml keeps one Python proxy per XML node while a reference to it lives: these lists keep them alive,
    # so `is` tells the nodes apart
    output_sections: list[tuple[object, Output]] = []
    closers: list[object] = []  # the paragraphs that close an output's section
    written = 0
    for paragraph in list(document.paragraphs):
        text = paragraph.text.strip()
        if not text.startswith(PLACEHOLDER) or text[len(PLACEHOLDER):] not in outputs:
            continue
        out, figure = outputs[text[len(PLACEHOLDER):]]
        anchor = paragraph._p
        previous = _previous_block(anchor)
        chapter = _chapter_heading(previous)
        lead = 0.0
        if chapter is not None:  # the chapter heading opens the output's first page (never a page of its own)
            title = "".join(t.text or "" for t in previous.iter(f"{{{W_NS}}}t"))
            removed, previous = previous, _previous_block(previous)
            removed.getparent().remove(removed)
            lead = chapter_height(title, lay.geometry(out).body_width)
        layout = lay.plan(out, lead)
        if previous is None or not any(previous is c for c in closers):  # close the prose section before the output
            if previous is None or previous.tag != w_p or previous.find(f"{{{W_NS}}}pPr/{{{W_NS}}}sectPr") is not None:
                previous = parse_xml(f"<w:p {_W}/>")
                anchor.addprevious(previous)
            previous.get_or_add_pPr().append(copy.deepcopy(base))
        last = None
        elements = output_elements(layout)
        if lead:
            elements = [_paragraph(title, "l", CHAPTER_PT, CHAPTER_LINE_PT, bold=True, outline=0), _gap()] + elements
        for element in elements:
            if element == "<figure/>":
                picture = document.add_paragraph()
                picture.alignment = 1  # centred
                width, _ = _figure_width(layout, figure)
                picture.add_run().add_picture(str(figure), width=Pt(width))
                node = picture._p
            else:
                node = parse_xml(element if element.startswith("<w:tbl") else element.replace("<w:p>", f"<w:p {_W}>", 1))
            anchor.addprevious(node)
            last = node
        sect_pr = copy.deepcopy(base)
        last.get_or_add_pPr().append(sect_pr)
        output_sections.append((sect_pr, out))
        closers.append(last)
        anchor.getparent().remove(anchor)
        written += 1
    for section in document.sections:
        out = next((o for s, o in output_sections if s is section._sectPr), None)
        geo = lay.geometry(out) if out is not None else lay.LETTER_PORTRAIT
        _set_page(section, geo, out is not None and out.landscape)
        if out is not None:
            _restart_numbering(section._sectPr)
            _set_header_footer(section, out.page_header or out.study_id, out.label, lay.plan(out).page_count, geo.body_width)
        else:
            _set_header_footer(section, book_header, book_footer, None, geo.body_width)
    buffer = io.BytesIO()
    document.save(buffer)
    _write_dated_zip(buffer.getvalue(), path, stamp)
    return written


def _figure_width(layout: Layout, figure: Path) -> tuple[float, float]:
    from tlf.render.rtf import figure_size, png_size

    return figure_size(layout, png_size(Path(figure).read_bytes()))


def _write_dated_zip(data: bytes, path: Path, stamp: dt.date) -> None:
    """Re-write the package with every entry dated `stamp` (python-docx stamps the wall clock)."""
    when = (stamp.year, stamp.month, stamp.day, 0, 0, 0)
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
