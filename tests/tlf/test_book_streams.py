"""A cell's printed Markdown is the same however the kernel cut it into stream messages: consecutive stdout
parts are one text, so a list printed in two flushes stays one tight list (two runs of the SAP page once
rendered a population list tight in one and loose in the other)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from tlf.render.book import notebook_markdown


def _page(outputs: list[dict]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("#| output: asis\nprint('- Safety population')\nprint('- Full analysis set')")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return nbformat.v4.new_notebook(cells=[cell])


def test_stdout_parts_are_one_text_whatever_the_flushes(tmp_path):
    one = _page([{"output_type": "stream", "name": "stdout", "text": "- Safety population\n- Full analysis set\n"}])
    two = _page([{"output_type": "stream", "name": "stdout", "text": "- Safety population\n"},
                 {"output_type": "stream", "name": "stdout", "text": "- Full analysis set\n"}])
    _, markdown_one = notebook_markdown(one, Path("sap.qmd"), tmp_path, False)
    _, markdown_two = notebook_markdown(two, Path("sap.qmd"), tmp_path, False)
    assert markdown_two == markdown_one
    assert "- Safety population\n- Full analysis set\n" in markdown_two  # tight: no blank line between items


def test_stderr_between_two_stdout_parts_is_not_merged_into_them(tmp_path):
    page = _page([{"output_type": "stream", "name": "stdout", "text": "first\n"},
                  {"output_type": "stream", "name": "stderr", "text": "a warning\n"},
                  {"output_type": "stream", "name": "stdout", "text": "second\n"}])
    _, markdown = notebook_markdown(page, Path("sap.qmd"), tmp_path, False)
    # stderr is not shown; the two stdout parts it separates stay two blocks
    assert "a warning" not in markdown and markdown.startswith("first\n\n\nsecond\n")
