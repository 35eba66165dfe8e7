"""One output as a block of each book format: raw HTML, raw Typst and Pandoc Markdown (used for DOCX).

`markdown_block` wraps them for a `.qmd` page so Quarto and the fallback treat them alike: raw blocks are
kept only by the matching writer (```` ```{=html} ````, ```` ```{=typst} ````) and the DOCX rendition sits in
a `content-visible when-format="docx"` div (Quarto's conditional content; the fallback's Lua filter
implements the same rule).
"""

from __future__ import annotations

import base64
from pathlib import Path

from tlf.output import Output
from tlf.render import layout as lay
from sap.text import DOCX_LINE_BREAK, html_attribute, html_text, markdown_text, typst_string

_TYPST_ALIGN = {"l": "left", "c": "center", "r": "right"}
_HTML_ALIGN = {"l": "left", "c": "center", "r": "right"}


def _rows(out: Output) -> list[list[str]]:
    return out.body.values.tolist() if out.body is not None else []


def anchor(out: Output) -> str:
    return out.file_stem


# ---------------------------------------------------------------------------------------------- HTML


def html_block(out: Output, figure_png: Path | None = None, title: bool = True) -> str:
    """A self-contained HTML section: caption (number, title, population), table or figure (PNG inlined as
    a data URI, so the page makes no request), footnotes and source. Column widths are the paginator's
    (`tlf.render.layout`); a first-column cell's indentation is a CSS class (`indent-1`, `indent-2`: leading
    spaces would collapse), column headers are `th scope="col"` and a table's first cell of each row is its
    `th scope="row"` (listings keep plain cells: their first column is data, not a row label)."""
    esc = html_text
    parts = [f'<section class="tlf tlf-{out.kind}" id="{anchor(out)}">']
    if title:
        parts.append(f'<p class="tlf-title">{esc(out.heading)}</p>')
    if out.population_line:
        parts.append(f'<p class="tlf-population">{esc(out.population_line)}</p>')
    if out.body is not None:
        aligns = out.alignments()
        page_width = lay.geometry(out).body_width
        widths = lay.column_widths(out, page_width, lay.cell_padding(out, page_width))
        total = sum(widths) or 1
        parts.append('<table class="tlf-table"><colgroup>')
        parts += [f'<col style="width:{100 * w / total:.1f}%">' for w in widths]
        parts.append("</colgroup><thead><tr>")
        parts += [f'<th scope="col" class="align-{_HTML_ALIGN[a]}">{esc(h)}</th>' for h, a in zip(out.headers, aligns)]
        parts.append("</tr></thead><tbody>")
        row_label = out.kind == "table"
        for row in _rows(out):
            level, first = lay.split_indent(row[0])
            indent = f" indent-{level}" if level else ""
            tag = ('th scope="row"', "th") if row_label else ("td", "td")
            cells = [f'<{tag[0]} class="align-{_HTML_ALIGN[aligns[0]]}{indent}">{esc(first)}</{tag[1]}>']
            cells += [f'<td class="align-{_HTML_ALIGN[a]}">{esc(c)}</td>' for c, a in zip(row[1:], aligns[1:])]
            parts.append(f"<tr>{''.join(cells)}</tr>")
        parts.append("</tbody></table>")
    if figure_png is not None:
        data = base64.b64encode(Path(figure_png).read_bytes()).decode()
        parts.append(f'<figure class="tlf-figure"><img src="data:image/png;base64,{data}" alt="{html_attribute(out.heading)}"></figure>')
    if out.all_footnotes:
        parts.append('<div class="tlf-footnotes">' + "".join(f"<p>{esc(f)}</p>" for f in out.all_footnotes) + "</div>")
    if out.source:
        parts.append(f'<p class="tlf-source">{esc(out.source)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------- Typst

# Where the chapter heading of a page that holds outputs only goes in the PDF: inside the first output's
# first page (book.py puts an outline heading here), so that no page holds only a heading.
TYPST_CHAPTER_SLOT = "// chapter-heading-slot"


def _typst_text_rule(size: float, line: float) -> str:
    """Typst text in the paginator's font with an exact line pitch: the line box is `line` tall (top and
    bottom edges around the baseline); paragraphs have no leading or spacing of their own."""
    top = round(line * 0.75, 2)
    return (f"set text(font: {typst_string(lay.PDF_FONT)}, size: {size:g}pt, top-edge: {top:g}pt, "
            f"bottom-edge: {-(line - top):g}pt)")


def _typst_cell(text: str, align: str, indent: int = 0) -> str:
    """A cell through the page block's `c(alignment, content)` helper (short: a listing has thousands)."""
    body = typst_string(text)
    if indent:
        body = f"pad(left: {indent * lay.INDENT_PT:g}pt, {body})"
    return f"c({_TYPST_ALIGN[align]}, {body})"


def _typst_page(layout: lay.Layout, rows: list[lay.PlannedRow], figure_path: Path | None) -> str:
    """One planned page: titles, the table with its header row and the page's rows, footnotes and source."""
    out = layout.out
    titles = [f"text(weight: {typst_string('bold' if n == 0 else 'regular')}, {typst_string(title)})"
              for n, title in enumerate(layout.titles)]
    parts = ["{", "  " + _typst_text_rule(lay.TITLE_PT, lay.TITLE_LINE_PT),
             *(f"  align(center, {t})" for t in titles), "}", f"v({lay.GAP_PT:g}pt)"]
    if layout.widths:
        aligns = out.alignments()
        columns = ", ".join(f"{w:.2f}pt" for w in layout.widths)
        header = ", ".join(_typst_cell(h, "l" if i == 0 else "c") for i, h in enumerate(out.headers))
        body = ",\n    ".join(", ".join(_typst_cell(c, aligns[i], row.indent if i == 0 else 0) for i, c in enumerate(row.cells))
                              for row in rows)
        parts.append(
            f"table(columns: ({columns},), stroke: none, inset: (x: {layout.pad_x:g}pt, y: {lay.CELL_PAD_Y:g}pt),\n"
            f"    table.hline(stroke: 0.75pt), {header}, table.hline(stroke: 0.5pt),\n    {body}{',' if body else ''}\n"
            f"    table.hline(stroke: 0.75pt))")
        parts.append(f"v({lay.GAP_PT:g}pt)")
    elif figure_path is not None:
        from tlf.render.rtf import figure_size, png_size

        width, height = figure_size(layout, png_size(Path(figure_path).read_bytes()))
        parts.append(f"align(center, image({typst_string(str(figure_path))}, width: {width:.1f}pt, height: {height:.1f}pt))")
        parts.append(f"v({lay.GAP_PT:g}pt)")
    for note in layout.notes:
        parts.append(f"block(spacing: 0pt, {typst_string(note)})")
    head = ["set par(leading: 0pt, spacing: 0pt, justify: false)", _typst_text_rule(lay.BODY_PT, lay.LINE_PT),
            "let c(a, body) = table.cell(align: a, body)"]
    return "#{\n  " + "\n  ".join(head + parts) + "\n}"


def typst_block(out: Output, figure_path: Path | None = None, new_page: bool = True) -> str:
    """Raw Typst for one output: the pages the paginator planned (`tlf.render.layout`), in its font and at
    its sizes (body, headers, footnotes 9 pt, titles 10 pt), each page complete, a page break between them.
    An invisible level-2 heading puts the output in the PDF outline (a bookmark per output)."""
    layout = lay.plan(out)
    outline_entry = f"#place(hide(heading(level: 2, numbering: none, outlined: true, bookmarked: true, {typst_string(out.heading)})))"
    pages = [_typst_page(layout, rows, figure_path) for rows in layout.pages]
    content = "\n#pagebreak()\n".join(pages)
    opening = [TYPST_CHAPTER_SLOT, outline_entry]
    if out.landscape:
        # a landscape output is its own page run: the outline entry goes inside it (else a blank page)
        return "\n".join(["#page(flipped: true)[", *opening, content, "]"])
    # a portrait output starts on a fresh page (unless the page is still empty) and ends its page
    return "\n".join(["#pagebreak(weak: true)", *opening, content, "#pagebreak(weak: true)"])


# ------------------------------------------------------------------------------------ Markdown (DOCX)


def _md_cell(text: str) -> str:
    """A DOCX table cell or paragraph: literal text, line breaks kept as DOCX line breaks."""
    return markdown_text(text, line_break=DOCX_LINE_BREAK)


def markdown_table(out: Output) -> str:
    """A Pandoc pipe table; dash counts carry the relative widths so DOCX columns are not squeezed."""
    widths = out.widths()
    total = sum(widths) or 1
    dashes = [max(3, round(72 * w / total)) for w in widths]
    marks = {"l": ":{}", "c": ":{}:", "r": "{}:"}
    rule = "|" + "|".join(marks[a].format("-" * d) for a, d in zip(out.alignments(), dashes)) + "|"
    head = "| " + " | ".join(_md_cell(h) for h in out.headers) + " |"
    rows = ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in _rows(out)]
    return "\n".join([head, rule, *rows])


