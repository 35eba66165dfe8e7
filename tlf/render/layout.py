"""The measured paginator: one page plan per output, shared by the RTF, DOCX and PDF renderers.

Text is measured with the advance widths of Liberation Sans (the font file shipped in the rtflite wheel,
read with fontTools). Liberation Sans is metric-compatible with Arial, the font the RTF and DOCX files name,
so Word (Arial) and LibreOffice (Liberation Sans) wrap a line where this module does. Every paragraph
and cell is set at an exact line height (`LINE_PT`), so a row's height is its wrapped line count times the
line height plus the cell padding, and a page holds exactly what the plan puts on it.

Rules implemented (issue 11):
- page geometry: US Letter, 1-inch margins (FDA PDF specifications: at least 3/4 inch), portrait or
  landscape as the catalogue says; body text 9 pt, titles 10 pt (>= 9 pt everywhere);
- column widths from the content: each column at least as wide as its longest word (header words
  included), so no word is broken; the space left is shared in proportion to what each column needs to
  hold its longest cell on one line;
- every page repeats the titles (number, title, population), the column header row and the footnotes
  and source;
- a group (a row whose first cell is not indented, with the indented rows under it: a parameter and its
  visits, a SOC and its PTs; in a listing, consecutive rows of one subject) is kept on one page when it
  fits on one (in a listing, when it takes at most a third of a page); a group taller than that is split, and its first row is repeated with "(continued)" at
  the top of the next page when the rows there would not otherwise name it;
- pages are filled to the body height and never beyond it, so a word processor adds no page of its own.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from tlf.output import Output
from sap.text import lines as text_lines

INDENT = "  "  # two leading spaces in a first-column cell = one indentation level (tlf.summaries.INDENT)
INDENT_PT = 9.0  # the indentation of one level, in points (every format)
BODY_PT = 9.0  # table body, column headers, footnotes, source: the FDA minimum of 9 pt
TITLE_PT = 10.0
LINE_PT = 11.0  # exact line height of 9-pt text (RTF \sl-220, DOCX exact 11 pt, Typst leading)
TITLE_LINE_PT = 12.0
CELL_PAD_X = 3.0  # left and right cell padding, points
TIGHT_PAD_X = 1.5  # the padding of a table whose longest words do not fit side by side with CELL_PAD_X
CELL_PAD_Y = 1.0  # top and bottom cell padding, points
GAP_PT = 6.0  # space between the titles and the table, and between the table and the footnotes
SAFETY_PT = 2 * LINE_PT  # room a word processor may use beyond the plan (rule widths, rounding)
BOLD_FACTOR = 1.2  # the widest Liberation Sans Bold glyphs are up to ~20% wider than regular (titles only)
CONTINUED = " (continued)"
FONT_NAME = "Arial"  # named in RTF and DOCX; Liberation Sans (same metrics) is what LibreOffice substitutes
PDF_FONT = "Liberation Sans"  # the PDF's tables: the measured font file itself (`font_dir()` for Typst)


@dataclass(frozen=True)
class Geometry:
    """A page: paper size and margins in points."""

    width: float
    height: float
    margin: float = 72.0

    @property
    def body_width(self) -> float:
        return self.width - 2 * self.margin

    @property
    def body_height(self) -> float:
        return self.height - 2 * self.margin


LETTER_PORTRAIT = Geometry(612.0, 792.0)
LETTER_LANDSCAPE = Geometry(792.0, 612.0)


def geometry(out: Output) -> Geometry:
    return LETTER_LANDSCAPE if out.landscape else LETTER_PORTRAIT


# ------------------------------------------------------------------------------------------ metrics


# A minus sign (a "-" opening a number) in a table's computed statistic: the renderers write it as a
# non-breaking hyphen (RTF \_, DOCX w:noBreakHyphen), so a word processor never breaks "(-92.60, -12.40)"
# after the "(-" (the plan wraps at spaces only). A listing's cells are data and are written as typed.
MINUS = re.compile(r"(?<![\w.])-(?=\d)")


def font_dir() -> Path:
    """The folder of the Liberation Sans file that the plan measures with (rtflite ships it)."""
    import rtflite.fonts

    return Path(rtflite.fonts.__file__).parent / "liberation"


@functools.cache
def _metrics() -> tuple[dict[int, int], int, int]:
    """Advance widths of Liberation Sans Regular by code point, the font's units per em and the width of
    its space."""
    from fontTools.ttLib import TTFont

    path = font_dir() / "LiberationSans-Regular.ttf"
    font = TTFont(str(path), lazy=True)
    advances = font["hmtx"].metrics
    widths = {code: advances[glyph][0] for code, glyph in font.getBestCmap().items()}
    return widths, font["head"].unitsPerEm, widths[ord(" ")]


def text_width(text: str, size: float = BODY_PT, bold: bool = False) -> float:
    """Width of one line of text in points. A character the font lacks (CJK) counts one em, the width of
    the full-width glyph a fallback font gives it."""
    widths, units, _ = _metrics()
    total = sum(widths.get(ord(ch), units) for ch in text)
    return total * size / units * (BOLD_FACTOR if bold else 1.0)


def words(text: str) -> list[str]:
    return [w for line in text_lines(text) for w in line.split()]


def longest_word(text: str, size: float = BODY_PT, bold: bool = False) -> float:
    return max((text_width(w, size, bold) for w in words(text)), default=0.0)


def wrap(text: str, width: float, size: float = BODY_PT, bold: bool = False) -> list[str]:
    """Greedy word wrap at spaces, as word processors do; a word longer than the line is cut into pieces
    that fit (it would be broken anyway). Line breaks in the text are kept."""
    out: list[str] = []
    space = text_width(" ", size, bold)
    for line in text_lines(text):
        current, current_width = "", 0.0
        for word in line.split():
            w = text_width(word, size, bold)
            while w > width and len(word) > 1:  # cut an over-long word
                cut = len(word)
                while cut > 1 and text_width(word[:cut], size, bold) > width:
                    cut -= 1
                if current:
                    out.append(current)
                    current, current_width = "", 0.0
                out.append(word[:cut])
                word = word[cut:]
                w = text_width(word, size, bold)
            if current and current_width + space + w > width:
                out.append(current)
                current, current_width = word, w
            else:
                current, current_width = (f"{current} {word}", current_width + space + w) if current else (word, w)
        out.append(current)
    return out


def line_count(text: str, width: float, size: float = BODY_PT, bold: bool = False) -> int:
    return len(wrap(text, width, size, bold))


# ------------------------------------------------------------------------------------------- cells


def split_indent(text: str) -> tuple[int, str]:
    """(indentation level, text without the leading indentation) of a first-column cell."""
    level = 0
    while text.startswith(INDENT * (level + 1)):
        level += 1
    return level, text[len(INDENT) * level:]


def _minimum_widths(out: Output, pad_x: float) -> list[float]:
    return [low + 2 * pad_x + 1.0 for low, _ in _word_and_line_widths(out)]


def _word_and_line_widths(out: Output) -> list[tuple[float, float]]:
    """Per column: the widest word and (half the header's line, else) the widest cell line, indentation
    included."""
    result = []
    for i in range(len(out.headers)):
        cells = out.body.iloc[:, i].tolist() if out.body is not None else []
        low = longest_word(out.headers[i])
        high = max((text_width(line) for line in text_lines(out.headers[i])), default=0.0) * 0.5
        for cell in cells:
            level, text = split_indent(cell) if i == 0 else (0, cell)
            low = max(low, longest_word(text) + level * INDENT_PT)
            high = max(high, max((text_width(line) for line in text_lines(text)), default=0.0) + level * INDENT_PT)
        result.append((low, high))
    return result


def cell_padding(out: Output, total: float) -> float:
    """The left and right cell padding: CELL_PAD_X, or TIGHT_PAD_X when the columns' longest words would not
    fit side by side otherwise (a listing of many narrow columns): narrower gutters before broken words."""
    return CELL_PAD_X if sum(_minimum_widths(out, CELL_PAD_X)) < total else TIGHT_PAD_X


def column_widths(out: Output, total: float, pad_x: float = CELL_PAD_X) -> list[float]:
    """Column widths in points summing to `total`: each column at least its longest word (header and cells,
    plus indentation and padding) so no word breaks, the rest shared in proportion to what each column
    lacks to hold its longest cell on one line (capped at 40% of the width); what is left after every
    column has its longest cell is shared in proportion to the widths."""
    minimum, natural = [], []
    pad = 2 * pad_x + 1.0  # 1 pt of slack against rounding in the word processor
    for low, high in _word_and_line_widths(out):
        minimum.append(low + pad)
        natural.append(max(min(high, 0.4 * total), low) + pad)
    if sum(minimum) >= total:  # cannot avoid breaking words: scale the minimums down
        return [total * m / sum(minimum) for m in minimum]
    extra = total - sum(minimum)
    lacking = [h - m for h, m in zip(natural, minimum)]
    if sum(lacking) > extra:
        return [m + extra * lack / sum(lacking) for m, lack in zip(minimum, lacking)]
    widths = natural
    left = total - sum(widths)
    return [w + left * w / sum(widths) for w in widths]


# -------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlannedRow:
    cells: tuple[str, ...]  # display text (indentation removed from the first cell)
    indent: int  # indentation level of the first cell
    height: float
    continued: bool = False  # a repeated group label "(continued)"


@dataclass
class Layout:
    """The page plan of one output: geometry, column widths (points), title and footnote blocks and the
    rows of each page. `pages` has at least one page (a figure or an empty table has one)."""

    out: Output
    geometry: Geometry
    widths: list[float]
    titles: list[str]
    notes: list[str]
    header_height: float
    title_height: float
    notes_height: float
    pages: list[list[PlannedRow]] = field(default_factory=list)
    lead: float = 0.0  # height taken on the first page above the titles (a chapter heading in the DOCX)
    pad_x: float = CELL_PAD_X  # left and right cell padding (`cell_padding`)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def page_height(self, rows: list[PlannedRow]) -> float:
        table = (self.header_height + sum(r.height for r in rows)) if self.widths else 0.0
        return self.title_height + GAP_PT + table + GAP_PT + self.notes_height


def row_height(cells: tuple[str, ...], indent: int, widths: list[float], pad_x: float = CELL_PAD_X) -> float:
    lines = max(line_count(text, w - 2 * pad_x - (indent * INDENT_PT if i == 0 else 0.0))
                for i, (text, w) in enumerate(zip(cells, widths)))
    return lines * LINE_PT + 2 * CELL_PAD_Y


def _groups(rows: list[PlannedRow], listing: bool) -> list[list[PlannedRow]]:
    """Rows in groups: a group opens at a row whose first cell is not indented and not empty (in a listing,
    at a change of the first cell's value, the subject)."""
    groups: list[list[PlannedRow]] = []
    for row in rows:
        opens = row.indent == 0 and row.cells[0] != "" and not (
            listing and groups and groups[-1][0].cells[0] == row.cells[0])
        if opens or not groups:
            groups.append([row])
        else:
            groups[-1].append(row)
    return groups


def _needs_label(group: list[PlannedRow], start: int) -> bool:
    """A continuation page must repeat the group's first row when the rows there do not name the group
    (indented rows, or an empty first cell)."""
    return start > 0 and (group[start].indent > 0 or group[start].cells[0] == "")


def _continued(head: PlannedRow, widths: list[float], pad_x: float) -> PlannedRow:
    cells = (head.cells[0] + CONTINUED,) + ("",) * (len(head.cells) - 1)
    return PlannedRow(cells, head.indent, row_height(cells, head.indent, widths, pad_x), continued=True)


def plan(out: Output, lead: float = 0.0) -> Layout:
    """The page plan of one output (see the module docstring for the rules); `lead` points of the first page
    are taken by something above the output (the DOCX puts a chapter heading there)."""
    geo = geometry(out)
    titles = [out.heading] + ([out.population_line] if out.population_line else [])
    notes = list(out.all_footnotes) + ([out.source] if out.source else [])
    title_height = sum(line_count(t, geo.body_width, TITLE_PT, bold=True) * TITLE_LINE_PT for t in titles)
    notes_height = sum(line_count(n, geo.body_width) * LINE_PT for n in notes)
    if out.body is None:
        return Layout(out, geo, [], titles, notes, 0.0, title_height, notes_height, pages=[[]], lead=lead)
    pad_x = cell_padding(out, geo.body_width)
    widths = column_widths(out, geo.body_width, pad_x)
    header_cells = tuple(out.headers)
    header_height = row_height(header_cells, 0, widths, pad_x) + 1.0  # + the rules above and below
    layout = Layout(out, geo, widths, titles, notes, header_height, title_height, notes_height, lead=lead, pad_x=pad_x)
    rows = []
    for values in out.body.values.tolist():
        level, first = split_indent(values[0])
        cells = (first, *values[1:])
        rows.append(PlannedRow(cells, level, row_height(cells, level, widths, pad_x)))
    capacity = geo.body_height - SAFETY_PT - layout.page_height([])
    if capacity < 3 * LINE_PT:
        raise ValueError(f"{out.label}: titles and footnotes leave no room for the table on a page")
    pages: list[list[PlannedRow]] = [[]]
    used = lead

    def new_page() -> None:
        nonlocal used
        pages.append([])
        used = 0.0

    def put(row: PlannedRow) -> None:
        nonlocal used
        pages[-1].append(row)
        used += row.height

    for group in _groups(rows, out.kind == "listing"):
        height = sum(r.height for r in group)
        if used + height <= capacity:
            for row in group:
                put(row)
            continue
        # a listing's subject block longer than a third of a page fills the page and goes on (each row names
        # the subject); moving it whole would leave most of the page empty
        long_listing_block = out.kind == "listing" and height > capacity / 3
        if height <= capacity and pages[-1] and not long_listing_block:  # fits on a page of its own: start one
            new_page()
            for row in group:
                put(row)
            continue
        # taller than a page (or the page is empty): split, keeping at least two rows on a page when the
        # group opens low on it (no group head alone at the foot of a page)
        if pages[-1] and used + sum(r.height for r in group[:2]) > capacity:
            new_page()
        for index, row in enumerate(group):
            if used + row.height > capacity and pages[-1]:
                new_page()
                if _needs_label(group, index):
                    put(_continued(group[0], widths, pad_x))
            put(row)
    layout.pages = pages
    return layout


def page_count(out: Output) -> int:
    return plan(out).page_count


def fits(layout: Layout) -> bool:
    """Every page within the body height (the invariant `plan` keeps; tests check it)."""
    return all(layout.page_height(rows) + (layout.lead if n == 0 else 0.0) <= layout.geometry.body_height
               for n, rows in enumerate(layout.pages))


def twips(points: float) -> int:
    return int(math.floor(points * 20))
