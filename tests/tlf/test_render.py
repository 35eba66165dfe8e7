"""Rendering: one table (14.2.1), one listing (16.2.7, 124 rows) and one figure (14.2.2.1) in every format,
through the render stage (fallback: jupytext + nbclient + pandoc + Typst) run once per session."""

import re
import zipfile
from pathlib import Path

import pytest

from sap import pipeline
from sap.pipeline import run_id
from tlf.catalog import Catalogue, load_outputs
from tlf.page import RunInfo, group_markdown
from tlf.render import book

from .conftest import make_adae, make_adrs, make_adsl, write_adam

NOTE = "validation failed (--allow-invalid): 2 expectations"
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def pdf_pages(data: bytes) -> int:
    """Page objects of a PDF (Typst writes them uncompressed): no PDF library needed."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


EXAMPLES = ["14.2.1", "14.2.2", "Figure 14.2.2.1", "16.2.7"]  # three programmed examples and one left planned


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """The render stage on the hand-made ADaM, restricted (SAP_OUTPUTS_FILE) to the example outputs: the
    other builders need variables the small frames do not have."""
    import os

    import yaml

    out = tmp_path_factory.mktemp("run")
    specs = [load_outputs().get(label).model_dump(exclude_defaults=True) for label in EXAMPLES]
    specs[1].pop("builder", None)
    catalogue_file = out / "outputs.yaml"
    catalogue_file.write_text(yaml.safe_dump({"outputs": specs}, sort_keys=False))
    os.environ["SAP_OUTPUTS_FILE"] = str(catalogue_file)
    write_adam(out / "adam")
    (out / "validation").mkdir()
    (out / "validation" / "report.md").write_text("# Validation report\n\nExpectations: 12 of 14 passed.\n")
    ctx = pipeline.make_context(out=out, allow_invalid=True, log=lambda line: None)
    ctx.notes.append(NOTE)
    try:
        counts = pipeline.stage_function("render")(ctx)
    finally:
        del os.environ["SAP_OUTPUTS_FILE"]
    return out / "tlf", counts, run_id(ctx)


def test_stage_layout_and_counts(rendered):
    tlf, counts, _ = rendered
    shown = {key: counts[key] for key in ("outputs", "planned", "pages")}
    assert shown == {"outputs": 3, "planned": 1, "pages": 8}  # 14.2.2 left without a builder; 8 book pages
    # the rendered-output QC read back every produced output with rows (not the figure) in HTML, DOCX and RTF
    assert counts["files checked"] == 3 * counts["outputs checked"] and counts["rendering mismatches"] == 0
    for name in ["book.pdf", "book.docx", "html/index.html", "html/sap.html", "html/14-2-efficacy.html",
                 "html/16-2-listings.html", "html/validation.html", "rtf/t-14-2-1.rtf", "rtf/l-16-2-7.rtf",
                 "figures/f-14-2-2-1.png", "figures/f-14-2-2-1.svg", "index.csv"]:
        assert (tlf / name).is_file(), name
    assert not list(tlf.glob(".*")) and not (tlf.parent / ".tlf.tmp").exists()


def test_html_carries_numbers_titles_and_source(rendered):
    tlf, _, rid = rendered
    page = (tlf / "html" / "14-2-efficacy.html").read_text()
    for text in ["Table 14.2.1: SRI-4 Response at the Primary Visit", "Full analysis set (N=40)", "36/40", "90.0",
                 "76.3, 97.2", "95% CI: Clopper-Pearson exact.", f"run id {rid}", "data cut-off 2015-10-31",
                 f"NOTE: {NOTE}", "Figure 14.2.2.1", "data:image/png;base64,"]:
        assert text in page, text
    assert "Not produced in this run: planned; builder not yet programmed" in page  # 14.2.2 (no builder here)
    assert "Expectations: 12 of 14 passed." in (tlf / "html" / "validation.html").read_text()
    listing = (tlf / "html" / "16-2-listings.html").read_text()
    assert listing.count("<tr>") == 124 + 1  # header row + one per event of the safety population
    assert '<html xmlns="http://www.w3.org/1999/xhtml" lang="en"' in listing
    assert '<th scope="col" class="align-left">Subject</th>' in listing
    # the table's row labels are row headers; visits under the SRI parameter are indented by class
    assert '<th scope="row" class="align-left">' in page


def test_html_makes_no_outbound_request(rendered):
    tlf, _, _ = rendered
    for page in (tlf / "html").glob("*.html"):
        text = page.read_text()
        assert not EXTERNAL.findall(text), page.name
        assert "<script" not in text.lower(), page.name


def test_pdf_has_pages_and_page_x_of_y(rendered):
    data = (tlf := rendered[0] / "book.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    # title, contents, about, SAP, 4 output pages + 124-row landscape listing over several pages, validation
    assert pdf_pages(data) >= 12


def test_docx_holds_the_outputs(rendered):
    with zipfile.ZipFile(rendered[0] / "book.docx") as docx:
        xml = docx.read("word/document.xml").decode()
        media = [n for n in docx.namelist() if n.startswith("word/media/")]
    for text in ["36/40", "76.3, 97.2", "Clopper-Pearson exact", "IL2-040", "Statistical Analysis Plan"]:
        assert text in xml, text
    assert "IL2-041" not in xml  # outside the safety population
    assert media  # the figure


def test_rtf_has_title_footnotes_source_and_page_numbers(rendered):
    tlf, _, rid = rendered
    table = (tlf / "rtf" / "t-14-2-1.rtf").read_text()
    assert table.startswith("{\\rtf1")
    for text in ["Table 14.2.1: SRI-4 Response at the Primary Visit (Primary Endpoint)", "Full analysis set (N=40)",
                 "36/40", "76.3, 97.2", "95% CI: Clopper-Pearson exact.", f"run id {rid}", "NOTE: " + NOTE]:
        assert text in table, text
    assert "Page {\\field{\\*\\fldinst PAGE }{\\fldrslt 1}} of {\\field{\\*\\fldinst NUMPAGES }{\\fldrslt 1}}" in table
    listing = (tlf / "rtf" / "l-16-2-7.rtf").read_text()
    pages = listing.count("\\pagebb") + 1
    # 124 events on landscape pages of 29 one-line rows at most (13 pt rows in a 468 pt body less titles,
    # header and footnotes), each subject's 2-4 events kept together: at least 5 pages
    assert pages >= 5
    # title, column header row and footnotes repeated on every page
    assert listing.count("Listing 16.2.7: Adverse Events") == pages + 1  # + the document's \\title
    assert listing.count("System organ class / Preferred term / Reported term") == pages
    assert listing.count("Severity: mild, moderate, severe") == pages
    assert "redness_at injection site" in listing  # "_" printed as typed, not as a subscript


@pytest.fixture(scope="module")
def chapters(tmp_path_factory, study):
    """The efficacy and listing pages built in-process (the same `group_markdown` the pages call)."""
    figures = tmp_path_factory.mktemp("figures")
    run = RunInfo(adam_dir=Path("unused"), figure_dir=figures, run_id="abc123", study=study, notes=[])
    adam = {"ADSL": make_adsl(), "ADRS": make_adrs(), "ADAE": make_adae()}
    root = book.PROJECT_ROOT / "tlf" / "pages"
    catalogue = Catalogue(outputs=[load_outputs().get(label) for label in ("14.2.1", "Figure 14.2.2.1", "16.2.7")])
    return [book.Chapter(root / f"{g}.qmd", g, g, group_markdown(g, run=run, catalogue=catalogue, adam=adam))
            for g in ("14-2-efficacy", "16-2-listings")]


def outline_pages(path) -> dict[str, tuple[int, int]]:
    """First page (0-based) and number of pages of each bookmark of a PDF: from its bookmark to the next
    bookmark (or the end)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    marks = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                marks.append((item.title, reader.get_destination_page_number(item)))

    walk(reader.outline)
    ends = [page for _, page in marks[1:]] + [len(reader.pages)]
    return {title: (page, end - page) for (title, page), end in zip(marks, ends)}


