"""Values from the data in the validation and QC reports are data: the Markdown reports are read by pandoc
into the HTML book, so an unexpected AETERM such as a Markdown link or a `<script>` element must come out
as the text typed, not as a live link or an element (issue 12: text is data in every output format)."""

from __future__ import annotations

import re

import pypandoc

from validation.engine import Outcome
from validation.qc.compare import _cell as qc_cell
from validation.report import render_report

HOSTILE = [
    "[click here](http://example.invalid/x)",
    "<script>alert(1)</script>",
    "=HYPERLINK(\"http://example.invalid\",\"x\")",
    "*not emphasis* and a | pipe",
    "two\nlines",
]


def _html(markdown: str) -> str:
    return pypandoc.convert_text(markdown, "html", format="markdown", sandbox=False)


def _text(html: str) -> str:
    """The text a reader sees: tags dropped, entities decoded."""
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def test_unexpected_values_reach_the_report_page_as_typed():
    outcomes = [
        Outcome(dataset="AE", rule="AETERM-length", expectation="expect_column_value_lengths_to_be_between",
                column="AETERM", description="verbatim term at most 200 characters", success=False,
                unexpected_count=1, unexpected=[{"value": value, "key": {"USUBJID": f"IL2-{i:03d}"}}])
        for i, value in enumerate(HOSTILE, start=1)
    ]
    html = _html(render_report(outcomes))
    assert "<a " not in html and "<script" not in html and "<em>" not in html
    seen = _text(html)
    for value in HOSTILE[:-1]:
        # `_example` shows the value as Python's repr: quotes around it, a double quote kept as typed
        assert repr(value) in seen, value
    assert repr("two\nlines").replace("\n", "\\n") in seen  # repr already spells the line break as \n
    # one row per failure: the pipe inside a value did not split a cell
    assert html.count("<tr") == 1 + 1 + 1 + len(HOSTILE) + 1 + len(HOSTILE)  # 3 header rows + rows


def test_qc_report_cells_read_back_as_typed():
    for value in HOSTILE:
        html = _html(f"| a |\n|---|\n| {qc_cell(value)} |\n")
        assert "<a " not in html and "<script" not in html and "<em>" not in html
        assert " ".join(value.split("\n")) in _text(html), value  # a line break inside a cell reads as a space
    assert qc_cell(None) == "(missing)"
