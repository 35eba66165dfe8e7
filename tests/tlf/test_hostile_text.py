"""Text from the data is data in every output format: listing 16.2.7 rendered with hostile verbatim terms
(Markdown link, HTML script, spreadsheet formulas, RTF and Typst markup, CJK, a line break, ...) and each
term found intact in the HTML, the DOCX XML, the RTF, the PDF text layer and a CSV; none becomes a link,
a script, a formula or a crash (`raqm_layout() failed` from a line break in an RTF cell)."""

from __future__ import annotations

import csv
import html
import os
import re
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd
import pytest
import yaml

from sap import pipeline
from sap.csv_cells import write_csv
from sap.datasets import write_dataset
from tlf.catalog import load_outputs
from sap.text import markdown_text

from .conftest import make_adae, make_adrs, make_adsl

HOSTILE = [
    "[click here](http://example.com/x)",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://example.com","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "**bold** _under_ `code` $x^2$ #hash ~sub~",
    "{\\rtf1 \\b bold} \\par",
    '#set text(red) "quoted" \\',
    "红斑狼疮皮疹 ループス 루푸스",
    "rash on\ntwo lines",
    "a & b < c > d &amp;",
    "1. not a list",
    "-- dashes --- and 'single' \"double\"",
    "| pipe | cell |",
    "<!-- comment --> ```fence```",
    "@{include} %s {{x}}",
]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _hostile_adae() -> pd.DataFrame:
    adae = make_adae(n_events=len(HOSTILE))
    adae["AETERM"] = HOSTILE
    return adae


@pytest.fixture(scope="session")
def hostile_render(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    spec = load_outputs().get("16.2.7").model_dump(exclude_defaults=True)
    catalogue = out / "outputs.yaml"
    catalogue.write_text(yaml.safe_dump({"outputs": [spec]}, sort_keys=False))
    for name, frame in (("ADSL", make_adsl()), ("ADRS", make_adrs()), ("ADAE", _hostile_adae())):
        frame.attrs = {"name": name, "label": name, "labels": {}}
        write_dataset(frame, out / "adam", pd.Timestamp("2015-10-31").date())
    (out / "validation").mkdir()
    (out / "validation" / "report.md").write_text("# Validation report\n\nAll passed.\n")
    os.environ["SAP_OUTPUTS_FILE"] = str(catalogue)
    try:
        ctx = pipeline.make_context(out=out, allow_invalid=True, log=lambda line: None)
        pipeline.stage_function("render")(ctx)
    finally:
        del os.environ["SAP_OUTPUTS_FILE"]
    return out / "tlf"


def _html_text(source: str) -> str:
    """Visible text of an HTML page: line breaks at <br>, tags dropped, entities decoded."""
    body = source.split("<body", 1)[-1]
    return html.unescape(re.sub(r"<[^>]+>", "", body.replace("<br>", "\n").replace("<br />", "\n")))


def _docx_text(path) -> tuple[str, bytes]:
    """Paragraph texts of the DOCX body (w:t runs, w:br as a line break), and the raw document XML."""
    with zipfile.ZipFile(path) as docx:
        xml = docx.read("word/document.xml")
    paragraphs = []
    for paragraph in ET.fromstring(xml).iter(f"{W}p"):
        text = []
        for node in paragraph.iter():
            if node.tag == f"{W}t":
                text.append(node.text or "")
            elif node.tag == f"{W}br":
                text.append("\n")
            elif node.tag == f"{W}tab":
                text.append("\t")
        paragraphs.append("".join(text))
    return "\n".join(paragraphs), xml


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_html_shows_every_term_as_text(hostile_render):
    source = (hostile_render / "html" / "16-2-listings.html").read_text(encoding="utf-8")
    text = _html_text(source)
    for term in HOSTILE:
        assert term in text, term
    assert "<script>" not in source and 'href="http://example.com' not in source


def test_docx_holds_every_term_as_text_and_no_link(hostile_render):
    text, xml = _docx_text(hostile_render / "book.docx")
    for term in HOSTILE:
        assert term in text, term
    assert b"w:hyperlink" not in xml
    with zipfile.ZipFile(hostile_render / "book.docx") as docx:
        assert b"example.com" not in docx.read("word/_rels/document.xml.rels")


def test_rtf_holds_every_term(hostile_render):
    from striprtf.striprtf import rtf_to_text

    text = rtf_to_text((hostile_render / "rtf" / "l-16-2-7.rtf").read_text(encoding="utf-8"))
    for term in HOSTILE:
        assert _squeeze(term) in _squeeze(text), term
    assert "rash on\ntwo lines" in text  # the line break is an RTF \line, not lost and not a crash


def test_pdf_text_layer_holds_every_term_cjk_included(hostile_render):
    from pypdf import PdfReader

    reader = PdfReader(hostile_render / "book.pdf")
    text = _squeeze("".join(page.extract_text() or "" for page in reader.pages))
    for term in HOSTILE:
        assert _squeeze(term) in text, term


def test_csv_cells_are_neutralised_and_read_back(tmp_path):
    path = write_csv(pd.DataFrame({"SUBJECT": ["=1+2", *HOSTILE], "ROW": range(len(HOSTILE) + 1)}), tmp_path / "x.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    cells = [row["SUBJECT"] for row in rows]
    assert cells[0] == "'=1+2"
    for term, cell in zip(HOSTILE, cells[1:]):
        expected = "'" + term if term[0] in "=+-@" else term
        assert cell == expected
    assert [row["ROW"] for row in rows] == [str(i) for i in range(len(HOSTILE) + 1)]  # numbers stay numbers
    assert write_csv(pd.DataFrame({"DELTA": [-2.5, 3.0]}), tmp_path / "n.csv").read_text() == "DELTA\n-2.5\n3.0\n"


@pytest.mark.parametrize("term", HOSTILE)
def test_markdown_text_reads_back_literally(term):
    """Pandoc reads the escaped Markdown back as the same plain text (no link, emphasis, smart quote, list)."""
    import pypandoc

    if "\n" in term:
        term = term.replace("\n", " ")
    back = pypandoc.convert_text(markdown_text(term), "plain", format="markdown", extra_args=["--wrap=none"])
    assert back.rstrip("\n") == term