def test_pdf_pages_are_the_paginators_and_fonts_at_least_9_pt(chapters, tmp_path, study, adam):
    from pypdf import PdfReader

    from tlf.page import build_output
    from tlf.render import layout

    path = book.render_pdf(chapters, tmp_path / "book.pdf", book.read_project(), "h", "r", "f", study.data_cutoff, keep_source=True)
    source = path.with_suffix(".typ").read_text()
    assert "#page(flipped: true)" in source  # landscape listing
    assert "Page #counter(page).display(\"1 of 1\", both: true)" in source
    run = RunInfo(adam_dir=Path("unused"), figure_dir=tmp_path, run_id="abc123", study=study, notes=[])
    pages = outline_pages(path)
    for label in ("14.2.1", "16.2.7"):
        out = build_output(load_outputs().get(label), adam, run)
        planned = layout.plan(out).page_count
        assert pages[out.heading][1] == planned, label  # Typst set exactly the planned pages
        assert planned >= 5 or label != "16.2.7"
    # every page of the listing carries its title and its header row
    reader = PdfReader(path)
    start, count = pages["Listing 16.2.7: Adverse Events"]
    for page in reader.pages[start:start + count]:
        text = page.extract_text()
        assert "Listing 16.2.7: Adverse Events" in text and "Severity" in text and "Outcome" in text
    # the chapter heading of an outputs-only page is in the outline, not alone on a page
    assert "16.2 Subject Data Listings" not in [p.extract_text().strip() for p in reader.pages]
    sizes = [float(s) for s in re.findall(r"size: ([0-9.]+)pt", source)]
    assert sizes and min(sizes) >= 9


def test_render_without_adam_is_one_line_error(tmp_path):
    """No ADaM dataset at all: one Problem naming the folder and no tlf/ folder, not a book of "not produced"."""
    from sap.errors import InputError

    ctx = pipeline.make_context(out=tmp_path, log=lambda line: None)
    with pytest.raises(InputError) as caught:
        pipeline.stage_function("render")(ctx)
    assert caught.value.lines() == [f"{(tmp_path / 'adam').resolve()}: no ADaM datasets found (run `sap adam` first)"]
    assert not (tmp_path / "tlf").exists()


def test_validation_report_lists_every_expectation_except_in_the_pdf():
    from tlf.page import report_markdown

    report = ("# Validation report\n\n3 expectations on 1 datasets: 2 passed, 1 failed.\n\n## Failures\n\n"
              "| Dataset | Variable |\n|---|---|\n| DM | AGE |\n\n## All expectations\n\n### DM\n\n"
              "| Result | Variable |\n|---|---|\n| pass | USUBJID |\n| pass | SEX |\n| **FAIL** | AGE |\n")
    text = report_markdown(report)
    # headings demoted one level; the failures stay everywhere
    assert text.startswith("## Validation report") and "### Failures\n\n| Dataset | Variable |\n|---|---|\n| DM | AGE |" in text
    hidden, shown = text.split('::: {.content-visible unless-format="pdf"}')[1].split('::: {.content-visible when-format="pdf"}')
    assert "| pass | USUBJID |" in hidden and "| **FAIL** | AGE |" in hidden and "#### DM" in hidden
    assert "(3 rows)" in shown and "| pass" not in shown  # 2 pass + 1 FAIL rows counted, none printed