def docx_markdown(out: Output, figure_path: Path | None = None, title: bool = True) -> str:
    parts = [f"**{_md_cell(out.heading)}**"] if title else []
    if out.population_line:
        parts.append(_md_cell(out.population_line))
    if out.body is not None:
        parts.append(markdown_table(out))
    if figure_path is not None:
        # the bare file name: pandoc finds it through --resource-path, and DOCX keeps the name (not an
        # absolute path of this run's folder) as the picture's description, so the bytes do not depend on --out
        parts.append(f"![]({Path(figure_path).name}){{width=6.5in}}")
    for note in out.all_footnotes + ((out.source,) if out.source else ()):
        parts.append(_md_cell(note))
    return "\n\n".join(parts)


OUTPUT_BLOCK_OPEN = '::: {.content-hidden when-format="typst" .tlf-heading}'  # the first line of every output's block


def markdown_block(out: Output, figure_png: Path | None = None, new_page: bool = True,
                   docx_placeholder_only: bool = False) -> str:
    """The whole output as Markdown for a page: a heading (for the HTML and DOCX table of contents; the
    Typst block carries its own), then one rendition per format. `new_page=False` lets the first output of
    a page follow the page heading in the PDF."""
    return "\n\n".join([
        f'{OUTPUT_BLOCK_OPEN}\n## {markdown_text(out.heading)} {{#{anchor(out)}-h .unnumbered}}\n:::',
        "```{=html}\n" + html_block(out, figure_png, title=False) + "\n```",
        "```{=typst}\n" + typst_block(out, figure_png, new_page) + "\n```",
        # Quarto renders this Markdown; the fallback's Lua filter turns the div into a placeholder paragraph
        # that tlf.render.docx fills from the page plan (and drops the heading above: the output's own first
        # title is its outline entry)
        f'::: {{.content-visible when-format="docx" .tlf-docx stem="{out.file_stem}"}}\n'
        + ("" if docx_placeholder_only else docx_markdown(out, figure_png, title=False)) + "\n:::",
    ]) + "\n"
