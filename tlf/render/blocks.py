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
    a data URI, so the page makes no request), footnotes and source."""
    esc = html_text
    parts = [f'<section class="tlf tlf-{out.kind}" id="{anchor(out)}">']
    if title:
        parts.append(f'<p class="tlf-title">{esc(out.heading)}</p>')
    if out.population_line:
        parts.append(f'<p class="tlf-population">{esc(out.population_line)}</p>')
    if out.body is not None:
        aligns = out.alignments()
        widths = out.widths()
        total = sum(widths) or 1
        parts.append('<table class="tlf-table"><colgroup>')
        parts += [f'<col style="width:{100 * w / total:.1f}%">' for w in widths]
        parts.append("</colgroup><thead><tr>")
        parts += [f'<th style="text-align:{_HTML_ALIGN[a]}">{esc(h)}</th>' for h, a in zip(out.headers, aligns)]
        parts.append("</tr></thead><tbody>")
        for row in _rows(out):
            cells = "".join(f'<td style="text-align:{_HTML_ALIGN[a]}">{esc(c)}</td>' for c, a in zip(row, aligns))
            parts.append(f"<tr>{cells}</tr>")
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


def typst_block(out: Output, figure_path: Path | None = None, new_page: bool = True) -> str:
    """Raw Typst for one output, on pages of its own. Tables: number, title, population and column
    headers sit in `table.header` and footnotes and source in `table.footer`, both repeated on every page a
    long listing spans. An unnumbered, invisible heading puts the output in the PDF outline."""
    outline_entry = f"#place(hide(heading(level: 2, numbering: none, outlined: true, bookmarked: true, {typst_string(out.heading)})))"
    titles = [f"text(weight: \"bold\", {typst_string(out.heading)})"]
    if out.population_line:
        titles.append(typst_string(out.population_line))
    notes = [typst_string(f) for f in out.all_footnotes] + ([typst_string(out.source)] if out.source else [])
    if out.body is not None:
        n = len(out.headers)
        widths = out.widths()
        columns = ", ".join(f"{w:g}fr" for w in widths)
        aligns = ", ".join(_TYPST_ALIGN[a] for a in out.alignments())
        header_cells = ", ".join(f"text(weight: \"bold\", {typst_string(h)})" for h in out.headers)
        body_cells = ",\n    ".join(", ".join(typst_string(c) for c in row) for row in _rows(out))
        title_cells = ", ".join(f"table.cell(colspan: {n}, align: center, {t})" for t in titles)
        note_cells = ", ".join(f"table.cell(colspan: {n}, align: left, text(size: 7.5pt, {t}))" for t in notes)
        table = (
            f"#{{\n  set text(size: {8 if out.kind == 'listing' else 9}pt)\n"
            f"  table(columns: ({columns},), align: ({aligns},), stroke: none, inset: (x: 4pt, y: 2.5pt),\n"
            f"    table.header(repeat: true, {title_cells}, table.hline(stroke: 0.8pt), {header_cells}, table.hline(stroke: 0.5pt)),\n"
            f"    {body_cells}{',' if body_cells else ''}\n"
            f"    table.footer(repeat: true, table.hline(stroke: 0.8pt){', ' + note_cells if note_cells else ''}),\n"
            f"  )\n}}"
        )
        content = table
    else:
        parts = [f"align(center, {t})" for t in titles]
        if figure_path is not None:
            parts.append(f'align(center, image({typst_string(str(figure_path))}, width: 100%))')
        parts += [f"block(spacing: 0.5em, text(size: 7.5pt, {t}))" for t in notes]
        content = "#block(breakable: false)[\n  #" + "\n  #".join(parts) + "\n]"
    if out.landscape:
        # a landscape output is its own page run: the outline entry goes inside it (else a blank page)
        return "#page(flipped: true)[\n" + outline_entry + "\n" + content + "\n]"
    # a portrait output starts on a fresh page (unless the page is still empty) and ends its page
    return "\n".join((["#pagebreak(weak: true)"] if new_page else []) + [outline_entry, content, "#pagebreak(weak: true)"])


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


def markdown_block(out: Output, figure_png: Path | None = None, new_page: bool = True) -> str:
    """The whole output as Markdown for a page: a heading (for the HTML and DOCX table of contents; the
    Typst block carries its own), then one rendition per format. `new_page=False` lets the first output of
    a page follow the page heading in the PDF."""
    return "\n\n".join([
        f'::: {{.content-hidden when-format="typst"}}\n## {markdown_text(out.heading)} {{#{anchor(out)}-h .unnumbered}}\n:::',
        "```{=html}\n" + html_block(out, figure_png, title=False) + "\n```",
        "```{=typst}\n" + typst_block(out, figure_png, new_page) + "\n```",
        '::: {.content-visible when-format="docx"}\n' + docx_markdown(out, figure_png, title=False) + "\n:::",
    ]) + "\n"
