"""One RTF file per table, listing and figure (the submission format), written from the page plan of
`tlf.render.layout`.

Each planned page is written as it is planned: the titles (number, title, population and N), one table
with the column header row and the page's rows, then the footnotes and the source line; the next page
opens with a page break (`\\pagebb`), so the word processor breaks exactly where the plan does. Every
paragraph has an exact line height (`\\sl-N\\slmult0`), the font is Arial (Liberation Sans in LibreOffice,
the metrics the plan measured with) and column widths are the plan's, so no row wraps more than planned.
The page header carries the study id and the data status ("SYNTHETIC DATA") on the left and
"Page x of y" on the right (PAGE and NUMPAGES fields, their stored results already the right numbers for a
reader that does not update fields); the footer names the output. Text from the data goes through
`sap.text.rtf_text` only: it is never read as RTF.
"""

from __future__ import annotations

import re
from pathlib import Path

from tlf.output import Output
from tlf.render import layout as lay
from tlf.render.layout import Layout, PlannedRow, twips
from sap.text import rtf_text

_ALIGN = {"l": "\\ql", "c": "\\qc", "r": "\\qr"}
_BODY = f"\\f0\\fs{int(lay.BODY_PT * 2)}\\sl-{twips(lay.LINE_PT)}\\slmult0"
_TITLE = f"\\f0\\fs{int(lay.TITLE_PT * 2)}\\sl-{twips(lay.TITLE_LINE_PT)}\\slmult0"
_ROW = ("\\trowd\\trgaph0\\trleft0\\trpaddl{x}\\trpaddr{x}\\trpaddt{y}\\trpaddb{y}"
        "\\trpaddfl3\\trpaddfr3\\trpaddft3\\trpaddfb3")


def _field(instruction: str, result: int) -> str:
    return f"{{\\field{{\\*\\fldinst {instruction} }}{{\\fldrslt {result}}}}}"


def _header_footer(layout: Layout) -> str:
    out = layout.out
    tab = f"\\tqr\\tx{twips(layout.geometry.body_width)}"
    left = rtf_text(out.page_header or out.study_id)
    # "Page x of y": a space after each field group; a space right after a control word would be eaten
    header = (f"{{\\header\\pard\\plain{tab}{_BODY} {left}\\tab Page {_field('PAGE', 1)} of "
              f"{_field('NUMPAGES', layout.page_count)}\\par}}")
    footer = (f"{{\\footer\\pard\\plain{tab}{_BODY} {rtf_text(out.label)}\\tab "
              f"{rtf_text(out.data_status)}\\par}}")
    return header + "\n" + footer


def _cell_text(text: str, statistic: bool) -> str:
    escaped = rtf_text(text)
    return lay.MINUS.sub(r"\\_", escaped) if statistic else escaped


def _row(cells: tuple[str, ...], indent: int, layout: Layout, aligns: list[str], top: str = "", bottom: str = "",
         header: bool = False) -> str:
    """One table row: cell borders and right edges (twips), then each cell's paragraph."""
    edges, x = [], 0.0
    for w in layout.widths:
        x += w
        edges.append(twips(x))
    borders = (f"\\clbrdrt\\brdrs\\brdrw{top}" if top else "") + (f"\\clbrdrb\\brdrs\\brdrw{bottom}" if bottom else "")
    valign = "\\clvertalb" if header else "\\clvertalt"
    parts = [_ROW.format(x=twips(layout.pad_x), y=twips(lay.CELL_PAD_Y)) + ("\\trhdr" if header else "") + "\\trkeep"]
    parts += [f"{borders}{valign}\\cellx{edge}" for edge in edges]
    for i, (text, align) in enumerate(zip(cells, aligns)):
        left = f"\\li{twips(indent * lay.INDENT_PT)}" if i == 0 and indent else ""
        parts.append(f"\\pard\\plain\\intbl{_ALIGN[align if not header or i == 0 else 'c']}{left}{_BODY} {_cell_text(text, layout.out.kind == 'table')}\\cell")
    parts.append("\\row")
    return "".join(parts)


