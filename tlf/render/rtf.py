"""One RTF file per table and listing with rtflite (the submission format).

Every page carries the title (number, title, population and N), the column headers, the footnotes and the
source line, and "Page x of y" in the page header (RTF fields `\\chpgn` and NUMPAGES, filled in by the word
processor). Long listings paginate at a fixed number of rows per page. `text_convert` is off everywhere, so
"_" or "^" in the data is printed as typed (rtflite otherwise turns them into sub- and superscripts).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import rtflite as rtf

from tlf.output import Output
from sap.text import rtf_text

ROWS_PER_PAGE = {"portrait": 40, "landscape": 24}  # rtflite's defaults for letter paper, 9-pt body
_JUSTIFY = {"l": "l", "c": "c", "r": "r"}


def rtf_document(out: Output, figure_png: Path | None = None) -> str:
    """The RTF text of one output."""
    orientation = "landscape" if out.landscape else "portrait"
    titles = [rtf_text(t) for t in [out.heading] + ([out.population_line] if out.population_line else [])]
    notes = [rtf_text(n) for n in out.all_footnotes]
    common = dict(
        rtf_page=rtf.RTFPage(orientation=orientation, nrow=ROWS_PER_PAGE[orientation],
                             page_title="all", page_footnote="all", page_source="all"),
        rtf_page_header=rtf.RTFPageHeader(text_convert=[False]),  # default text: "Page \chpgn of NUMPAGES"
        rtf_title=rtf.RTFTitle(text=titles, text_convert=[False]),
        rtf_footnote=rtf.RTFFootnote(text=["\\line ".join(notes)], text_convert=[[False]], as_table=False) if notes else None,
        rtf_source=rtf.RTFSource(text=[rtf_text(out.source)], text_convert=[[False]], text_justification=[["l"]]) if out.source else None,
    )
    if out.body is not None:
        frame = pl.DataFrame({f"c{i}": out.body.iloc[:, i].map(rtf_text).tolist() for i in range(out.body.shape[1])},
                             schema={f"c{i}": pl.String for i in range(out.body.shape[1])})
        widths = out.widths()
        justify = [_JUSTIFY[a] for a in out.alignments()]
        doc = rtf.RTFDocument(
            df=frame,
            rtf_column_header=[rtf.RTFColumnHeader(text=[rtf_text(h) for h in out.headers], col_rel_width=widths,
                                                   text_convert=[False], text_justification=justify)],
            rtf_body=rtf.RTFBody(col_rel_width=widths, text_convert=[[False]], text_justification=[justify]),
            **common,
        )
    else:
        doc = rtf.RTFDocument(rtf_figure=rtf.RTFFigure(figures=[str(figure_png)], fig_width=6.5, fig_height=3.64), **common)
    return doc.rtf_encode()


def write_rtf(out: Output, folder: Path, figure_png: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{out.file_stem}.rtf"
    path.write_text(rtf_document(out, figure_png), encoding="utf-8")
    return path