def _page(layout: Layout, rows: list[PlannedRow], first: bool, figure_png: Path | None) -> str:
    out = layout.out
    parts = []
    for n, title in enumerate(layout.titles):
        brk = "\\pagebb" if n == 0 and not first else ""
        weight = "\\b" if n == 0 else ""
        parts.append(f"\\pard\\plain\\qc\\keepn{brk}{_TITLE}{weight} {rtf_text(title)}\\par")
    parts.append(f"\\pard\\plain\\fs2\\sl-{twips(lay.GAP_PT)}\\slmult0\\par")
    if layout.widths:
        aligns = out.alignments()
        parts.append(_row(tuple(out.headers), 0, layout, aligns, top="15", bottom="10", header=True))
        for k, row in enumerate(rows):
            last = k == len(rows) - 1
            parts.append(_row(row.cells, row.indent, layout, aligns, bottom="15" if last else ""))
        parts.append(f"\\pard\\plain\\fs2\\sl-{twips(lay.GAP_PT)}\\slmult0\\par")
    elif figure_png is not None:
        parts.append(_picture(layout, Path(figure_png)))
    for note in layout.notes:
        parts.append(f"\\pard\\plain\\ql{_BODY} {rtf_text(note)}\\par")
    return "\n".join(parts)


def png_size(data: bytes) -> tuple[int, int]:
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def figure_size(layout: Layout, png_size: tuple[int, int]) -> tuple[float, float]:
    """The figure's printed width and height (points): the body width, or less so that it fits the height
    the titles and footnotes leave."""
    px_w, px_h = png_size
    room = layout.geometry.body_height - lay.SAFETY_PT - layout.page_height([]) - lay.GAP_PT - layout.lead
    width = layout.geometry.body_width
    height = width * px_h / px_w
    if height > room:
        width, height = width * room / height, room
    return width, height


def _picture(layout: Layout, png: Path) -> str:
    data = png.read_bytes()
    px = png_size(data)
    width, height = figure_size(layout, px)
    picture = (f"{{\\pict\\pngblip\\picw{px[0]}\\pich{px[1]}\\picwgoal{twips(width)}\\pichgoal{twips(height)}\n"
               + "\n".join(data[i:i + 64].hex() for i in range(0, len(data), 64)) + "}")
    return f"\\pard\\plain\\qc\\keepn {picture}\\par\n\\pard\\plain\\fs2\\sl-{twips(lay.GAP_PT)}\\slmult0\\par"


def rtf_document(out: Output, figure_png: Path | None = None) -> str:
    """The RTF text of one output, page by page as `tlf.render.layout.plan` planned it."""
    layout = lay.plan(out)
    geo = layout.geometry
    page = (f"\\paperw{twips(geo.width)}\\paperh{twips(geo.height)}\\margl{twips(geo.margin)}\\margr{twips(geo.margin)}"
            f"\\margt{twips(geo.margin)}\\margb{twips(geo.margin)}\\headery{twips(geo.margin / 2)}\\footery{twips(geo.margin / 2)}"
            + ("\\landscape" if out.landscape else ""))
    section = (f"\\sectd\\pgwsxn{twips(geo.width)}\\pghsxn{twips(geo.height)}\\marglsxn{twips(geo.margin)}"
               f"\\margrsxn{twips(geo.margin)}\\margtsxn{twips(geo.margin)}\\margbsxn{twips(geo.margin)}"
               f"\\headery{twips(geo.margin / 2)}\\footery{twips(geo.margin / 2)}" + ("\\lndscpsxn" if out.landscape else ""))
    pages = [_page(layout, rows, n == 0, figure_png) for n, rows in enumerate(layout.pages)]
    return "\n".join([
        "{\\rtf1\\ansi\\ansicpg1252\\deff0\\uc1",
        f"{{\\fonttbl{{\\f0\\fswiss\\fcharset0 {lay.FONT_NAME};}}}}",
        f"{{\\info{{\\title {rtf_text(out.heading)}}}}}",
        page, section, _header_footer(layout),
        *pages,
        "}",
    ]) + "\n"


def write_rtf(out: Output, folder: Path, figure_png: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{out.file_stem}.rtf"
    path.write_text(rtf_document(out, figure_png), encoding="utf-8")
    return path
